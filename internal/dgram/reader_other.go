//go:build !linux

package dgram

import "net/netip"

type batchReader struct{ off bool }

func (r *Reader) readBatch(bufs [][]byte, ns []int, from []netip.AddrPort) (int, error) {
	return r.read1(bufs[0], ns, from)
}
