package srt

import "time"

// Reading: a listener's read loop takes the datagrams waiting on its socket
// in one recvmmsg (Linux; one read each elsewhere). While it is busy (a
// batch of readBusy datagrams or more), it waits readHold before the next
// read, so that the next batch is larger: a hundred players' ACKs arrive
// spread out, and answering each as it comes costs a wake-up, a read and
// a send each. Quiet sockets are read as datagrams arrive.
const (
	readBatch = 32
	readBusy  = 4
	readHold  = time.Millisecond
)

// rbatch is what one read returns: readBatch pooled buffers, and the size
// and source of each datagram read into them.
type rbatch struct {
	pbs  [readBatch]*pbuf
	ns   [readBatch]int
	from [readBatch]addrPort
	r    batchReader
}

func (rb *rbatch) fill() {
	for i, pb := range rb.pbs {
		if pb == nil {
			rb.pbs[i] = getPbuf()
		}
	}
}

func (rb *rbatch) release() {
	for i, pb := range rb.pbs {
		if pb != nil {
			putPbuf(pb)
			rb.pbs[i] = nil
		}
	}
}

// batched reports whether the mux holds its reads when busy: a listener's
// (a caller's carries one connection).
func (m *mux) batched() bool { return m.q != nil }
