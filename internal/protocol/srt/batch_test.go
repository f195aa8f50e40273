package srt

import (
	"bytes"
	"net"
	"net/netip"
	"testing"
	"time"
)

// batchPair returns a mux on a loopback socket and a socket it sends to.
func batchPair(t testing.TB) (*mux, *net.UDPConn, netip.AddrPort) {
	pc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	rc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	_ = rc.SetReadBuffer(udpBuffer)
	t.Cleanup(func() { _ = pc.Close(); _ = rc.Close() })
	return newMux(pc), rc, rc.LocalAddr().(*net.UDPAddr).AddrPort()
}

// TestSendBatch: batches of any size, over maxBatch included, arrive whole
// and in order, and the batch is empty afterwards.
func TestSendBatch(t *testing.T) {
	m, rc, to := batchPair(t)
	var b sendBatch
	seq := 0
	for _, n := range []int{1, 3, maxBatch + 6, 2, maxBatch} {
		var sent [][]byte
		for range n {
			p := bytes.Repeat([]byte{byte(seq)}, 100+seq%50)
			seq++
			sent = append(sent, p)
			b.add(p)
		}
		m.sendBatch(&b, to)
		if len(b.bufs) != 0 {
			t.Fatalf("batch of %d: %d left", n, len(b.bufs))
		}
		buf := make([]byte, 2000)
		_ = rc.SetReadDeadline(time.Now().Add(2 * time.Second))
		for i, want := range sent {
			k, err := rc.Read(buf)
			if err != nil {
				t.Fatalf("batch of %d: datagram %d: %v", n, i, err)
			}
			if !bytes.Equal(buf[:k], want) {
				t.Fatalf("batch of %d: datagram %d differs", n, i)
			}
		}
	}
}

// BenchmarkSendBatch sends a 3 Mbps frame's worth of SRT packets (10) in
// one batch: one sendmmsg; BenchmarkSendEach as 10 plain writes.
func BenchmarkSendBatch(b *testing.B) {
	m, rc, to := batchPair(b)
	go drain(rc)
	p := make([]byte, headerSize+LivePayload)
	var sb sendBatch
	b.ReportAllocs()
	b.SetBytes(int64(10 * len(p)))
	for b.Loop() {
		for range 10 {
			sb.add(p)
		}
		m.sendBatch(&sb, to)
	}
}

func BenchmarkSendEach(b *testing.B) {
	m, rc, to := batchPair(b)
	go drain(rc)
	p := make([]byte, headerSize+LivePayload)
	b.ReportAllocs()
	b.SetBytes(int64(10 * len(p)))
	for b.Loop() {
		for range 10 {
			m.send(p, to)
		}
	}
}

func drain(rc *net.UDPConn) {
	buf := make([]byte, 2000)
	for {
		if _, err := rc.Read(buf); err != nil {
			return
		}
	}
}
