package srt

import (
	"net"
	"testing"
	"time"
)

// benchConn is a connection on a real UDP socket whose peer is a socket
// that never reads (the kernel drops what overflows it).
func benchConn(tb testing.TB, cr *crypter) *Conn {
	tb.Helper()
	pc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		tb.Fatal(err)
	}
	sink, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = pc.Close(); _ = sink.Close() })
	m := newMux(pc)
	now := time.Now()
	c := newConn(m, connParams{raddr: sink.LocalAddr().(*net.UDPAddr).AddrPort(), id: 1, peerID: 2, isn: 100,
		start: now, hsArrival: now.Add(-time.Hour), rcvLat: 0, sndLat: DefaultLatency,
		idle: time.Hour, mtu: 1500, peerWin: flowWindow, cr: cr})
	return c
}

// BenchmarkConnWrite is the send path of a player: Write builds a packet in
// a pooled buffer, keeps it for retransmission and sends it; an ACK every
// 64 packets frees them, as a receiver does.
func BenchmarkConnWrite(b *testing.B) {
	benchWrite(b, nil)
}

// BenchmarkConnWriteAES128 is BenchmarkConnWrite with AES-CTR.
func BenchmarkConnWriteAES128(b *testing.B) {
	cr, err := newCrypter("benchmark passphrase", 16)
	if err != nil {
		b.Fatal(err)
	}
	benchWrite(b, cr)
}

func benchWrite(b *testing.B, cr *crypter) {
	c := benchConn(b, cr)
	payload := make([]byte, LivePayload)
	ack := appendACK(nil, &ackInfo{rtt: 1000, rttVar: 100, avail: 8000})
	b.ReportAllocs()
	b.SetBytes(LivePayload)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := c.Write(payload); err != nil {
			b.Fatal(err)
		}
		if i%64 == 63 {
			c.mu.Lock()
			putSeq(ack, c.snd.next)
			c.onACK(ctrlHeader{typ: ctrlACK, info: uint32(i)}, ack, c.clock(time.Now()))
			c.mu.Unlock()
		}
	}
}

func putSeq(b []byte, seq uint32) {
	b[0], b[1], b[2], b[3] = byte(seq>>24), byte(seq>>16), byte(seq>>8), byte(seq)
}

// BenchmarkConnReceive is the receive path of a publisher: a datagram in a
// pooled buffer goes into the receive ring (handle, as the mux calls it),
// then Read copies its payload out at its TSBPD time (already due here).
func BenchmarkConnReceive(b *testing.B) {
	c := benchConn(b, nil)
	buf := make([]byte, 1500)
	seq := uint32(100)
	b.ReportAllocs()
	b.SetBytes(LivePayload)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		pb := getPbuf()
		h := dataHeader{seq: seq, pos: ppSolo, order: true, msgNo: 1, ts: uint32(i), dst: 1}
		h.put(pb.b[:headerSize])
		seq = seqAdd(seq, 1)
		if !c.handle(pb, headerSize+LivePayload, time.Now()) {
			b.Fatal("packet not kept")
		}
		if n, err := c.Read(buf); err != nil || n != LivePayload {
			b.Fatalf("read %d %v", n, err)
		}
	}
}

// TestHotPathsDoNotAllocate pins the send and receive paths at zero
// allocations per packet.
func TestHotPathsDoNotAllocate(t *testing.T) {
	c := benchConn(t, nil)
	payload := make([]byte, LivePayload)
	ack := appendACK(nil, &ackInfo{rtt: 1000, rttVar: 100, avail: 8000})
	for range 2000 { // warm the pools and the ring
		_, _ = c.Write(payload)
	}
	i := 0
	if n := testing.AllocsPerRun(1000, func() {
		_, _ = c.Write(payload)
		if i++; i%64 == 0 {
			c.mu.Lock()
			putSeq(ack, c.snd.next)
			c.onACK(ctrlHeader{typ: ctrlACK, info: uint32(i)}, ack, c.clock(time.Now()))
			c.mu.Unlock()
		}
	}); n != 0 {
		t.Errorf("Write: %v allocations per packet", n)
	}
	// A player's frame: ten packets and a tail kept back for the next.
	frame := make([]byte, 10*LivePayload+500)
	if n := testing.AllocsPerRun(200, func() {
		_, _ = c.WriteStream(frame, LivePayload, synInterval)
		c.mu.Lock()
		putSeq(ack, c.snd.next)
		i++
		c.onACK(ctrlHeader{typ: ctrlACK, info: uint32(i)}, ack, c.clock(time.Now()))
		c.mu.Unlock()
	}); n != 0 {
		t.Errorf("WriteStream: %v allocations per frame", n)
	}
	r := benchConn(t, nil)
	buf := make([]byte, 1500)
	seq := uint32(100)
	recv := func() {
		pb := getPbuf()
		h := dataHeader{seq: seq, pos: ppSolo, msgNo: 1, ts: seq, dst: 1}
		h.put(pb.b[:headerSize])
		seq = seqAdd(seq, 1)
		r.handle(pb, headerSize+LivePayload, time.Now())
		_, _ = r.Read(buf)
	}
	for range 2000 {
		recv()
	}
	if n := testing.AllocsPerRun(1000, recv); n != 0 {
		t.Errorf("receive: %v allocations per packet", n)
	}
}
