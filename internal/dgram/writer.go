// Package dgram sends and reads UDP datagrams in batches: sendmmsg, UDP GSO
// where the kernel has it, and recvmmsg. On a small box, and on a VM, the cost of a UDP fan-out is its
// system calls: a frame's packets to a hundred players leave in a few calls
// instead of a thousand.
//
// sendmmsg is a raw system call of our own (sendmmsg_linux.go): the
// kernel's message headers are kept between calls, and the goroutine's P is
// not handed to another thread while the kernel sends a batch.
//
// Three parts:
//   - Writer: one socket's batched sends. Writer.Send sends a Batch (the
//     datagrams of one peer) synchronously.
//   - Queue: a socket shared by many peers (an SRT listener, the WebRTC
//     server). Producers copy their datagrams in with Put and Put1; one
//     sender goroutine (Run) sends everything queued in one sendmmsg.
//   - Reader: recvmmsg into caller-owned buffers.
//
// Everything falls back: without sendmmsg (not Linux, or ENOSYS) a batch
// goes out as plain writes; without GSO (a kernel before 4.18, qemu-user,
// which passes the control message on unconverted, or a route that refuses
// a train) as one message per datagram; without recvmmsg one read per
// datagram.
package dgram

import (
	"net/netip"
	"sync/atomic"
)

// MaxBatch bounds the messages of one Writer.Send system call.
const MaxBatch = 64

// GSO bounds: the datagrams of one UDP_SEGMENT message (the kernel's
// UDP_MAX_SEGMENTS is 64 before Linux 6.3) and their bytes (a UDP datagram
// carries less than 64 KiB).
const (
	gsoMaxSegs  = 64
	gsoMaxBytes = 60000
)

// dg is one datagram of a Batch: parts[start:end], size bytes.
type dg struct{ start, end, size int32 }

// Batch gathers the datagrams sent together to one peer. A datagram is one
// buffer (Add) or a header and a payload sent without copying them together
// (Add2). The batch holds the buffers, not their bytes, until it is sent:
// the caller keeps them unchanged until then. It keeps its message headers
// between sends, so that sending allocates nothing once grown.
type Batch struct {
	parts [][]byte
	dgs   []dg
	ms    []msg
	mm    mmsg
	oob   []byte
	flat  []byte // a two-part datagram for a plain write
	noGSO bool   // a GSO send to this peer failed: plain datagrams from then on
}

// msg is one message of a sendmmsg: a datagram, or with a UDP_SEGMENT
// control message in oob a train of them.
type msg struct {
	bufs [][]byte
	oob  []byte
	to   netip.AddrPort
}

// Add appends one datagram.
func (b *Batch) Add(p []byte) {
	n := int32(len(b.parts))
	b.parts = append(b.parts, p)
	b.dgs = append(b.dgs, dg{n, n + 1, int32(len(p))})
}

// Add2 appends one datagram made of h and then p.
func (b *Batch) Add2(h, p []byte) {
	n := int32(len(b.parts))
	b.parts = append(b.parts, h, p)
	b.dgs = append(b.dgs, dg{n, n + 2, int32(len(h) + len(p))})
}

// Len returns the number of datagrams in b.
func (b *Batch) Len() int { return len(b.dgs) }

// Reset empties b (dropping its references to the buffers).
func (b *Batch) Reset() {
	clear(b.parts)
	b.parts = b.parts[:0]
	b.dgs = b.dgs[:0]
}

// bytes returns datagram i in one buffer.
func (b *Batch) bytes(i int) []byte {
	d := b.dgs[i]
	if d.end-d.start == 1 {
		return b.parts[d.start]
	}
	b.flat = b.flat[:0]
	for _, p := range b.parts[d.start:d.end] {
		b.flat = append(b.flat, p...)
	}
	return b.flat
}

// Writer sends batches of datagrams on one socket. Where
// the kernel has UDP GSO (UDP_SEGMENT, Linux 4.18), a run of datagrams of
// one size goes down the stack as one buffer, cut into datagrams at the end
// (on the NIC, or at the receiving socket on loopback).
type Writer struct {
	uc  Conn
	s   socket
	off atomic.Bool // sendmmsg missing or unsupported: plain writes from then on
	gso bool        // the socket has UDP_SEGMENT
}

// NewWriter returns a Writer for uc, probing GSO (once per process).
func NewWriter(uc Conn) *Writer {
	w := &Writer{uc: uc}
	s, ok := newSocket(uc)
	w.s = s
	w.off.Store(!ok)
	w.gso = ok && hasGSO(uc)
	return w
}

// GSO reports whether the Writer sends GSO trains.
func (w *Writer) GSO() bool { return w.gso }

// WriteTo writes one datagram. Errors are the caller's to drop: UDP is
// lossy anyway.
func (w *Writer) WriteTo(p []byte, to netip.AddrPort) error {
	_, err := w.uc.WriteToUDPAddrPort(p, to)
	return err
}

// Send sends the datagrams of b to `to` and empties b. A single datagram,
// or a socket without sendmmsg, goes out with plain writes. Errors are
// dropped, as a lossy link drops: the protocol above repairs or lives with
// it. It reports the first error of a plain write (an ICMP refusal
// surfaces there).
func (w *Writer) Send(b *Batch, to netip.AddrPort) error {
	if len(b.dgs) == 0 {
		return nil
	}
	defer b.Reset()
	if len(b.dgs) == 1 || w.off.Load() {
		return w.sendPlain(b, 0, len(b.dgs), to)
	}
	gso := w.gso && !b.noGSO
	if gso && b.oob == nil {
		b.oob = make([]byte, MaxBatch*gsoSpace)
	}
	var first error
	for i := 0; i < len(b.dgs); {
		ms := b.ms[:0]
		for j := i; j < len(b.dgs) && len(ms) < MaxBatch; {
			n := 1
			if gso {
				n = trainLen(b.dgs[j:])
			}
			d0, dn := b.dgs[j], b.dgs[j+n-1]
			m := msg{bufs: b.parts[d0.start:dn.end:dn.end], to: to}
			if n > 1 {
				m.oob = putGSO(b.oob[len(ms)*gsoSpace:(len(ms)+1)*gsoSpace], int(d0.size))
			}
			ms = append(ms, m)
			j += n
		}
		b.ms = ms
		sent, err := b.mm.send(w.s, ms)
		if err != nil && sent <= 0 {
			// The first message failed: its datagrams go as plain writes.
			// A train the kernel refuses (a route whose MTU is below the
			// datagram, a device without checksum offload) turns GSO off
			// for the peer; sendmmsg missing turns batching off.
			if isUnsupported(err) {
				w.off.Store(true)
			}
			if len(ms[0].oob) > 0 {
				b.noGSO = true
			}
			n := w.dgsOf(b, i, len(ms[0].bufs))
			if err := w.sendPlain(b, i, i+n, to); err != nil && first == nil {
				first = err
			}
			i += n
			continue
		}
		for _, m := range ms[:sent] {
			i += w.dgsOf(b, i, len(m.bufs))
		}
	}
	clear(b.ms) // drop the references to the buffers
	return first
}

// dgsOf returns how many datagrams from i make up nparts buffers.
func (w *Writer) dgsOf(b *Batch, i, nparts int) int {
	n := 0
	for nparts > 0 {
		d := b.dgs[i+n]
		nparts -= int(d.end - d.start)
		n++
	}
	return n
}

func (w *Writer) sendPlain(b *Batch, from, to int, addr netip.AddrPort) error {
	var first error
	for i := from; i < to; i++ {
		if err := w.WriteTo(b.bytes(i), addr); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// trainLen returns how many datagrams from the head of dgs one GSO message
// carries: a run of one size, and one shorter datagram after it (the kernel
// cuts the message at that size; only the last piece may be shorter).
func trainLen(dgs []dg) int {
	size := int(dgs[0].size)
	if size == 0 {
		return 1
	}
	limit := min(len(dgs), gsoMaxSegs, max(gsoMaxBytes/size, 1))
	n := 1
	for n < limit && int(dgs[n].size) == size {
		n++
	}
	if n < limit && int(dgs[n].size) < size {
		n++
	}
	return n
}
