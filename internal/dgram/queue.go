package dgram

import (
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
)

// A Queue is the send side of a socket shared by many peers. Producers do
// not send their datagrams themselves: they copy them into the queue, and
// one sender goroutine sends everything queued in one sendmmsg (GSO trains
// where the kernel has them). When a frame wakes a hundred players, their
// packets leave in a few system calls instead of a hundred.
const (
	// queueMsgs bounds the messages of one sendmmsg (the kernel's
	// UIO_MAXIOV).
	queueMsgs = 1024
	// queueBytes is the queue's size: a producer that fills it sends it
	// itself (the sender is behind). Two of them (one queued, one being
	// sent) are the memory of a queue.
	queueBytes = 512 << 10
)

// qent is one queued message: a datagram, or with seg > 0 a GSO train of
// datagrams of seg bytes (the last one shorter).
type qent struct {
	off, n int32
	seg    uint16
	to     netip.AddrPort
}

// qbuf is what a flush sends: the queued bytes and their messages.
type qbuf struct {
	data []byte
	ents []qent
}

// Queue batches the datagrams of many producers on one socket.
type Queue struct {
	w      *Writer
	mu     sync.Mutex
	cur    *qbuf
	spare  *qbuf
	wake   chan struct{}
	sendMu sync.Mutex // one flush at a time, in queue order; guards what follows
	ms     []msg
	iov    [][]byte
	oob    []byte
	mm     mmsg
	gsoOff atomic.Bool
	calls  atomic.Uint64
	errs   atomic.Uint64
}

// NewQueue returns a queue sending with w. Run must run for queued
// datagrams to leave (or Flush be called).
func NewQueue(w *Writer) *Queue {
	return &Queue{w: w, cur: &qbuf{}, spare: &qbuf{}, wake: make(chan struct{}, 1)}
}

// Calls returns the number of sendmmsg calls made so far.
func (q *Queue) Calls() uint64 { return q.calls.Load() }

// Errors returns the number of datagrams the kernel refused so far.
func (q *Queue) Errors() uint64 { return q.errs.Load() }

// Put copies the datagrams of b into the queue for `to` and empties b. A
// producer that fills the queue sends it itself (the sender is behind), so
// that the queue stays within its size.
func (q *Queue) Put(b *Batch, to netip.AddrPort) {
	if len(b.dgs) == 0 {
		return // a timer's flush with nothing to send: no lock, no wakeup
	}
	gso := q.w.gso && !q.gsoOff.Load()
	q.mu.Lock()
	first := len(q.cur.ents) == 0
	for i := 0; i < len(b.dgs); {
		qb := q.cur
		n := 1
		if gso {
			n = trainLen(b.dgs[i:])
		}
		off := len(qb.data)
		d0, dn := b.dgs[i], b.dgs[i+n-1]
		for _, p := range b.parts[d0.start:dn.end] {
			qb.data = append(qb.data, p...)
		}
		e := qent{off: int32(off), n: int32(len(qb.data) - off), to: to}
		if n > 1 {
			e.seg = uint16(d0.size)
		}
		qb.ents = append(qb.ents, e)
		i += n
		if q.fullLocked() {
			q.mu.Unlock()
			q.Flush()
			q.mu.Lock()
			first = len(q.cur.ents) == 0
		}
	}
	q.mu.Unlock()
	b.Reset()
	q.signal(first)
}

func (q *Queue) fullLocked() bool {
	return len(q.cur.data) >= queueBytes || len(q.cur.ents) >= queueMsgs
}

// Put1 copies one datagram into the queue.
func (q *Queue) Put1(p []byte, to netip.AddrPort) {
	q.mu.Lock()
	qb := q.cur
	first := len(qb.ents) == 0
	off := len(qb.data)
	qb.data = append(qb.data, p...)
	qb.ents = append(qb.ents, qent{off: int32(off), n: int32(len(p)), to: to})
	full := q.fullLocked()
	q.mu.Unlock()
	if full {
		q.Flush()
		return
	}
	q.signal(first)
}

// signal wakes the sender for the first datagrams of the queue.
func (q *Queue) signal(first bool) {
	if first {
		select {
		case q.wake <- struct{}{}:
		default:
		}
	}
}

// Run is the sender goroutine: it returns when done closes (Flush then
// sends what is left, if the caller wants it sent).
func (q *Queue) Run(done <-chan struct{}) {
	for {
		select {
		case <-done:
			return
		case <-q.wake:
		}
		// The goroutines made runnable with the one that woke us (the
		// other players of a frame, the read loop) queue theirs first.
		runtime.Gosched()
		q.Flush()
	}
}

// Flush sends everything queued.
func (q *Queue) Flush() {
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

func (q *Queue) send(qb *qbuf) {
	w := q.w
	if w.off.Load() {
		for _, e := range qb.ents {
			q.sendPlain(qb, e)
		}
		return
	}
	if q.ms == nil {
		q.ms = make([]msg, queueMsgs)
		q.iov = make([][]byte, queueMsgs)
		q.oob = make([]byte, queueMsgs*gsoSpace)
	}
	for ents := qb.ents; len(ents) > 0; {
		n := min(len(ents), queueMsgs)
		ms := q.ms[:n]
		for i, e := range ents[:n] {
			q.iov[i] = qb.data[e.off : e.off+e.n]
			ms[i] = msg{bufs: q.iov[i : i+1], to: e.to}
			if e.seg > 0 {
				ms[i].oob = putGSO(q.oob[i*gsoSpace:(i+1)*gsoSpace], int(e.seg))
			}
		}
		sent, err := q.mm.send(w.s, ms)
		q.calls.Add(1)
		if err != nil && sent <= 0 {
			// The first message failed. Errors are dropped (the protocols
			// above repair or live with loss); a GSO train the kernel
			// refuses turns GSO off for the queue.
			if isUnsupported(err) {
				w.off.Store(true)
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
	clear(q.iov[:used])
	clear(q.ms[:used])
}

// sendPlain sends a message as plain datagrams.
func (q *Queue) sendPlain(qb *qbuf, e qent) {
	b := qb.data[e.off : e.off+e.n]
	to := e.to
	seg := int(e.seg)
	if seg == 0 {
		seg = len(b)
	}
	for len(b) > 0 {
		k := min(seg, len(b))
		if q.w.WriteTo(b[:k], to) != nil {
			q.errs.Add(1)
		}
		b = b[k:]
	}
}
