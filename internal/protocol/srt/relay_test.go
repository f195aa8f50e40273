package srt

import (
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// relay is a lossy UDP link for tests: it forwards each caller's datagrams
// to target from a socket of its own, and the answers back, dropping a
// share of them, delaying them and reordering some. Handshakes pass
// untouched, so that connecting is not what a test measures.
type relay struct {
	t       *testing.T
	pc      *net.UDPConn
	target  netip.AddrPort
	loss    float64
	reorder float64
	delay   time.Duration

	mu    sync.Mutex
	rng   *rand.Rand
	peers map[netip.AddrPort]*net.UDPConn

	dropped, passed, reordered atomic.Int64
	wg                         sync.WaitGroup
	closed                     atomic.Bool
}

func newRelay(t *testing.T, target string, loss, reorder float64, delay time.Duration) *relay {
	t.Helper()
	pc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	_ = pc.SetReadBuffer(udpBuffer)
	r := &relay{t: t, pc: pc, target: netip.MustParseAddrPort(target), loss: loss, reorder: reorder,
		delay: delay, rng: rand.New(rand.NewPCG(1, 2)), peers: map[netip.AddrPort]*net.UDPConn{}}
	r.wg.Add(1)
	go r.fromCallers()
	t.Cleanup(r.close)
	return r
}

func (r *relay) addr() string { return r.pc.LocalAddr().String() }

func (r *relay) close() {
	if r.closed.Swap(true) {
		return
	}
	_ = r.pc.Close()
	r.mu.Lock()
	for _, u := range r.peers {
		_ = u.Close()
	}
	r.mu.Unlock()
	r.wg.Wait()
}

// link is one direction of the relay: a FIFO with a constant delay.
type link struct {
	q    chan queued
	held []byte // a packet held back to go out after the next one
}

type queued struct {
	at time.Time
	b  []byte
}

func (r *relay) newLink(send func([]byte)) *link {
	l := &link{q: make(chan queued, 4096)}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		for p := range l.q {
			time.Sleep(time.Until(p.at))
			if !r.closed.Load() {
				send(p.b)
			}
		}
	}()
	return l
}

// pass decides the fate of one datagram: dropped, held back to go after
// the next one (reordered), or queued.
func (r *relay) pass(l *link, b []byte) {
	hs := len(b) >= 2 && b[0] == 0x80 && b[1] == 0x00
	r.mu.Lock()
	drop := !hs && r.rng.Float64() < r.loss
	late := !hs && r.rng.Float64() < r.reorder
	r.mu.Unlock()
	if drop {
		r.dropped.Add(1)
		return
	}
	r.passed.Add(1)
	c := append([]byte(nil), b...)
	if late && l.held == nil {
		r.reordered.Add(1)
		l.held = c
		return
	}
	at := time.Now().Add(r.delay)
	select {
	case l.q <- queued{at, c}:
	default:
		r.dropped.Add(1)
	}
	if l.held != nil {
		select {
		case l.q <- queued{at, l.held}:
		default:
		}
		l.held = nil
	}
}

func (r *relay) fromCallers() {
	defer r.wg.Done()
	buf := make([]byte, 2048)
	links := map[netip.AddrPort]*link{}
	defer func() {
		for _, l := range links {
			close(l.q)
		}
	}()
	for {
		n, from, err := r.pc.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		r.mu.Lock()
		up := r.peers[from]
		if up == nil && !r.closed.Load() {
			up, err = net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(r.target))
			if err != nil {
				r.mu.Unlock()
				continue
			}
			_ = up.SetReadBuffer(udpBuffer)
			r.peers[from] = up
			r.wg.Add(1)
			go r.fromTarget(up, from)
		}
		r.mu.Unlock()
		if up == nil {
			continue
		}
		l := links[from]
		if l == nil {
			l = r.newLink(func(b []byte) { _, _ = up.Write(b) })
			links[from] = l
		}
		r.pass(l, buf[:n])
	}
}

func (r *relay) fromTarget(up *net.UDPConn, caller netip.AddrPort) {
	defer r.wg.Done()
	buf := make([]byte, 2048)
	l := r.newLink(func(b []byte) { _, _ = r.pc.WriteToUDPAddrPort(b, caller) })
	defer close(l.q)
	for {
		n, err := up.Read(buf)
		if err != nil {
			return
		}
		r.pass(l, buf[:n])
	}
}
