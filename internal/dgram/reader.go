package dgram

import (
	"net/netip"
)

// ReadBatch bounds the datagrams of one Reader.Read.
const ReadBatch = 32

// Reader reads a socket's waiting datagrams in one recvmmsg (Linux; one
// read per call elsewhere, or where recvmmsg is missing), into the caller's
// buffers, without allocating. One goroutine reads with it.
type Reader struct {
	uc Conn
	r  batchReader
}

// NewReader returns a Reader of uc.
func NewReader(uc Conn) *Reader { return &Reader{uc: uc} }

// Read waits for datagrams and reads up to min(len(bufs), ReadBatch) of
// them: datagram i into bufs[i], its size into ns[i] and its source into
// from[i]. A datagram whose source the Reader does not know (a family other
// than IPv4 and IPv6) has an invalid from[i]: skip it. ns and from are at
// least as long as bufs.
func (r *Reader) Read(bufs [][]byte, ns []int, from []netip.AddrPort) (int, error) {
	bufs = bufs[:min(len(bufs), ReadBatch)]
	if len(bufs) == 1 || r.r.off {
		return r.read1(bufs[0], ns, from)
	}
	return r.readBatch(bufs, ns, from)
}

func (r *Reader) read1(buf []byte, ns []int, from []netip.AddrPort) (int, error) {
	n, a, err := r.uc.ReadFromUDPAddrPort(buf)
	if err != nil {
		return 0, err
	}
	ns[0], from[0] = n, a
	return 1, nil
}
