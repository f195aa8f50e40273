package srt

import (
	"net"
	"net/netip"
	"sync/atomic"

	"golang.org/x/net/ipv4"
)

// maxBatch bounds the datagrams of one sendmmsg call.
const maxBatch = 64

// GSO bounds: the datagrams of one UDP_SEGMENT message (the kernel's
// UDP_MAX_SEGMENTS is 64 before Linux 6.3) and their bytes (a UDP datagram
// carries less than 64 KiB).
const (
	gsoMaxSegs  = 64
	gsoMaxBytes = 60000
)

// sendBatch gathers the datagrams a connection's flush sends together. It
// keeps its message headers between flushes, so that sending allocates
// nothing.
type sendBatch struct {
	bufs  [][]byte
	msgs  []ipv4.Message
	iov   [][]byte // one entry per message, msgs[i].Buffers = iov[i:i+1]
	oob   []byte   // GSO control messages, gsoSpace bytes per message
	addr  *net.UDPAddr
	to    netip.AddrPort
	noGSO bool // a GSO send to this peer failed: plain datagrams from then on
}

func (b *sendBatch) add(p []byte) { b.bufs = append(b.bufs, p) }

// batchWriter sends batches of datagrams with sendmmsg (golang.org/x/net/ipv4
// WriteBatch: one system call for many datagrams on Linux, one per datagram
// elsewhere). The IPv4 PacketConn serves IPv6 sockets too: the messages
// carry their own addresses. Where the kernel has UDP GSO (UDP_SEGMENT,
// Linux 4.18), a run of datagrams of one size goes down the stack as one
// buffer, cut into datagrams at the end (on the NIC, or at the receiving
// socket on loopback).
type batchWriter struct {
	pc  *ipv4.PacketConn
	off atomic.Bool // WriteBatch failed as unsupported: plain writes from then on
	gso bool        // the socket has UDP_SEGMENT
}

func newBatchWriter(pc *net.UDPConn) *batchWriter {
	return &batchWriter{pc: ipv4.NewPacketConn(pc), gso: hasGSO(pc)}
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
	if b.msgs == nil {
		b.msgs = make([]ipv4.Message, maxBatch)
		b.iov = make([][]byte, maxBatch)
	}
	if m.bw.gso && !b.noGSO {
		m.sendGSO(b, to)
		return
	}
	for bufs := b.bufs; len(bufs) > 0; {
		n := min(len(bufs), maxBatch)
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
	clear(b.msgs)
}

// trainLen returns how many datagrams from the head of bufs one GSO message
// carries: a run of one size, and one shorter datagram after it (the kernel
// cuts the message at that size; only the last piece may be shorter).
func trainLen(bufs [][]byte) int {
	size := len(bufs[0])
	if size == 0 {
		return 1
	}
	limit := min(len(bufs), gsoMaxSegs, max(gsoMaxBytes/size, 1))
	n := 1
	for n < limit && len(bufs[n]) == size {
		n++
	}
	if n < limit && len(bufs[n]) < size {
		n++
	}
	return n
}

// sendGSO sends b as GSO messages: each train of datagrams is one message
// (its buffers gathered by the kernel) with a UDP_SEGMENT control message,
// all of them in one sendmmsg. A train the kernel refuses (a route whose
// MTU is below the datagram size, a device without checksum offload) is
// sent again as plain datagrams, and the peer gets no GSO from then on.
func (m *mux) sendGSO(b *sendBatch, to netip.AddrPort) {
	if b.oob == nil {
		b.oob = make([]byte, maxBatch*gsoSpace)
	}
	for bufs := b.bufs; len(bufs) > 0; {
		ms := b.msgs[:0]
		rest := bufs
		for len(rest) > 0 && len(ms) < maxBatch {
			n := trainLen(rest)
			msg := ipv4.Message{Buffers: rest[:n:n], Addr: b.addr}
			if n > 1 {
				msg.OOB = putGSO(b.oob[len(ms)*gsoSpace:(len(ms)+1)*gsoSpace], len(rest[0]))
			}
			ms = append(ms, msg)
			rest = rest[n:]
		}
		sent, err := m.bw.pc.WriteBatch(ms, 0)
		if err != nil && sent <= 0 {
			// The first message failed: its datagrams go as plain writes.
			first := len(ms[0].Buffers)
			if len(ms[0].OOB) > 0 {
				b.noGSO = true
			}
			for _, p := range bufs[:first] {
				m.send(p, to)
			}
			bufs = bufs[first:]
			continue
		}
		for _, msg := range ms[:sent] {
			bufs = bufs[len(msg.Buffers):]
		}
	}
	clear(b.msgs)
}
