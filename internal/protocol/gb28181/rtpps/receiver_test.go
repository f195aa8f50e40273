package rtpps

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/srs-lite/srs-lite/internal/format/ps"
	"github.com/srs-lite/srs-lite/internal/media"
)

// gstFile is GStreamer mpegpsmux output: 50 frames of H.264 and 41 of AAC
// (see internal/format/ps/helpers_test.go).
const gstFile = "../../../format/ps/testdata/gst-h264-aac.ps"

type piece struct {
	b  []byte
	ts uint32
}

func pieces(t testing.TB) []piece {
	data, err := os.ReadFile(gstFile)
	if err != nil {
		t.Fatal(err)
	}
	var out []piece
	ps.SplitFrames(data, func(b []byte, pts int64) { out = append(out, piece{b, uint32(pts)}) })
	return out
}

// sink records what it gets.
type sink struct {
	mu            sync.Mutex
	video, audio  int
	keys, configs int
	lastDTS       time.Duration
	backwards     int
	gone          chan error
	frameAfter    bool
	ended         bool
	videoCh       chan int
}

func newSink() *sink { return &sink{gone: make(chan error, 1), videoCh: make(chan int, 1000)} }

func (s *sink) Frame(f *media.Frame) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended {
		s.frameAfter = true
	}
	switch {
	case f.IsConfig():
		s.configs++
	case f.Codec.IsVideo():
		s.video++
		if f.IsKey() {
			s.keys++
		}
		if f.DTS < s.lastDTS {
			s.backwards++
		}
		s.lastDTS = f.DTS
		s.videoCh <- s.video
	case f.Codec.IsAudio():
		s.audio++
	}
}

func (s *sink) Gone(err error) {
	s.mu.Lock()
	s.ended = true
	s.mu.Unlock()
	s.gone <- err
}

// waitVideo waits until n video frames came.
func (s *sink) waitVideo(t *testing.T, n int) {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case v := <-s.videoCh:
			if v >= n {
				return
			}
		case <-timeout:
			s.mu.Lock()
			defer s.mu.Unlock()
			t.Fatalf("%d video frames after 5 s, want %d", s.video, n)
		}
	}
}

func (s *sink) counts() (video, audio, keys int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.video, s.audio, s.keys
}

func testLog(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return nil
}

// newReceiver listens on 127.0.0.1 ports for TCP and UDP.
func newReceiver(t *testing.T) (*Receiver, string, string) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := NewReceiver(ln, pc, testLog(t))
	t.Cleanup(func() { r.Close() })
	return r, ln.Addr().String(), pc.LocalAddr().String()
}

func send(t *testing.T, s *Sender, ps []piece) {
	t.Helper()
	for _, p := range ps {
		if err := s.WritePS(p.b, p.ts); err != nil {
			t.Fatal(err)
		}
	}
}

// TestUDP sends the GStreamer stream over UDP.
func TestUDP(t *testing.T) {
	r, _, udp := newReceiver(t)
	const ssrc = 200001234
	sk := newSink()
	defer r.Expect(ssrc, sk)()
	c, err := net.Dial("udp", udp)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ps := pieces(t)
	s := NewSender(c, false, ssrc, PayloadType)
	for _, p := range ps {
		if err := s.WritePS(p.b, p.ts); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond) // a UDP burst may overflow the socket buffer
	}
	sk.waitVideo(t, 50)
	time.Sleep(50 * time.Millisecond)
	v, a, k := sk.counts()
	if v != 50 || a != 41 || k != 2 || sk.backwards != 0 {
		t.Errorf("video %d audio %d keys %d backwards %d, want 50 41 2 0", v, a, k, sk.backwards)
	}
	st, ok := r.StatsOf(ssrc)
	if !ok || st.Packets != uint64(s.Seq()) || st.Lost != 0 || st.Frames != 91 || st.Transport != "udp" || st.Errors != 0 {
		t.Errorf("stats %+v, want %d packets", st, s.Seq())
	}
}

// reorderer swaps every seventh packet with the next one.
type reorderer struct {
	w    io.Writer
	n    int
	held []byte
}

func (o *reorderer) Write(p []byte) (int, error) {
	o.n++
	if o.held != nil {
		if _, err := o.w.Write(p); err != nil {
			return 0, err
		}
		_, err := o.w.Write(o.held)
		o.held = nil
		return len(p), err
	}
	if o.n%7 == 0 {
		o.held = bytes.Clone(p)
		return len(p), nil
	}
	return o.w.Write(p)
}

// TestUDPReorderLoss reorders packets and drops some: the reordered ones
// are put back in order, the frames of lost ones are dropped, the others
// come out.
func TestUDPReorderLoss(t *testing.T) {
	for _, drop := range []bool{false, true} {
		r, _, udp := newReceiver(t)
		const ssrc = 7
		sk := newSink()
		cancel := r.Expect(ssrc, sk)
		c, err := net.Dial("udp", udp)
		if err != nil {
			t.Fatal(err)
		}
		ps := pieces(t)
		s := NewSender(&reorderer{w: c}, false, ssrc, PayloadType)
		dropped := 0
		s.Drop = func(seq uint16) bool {
			// Not near the end, where the reorder buffer would hold the rest.
			if drop && seq%50 == 25 && seq < 100 {
				dropped++
				return true
			}
			return false
		}
		for i := 0; i < 2; i++ {
			for _, p := range ps {
				if err := s.WritePS(p.b, p.ts+uint32(i*50*3600)); err != nil {
					t.Fatal(err)
				}
				time.Sleep(time.Millisecond)
			}
		}
		// A lost packet costs its frame; a swapped packet that comes after
		// the window gave up on a lost one is late, and lost too.
		want := 99 - 3*dropped
		sk.waitVideo(t, want)
		time.Sleep(50 * time.Millisecond)
		v, a, _ := sk.counts()
		st, _ := r.StatsOf(ssrc)
		t.Logf("%d packets, %d dropped: video %d audio %d, stats %+v", s.Seq(), dropped, v, a, st)
		if st.Lost < uint64(dropped) || st.Lost > uint64(2*dropped) {
			t.Errorf("lost %d, want %d", st.Lost, dropped)
		}
		if v < want || v > 100 {
			t.Errorf("video %d, want at least %d", v, want)
		}
		cancel()
		c.Close()
	}
}

// TestTCPPassive: the device connects to the media port.
func TestTCPPassive(t *testing.T) {
	r, tcp, _ := newReceiver(t)
	const ssrc = 1100000001
	sk := newSink()
	defer r.Expect(ssrc, sk)()
	c, err := net.Dial("tcp", tcp)
	if err != nil {
		t.Fatal(err)
	}
	s := NewSender(c, true, ssrc, PayloadType)
	send(t, s, pieces(t))
	sk.waitVideo(t, 50)
	time.Sleep(20 * time.Millisecond)
	if v, a, k := sk.counts(); v != 50 || a != 41 || k != 2 {
		t.Errorf("video %d audio %d keys %d, want 50 41 2", v, a, k)
	}
	st, _ := r.StatsOf(ssrc)
	if st.Transport != "tcp-passive" || st.Packets != uint64(s.Seq()) || st.Lost != 0 {
		t.Errorf("stats %+v", st)
	}
	c.Close() // the device hangs up: Gone
	select {
	case err := <-sk.gone:
		t.Logf("gone: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("no Gone after the device closed")
	}
	if _, ok := r.StatsOf(ssrc); ok {
		t.Error("stats still there after Gone")
	}
	if sk.frameAfter {
		t.Error("Frame after Gone")
	}
}

// TestTCPActive: we connect to the device.
func TestTCPActive(t *testing.T) {
	r, _, _ := newReceiver(t)
	dev, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	ps := pieces(t)
	conns := make(chan net.Conn, 2)
	go func() {
		for {
			c, err := dev.Accept()
			if err != nil {
				return
			}
			conns <- c
		}
	}()
	for _, hangup := range []bool{false, true} {
		const ssrc = 42
		sk := newSink()
		ctx, cancel := context.WithCancel(context.Background())
		if err := r.Dial(ctx, dev.Addr().String(), ssrc, sk); err != nil {
			t.Fatal(err)
		}
		c := <-conns
		send(t, NewSender(c, true, ssrc, PayloadType), ps)
		sk.waitVideo(t, 50)
		if st, _ := r.StatsOf(ssrc); st.Transport != "tcp-active" {
			t.Errorf("stats %+v", st)
		}
		if hangup {
			c.Close()
			select {
			case <-sk.gone:
			case <-time.After(5 * time.Second):
				t.Fatal("no Gone after the device closed")
			}
		} else {
			cancel() // BYE: our side closes, no Gone
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			if _, err := c.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
				t.Errorf("connection not closed after cancel: %v", err)
			}
			select {
			case err := <-sk.gone:
				t.Errorf("Gone(%v) after cancel", err)
			case <-time.After(100 * time.Millisecond):
			}
			c.Close()
		}
		cancel()
	}
	if err := r.Dial(context.Background(), "127.0.0.1:1", 1, newSink()); err == nil {
		t.Error("Dial to a closed port succeeded")
	}
}

// TestUnknownAndTimeout: packets of SSRCs no one expects are counted and
// dropped; a TCP connection that names none is closed after the timeout;
// an expected SSRC that sends nothing is given up.
func TestUnknownAndTimeout(t *testing.T) {
	r, tcp, udp := newReceiver(t)
	r.SetTimeout(300 * time.Millisecond)
	sk := newSink()
	r.Expect(5, sk)
	uc, _ := net.Dial("udp", udp)
	defer uc.Close()
	send(t, NewSender(uc, false, 6, PayloadType), pieces(t)[:3])
	tc, err := net.Dial("tcp", tcp)
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	send(t, NewSender(tc, true, 6, PayloadType), pieces(t)[:3])
	tc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := tc.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("connection with an unknown SSRC not closed: %v", err)
	}
	select {
	case err := <-sk.gone:
		if !errors.Is(err, ErrTimeout) {
			t.Errorf("Gone(%v), want ErrTimeout", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no Gone for a silent SSRC")
	}
	if r.Unknown() == 0 {
		t.Error("no unknown packets counted")
	}
	if v, _, _ := sk.counts(); v != 0 {
		t.Errorf("%d frames of another SSRC", v)
	}
}

// TestGarbageInput sends junk: over UDP it is dropped, over TCP the
// connection ends; nothing crashes and the stream goes on.
func TestGarbageInput(t *testing.T) {
	r, tcp, udp := newReceiver(t)
	const ssrc = 99
	sk := newSink()
	defer r.Expect(ssrc, sk)()
	uc, _ := net.Dial("udp", udp)
	defer uc.Close()
	junk := bytes.Repeat([]byte{0x80, 0x60, 0, 1, 0, 0, 0, 0, 0, 0, 0, 98, 0, 0, 1, 0xba}, 20)
	uc.Write(junk)
	uc.Write(junk[:5])
	s := NewSender(uc, false, ssrc, PayloadType)
	s.WritePS(junk, 0) // garbage PS of the right SSRC
	for _, p := range pieces(t) {
		s.WritePS(p.b, p.ts)
		time.Sleep(time.Millisecond)
	}
	sk.waitVideo(t, 50)
	tc, _ := net.Dial("tcp", tcp)
	tc.Write([]byte{0xff, 0xff, 1, 2, 3})
	tc.Close()
	if st, _ := r.StatsOf(ssrc); st.Errors == 0 {
		t.Errorf("stats %+v: no error counted", st)
	}
}

// TestClose: every sink is told, goroutines end.
func TestClose(t *testing.T) {
	before := runtime.NumGoroutine()
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	pc, _ := net.ListenPacket("udp", "127.0.0.1:0")
	r := NewReceiver(ln, pc, nil)
	sk := newSink()
	r.Expect(1, sk)
	c, _ := net.Dial("tcp", ln.Addr().String())
	defer c.Close()
	time.Sleep(20 * time.Millisecond)
	r.Close()
	r.Close()
	select {
	case err := <-sk.gone:
		if !errors.Is(err, ErrClosed) {
			t.Errorf("Gone(%v)", err)
		}
	default:
		t.Error("no Gone on Close")
	}
	for i := 0; i < 100 && runtime.NumGoroutine() > before; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines after Close, %d before", n, before)
	}
}

// TestParseRTP checks the header parser against pion's.
func TestParseRTP(t *testing.T) {
	for _, h := range []rtp.Header{
		{Version: 2, PayloadType: 96, SequenceNumber: 65535, Timestamp: 1 << 31, SSRC: 1, Marker: true},
		{Version: 2, PayloadType: 8, CSRC: []uint32{1, 2}},
		{Version: 2, PayloadType: 96, SSRC: 9},
	} {
		if h.SSRC == 9 {
			if err := h.SetExtension(1, []byte{1, 2, 3}); err != nil {
				t.Fatal(err)
			}
		}
		pkt := rtp.Packet{Header: h, Payload: []byte{0, 0, 1, 0xba}}
		b, err := pkt.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		var p rtp.Packet
		if !parseRTP(&p, b) || p.SSRC != h.SSRC || p.SequenceNumber != h.SequenceNumber ||
			p.Timestamp != h.Timestamp || p.Marker != h.Marker || p.PayloadType != h.PayloadType ||
			!bytes.Equal(p.Payload, pkt.Payload) {
			t.Errorf("%+v: parsed %+v", h, p)
		}
	}
	var p rtp.Packet
	for _, b := range [][]byte{nil, make([]byte, 11), {0x40, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, {0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}} {
		if parseRTP(&p, b) {
			t.Errorf("% x parsed", b)
		}
	}
}

// FuzzPacket feeds RTP packets (the first byte of each chunk picks its
// length) through the parser, reorder buffer and demuxer of one stream.
func FuzzPacket(f *testing.F) {
	for _, p := range pieces(f)[:3] {
		var buf bytes.Buffer
		s := NewSender(&buf, true, 1, PayloadType)
		s.WritePS(p.b, p.ts)
		f.Add(buf.Bytes())
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := &Receiver{log: slog.New(slog.DiscardHandler)}
		s := &stream{r: r, sink: newSink(), log: r.log, endCh: make(chan struct{})}
		s.reorder = nil
		s.frame = s.onFrame
		var pkt rtp.Packet
		for len(data) >= 2 {
			n := min(int(data[0])<<8|int(data[1]), len(data)-2)
			if parseRTP(&pkt, data[2:2+n]) {
				s.packet(&pkt, "tcp-passive", nil, false)
			}
			data = data[2+n:]
		}
	})
}

// TestTCPLoss: a device that drops packets (its send buffer overflowed)
// leaves sequence gaps on a TCP connection: counted as lost, their frames
// dropped, the rest delivered at once.
func TestTCPLoss(t *testing.T) {
	r, tcp, _ := newReceiver(t)
	const ssrc = 31
	sk := newSink()
	defer r.Expect(ssrc, sk)()
	c, err := net.Dial("tcp", tcp)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s := NewSender(c, true, ssrc, PayloadType)
	dropped := 0
	s.Drop = func(seq uint16) bool {
		if seq%20 == 10 {
			dropped++
			return true
		}
		return false
	}
	send(t, s, pieces(t))
	want := 50 - dropped
	sk.waitVideo(t, want-1) // the last frame may end in a dropped packet
	time.Sleep(50 * time.Millisecond)
	v, _, _ := sk.counts()
	st, _ := r.StatsOf(ssrc)
	t.Logf("%d packets, %d dropped: video %d, stats %+v", s.Seq(), dropped, v, st)
	if st.Lost != uint64(dropped) && st.Lost != uint64(dropped-1) {
		t.Errorf("lost %d, want %d", st.Lost, dropped)
	}
	if v < want-1 || v > 50-dropped/2 {
		t.Errorf("video %d, want about %d", v, want)
	}
}

// TestPlay streams the GStreamer file in real time, looped, over TCP
// passive: frames come at 25 fps and timestamps keep increasing across the
// loop.
func TestPlay(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: takes 2.5 s")
	}
	r, tcp, _ := newReceiver(t)
	const ssrc = 77
	sk := newSink()
	defer r.Expect(ssrc, sk)()
	c, err := net.Dial("tcp", tcp)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	data, err := os.ReadFile(gstFile)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2500*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := NewSender(c, true, ssrc, PayloadType).Play(ctx, data, true); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Play: %v", err)
	}
	elapsed := time.Since(start)
	time.Sleep(50 * time.Millisecond)
	v, a, k := sk.counts()
	t.Logf("%v: video %d audio %d keys %d, last DTS %v", elapsed, v, a, k, sk.lastDTS)
	if v < 55 || v > 66 || k < 3 || sk.backwards != 0 {
		t.Errorf("video %d keys %d backwards %d, want about 63 frames in 2.5 s, 3 keys, none backwards", v, k, sk.backwards)
	}
	if sk.lastDTS < 2300*time.Millisecond {
		t.Errorf("last DTS %v, want about 2.46 s", sk.lastDTS)
	}
}
