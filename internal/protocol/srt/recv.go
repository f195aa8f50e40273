package srt

import (
	"net/netip"
	"time"

	"github.com/srs-lite/srs-lite/internal/dgram"
)

// Reading: a listener's read loop takes the datagrams waiting on its socket
// in one recvmmsg (dgram.Reader: Linux; one read each elsewhere). While it
// is busy (a batch of readBusy datagrams or more), it waits readHold before
// the next read, so that the next batch is larger: a hundred players' ACKs
// arrive spread out, and answering each as it comes costs a wake-up, a
// read and a send each. The listener's socket is a dgram.Socket, so the
// datagrams that arrive during the hold wake nobody. The hold delays an
// ACKACK by up to readHold (a peer's RTT reads up to 4 ms high; 100
// players: 10-13% less CPU than with 1 ms) and a publisher's packets by as
// much, which TSBPD absorbs. Quiet sockets are read as datagrams arrive.
const (
	readBatch = dgram.ReadBatch
	readBusy  = 4
	readHold  = 4 * time.Millisecond
)

// rbatch is what one read returns: readBatch pooled buffers, and the size
// and source of each datagram read into them.
type rbatch struct {
	pbs  [readBatch]*pbuf
	bufs [readBatch][]byte
	ns   [readBatch]int
	from [readBatch]netip.AddrPort
	r    *dgram.Reader
}

// read waits for datagrams and returns how many it read into rb. A
// datagram of an unknown source has an invalid from.
func (rb *rbatch) read(pc dgram.Conn) (int, error) {
	if rb.r == nil {
		rb.r = dgram.NewReader(pc)
	}
	for i, pb := range rb.pbs {
		if pb == nil {
			pb = getPbuf()
			rb.pbs[i], rb.bufs[i] = pb, pb.b[:]
		}
	}
	return rb.r.Read(rb.bufs[:], rb.ns[:], rb.from[:])
}

func (rb *rbatch) release() {
	for i, pb := range rb.pbs {
		if pb != nil {
			putPbuf(pb)
			rb.pbs[i], rb.bufs[i] = nil, nil
		}
	}
}

// batched reports whether the mux holds its reads when busy: a listener's
// (a caller's carries one connection).
func (m *mux) batched() bool { return m.q != nil }
