package ingest

import (
	"context"
	"errors"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/srs-lite/srs-lite/internal/format/codec/h264"
	"github.com/srs-lite/srs-lite/internal/media"
	"github.com/srs-lite/srs-lite/internal/session"
)

// fakeSource writes a config frame and keyframes until ctx is done, or
// fails after n frames when fail is set; with declare, it first says it
// sends video only (as an RTSP camera's SDP does).
type fakeSource struct {
	runs    atomic.Int32
	active  atomic.Int32
	fail    error // returned after frames
	frames  int
	declare bool
}

// An H.264 SPS/PPS of a 320x240 stream, from the GStreamer camera.
var (
	testSPS = []byte{0x67, 0x42, 0xc0, 0x0d, 0xda, 0x05, 0x07, 0xec, 0x05, 0xa8, 0x30, 0x30, 0x35, 0x28, 0x00, 0x00, 0x03, 0x00, 0x08, 0x00, 0x00, 0x03, 0x01, 0x94, 0x78, 0xa1, 0x55}
	testPPS = []byte{0x68, 0xce, 0x3c, 0x80}
)

func (s *fakeSource) Run(ctx context.Context, pub Publisher) error {
	s.runs.Add(1)
	s.active.Add(1)
	defer s.active.Add(-1)
	if d, ok := pub.(interface{ ExpectTracks(video, audio bool) }); ok && s.declare {
		d.ExpectTracks(true, false)
	}
	cfg := media.Frame{Codec: media.CodecH264, Flags: media.FlagConfig,
		Payload: h264.BuildConfig([][]byte{testSPS}, [][]byte{testPPS})}
	if err := pub.Write(&cfg); err != nil {
		return err
	}
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for i := 0; ; i++ {
		if s.fail != nil && i == s.frames {
			return s.fail
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		f := media.Frame{Codec: media.CodecH264, Flags: media.FlagKey,
			DTS: time.Duration(i) * 40 * time.Millisecond, Payload: []byte{0, 0, 0, 2, 0x65, 0x88}}
		f.PTS = f.DTS
		if err := pub.Write(&f); err != nil {
			return err
		}
	}
}

func newTestManager(t *testing.T, src Source, players func(string, string, string) int) (*Manager, *media.Registry, *session.Table) {
	t.Helper()
	reg := media.NewRegistry(nil)
	clients := session.NewTable()
	m, err := New(Deps{Registry: reg, Clients: clients, Log: slog.New(slog.DiscardHandler), Players: players,
		Sources:    map[string]NewSource{"fake": func(Config, *slog.Logger) (Source, error) { return src, nil }},
		MinBackoff: 20 * time.Millisecond, MaxBackoff: 80 * time.Millisecond, Poll: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	return m, reg, clients
}

func cfg(name string) Config {
	return Config{Name: name, Enabled: true, Input: "fake://cam/" + name, Vhost: "__defaultVhost__", App: "live", Stream: name}
}

// waitFor polls cond for up to 5 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

func state(m *Manager, name string) Status {
	for _, s := range m.Status() {
		if s.Name == name {
			return s
		}
	}
	return Status{}
}

func TestPublishes(t *testing.T) {
	src := &fakeSource{declare: true}
	m, reg, clients := newTestManager(t, src, nil)
	rd := reg.Subscribe(media.Key{Vhost: "__defaultVhost__", App: "live", Stream: "cam"}, nil)
	defer rd.Close()
	m.Apply([]Config{cfg("cam")})
	waitFor(t, "running", func() bool { return state(m, "cam").State == StateRunning })

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var frames [8]media.Frame
	n, err := rd.Read(ctx, frames[:])
	if err != nil || n == 0 {
		t.Fatalf("read: %d %v", n, err)
	}
	if !frames[0].IsConfig() {
		t.Errorf("first frame %+v, want the config", frames[0])
	}
	for i := range n {
		frames[i].Release()
	}
	st := reg.Lookup(media.Key{Vhost: "__defaultVhost__", App: "live", Stream: "cam"}).Stats()
	if !st.HasVideo || st.Video.Width != 320 || st.Video.Codec != media.CodecH264 {
		t.Errorf("video info %+v", st.Video)
	}
	if v, a := reg.Lookup(media.Key{Vhost: "__defaultVhost__", App: "live", Stream: "cam"}).ExpectedTracks(); !v || a {
		t.Errorf("declared tracks video %v audio %v, want the source's video only", v, a)
	}
	cl := clients.List()
	if len(cl) != 1 || cl[0].Proto != "ingest" || !cl[0].Publisher() || cl[0].Stream != "cam" {
		t.Fatalf("clients %+v", cl)
	}
	waitFor(t, "kbps", func() bool { time.Sleep(10 * time.Millisecond); return state(m, "cam").Frames > 10 })

	// Kicking the client restarts the ingest.
	clients.Kick(cl[0].ID)
	waitFor(t, "a second run", func() bool { return src.runs.Load() >= 2 && state(m, "cam").State == StateRunning })
	if s := state(m, "cam"); s.Restarts == 0 || !strings.Contains(s.Error, "kicked") {
		t.Errorf("after a kick: %+v", s)
	}

	// Removing the entry stops it and unpublishes.
	m.Apply(nil)
	if src.active.Load() != 0 {
		t.Error("source still running after Apply(nil)")
	}
	if reg.Lookup(media.Key{Vhost: "__defaultVhost__", App: "live", Stream: "cam"}).Publishing() {
		t.Error("stream still published")
	}
	if clients.Len() != 0 {
		t.Error("client not removed")
	}
}

func TestRetries(t *testing.T) {
	src := &fakeSource{fail: errors.New("camera gone"), frames: 3}
	m, _, _ := newTestManager(t, src, nil)
	m.Apply([]Config{cfg("cam")})
	waitFor(t, "retries", func() bool { return src.runs.Load() >= 4 })
	s := state(m, "cam")
	if s.Restarts < 3 || s.Error != "camera gone" {
		t.Fatalf("status %+v", s)
	}
}

func TestApplyDiff(t *testing.T) {
	src := &fakeSource{}
	m, _, _ := newTestManager(t, src, nil)
	a, b := cfg("a"), cfg("b")
	m.Apply([]Config{a, b})
	waitFor(t, "two running", func() bool { return src.active.Load() == 2 })
	runs := src.runs.Load()
	m.Apply([]Config{a, b}) // unchanged: nothing restarts
	time.Sleep(50 * time.Millisecond)
	if src.runs.Load() != runs {
		t.Fatal("an unchanged entry restarted")
	}
	b.Input = "fake://other"
	m.Apply([]Config{a, b}) // b changed: it restarts
	waitFor(t, "b restarted", func() bool { return src.runs.Load() == runs+1 && src.active.Load() == 2 })
	b.Enabled = false
	m.Apply([]Config{a, b})
	waitFor(t, "b stopped", func() bool { return src.active.Load() == 1 })
	if s := state(m, "b"); s.State != StateDisabled {
		t.Fatalf("b: %+v", s)
	}
}

func TestFailures(t *testing.T) {
	m, _, _ := newTestManager(t, &fakeSource{}, nil)
	c1 := cfg("nosrc")
	c1.Input = "gopher://x/y"
	c2 := cfg("push")
	c2.Push = "srt://other/live/x"
	m.Apply([]Config{c1, c2})
	waitFor(t, "failed", func() bool {
		return state(m, "nosrc").State == StateFailed && state(m, "push").State == StateFailed
	})
	if e := state(m, "nosrc").Error; !strings.Contains(e, "fake://") {
		t.Errorf("nosrc error %q should name the known schemes", e)
	}
	if e := state(m, "push").Error; !strings.Contains(e, "only rtmp://") {
		t.Errorf("push error %q", e)
	}
}

func TestBusy(t *testing.T) {
	src := &fakeSource{}
	m, reg, _ := newTestManager(t, src, nil)
	st, err := reg.Publish(media.Key{Vhost: "__defaultVhost__", App: "live", Stream: "cam"})
	if err != nil {
		t.Fatal(err)
	}
	m.Apply([]Config{cfg("cam")})
	waitFor(t, "retrying", func() bool {
		s := state(m, "cam")
		return s.State == StateRetrying && strings.Contains(s.Error, "already published")
	})
	st.Unpublish()
	waitFor(t, "running", func() bool { return state(m, "cam").State == StateRunning })
}

func TestOnDemand(t *testing.T) {
	src := &fakeSource{}
	var players atomic.Int32
	m, _, _ := newTestManager(t, src, func(vhost, app, stream string) int {
		if app == "live" && stream == "cam" {
			return int(players.Load())
		}
		return 0
	})
	c := cfg("cam")
	c.OnDemand = true
	c.CloseAfter = 100 * time.Millisecond
	m.Apply([]Config{c})
	waitFor(t, "idle", func() bool { return state(m, "cam").State == StateIdle })
	time.Sleep(50 * time.Millisecond)
	if src.runs.Load() != 0 {
		t.Fatal("on-demand ingest ran without players")
	}
	players.Store(1)
	waitFor(t, "running", func() bool { return state(m, "cam").State == StateRunning })
	time.Sleep(200 * time.Millisecond) // longer than CloseAfter, with a player
	if src.active.Load() != 1 {
		t.Fatal("stopped while a player was there")
	}
	players.Store(0)
	waitFor(t, "idle again", func() bool { return state(m, "cam").State == StateIdle && src.active.Load() == 0 })
	if s := state(m, "cam"); s.Restarts != 0 {
		t.Errorf("an idle stop counted as a restart: %+v", s)
	}
}

func TestCloseNoLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	src := &fakeSource{}
	m, _, _ := newTestManager(t, src, nil)
	var cs []Config
	for _, n := range []string{"a", "b", "c"} {
		cs = append(cs, cfg(n))
	}
	m.Apply(cs)
	waitFor(t, "running", func() bool { return src.active.Load() == 3 })
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() { defer wg.Done(); _ = m.Close() }()
	}
	wg.Wait()
	if src.active.Load() != 0 {
		t.Fatal("sources still running after Close")
	}
	m.Apply(cs) // after Close: ignored
	waitFor(t, "goroutines gone", func() bool { return runtime.NumGoroutine() <= before+1 })
}

// TestRetry restarts a running entry and a failed one at once, keeping the
// restart count going; an unknown name is ErrUnknown.
func TestRetry(t *testing.T) {
	src := &fakeSource{}
	m, _, _ := newTestManager(t, src, nil)
	m.Apply([]Config{cfg("cam")})
	waitFor(t, "running", func() bool { return src.active.Load() == 1 })
	r0 := state(m, "cam").Restarts
	if err := m.Retry("cam"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "restarted", func() bool { return src.runs.Load() == 2 && src.active.Load() == 1 })
	if r := state(m, "cam").Restarts; r != r0+1 {
		t.Errorf("restarts %d, was %d", r, r0)
	}
	if err := m.Retry("nope"); !errors.Is(err, ErrUnknown) {
		t.Errorf("unknown: %v", err)
	}
	c := cfg("bad")
	c.Input = "gopher://x"
	m.Apply([]Config{cfg("cam"), c})
	waitFor(t, "failed", func() bool { return state(m, "bad").State == StateFailed })
	if err := m.Retry("bad"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "failed again", func() bool { s := state(m, "bad"); return s.State == StateFailed && s.Restarts >= 1 })
	_ = m.Close()
	if err := m.Retry("cam"); !errors.Is(err, ErrUnknown) {
		t.Errorf("after close: %v", err)
	}
}
