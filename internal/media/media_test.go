package media

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// frame returns a pooled frame of the given codec and flags at dts ms.
func frame(c Codec, fl Flags, ms int, size int) Frame {
	b := GetBuf(size)
	f := Frame{DTS: time.Duration(ms) * time.Millisecond, Codec: c, Flags: fl}
	f.PTS = f.DTS
	f.SetBuf(b, 0, size)
	if size > 0 {
		f.Payload[0] = byte(ms)
	}
	return f
}

func write(s *Stream, c Codec, fl Flags, ms int) *Buf {
	f := frame(c, fl, ms, 16)
	b := f.Buf()
	s.Write(&f)
	return b
}

func readAll(t *testing.T, rd *Reader, max int) []Frame {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	dst := make([]Frame, max)
	n, err := rd.Read(ctx, dst)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return dst[:n]
}

func releaseAll(fs []Frame) {
	for i := range fs {
		fs[i].Release()
	}
}

func noMerge() Options {
	o := DefaultOptions()
	o.MinFrames, o.MaxDelay = 1, 0
	return o
}

func TestGOPCacheJoin(t *testing.T) {
	g := NewRegistry(func(string) Options { return noMerge() })
	s, err := g.Publish(Key{Vhost: "v", App: "live", Stream: "a"})
	if err != nil {
		t.Fatal(err)
	}
	write(s, CodecData, 0, 0)
	write(s, CodecH264, FlagConfig|FlagKey, 0)
	write(s, CodecAAC, FlagConfig, 0)
	write(s, CodecH264, FlagKey, 0)
	write(s, CodecH264, 0, 33)
	write(s, CodecAAC, 0, 40)
	write(s, CodecH264, FlagKey, 66)
	write(s, CodecAAC, 0, 70)
	write(s, CodecH264, 0, 100)

	rd := g.Subscribe(Key{Vhost: "v", App: "live", Stream: "a"}, nil)
	defer rd.Close()
	got := readAll(t, rd, 16)
	defer releaseAll(got)
	want := []struct {
		c  Codec
		fl Flags
		ms int
	}{{CodecData, 0, 0}, {CodecH264, FlagConfig | FlagKey, 0}, {CodecAAC, FlagConfig, 0},
		{CodecH264, FlagKey, 66}, {CodecAAC, 0, 70}, {CodecH264, 0, 100}}
	if len(got) != len(want) {
		t.Fatalf("got %d frames, want %d", len(got), len(want))
	}
	for i, w := range want {
		if got[i].Codec != w.c || got[i].Flags != w.fl || got[i].DTS != time.Duration(w.ms)*time.Millisecond {
			t.Errorf("frame %d: got %v %v %v, want %v", i, got[i].Codec, got[i].Flags, got[i].DTS, w)
		}
	}
}

func TestNoGOPCacheStartsAtLiveEdge(t *testing.T) {
	o := noMerge()
	o.GOPCache = false
	g := NewRegistry(func(string) Options { return o })
	s, _ := g.Publish(Key{Vhost: "v", App: "live", Stream: "a"})
	write(s, CodecH264, FlagKey, 0)
	write(s, CodecH264, 0, 33)
	rd := g.Subscribe(Key{Vhost: "v", App: "live", Stream: "a"}, nil)
	defer rd.Close()
	write(s, CodecH264, 0, 66)
	got := readAll(t, rd, 8)
	defer releaseAll(got)
	if len(got) != 1 || got[0].DTS != 66*time.Millisecond {
		t.Fatalf("got %d frames", len(got))
	}
}

func TestPublishBusyAndFree(t *testing.T) {
	g := NewRegistry(nil)
	s, err := g.Publish(Key{Vhost: "v", App: "live", Stream: "a"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.Publish(Key{Vhost: "v", App: "live", Stream: "a"}); !errors.Is(err, ErrBusy) {
		t.Fatalf("second publish: %v, want ErrBusy", err)
	}
	s.Unpublish()
	if g.Lookup(Key{Vhost: "v", App: "live", Stream: "a"}) != nil {
		t.Fatal("idle stream not freed")
	}
	s2, err := g.Publish(Key{Vhost: "v", App: "live", Stream: "a"})
	if err != nil {
		t.Fatalf("republish: %v", err)
	}
	s2.Unpublish()
}

func TestUnpublishDrainsThenEOF(t *testing.T) {
	g := NewRegistry(func(string) Options { return noMerge() })
	s, _ := g.Publish(Key{Vhost: "v", App: "live", Stream: "a"})
	rd := g.Subscribe(Key{Vhost: "v", App: "live", Stream: "a"}, nil)
	defer rd.Close()
	write(s, CodecH264, FlagKey, 0)
	write(s, CodecH264, 0, 33)
	s.Unpublish()
	got := readAll(t, rd, 8)
	if len(got) != 2 {
		t.Fatalf("got %d frames, want 2", len(got))
	}
	releaseAll(got)
	if _, err := rd.Read(context.Background(), make([]Frame, 4)); err != io.EOF {
		t.Fatalf("after drain: %v, want EOF", err)
	}
}

func TestReaderWaitsForPublisher(t *testing.T) {
	g := NewRegistry(func(string) Options { return noMerge() })
	rd := g.Subscribe(Key{Vhost: "v", App: "live", Stream: "a"}, nil)
	defer rd.Close()
	done := make(chan []Frame)
	go func() {
		dst := make([]Frame, 4)
		n, _ := rd.Read(context.Background(), dst)
		done <- dst[:n]
	}()
	time.Sleep(20 * time.Millisecond)
	s, _ := g.Publish(Key{Vhost: "v", App: "live", Stream: "a"})
	write(s, CodecH264, FlagKey, 0)
	select {
	case got := <-done:
		if len(got) != 1 {
			t.Fatalf("got %d frames", len(got))
		}
		releaseAll(got)
	case <-time.After(2 * time.Second):
		t.Fatal("reader not woken by publish")
	}
	s.Unpublish()
}

func TestLappedReaderSkipsToKeyframe(t *testing.T) {
	o := noMerge()
	o.RingFrames = 16
	o.QueueLength = 0
	g := NewRegistry(func(string) Options { return o })
	s, _ := g.Publish(Key{Vhost: "v", App: "live", Stream: "a"})
	write(s, CodecH264, FlagKey, 0)
	rd := g.Subscribe(Key{Vhost: "v", App: "live", Stream: "a"}, nil)
	defer rd.Close()
	// 40 frames, a keyframe every 10: the reader reads none of them.
	for i := 1; i < 40; i++ {
		fl := Flags(0)
		if i%10 == 0 {
			fl = FlagKey
		}
		write(s, CodecH264, fl, i)
	}
	got := readAll(t, rd, 64)
	defer releaseAll(got)
	if len(got) == 0 || !got[0].IsKey() || got[0].DTS != 30*time.Millisecond {
		t.Fatalf("first frame after lap: %+v", got[0])
	}
	if rd.Dropped() != 30 {
		t.Fatalf("dropped %d, want 30", rd.Dropped())
	}
	// The stream adds up its readers' drops and skips (for /metrics).
	if st := s.Stats(); st.Dropped != 30 || st.Skips != 1 || st.SlowClosed != 0 {
		t.Fatalf("stream stats dropped %d skips %d slow %d, want 30 1 0", st.Dropped, st.Skips, st.SlowClosed)
	}
}

func TestQueueLengthSkips(t *testing.T) {
	o := noMerge()
	o.QueueLength = 100 * time.Millisecond
	g := NewRegistry(func(string) Options { return o })
	s, _ := g.Publish(Key{Vhost: "v", App: "live", Stream: "a"})
	write(s, CodecH264, FlagKey, 0)
	rd := g.Subscribe(Key{Vhost: "v", App: "live", Stream: "a"}, nil)
	defer rd.Close()
	for i := 1; i < 10; i++ {
		fl := Flags(0)
		if i == 5 {
			fl = FlagKey
		}
		write(s, CodecH264, fl, i*33)
	}
	got := readAll(t, rd, 64)
	defer releaseAll(got)
	if got[0].DTS != 165*time.Millisecond {
		t.Fatalf("first frame %v, want the keyframe at 165ms", got[0].DTS)
	}
}

func TestMergedRead(t *testing.T) {
	o := DefaultOptions()
	o.MinFrames, o.MaxDelay = 4, time.Second
	g := NewRegistry(func(string) Options { return o })
	s, _ := g.Publish(Key{Vhost: "v", App: "live", Stream: "a"})
	write(s, CodecH264, FlagKey, 0)
	rd := g.Subscribe(Key{Vhost: "v", App: "live", Stream: "a"}, nil)
	defer rd.Close()
	got := readAll(t, rd, 16) // first read: at once
	releaseAll(got)
	go func() {
		for i := 1; i <= 4; i++ {
			time.Sleep(5 * time.Millisecond)
			write(s, CodecH264, 0, i)
		}
	}()
	got = readAll(t, rd, 16)
	defer releaseAll(got)
	if len(got) != 4 {
		t.Fatalf("merged read got %d frames, want 4", len(got))
	}
}

func TestMergedReadTimesOut(t *testing.T) {
	o := DefaultOptions()
	o.MinFrames, o.MaxDelay = 100, 30*time.Millisecond
	g := NewRegistry(func(string) Options { return o })
	s, _ := g.Publish(Key{Vhost: "v", App: "live", Stream: "a"})
	write(s, CodecH264, FlagKey, 0)
	rd := g.Subscribe(Key{Vhost: "v", App: "live", Stream: "a"}, nil)
	defer rd.Close()
	releaseAll(readAll(t, rd, 16))
	write(s, CodecH264, 0, 1)
	got := readAll(t, rd, 16)
	defer releaseAll(got)
	if len(got) != 1 {
		t.Fatalf("got %d, want 1 after MaxDelay", len(got))
	}
}

func TestBuffersReturnToZero(t *testing.T) {
	g := NewRegistry(func(string) Options { return noMerge() })
	s, _ := g.Publish(Key{Vhost: "v", App: "live", Stream: "a"})
	var bufs []*Buf
	bufs = append(bufs, write(s, CodecH264, FlagConfig, 0))
	rd := g.Subscribe(Key{Vhost: "v", App: "live", Stream: "a"}, nil)
	for i := 0; i < 50; i++ {
		fl := Flags(0)
		if i%10 == 0 {
			fl = FlagKey
		}
		bufs = append(bufs, write(s, CodecH264, fl, i))
	}
	for {
		got := readAll(t, rd, 8)
		releaseAll(got)
		if rd.cursor >= rd.ring.next {
			break
		}
	}
	s.Unpublish()
	rd.Close()
	for i, b := range bufs {
		if n := b.refs.Load(); n != 0 {
			t.Fatalf("buf %d has %d refs after everything closed", i, n)
		}
	}
}

// raceEnabled is set under -race, where sync.Pool drops items at random.
var raceEnabled bool

func TestSteadyPathAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool is not deterministic under -race")
	}
	o := noMerge()
	o.RingFrames = 16
	g := NewRegistry(func(string) Options { return o })
	s, _ := g.Publish(Key{Vhost: "v", App: "live", Stream: "a"})
	rd := g.Subscribe(Key{Vhost: "v", App: "live", Stream: "a"}, nil)
	defer rd.Close()
	dst := make([]Frame, 8)
	ctx := context.Background()
	write(s, CodecH264, FlagKey, 0)
	n, _ := rd.Read(ctx, dst)
	releaseAll(dst[:n])
	i := 0
	for k := 0; k < 64; k++ { // fill the ring so that it recycles
		i++
		f := frame(CodecH264, 0, i, 1000)
		s.Write(&f)
		n, _ := rd.Read(ctx, dst)
		releaseAll(dst[:n])
	}
	allocs := testing.AllocsPerRun(1000, func() {
		i++
		f := frame(CodecH264, 0, i, 1000)
		s.Write(&f)
		n, _ := rd.Read(ctx, dst)
		for j := 0; j < n; j++ {
			dst[j].Release()
		}
	})
	if allocs != 0 {
		t.Fatalf("write+read+release: %v allocs per frame, want 0", allocs)
	}
}

func TestConcurrentReaders(t *testing.T) {
	o := DefaultOptions()
	o.MinFrames, o.MaxDelay = 4, 5*time.Millisecond
	g := NewRegistry(func(string) Options { return o })
	s, _ := g.Publish(Key{Vhost: "v", App: "live", Stream: "a"})
	write(s, CodecH264, FlagKey, 0)
	var wg sync.WaitGroup
	counts := make([]int, 20)
	for r := range counts {
		rd := g.Subscribe(Key{Vhost: "v", App: "live", Stream: "a"}, nil)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer rd.Close()
			dst := make([]Frame, 16)
			for {
				n, err := rd.Read(context.Background(), dst)
				counts[r] += n
				releaseAll(dst[:n])
				if err != nil {
					return
				}
			}
		}()
	}
	for i := 1; i < 500; i++ {
		fl := Flags(0)
		if i%50 == 0 {
			fl = FlagKey
		}
		write(s, CodecH264, fl, i)
	}
	s.Unpublish()
	wg.Wait()
	for r, c := range counts {
		if c != 500 {
			t.Errorf("reader %d got %d frames, want 500", r, c)
		}
	}
}

func TestWaitingReaderGetsWholeSession(t *testing.T) {
	g := NewRegistry(func(string) Options { return noMerge() })
	rd := g.Subscribe(Key{Vhost: "v", App: "live", Stream: "a"}, nil)
	defer rd.Close()
	s, _ := g.Publish(Key{Vhost: "v", App: "live", Stream: "a"})
	// Two GOPs before the reader wakes up: it still gets the first frame.
	write(s, CodecH264, FlagKey, 0)
	write(s, CodecH264, 0, 33)
	write(s, CodecH264, FlagKey, 66)
	got := readAll(t, rd, 16)
	defer releaseAll(got)
	if len(got) != 3 || got[0].DTS != 0 {
		t.Fatalf("waiting reader got %d frames, first at %v; want all 3 from 0", len(got), got[0].DTS)
	}
	s.Unpublish()
}

func TestMergedReadDoesNotHoldASlowStream(t *testing.T) {
	o := DefaultOptions()
	o.MinFrames, o.MaxDelay = 8, 30*time.Millisecond
	g := NewRegistry(func(string) Options { return o })
	s, _ := g.Publish(Key{Vhost: "v", App: "live", Stream: "a"})
	write(s, CodecH264, FlagKey, 0)
	rd := g.Subscribe(Key{Vhost: "v", App: "live", Stream: "a"}, nil)
	defer rd.Close()
	releaseAll(readAll(t, rd, 16))
	write(s, CodecH264, 0, 1) // then the publisher stalls
	start := time.Now()
	got := readAll(t, rd, 16)
	defer releaseAll(got)
	if len(got) != 1 {
		t.Fatalf("got %d frames, want the 1 written", len(got))
	}
	if d := time.Since(start); d < 2*o.MaxDelay || d > time.Second {
		t.Fatalf("delivered after %v, want after about 2*MaxDelay", d)
	}
}

// TestOnSubscribe: the callback fires for a player of an unpublished stream
// only, not for internal readers nor for players of a published stream.
func TestOnSubscribe(t *testing.T) {
	g := NewRegistry(nil)
	var got []string
	g.OnSubscribe(func(s *Stream) { got = append(got, s.Key().String()) })
	r1 := g.Subscribe(Key{Vhost: "v", App: "live", Stream: "a"}, nil)
	r2 := g.SubscribeInternal(Key{Vhost: "v", App: "live", Stream: "b"}, nil)
	st, err := g.Publish(Key{Vhost: "v", App: "live", Stream: "c"})
	if err != nil {
		t.Fatal(err)
	}
	r3 := g.Subscribe(Key{Vhost: "v", App: "live", Stream: "c"}, nil)
	if len(got) != 1 || got[0] != "v/live/a" {
		t.Fatalf("OnSubscribe calls %v, want [v/live/a]", got)
	}
	g.OnSubscribe(nil)
	r4 := g.Subscribe(Key{Vhost: "v", App: "live", Stream: "d"}, nil)
	if len(got) != 1 {
		t.Fatalf("OnSubscribe(nil) still calls: %v", got)
	}
	for _, r := range []*Reader{r1, r2, r3, r4} {
		r.Close()
	}
	st.Unpublish()
}

// TestOnSubscribeChain: every function added is called, in order (the edge
// and GB28181 both watch subscriptions).
func TestOnSubscribeChain(t *testing.T) {
	g := NewRegistry(nil)
	var got []string
	g.OnSubscribe(func(s *Stream) { got = append(got, "edge "+s.Name) })
	g.OnSubscribe(func(s *Stream) { got = append(got, "gb "+s.Name) })
	r := g.Subscribe(Key{Vhost: "v", App: "live", Stream: "a"}, nil)
	defer r.Close()
	if len(got) != 2 || got[0] != "edge a" || got[1] != "gb a" {
		t.Fatalf("calls %v, want [edge a, gb a]", got)
	}
}

// TestSkipLogOncePerStream: readers of one stream falling behind together
// (an overloaded box) log one line a second for the stream, not one each.
func TestSkipLogOncePerStream(t *testing.T) {
	o := noMerge()
	o.RingFrames = 16
	o.QueueLength = 0
	g := NewRegistry(func(string) Options { return o })
	k := Key{Vhost: "v", App: "live", Stream: "a"}
	s, _ := g.Publish(k)
	write(s, CodecH264, FlagKey, 0)
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	var rds []*Reader
	for range 5 {
		rd := g.Subscribe(k, log)
		defer rd.Close()
		rds = append(rds, rd)
	}
	for i := 1; i < 40; i++ {
		fl := Flags(0)
		if i%10 == 0 {
			fl = FlagKey
		}
		write(s, CodecH264, fl, i)
	}
	for _, rd := range rds {
		releaseAll(readAll(t, rd, 64))
	}
	if n := strings.Count(buf.String(), "fell behind"); n != 1 || s.Stats().Skips != 5 || !strings.Contains(buf.String(), "stream_skips=") {
		t.Fatalf("%d lines for 5 readers skipping (stream skips %d):\n%s", n, s.Stats().Skips, buf.String())
	}
}

// WaitCodecs returns at once without a publisher or with known codecs,
// waits for the first frames of a publish otherwise, and is released by
// the sequence headers, the first frame, the publish's end or its context.
func TestWaitCodecs(t *testing.T) {
	g := NewRegistry(func(string) Options { return noMerge() })
	k := Key{Vhost: "v", App: "a", Stream: "s"}
	sub := g.Subscribe(k, nil) // the stream exists before its publisher
	defer sub.Close()
	st := g.Lookup(k)
	if got := st.WaitCodecs(context.Background()); got.Publishing {
		t.Fatal("no publisher: want at once")
	}
	waitIn := func(what string, release func(s *Stream)) {
		t.Helper()
		s, err := g.Publish(k)
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan Stats, 1)
		go func() { done <- s.WaitCodecs(context.Background()) }()
		select {
		case <-done:
			t.Fatalf("%s: returned before the codecs were known", what)
		case <-time.After(50 * time.Millisecond):
		}
		release(s)
		select {
		case <-done:
		case <-time.After(2 * time.Second):
			t.Fatalf("%s: not released", what)
		}
		if s.Publishing() {
			s.Unpublish()
		}
	}
	waitIn("video info", func(s *Stream) { s.SetVideoInfo(VideoInfo{Codec: CodecH265}) })
	waitIn("audio info", func(s *Stream) { s.SetAudioInfo(AudioInfo{Codec: CodecAAC}) })
	waitIn("first frame", func(s *Stream) {
		f := Frame{Codec: CodecH264, Flags: FlagKey, Payload: []byte{1}}
		s.Write(&f)
	})
	waitIn("unpublish", func(s *Stream) { s.Unpublish() })

	s, err := g.Publish(k)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Unpublish()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	start := time.Now()
	if got := s.WaitCodecs(ctx); got.HasVideo || time.Since(start) > time.Second {
		t.Fatalf("context end: %+v after %v", got, time.Since(start))
	}
}

// The tracks a publisher declares hold for its session; the next publish
// starts with none.
func TestExpectTracks(t *testing.T) {
	g := NewRegistry(func(string) Options { return noMerge() })
	k := Key{Vhost: "v", App: "a", Stream: "s"}
	sub := g.Subscribe(k, nil) // the same Stream across the two publishes
	defer sub.Close()
	s, err := g.Publish(k)
	if err != nil {
		t.Fatal(err)
	}
	if v, a := s.ExpectedTracks(); v || a {
		t.Fatalf("a new publish declares video %v, audio %v", v, a)
	}
	s.ExpectTracks(true, true)
	if v, a := s.ExpectedTracks(); !v || !a {
		t.Fatalf("declared video and audio, got %v, %v", v, a)
	}
	s.Unpublish()
	s2, err := g.Publish(k)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Unpublish()
	if s2 != s {
		t.Fatal("the stream was not kept between the publishes")
	}
	if v, a := s2.ExpectedTracks(); v || a {
		t.Fatalf("the next publish kept the declaration: video %v, audio %v", v, a)
	}
}
