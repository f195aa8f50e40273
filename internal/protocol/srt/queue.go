package srt

import (
	"net"
	"runtime"
	"sync"
	"sync/atomic"

	"golang.org/x/net/ipv4"
)

// A listener's connections do not send their datagrams themselves: they
// copy them into the mux's send queue, and one sender goroutine sends
// everything queued in one sendmmsg. When a frame wakes a hundred players,
// their packets (and the ACKACKs the read loop answers in between) leave in
// a few system calls instead of a hundred: on a small box, and on a VM,
// the cost of a UDP fan-out is its system calls.
const (
	// queueMsgs bounds the messages of one sendmmsg (the kernel's
	// UIO_MAXIOV).
	queueMsgs = 1024
	// queueBytes is the queue's size: a producer that fills it sends it
	// itself (the sender is behind). Two of them (one queued, one being
	// sent) are the memory of a listener's sending.
	queueBytes = 512 << 10
)

// qent is one queued message: a datagram, or with seg > 0 a GSO train of
// datagrams of seg bytes (the last one shorter).
type qent struct {
	off, n int32
	seg    uint16
	addr   *net.UDPAddr
}

// qbuf is what a flush sends: the queued bytes and their messages.
type qbuf struct {
	data []byte
	ents []qent
	msgs []ipv4.Message
	iov  [][]byte
	oob  []byte
}

type sendQueue struct {
	m      *mux
	mu     sync.Mutex
	cur    *qbuf
	spare  *qbuf
	wake   chan struct{}
	sendMu sync.Mutex // one flush at a time, in queue order
	gsoOff atomic.Bool
	calls  atomic.Uint64 // sendmmsg calls, for tests
}

func newSendQueue(m *mux) *sendQueue {
	return &sendQueue{m: m, cur: &qbuf{}, spare: &qbuf{}, wake: make(chan struct{}, 1)}
}

// put queues the datagrams of b for addr and empties b; GSO trains where
// the socket has GSO. A producer that fills the queue sends it itself (the
// sender is behind), so that the queue stays within queueBytes and a
// train.
func (q *sendQueue) put(b *sendBatch, addr *net.UDPAddr) {
	gso := q.m.bw != nil && q.m.bw.gso && !q.gsoOff.Load()
	q.mu.Lock()
	first := len(q.cur.ents) == 0
	for bufs := b.bufs; len(bufs) > 0; {
		qb := q.cur
		n := 1
		if gso {
			n = trainLen(bufs)
		}
		off := len(qb.data)
		for _, p := range bufs[:n] {
			qb.data = append(qb.data, p...)
		}
		e := qent{off: int32(off), n: int32(len(qb.data) - off), addr: addr}
		if n > 1 {
			e.seg = uint16(len(bufs[0]))
		}
		qb.ents = append(qb.ents, e)
		bufs = bufs[n:]
		if q.fullLocked() {
			q.mu.Unlock()
			q.flush()
			q.mu.Lock()
			first = len(q.cur.ents) == 0
		}
	}
	q.mu.Unlock()
	clear(b.bufs) // the send ring owns the bytes
	b.bufs = b.bufs[:0]
	q.signal(first)
}

func (q *sendQueue) fullLocked() bool {
	return len(q.cur.data) >= queueBytes || len(q.cur.ents) >= queueMsgs
}

// put1 queues one datagram.
func (q *sendQueue) put1(p []byte, addr *net.UDPAddr) {
	q.mu.Lock()
	qb := q.cur
	first := len(qb.ents) == 0
	off := len(qb.data)
	qb.data = append(qb.data, p...)
	qb.ents = append(qb.ents, qent{off: int32(off), n: int32(len(p)), addr: addr})
	full := q.fullLocked()
	q.mu.Unlock()
	if full {
		q.flush()
		return
	}
	q.signal(first)
}

// signal wakes the sender for the first datagrams of the queue.
func (q *sendQueue) signal(first bool) {
	if first {
		select {
		case q.wake <- struct{}{}:
		default:
		}
	}
}

// run is the sender goroutine.
func (q *sendQueue) run(done <-chan struct{}) {
	for {
		select {
		case <-done:
			return
		case <-q.wake:
		}
		// The goroutines made runnable with the one that woke us (the
		// other players of a frame, the read loop) queue theirs first.
		runtime.Gosched()
		q.flush()
	}
}

// flush sends everything queued.
func (q *sendQueue) flush() {
	q.sendMu.Lock()
	defer q.sendMu.Unlock()
	q.mu.Lock()
	qb := q.cur
	q.cur, q.spare = q.spare, q.cur
	q.mu.Unlock()
	if len(qb.ents) == 0 {
		return
	}
	q.send(qb)
	qb.ents = qb.ents[:0]
	qb.data = qb.data[:0]
}

func (q *sendQueue) send(qb *qbuf) {
	m := q.m
	if m.bw == nil || m.bw.off.Load() {
		for _, e := range qb.ents {
			q.sendPlain(qb, e)
		}
		return
	}
	if qb.msgs == nil {
		qb.msgs = make([]ipv4.Message, queueMsgs)
		qb.iov = make([][]byte, queueMsgs)
		qb.oob = make([]byte, queueMsgs*gsoSpace)
	}
	for ents := qb.ents; len(ents) > 0; {
		n := min(len(ents), queueMsgs)
		ms := qb.msgs[:n]
		for i, e := range ents[:n] {
			qb.iov[i] = qb.data[e.off : e.off+e.n]
			ms[i] = ipv4.Message{Buffers: qb.iov[i : i+1], Addr: e.addr}
			if e.seg > 0 {
				ms[i].OOB = putGSO(qb.oob[i*gsoSpace:(i+1)*gsoSpace], int(e.seg))
			}
		}
		sent, err := m.bw.pc.WriteBatch(ms, 0)
		q.calls.Add(1)
		if err != nil && sent <= 0 {
			// The first message failed. Errors are dropped as in send
			// (ARQ repairs); a GSO train the kernel refuses (a route
			// whose MTU is below the datagram, a device without checksum
			// offload) turns GSO off for the socket.
			if isUnsupported(err) {
				m.bw.off.Store(true)
			}
			if ents[0].seg > 0 {
				q.gsoOff.Store(true)
			}
			q.sendPlain(qb, ents[0])
			sent = 1
		}
		ents = ents[sent:]
	}
	used := min(len(qb.ents), queueMsgs) // drop the references, not the whole arrays
	clear(qb.iov[:used])
	clear(qb.msgs[:used])
}

// sendPlain sends a message as plain datagrams.
func (q *sendQueue) sendPlain(qb *qbuf, e qent) {
	b := qb.data[e.off : e.off+e.n]
	to := e.addr.AddrPort()
	seg := int(e.seg)
	if seg == 0 {
		seg = len(b)
	}
	for len(b) > 0 {
		k := min(seg, len(b))
		q.m.send(b[:k], to)
		b = b[k:]
	}
}
