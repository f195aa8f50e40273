//go:build !linux

package dgram

import (
	"errors"
)

// Without sendmmsg every batch goes out as plain writes.
type mmsg struct{}

type socket struct{}

func newSocket(Conn) (socket, bool) { return socket{}, false }

var errNoSendmmsg = errors.New("dgram: no sendmmsg")

func (m *mmsg) send(socket, []msg) (int, error) { return 0, errNoSendmmsg }
