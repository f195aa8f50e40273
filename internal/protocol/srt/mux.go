package srt

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/srs-lite/srs-lite/internal/dgram"
)

// udpBuffer is the socket buffer size asked of the kernel, both ways: a
// burst of a 10 Mbps stream and its retransmissions fits (§4.1: one socket
// multiplexes every connection).
const udpBuffer = 4 << 20

// mux owns one UDP socket: it reads datagrams and routes them by
// destination socket id to their connection (§4.1), and runs the timers of
// every connection on one ticker. A listener answers handshakes on it; a
// caller's mux carries one connection.
type mux struct {
	pc dgram.Conn
	bw *dgram.Writer                                     // sendmmsg for the data packets of a flush
	hs func(b []byte, from netip.AddrPort, at time.Time) // socket id 0: a listener's handshakes
	q  *dgram.Queue                                      // a listener's: connections queue their datagrams

	mu     sync.RWMutex
	conns  map[uint32]*Conn
	list   atomic.Pointer[[]*Conn]
	closed bool
	single bool // a caller's mux: closing its connection closes it

	rcvbuf, sndbuf int // granted by the kernel (0: not known)

	done chan struct{}
	wg   sync.WaitGroup
}

func newMux(pc dgram.Conn) *mux {
	m := &mux{pc: pc, bw: dgram.NewWriter(pc), conns: map[uint32]*Conn{}, done: make(chan struct{})}
	m.rcvbuf, m.sndbuf = dgram.SizeBuffers(pc, udpBuffer, udpBuffer)
	m.list.Store(&[]*Conn{})
	return m
}

// start runs the read loop and the ticker; tick, when not nil, also runs on
// every tick (the listener's expiries).
func (m *mux) start(tick func(time.Time)) {
	if m.q != nil {
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			m.q.Run(m.done)
		}()
	}
	m.wg.Add(2)
	go func() {
		defer m.wg.Done()
		m.readLoop()
	}()
	go func() {
		defer m.wg.Done()
		m.tickLoop(tick)
	}()
}

func (m *mux) readLoop() {
	var rb rbatch
	defer rb.release()
	for {
		n, err := rb.read(m.pc)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			select {
			case <-m.done:
				return
			default:
			}
			continue // ICMP errors surface here on some systems
		}
		at := time.Now()
		handshakes := false
		for i := range n {
			if !rb.from[i].IsValid() {
				continue
			}
			handshakes = handshakes || rb.ns[i] >= headerSize && dstSocket(rb.pbs[i].b[:rb.ns[i]]) == 0
			if m.dispatch(rb.pbs[i], rb.ns[i], rb.from[i], at) {
				rb.pbs[i] = nil // kept: rb.read takes a new one
				rb.bufs[i] = nil
			}
		}
		if handshakes {
			// Let the accept loop take the new connections before the next
			// batch: with one P, three batches of a hundred callers dialing
			// at once could fill the backlog (64) first (seen once: 23 of
			// 100 refused with SRT_REJ_BACKLOG).
			runtime.Gosched()
		}
		if n >= readBusy && n < readBatch && m.batched() {
			time.Sleep(readHold)
		}
	}
}

// dispatch routes one datagram; it reports whether its connection kept pb.
func (m *mux) dispatch(pb *pbuf, n int, from netip.AddrPort, at time.Time) bool {
	if n < headerSize {
		return false
	}
	from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
	b := pb.b[:n]
	id := dstSocket(b)
	if id == 0 {
		if m.hs != nil && isControl(b) {
			m.handshake(b, from, at)
		}
		return false
	}
	m.mu.RLock()
	c := m.conns[id]
	m.mu.RUnlock()
	if c == nil || c.raddr != from {
		return false
	}
	return m.deliver(c, pb, n, at)
}

// deliver hands a datagram to its connection. A panic (a bug that a
// peer's packet reached) closes that connection only.
func (m *mux) deliver(c *Conn, pb *pbuf, n int, at time.Time) (kept bool) {
	defer func() {
		if v := recover(); v != nil {
			kept = false
			c.CloseWithError(fmt.Errorf("srt: internal error: %v", v))
		}
	}()
	return c.handle(pb, n, at)
}

// handshake hands a datagram to the listener; a panic drops it.
func (m *mux) handshake(b []byte, from netip.AddrPort, at time.Time) {
	defer func() { _ = recover() }()
	m.hs(b, from, at)
}

// tick runs a connection's timers; a panic closes that connection only.
func (m *mux) tick(c *Conn, now time.Time) {
	defer func() {
		if v := recover(); v != nil {
			c.CloseWithError(fmt.Errorf("srt: internal error: %v", v))
		}
	}()
	c.tick(now)
}

func (m *mux) tickLoop(extra func(time.Time)) {
	t := time.NewTicker(synInterval)
	defer t.Stop()
	for {
		select {
		case <-m.done:
			return
		case now := <-t.C:
			for _, c := range *m.list.Load() {
				m.tick(c, now)
			}
			if extra != nil {
				extra(now)
			}
		}
	}
}

// send writes one datagram. Errors are dropped: UDP is lossy anyway, ARQ
// repairs, and a peer that is gone ends at its idle timeout.
func (m *mux) send(b []byte, to netip.AddrPort) {
	_, _ = m.pc.WriteToUDPAddrPort(b, to)
}

// newID returns a socket id not in use (never 0).
func (m *mux) newIDLocked() uint32 {
	for {
		var b [4]byte
		_, _ = rand.Read(b[:])
		id := binary.BigEndian.Uint32(b[:]) & 0x3FFFFFFF
		if _, used := m.conns[id]; id != 0 && !used {
			return id
		}
	}
}

// addLocked registers c. The caller holds m.mu.
func (m *mux) addLocked(c *Conn) {
	m.conns[c.id] = c
	m.publishListLocked()
}

func (m *mux) publishListLocked() {
	l := make([]*Conn, 0, len(m.conns))
	for _, c := range m.conns {
		l = append(l, c)
	}
	m.list.Store(&l)
}

// remove unregisters a closed connection; a caller's mux closes with it.
func (m *mux) remove(c *Conn) {
	m.mu.Lock()
	if m.conns[c.id] == c {
		delete(m.conns, c.id)
		m.publishListLocked()
	}
	single := m.single
	m.mu.Unlock()
	if single {
		m.close()
	}
}

// close closes every connection and the socket, and waits for the loops.
func (m *mux) close() {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return
	}
	m.closed = true
	conns := make([]*Conn, 0, len(m.conns))
	for _, c := range m.conns {
		conns = append(conns, c)
	}
	m.mu.Unlock()
	for _, c := range conns {
		c.CloseWithError(ErrClosed)
	}
	if m.q != nil {
		m.q.Flush() // the shutdowns
	}
	close(m.done)
	_ = m.pc.Close()
	m.wg.Wait()
}
