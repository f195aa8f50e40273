//go:build tiny

package rtmp

import (
	"context"
	"errors"
	"net"
)

// tlsClient: the tiny profile has no TLS (its config refuses rtmps://
// URLs); crypto/tls's client is ~1 MiB on mipsle.
func tlsClient(_ context.Context, nc net.Conn, _ string, _ ClientOptions) (net.Conn, error) {
	nc.Close()
	return nil, errors.New("rtmps is not in this build (tiny profile): use rtmp://")
}
