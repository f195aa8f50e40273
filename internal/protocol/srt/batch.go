package srt

import (
	"net"
	"net/netip"
	"sync/atomic"

	"golang.org/x/net/ipv4"
)

// maxBatch bounds the datagrams of one sendmmsg call.
const maxBatch = 64

// sendBatch gathers the datagrams a connection's flush sends together. It
// keeps its message headers between flushes, so that sending allocates
// nothing.
type sendBatch struct {
	bufs [][]byte
	msgs []ipv4.Message
	iov  [][]byte // one entry per message, msgs[i].Buffers = iov[i:i+1]
	addr *net.UDPAddr
	to   netip.AddrPort
}

func (b *sendBatch) add(p []byte) { b.bufs = append(b.bufs, p) }

// batchWriter sends batches of datagrams with sendmmsg (golang.org/x/net/ipv4
// WriteBatch: one system call for many datagrams on Linux, one per datagram
// elsewhere). The IPv4 PacketConn serves IPv6 sockets too: the messages
// carry their own addresses.
type batchWriter struct {
	pc  *ipv4.PacketConn
	off atomic.Bool // WriteBatch failed as unsupported: plain writes from then on
}

func newBatchWriter(pc *net.UDPConn) *batchWriter {
	return &batchWriter{pc: ipv4.NewPacketConn(pc)}
}

// sendBatch sends the datagrams of b to `to` and empties b. A single
// datagram, or a socket without sendmmsg, goes out with plain writes.
func (m *mux) sendBatch(b *sendBatch, to netip.AddrPort) {
	if len(b.bufs) == 0 {
		return
	}
	defer func() {
		clear(b.bufs) // the send ring owns the bytes
		b.bufs = b.bufs[:0]
	}()
	if len(b.bufs) == 1 || m.bw == nil || m.bw.off.Load() {
		for _, p := range b.bufs {
			m.send(p, to)
		}
		return
	}
	if b.addr == nil || b.to != to {
		b.addr, b.to = net.UDPAddrFromAddrPort(to), to
	}
	for bufs := b.bufs; len(bufs) > 0; {
		n := min(len(bufs), maxBatch)
		if b.msgs == nil {
			b.msgs = make([]ipv4.Message, maxBatch)
			b.iov = make([][]byte, maxBatch)
		}
		ms := b.msgs[:n]
		for i := range ms {
			b.iov[i] = bufs[i]
			ms[i] = ipv4.Message{Buffers: b.iov[i : i+1], Addr: b.addr}
		}
		sent, err := m.bw.pc.WriteBatch(ms, 0)
		if err != nil && sent <= 0 {
			if isUnsupported(err) {
				m.bw.off.Store(true)
			}
			// Errors are dropped as in send: ARQ repairs. What was not
			// sent goes with plain writes.
			for _, p := range bufs[:n] {
				m.send(p, to)
			}
			sent = n
		}
		sent = max(sent, 1)
		bufs = bufs[sent:]
	}
	clear(b.iov)
}
