package dgram

import (
	"bytes"
	"errors"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"
)

// socketPair returns a Socket on loopback and a plain socket that talks to
// it.
func socketPair(t testing.TB) (*Socket, *net.UDPConn) {
	s, err := ListenSocket("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	peer, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	_ = s.SetReadBuffer(4 << 20)
	_ = peer.SetReadBuffer(4 << 20)
	t.Cleanup(func() { _ = s.Close(); _ = peer.Close() })
	return s, peer
}

func addrOf(c interface{ LocalAddr() net.Addr }) netip.AddrPort {
	return c.LocalAddr().(*net.UDPAddr).AddrPort()
}

// TestSocket: datagrams read one by one and in batches, sent one by one,
// batched and queued, with their sources.
func TestSocket(t *testing.T) {
	s, peer := socketPair(t)
	to, src := addrOf(s), addrOf(peer)
	for i := range 3 {
		if _, err := peer.WriteToUDPAddrPort([]byte{byte(i)}, to); err != nil {
			t.Fatal(err)
		}
	}
	buf := make([]byte, 100)
	n, from, err := s.ReadFromUDPAddrPort(buf)
	if err != nil || n != 1 || buf[0] != 0 || from != src {
		t.Fatalf("ReadFromUDPAddrPort: %d [%d] from %v, %v; want 1 [0] from %v", n, buf[0], from, err, src)
	}
	r := NewReader(s)
	bufs, ns, froms := readSpace()
	for got := 1; got < 3; {
		n, err := r.Read(bufs, ns, froms)
		if err != nil {
			t.Fatal(err)
		}
		for i := range n {
			if ns[i] != 1 || bufs[i][0] != byte(got) || froms[i] != src {
				t.Fatalf("datagram %d: %d bytes [%d] from %v", got, ns[i], bufs[i][0], froms[i])
			}
			got++
		}
	}

	if _, err := s.WriteToUDPAddrPort([]byte("one"), src); err != nil {
		t.Fatal(err)
	}
	w := NewWriter(s)
	var b Batch
	var sent [][]byte
	for i := range 20 {
		p := bytes.Repeat([]byte{byte(i)}, full)
		if i == 19 {
			p = p[:300]
		}
		sent = append(sent, p)
		b.Add(p)
	}
	if err := w.Send(&b, src); err != nil {
		t.Fatal(err)
	}
	q := NewQueue(w)
	q.Put1([]byte("queued"), src)
	q.Flush()
	expect(t, peer, "from the socket", append(append([][]byte{[]byte("one")}, sent...), []byte("queued")))
}

// TestSocketNoLostWakeup: a reader that holds between reads, as the SRT
// listener does, while four peers send: every datagram is read, none waits
// for a later one to wake the reader (the one-shot arming and its second
// look).
func TestSocketNoLostWakeup(t *testing.T) {
	s, _ := socketPair(t)
	to := addrOf(s)
	const peers, each = 4, 2000
	var wg sync.WaitGroup
	for p := range peers {
		c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(to))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				_, _ = c.Write([]byte{byte(p)})
				if i%50 == 0 {
					time.Sleep(time.Duration(p*100) * time.Microsecond)
				}
			}
		}()
	}
	r := NewReader(s)
	bufs, ns, froms := readSpace()
	got := 0
	done := make(chan struct{})
	go func() {
		defer close(done)
		for got < peers*each {
			n, err := r.Read(bufs, ns, froms)
			if err != nil {
				return
			}
			got += n
			if n > 4 {
				time.Sleep(200 * time.Microsecond)
			}
		}
	}()
	wg.Wait()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = s.Close()
		<-done
		t.Fatalf("%d of %d datagrams read, then the reader was not woken", got, peers*each)
	}
}

// TestSocketWriteWaits: a write that finds the socket full (EAGAIN, here
// pretended twice) waits for room and completes.
func TestSocketWriteWaits(t *testing.T) {
	s, _ := socketPair(t)
	rc, err := s.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	calls := 0
	done := make(chan error, 1)
	go func() { done <- rc.Write(func(uintptr) bool { calls++; return calls > 3 }) }()
	select {
	case err := <-done:
		if err != nil || calls != 4 {
			t.Fatalf("Write: %v after %d calls", err, calls)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("a write waiting for room was not woken")
	}
}

// TestSocketClose: Close wakes a waiting reader with net.ErrClosed, and the
// socket refuses what comes after.
func TestSocketClose(t *testing.T) {
	s, peer := socketPair(t)
	r := NewReader(s)
	bufs, ns, froms := readSpace()
	done := make(chan error, 1)
	go func() {
		_, err := r.Read(bufs, ns, froms)
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("read after Close: %v, want net.ErrClosed", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Close did not wake the reader")
	}
	if _, err := s.WriteToUDPAddrPort([]byte("x"), addrOf(peer)); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("write after Close: %v, want net.ErrClosed", err)
	}
	if err := s.Close(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("second Close: %v", err)
	}
}

// TestSocketDoesNotAllocate pins a Socket's batched reads and sends at zero
// allocations, as on a plain socket.
func TestSocketDoesNotAllocate(t *testing.T) {
	s, peer := socketPair(t)
	go drain(peer)
	r, w, q := NewReader(s), NewWriter(s), NewQueue(NewWriter(s))
	to, from := addrOf(s), addrOf(peer)
	bufs, ns, froms := readSpace()
	p := make([]byte, full)
	var b Batch
	round := func() {
		for range 8 {
			b.Add(p[:100])
		}
		_ = w.Send(&b, to) // to itself
		for got := 0; got < 8; {
			n, err := r.Read(bufs, ns, froms)
			if err != nil {
				t.Fatal(err)
			}
			got += n
		}
		for range 10 {
			b.Add(p)
		}
		q.Put(&b, from)
		q.Flush()
	}
	round()
	if raceEnabled {
		return
	}
	if n := testing.AllocsPerRun(100, round); n != 0 {
		t.Errorf("%v allocations per round", n)
	}
}

// TestSocketDualStack: a wildcard Socket (IPv6 family where the host has
// IPv6) reads an IPv4 peer's datagram with its v4-mapped source and
// answers it, plainly and batched.
func TestSocketDualStack(t *testing.T) {
	s, err := ListenSocket("udp", &net.UDPAddr{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	peer, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	port := s.LocalAddr().(*net.UDPAddr).Port
	if _, err := peer.WriteToUDPAddrPort([]byte("hi"), netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port))); err != nil {
		t.Fatal(err)
	}
	bufs, ns, froms := readSpace()
	n, err := NewReader(s).Read(bufs, ns, froms)
	if err != nil || n != 1 || string(bufs[0][:ns[0]]) != "hi" {
		t.Fatalf("read %d %v", n, err)
	}
	from := froms[0]
	if from.Addr().Unmap() != netip.MustParseAddr("127.0.0.1") || from.Port() != addrOf(peer).Port() {
		t.Fatalf("source %v, want %v", from, addrOf(peer))
	}
	if _, err := s.WriteToUDPAddrPort([]byte("one"), from); err != nil {
		t.Fatal(err)
	}
	var b Batch
	b.Add([]byte("two"))
	b.Add([]byte("three"))
	if err := NewWriter(s).Send(&b, netip.AddrPortFrom(from.Addr().Unmap(), from.Port())); err != nil {
		t.Fatal(err)
	}
	expect(t, peer, "answers", [][]byte{[]byte("one"), []byte("two"), []byte("three")})
}
