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

// TestSendBatchGSO: frames cut as a player cuts them (full packets and a
// shorter last one, over the GSO segment and byte limits too) arrive as
// the same datagrams in order, with GSO where the kernel has it and without.
func TestSendBatchGSO(t *testing.T) {
	for _, off := range []bool{false, true} {
		gsoOff = off
		m, rc, to := batchPair(t)
		gsoOff = false
		t.Logf("gso off=%v: socket has GSO: %v", off, m.bw.gso)
		var b sendBatch
		seq := 0
		full := headerSize + LivePayload
		for _, n := range []int{2, 10, gsoMaxSegs + 3, 1, 130} {
			var sent [][]byte
			for i := range n {
				size := full
				if i == n-1 && n > 1 {
					size = 200 + seq%100
				}
				if n == 130 && i == 50 {
					size = 700 // a short packet inside the batch (a retransmission)
				}
				p := bytes.Repeat([]byte{byte(seq)}, size)
				seq++
				sent = append(sent, p)
				b.add(p)
			}
			m.sendBatch(&b, to)
			if len(b.bufs) != 0 {
				t.Fatalf("batch of %d: %d left", n, len(b.bufs))
			}
			buf := make([]byte, 70000)
			_ = rc.SetReadDeadline(time.Now().Add(2 * time.Second))
			for i, want := range sent {
				k, err := rc.Read(buf)
				if err != nil {
					t.Fatalf("off=%v batch of %d: datagram %d: %v", off, n, i, err)
				}
				if !bytes.Equal(buf[:k], want) {
					t.Fatalf("off=%v batch of %d: datagram %d: %d bytes [%d], want %d [%d]", off, n, i, k, buf[0], len(want), want[0])
				}
			}
		}
		if b.noGSO {
			t.Errorf("off=%v: GSO turned off after a failed send", off)
		}
	}
}

// TestTrainLen: a GSO message is a run of one size and at most one shorter
// datagram after it, within the segment and byte limits.
func TestTrainLen(t *testing.T) {
	mk := func(sizes ...int) [][]byte {
		var bs [][]byte
		for _, s := range sizes {
			bs = append(bs, make([]byte, s))
		}
		return bs
	}
	for _, c := range []struct {
		bufs [][]byte
		want int
	}{
		{mk(1332), 1},
		{mk(1332, 1332, 500), 3},
		{mk(1332, 500, 1332), 2},
		{mk(500, 1332), 1},
		{mk(1332, 1332, 1332, 1400), 3},
		{mk(make([]int, 100)...), 1}, // zero-size datagrams: one each
	} {
		if got := trainLen(c.bufs); got != c.want {
			t.Errorf("trainLen(%d datagrams, first %d) = %d, want %d", len(c.bufs), len(c.bufs[0]), got, c.want)
		}
	}
	big := make([][]byte, 200)
	for i := range big {
		big[i] = make([]byte, 1332)
	}
	if got := trainLen(big); got != gsoMaxBytes/1332 {
		t.Errorf("trainLen(200 full) = %d, want %d", got, gsoMaxBytes/1332)
	}
}

// TestGSOReceiveBuffer: datagrams cut from GSO trains cost a local
// receiving socket no more buffer than plain ones (the kernel cuts a train
// sent to loopback at the receiving socket).
func TestGSOReceiveBuffer(t *testing.T) {
	fit := map[bool]int{}
	for _, gso := range []bool{false, true} {
		gsoOff = !gso
		m, rc, to := batchPair(t)
		gsoOff = false
		if gso && !m.bw.gso {
			t.Skip("no UDP GSO on this kernel")
		}
		_ = rc.SetReadBuffer(256 << 10)
		var b sendBatch
		p := make([]byte, headerSize+LivePayload)
		for range 200 { // 2000 datagrams, 2.6 MB, read only at the end
			for range 10 {
				b.add(p)
			}
			m.sendBatch(&b, to)
		}
		buf := make([]byte, 2000)
		for {
			_ = rc.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
			if _, err := rc.Read(buf); err != nil {
				break
			}
			fit[gso]++
		}
	}
	t.Logf("datagrams a 256 KiB receive buffer held: plain %d, GSO %d", fit[false], fit[true])
	if fit[true] < fit[false]*9/10 {
		t.Errorf("GSO: %d datagrams held, plain: %d", fit[true], fit[false])
	}
}

// BenchmarkQueueFanout is one frame (10 packets) to 100 players through a
// listener's send queue: each player queues its packets, then one flush
// sends them (in GSO trains where the kernel has them). Per frame.
func BenchmarkQueueFanout(b *testing.B) {
	m, rc, to := batchPair(b)
	go drain(rc)
	q := newSendQueue(m)
	addr := net.UDPAddrFromAddrPort(to)
	p := make([]byte, headerSize+LivePayload)
	var sb sendBatch
	b.ReportAllocs()
	b.SetBytes(int64(100 * 10 * len(p)))
	for b.Loop() {
		for range 100 {
			for range 10 {
				sb.add(p)
			}
			q.put(&sb, addr)
		}
		q.flush()
	}
	b.ReportMetric(float64(q.calls.Load())/float64(b.N), "sendmmsg/frame")
}

// TestQueueDoesNotAllocate pins the send queue at zero allocations per
// frame once its buffers have grown.
func TestQueueDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool (x/net's sendmmsg buffers) drops items under -race: make unit runs the pins without it")
	}
	m, rc, to := batchPair(t)
	go drain(rc)
	q := newSendQueue(m)
	addr := net.UDPAddrFromAddrPort(to)
	p := make([]byte, headerSize+LivePayload)
	var sb sendBatch
	frame := func() {
		for range 20 {
			for range 10 {
				sb.add(p)
			}
			q.put(&sb, addr)
		}
		q.put1(p[:44], addr)
		q.flush()
	}
	for range 10 {
		frame()
	}
	if n := testing.AllocsPerRun(100, frame); n != 0 {
		t.Errorf("%v allocations per frame", n)
	}
}
