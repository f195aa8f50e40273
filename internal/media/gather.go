package media

import (
	"io"
	"sync"
)

// GatherSize is one TLS record's plaintext: WriteGathered copies the
// pieces of a batch into buffers of this size, each one Write.
const GatherSize = 16 << 10

// gatherPool holds the gather buffers: a player holds one only while it
// writes, so that idle TLS players keep no memory for it.
var gatherPool = sync.Pool{New: func() any { b := make([]byte, 0, GatherSize); return &b }}

// WriteGathered writes vec to dst as few Writes as it can: the pieces
// copied into GatherSize buffers, and a piece at least that big written
// as it is. It is net.Buffers for a connection without writev (*tls.Conn),
// where one Write per piece would make one TLS record and one syscall of
// each chunk header or tag header.
func WriteGathered(dst io.Writer, vec [][]byte) (int64, error) {
	bp := gatherPool.Get().(*[]byte)
	defer gatherPool.Put(bp)
	g := (*bp)[:0]
	var n int64
	write := func(b []byte) error {
		m, err := dst.Write(b)
		n += int64(m)
		return err
	}
	for _, p := range vec {
		if len(g) == 0 && len(p) >= GatherSize {
			if err := write(p); err != nil {
				return n, err
			}
			continue
		}
		for len(p) > 0 {
			k := copy(g[len(g):cap(g)], p)
			g, p = g[:len(g)+k], p[k:]
			if len(g) == cap(g) {
				if err := write(g); err != nil {
					return n, err
				}
				g = g[:0]
			}
		}
	}
	if len(g) > 0 {
		return n, write(g)
	}
	return n, nil
}
