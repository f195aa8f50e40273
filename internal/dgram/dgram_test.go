package dgram

import (
	"bytes"
	"net"
	"net/netip"
	"testing"
	"time"
)

// full is an SRT live packet's size (16-byte header, 1316-byte payload).
const full = 16 + 1316

// pair returns a Writer on a loopback socket and a socket it sends to.
func pair(t testing.TB) (*Writer, *net.UDPConn, netip.AddrPort) {
	pc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	rc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	_ = rc.SetReadBuffer(4 << 20)
	_ = pc.SetWriteBuffer(4 << 20)
	t.Cleanup(func() { _ = pc.Close(); _ = rc.Close() })
	return NewWriter(pc), rc, rc.LocalAddr().(*net.UDPAddr).AddrPort()
}

func drain(rc *net.UDPConn) {
	buf := make([]byte, 2000)
	for {
		if _, err := rc.Read(buf); err != nil {
			return
		}
	}
}

// expect reads the datagrams of sent from rc, in order.
func expect(t *testing.T, rc *net.UDPConn, what string, sent [][]byte) {
	t.Helper()
	buf := make([]byte, 70000)
	_ = rc.SetReadDeadline(time.Now().Add(2 * time.Second))
	for i, want := range sent {
		k, err := rc.Read(buf)
		if err != nil {
			t.Fatalf("%s: datagram %d: %v", what, i, err)
		}
		if !bytes.Equal(buf[:k], want) {
			t.Fatalf("%s: datagram %d: %d bytes [%d], want %d [%d]", what, i, k, buf[0], len(want), want[0])
		}
	}
}

// TestSend: batches of any size, over MaxBatch included, arrive whole and
// in order, and the batch is empty afterwards.
func TestSend(t *testing.T) {
	w, rc, to := pair(t)
	var b Batch
	seq := 0
	for _, n := range []int{1, 3, MaxBatch + 6, 2, MaxBatch} {
		var sent [][]byte
		for range n {
			p := bytes.Repeat([]byte{byte(seq)}, 100+seq%50)
			seq++
			sent = append(sent, p)
			b.Add(p)
		}
		if err := w.Send(&b, to); err != nil {
			t.Fatal(err)
		}
		if b.Len() != 0 {
			t.Fatalf("batch of %d: %d left", n, b.Len())
		}
		expect(t, rc, "batch", sent)
	}
}

// TestSendGSO: frames cut as a player cuts them (full packets and a
// shorter last one, over the GSO segment and byte limits too), as one
// buffer or as a header and a payload, arrive as the same datagrams in
// order, with GSO where the kernel has it and without.
func TestSendGSO(t *testing.T) {
	for _, off := range []bool{false, true} {
		for _, two := range []bool{false, true} {
			gsoOff = off
			w, rc, to := pair(t)
			gsoOff = false
			t.Logf("gso off=%v two parts=%v: socket has GSO: %v", off, two, w.GSO())
			var b Batch
			seq := 0
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
					if two {
						b.Add2(p[:12], p[12:])
					} else {
						b.Add(p)
					}
				}
				_ = w.Send(&b, to)
				if b.Len() != 0 {
					t.Fatalf("batch of %d: %d left", n, b.Len())
				}
				expect(t, rc, "batch", sent)
			}
			if b.noGSO {
				t.Errorf("off=%v: GSO turned off after a failed send", off)
			}
		}
	}
}

// TestTrainLen: a GSO message is a run of one size and at most one shorter
// datagram after it, within the segment and byte limits.
func TestTrainLen(t *testing.T) {
	mk := func(sizes ...int) []dg {
		var ds []dg
		for _, s := range sizes {
			ds = append(ds, dg{size: int32(s)})
		}
		return ds
	}
	for _, c := range []struct {
		dgs  []dg
		want int
	}{
		{mk(1332), 1},
		{mk(1332, 1332, 500), 3},
		{mk(1332, 500, 1332), 2},
		{mk(500, 1332), 1},
		{mk(1332, 1332, 1332, 1400), 3},
		{mk(make([]int, 100)...), 1}, // zero-size datagrams: one each
	} {
		if got := trainLen(c.dgs); got != c.want {
			t.Errorf("trainLen(%d datagrams, first %d) = %d, want %d", len(c.dgs), c.dgs[0].size, got, c.want)
		}
	}
	big := make([]int, 200)
	for i := range big {
		big[i] = 1332
	}
	if got := trainLen(mk(big...)); got != gsoMaxBytes/1332 {
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
		w, rc, to := pair(t)
		gsoOff = false
		if gso && !w.GSO() {
			t.Skip("no UDP GSO on this kernel")
		}
		_ = rc.SetReadBuffer(256 << 10)
		var b Batch
		p := make([]byte, full)
		for range 200 { // 2000 datagrams, 2.6 MB, read only at the end
			for range 10 {
				b.Add(p)
			}
			_ = w.Send(&b, to)
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

// TestQueue: datagrams of several producers to several peers, one and two
// parts, arrive whole and in each peer's order, with GSO and without.
func TestQueue(t *testing.T) {
	for _, off := range []bool{false, true} {
		gsoOff = off
		w, rc1, to1 := pair(t)
		gsoOff = false
		rc2, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		defer rc2.Close()
		_ = rc2.SetReadBuffer(4 << 20)
		q := NewQueue(w)
		done := make(chan struct{})
		go q.Run(done)
		a1, a2 := to1, rc2.LocalAddr().(*net.UDPAddr).AddrPort()
		var sent1, sent2 [][]byte
		var b Batch
		for i := range 30 {
			p := bytes.Repeat([]byte{byte(i)}, full)
			if i%10 == 9 {
				p = p[:300]
			}
			sent1 = append(sent1, p)
			b.Add2(p[:16], p[16:])
			if i%10 == 9 {
				q.Put(&b, a1)
				p2 := bytes.Repeat([]byte{byte(100 + i)}, 44)
				q.Put1(p2, a2)
				sent2 = append(sent2, p2)
			}
		}
		expect(t, rc1, "peer 1", sent1)
		expect(t, rc2, "peer 2", sent2)
		close(done)
	}
}

// readSpace returns what a Reader.Read of a whole batch fills: the
// buffers, their lengths and their sources.
func readSpace() (bufs [][]byte, ns []int, from []netip.AddrPort) {
	bufs = make([][]byte, ReadBatch)
	for i := range bufs {
		bufs[i] = make([]byte, 2000)
	}
	return bufs, make([]int, ReadBatch), make([]netip.AddrPort, ReadBatch)
}

// TestReader: a burst read in batches arrives whole, in order, with its
// source.
func TestReader(t *testing.T) {
	w, rc, to := pair(t)
	var b Batch
	var sent [][]byte
	for i := range 100 {
		p := bytes.Repeat([]byte{byte(i)}, 50+i)
		sent = append(sent, p)
		b.Add(p)
	}
	_ = w.Send(&b, to)
	r := NewReader(rc)
	bufs, ns, from := readSpace()
	src := w.uc.LocalAddr().(*net.UDPAddr).AddrPort()
	got, calls := 0, 0
	for got < len(sent) {
		n, err := r.Read(bufs, ns, from)
		if err != nil {
			t.Fatal(err)
		}
		calls++
		for i := range n {
			if from[i] != src || !bytes.Equal(bufs[i][:ns[i]], sent[got]) {
				t.Fatalf("datagram %d: %d bytes from %v, want %d from %v", got, ns[i], from[i], len(sent[got]), src)
			}
			got++
		}
	}
	t.Logf("100 datagrams in %d reads", calls)
}

// BenchmarkSend sends a 3 Mbps frame's worth of SRT packets (10) in one
// batch: one sendmmsg; BenchmarkSendEach as 10 plain writes.
func BenchmarkSend(b *testing.B) {
	w, rc, to := pair(b)
	go drain(rc)
	p := make([]byte, full)
	var sb Batch
	b.ReportAllocs()
	b.SetBytes(int64(10 * len(p)))
	for b.Loop() {
		for range 10 {
			sb.Add(p)
		}
		_ = w.Send(&sb, to)
	}
}

func BenchmarkSendEach(b *testing.B) {
	w, rc, to := pair(b)
	go drain(rc)
	p := make([]byte, full)
	b.ReportAllocs()
	b.SetBytes(int64(10 * len(p)))
	for b.Loop() {
		for range 10 {
			_ = w.WriteTo(p, to)
		}
	}
}

// BenchmarkQueueFanout is one frame (10 packets) to 100 players through a
// send queue: each player queues its packets, then one flush sends them (in
// GSO trains where the kernel has them). Per frame.
func BenchmarkQueueFanout(b *testing.B) {
	w, rc, to := pair(b)
	go drain(rc)
	q := NewQueue(w)
	addr := to
	p := make([]byte, full)
	var sb Batch
	b.ReportAllocs()
	b.SetBytes(int64(100 * 10 * len(p)))
	for b.Loop() {
		for range 100 {
			for range 10 {
				sb.Add(p)
			}
			q.Put(&sb, addr)
		}
		q.Flush()
	}
	b.ReportMetric(float64(q.Calls())/float64(b.N), "sendmmsg/frame")
}

// TestQueueDoesNotAllocate pins the send queue, and a Writer's batch of
// two-part datagrams, at zero allocations per frame once their buffers
// have grown.
func TestQueueDoesNotAllocate(t *testing.T) {
	w, rc, to := pair(t)
	go drain(rc)
	q := NewQueue(w)
	addr := to
	p := make([]byte, full)
	var sb Batch
	frame := func() {
		for range 20 {
			for range 10 {
				sb.Add(p)
			}
			q.Put(&sb, addr)
		}
		q.Put1(p[:44], addr)
		q.Flush()
		for range 10 {
			sb.Add2(p[:12], p[12:])
		}
		_ = w.Send(&sb, to)
	}
	for range 10 {
		frame()
	}
	if n := testing.AllocsPerRun(100, frame); n != 0 {
		t.Errorf("%v allocations per frame", n)
	}
}

// TestReaderDoesNotAllocate pins the batch reader at zero allocations.
func TestReaderDoesNotAllocate(t *testing.T) {
	w, rc, to := pair(t)
	r := NewReader(rc)
	bufs, ns, from := readSpace()
	p := make([]byte, 100)
	var b Batch
	round := func() {
		for range 8 {
			b.Add(p)
		}
		_ = w.Send(&b, to)
		for got := 0; got < 8; {
			n, err := r.Read(bufs, ns, from)
			if err != nil {
				t.Fatal(err)
			}
			got += n
		}
	}
	round()
	if raceEnabled {
		return
	}
	if n := testing.AllocsPerRun(100, round); n != 0 {
		t.Errorf("%v allocations per round", n)
	}
}

// TestDualStack: a socket of the IPv6 family (a wildcard listen) sends to
// IPv4 destinations as v4-mapped addresses and to IPv6 ones, batched and
// queued.
func TestDualStack(t *testing.T) {
	pc, err := net.ListenUDP("udp", &net.UDPAddr{})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	w := NewWriter(pc)
	if pc.LocalAddr().(*net.UDPAddr).IP.To4() != nil {
		t.Skip("the wildcard socket is not AF_INET6 here (no IPv6)")
	}
	for _, ip := range []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback} {
		rc, err := net.ListenUDP("udp", &net.UDPAddr{IP: ip})
		if err != nil {
			t.Logf("%v: %v", ip, err)
			continue
		}
		defer rc.Close()
		to := rc.LocalAddr().(*net.UDPAddr).AddrPort()
		var b Batch
		var sent [][]byte
		for i := range 5 {
			p := bytes.Repeat([]byte{byte(i)}, full)
			sent = append(sent, p)
			b.Add(p)
		}
		if err := w.Send(&b, to); err != nil {
			t.Fatalf("%v: %v", to, err)
		}
		q := NewQueue(w)
		q.Put1(sent[0], to)
		q.Flush()
		expect(t, rc, to.String(), append(sent, sent[0]))
	}
}
