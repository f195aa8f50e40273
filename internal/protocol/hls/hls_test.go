package hls

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/srs-lite/srs-lite/internal/media"
)

// fakeContainer writes one letter per event so that tests can read the
// structure of a segment: T for tables, V/K for video frames (K: key), A
// for audio, E for the end.
type fakeContainer struct{}

func (fakeContainer) supports(c media.Codec) bool {
	return c == media.CodecH264 || c == media.CodecAAC
}
func (fakeContainer) track(f *media.Frame) bool { return f.Flags&media.FlagConfig != 0 }
func (fakeContainer) config(*media.Frame)       {}
func (fakeContainer) begin(dst []byte) []byte   { return append(dst, 'T') }
func (fakeContainer) frame(dst []byte, f *media.Frame) ([]byte, error) {
	switch {
	case f.Codec.IsVideo() && f.IsKey():
		return append(dst, 'K'), nil
	case f.Codec.IsVideo():
		return append(dst, 'V'), nil
	}
	return append(dst, 'A'), nil
}
func (fakeContainer) end(dst []byte) []byte { return append(dst, 'E') }
func (fakeContainer) init() []byte          { return []byte("INIT") }
func (fakeContainer) release()              {}

func useFake(t *testing.T) {
	old := newContainer
	newContainer = func(string) container { return fakeContainer{} }
	t.Cleanup(func() { newContainer = old })
}

func testRegistry() *media.Registry {
	return media.NewRegistry(func(string) media.Options {
		o := media.DefaultOptions()
		o.MaxDelay = 0
		o.RingFrames = 4096
		o.QueueLength = 0 // feed writes many seconds at once
		return o
	})
}

// write writes f with payload p (copied) and PTS = DTS.
func write(st *media.Stream, f media.Frame, p []byte) {
	f.Payload, f.PTS = p, f.DTS
	f.Own()
	st.Write(&f)
}

// feed writes seconds of media to st: video at 25 fps with a keyframe every
// gop frames (no video when gop is 0) and AAC every 1024/44100 s, starting
// at base.
func feed(st *media.Stream, base, seconds time.Duration, gop int) {
	write := func(f media.Frame) {
		f.Payload = []byte{1, 2, 3}
		f.Own()
		st.Write(&f)
	}
	if base == 0 {
		if gop > 0 {
			write(media.Frame{Codec: media.CodecH264, Flags: media.FlagConfig})
		}
		write(media.Frame{Codec: media.CodecAAC, Flags: media.FlagConfig})
	}
	vstep := 40 * time.Millisecond
	astep := 1024 * time.Second / 44100
	var vt, at time.Duration
	n := 0
	for vt < seconds || at < seconds {
		if gop > 0 && vt <= at && vt < seconds {
			f := media.Frame{Codec: media.CodecH264, DTS: base + vt, PTS: base + vt}
			if n%gop == 0 {
				f.Flags = media.FlagKey
			}
			write(f)
			vt += vstep
			n++
			continue
		}
		write(media.Frame{Codec: media.CodecAAC, DTS: base + at, PTS: base + at})
		at += astep
		if gop == 0 && at >= seconds {
			break
		}
	}
}

func publish(t *testing.T, m *Manager, reg *media.Registry, cfg Config) *media.Stream {
	t.Helper()
	st, err := reg.Publish(media.Key{Vhost: "v", App: "live", Stream: "s"})
	if err != nil {
		t.Fatal(err)
	}
	rd := reg.SubscribeInternal(media.Key{Vhost: "v", App: "live", Stream: "s"}, nil)
	if err := m.Publish(st, rd, cfg); err != nil {
		t.Fatal(err)
	}
	return st
}

// waitIdle waits for the stream's sessions to end.
func waitIdle(t *testing.T, m *Manager) *Muxer {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if mx := m.lookup("v", "live", "s"); mx != nil {
			mx.mu.Lock()
			n := mx.sessions
			mx.mu.Unlock()
			if n == 0 {
				return mx
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("session did not end")
	return nil
}

func serve(m *Manager, method, path string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, "http://x"+path, nil)
	w := httptest.NewRecorder()
	if !m.ServeHTTP(w, r, "v") {
		w.Code = -1
	}
	return w
}

var cfg2s = Config{Fragment: 2 * time.Second, Window: 6 * time.Second, Dispose: time.Minute, Container: ContainerTS}

func TestSegmentsCutOnKeyframesNearFragment(t *testing.T) {
	useFake(t)
	m := NewManager("__defaultVhost__", nil)
	defer m.Close()
	reg := testRegistry()
	st := publish(t, m, reg, cfg2s)
	feed(st, 0, 11*time.Second, 25) // 1 s GOP
	st.Unpublish()
	mx := waitIdle(t, m)

	w := serve(m, "GET", "/live/s.m3u8")
	if w.Code != 200 {
		t.Fatalf("playlist: %d", w.Code)
	}
	pl := w.Body.String()
	for _, want := range []string{"#EXTM3U\n", "#EXT-X-VERSION:3\n", "#EXT-X-TARGETDURATION:2\n",
		"#EXT-X-MEDIA-SEQUENCE:3\n", "#EXTINF:2.000,\ns-3.ts\n", "#EXTINF:2.000,\ns-4.ts\n", "s-5.ts\n"} {
		if !strings.Contains(pl, want) {
			t.Errorf("playlist lacks %q:\n%s", want, pl)
		}
	}
	if strings.Contains(pl, "s-2.ts") || strings.Contains(pl, "DISCONTINUITY") {
		t.Errorf("playlist holds more than the window:\n%s", pl)
	}
	// Each segment starts with the tables and a keyframe.
	w = serve(m, "GET", "/live/s-4.ts")
	if w.Code != 200 || !strings.HasPrefix(w.Body.String(), "TK") || w.Header().Get("Content-Type") != "video/mp2t" {
		t.Fatalf("segment: %d %q %v", w.Code, w.Body.String(), w.Header())
	}
	if n := strings.Count(w.Body.String(), "K"); n != 2 {
		t.Errorf("a 2 s segment of a 1 s GOP holds %d keyframes", n)
	}
	if w := serve(m, "GET", "/live/s-2.ts"); w.Code != 404 {
		t.Errorf("segment that left the window: %d", w.Code)
	}
	if st := mx.stats(); st.Segments != 3 || st.Seq != 5 {
		t.Errorf("stats %+v", st)
	}
}

func TestLongGOPMakesLongerSegments(t *testing.T) {
	useFake(t)
	m := NewManager("", nil)
	defer m.Close()
	reg := testRegistry()
	st := publish(t, m, reg, Config{Fragment: time.Second, Window: 20 * time.Second, Dispose: time.Minute, Container: ContainerTS})
	feed(st, 0, 9*time.Second, 75) // 3 s GOP
	st.Unpublish()
	waitIdle(t, m)
	pl := serve(m, "GET", "/live/s.m3u8").Body.String()
	if !strings.Contains(pl, "#EXT-X-TARGETDURATION:3\n") || strings.Count(pl, "#EXTINF:3.0") != 3 {
		t.Fatalf("3 s GOP, 1 s fragment:\n%s", pl)
	}
}

func TestAudioOnlyCutByTime(t *testing.T) {
	useFake(t)
	m := NewManager("", nil)
	defer m.Close()
	reg := testRegistry()
	st := publish(t, m, reg, Config{Fragment: time.Second, Window: 10 * time.Second, Dispose: time.Minute, Container: ContainerTS})
	feed(st, 0, 5*time.Second, 0)
	st.Unpublish()
	waitIdle(t, m)
	pl := serve(m, "GET", "/live/s.m3u8").Body.String()
	if n := strings.Count(pl, "#EXTINF:"); n < 4 || n > 6 {
		t.Fatalf("5 s of audio in 1 s fragments gave %d segments:\n%s", n, pl)
	}
	body := serve(m, "GET", "/live/s-0.ts").Body.String()
	if !strings.HasPrefix(body, "TA") || strings.ContainsAny(body, "KV") {
		t.Fatalf("audio segment %q", body)
	}
}

func TestRepublishAddsDiscontinuityThenDispose(t *testing.T) {
	useFake(t)
	m := NewManager("", nil)
	defer m.Close()
	reg := testRegistry()
	cfg := cfg2s
	cfg.Window = 20 * time.Second
	cfg.Dispose = 300 * time.Millisecond
	st := publish(t, m, reg, cfg)
	feed(st, 0, 4*time.Second, 25)
	st.Unpublish()
	waitIdle(t, m)
	st = publish(t, m, reg, cfg)
	feed(st, 0, 4*time.Second, 25) // timestamps start over
	st.Unpublish()
	waitIdle(t, m)
	pl := serve(m, "GET", "/live/s.m3u8").Body.String()
	if strings.Count(pl, "#EXT-X-DISCONTINUITY\n") != 1 || !strings.Contains(pl, "#EXT-X-DISCONTINUITY\n#EXTINF:2.000,\ns-2.ts") {
		t.Fatalf("republish:\n%s", pl)
	}
	// Disposed of once the publisher stays away.
	deadline := time.Now().Add(3 * time.Second)
	for serve(m, "GET", "/live/s.m3u8").Code != -1 {
		if time.Now().After(deadline) {
			t.Fatal("not disposed of")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if w := serve(m, "GET", "/live/s-2.ts"); w.Code != -1 && w.Code != 404 {
		t.Fatalf("segment after dispose: %d", w.Code)
	}
}

func TestDiscontinuitySequenceWhenTagLeaves(t *testing.T) {
	useFake(t)
	m := NewManager("", nil)
	defer m.Close()
	reg := testRegistry()
	st := publish(t, m, reg, cfg2s)
	feed(st, 0, 4*time.Second, 25)
	st.Unpublish()
	waitIdle(t, m)
	st = publish(t, m, reg, cfg2s)
	feed(st, 0, 12*time.Second, 25)
	st.Unpublish()
	waitIdle(t, m)
	pl := serve(m, "GET", "/live/s.m3u8").Body.String()
	if !strings.Contains(pl, "#EXT-X-DISCONTINUITY-SEQUENCE:1\n") || strings.Contains(pl, "#EXT-X-DISCONTINUITY\n") {
		t.Fatalf("discontinuity left the window:\n%s", pl)
	}
}

func TestPlaylistWaitsForFirstSegment(t *testing.T) {
	useFake(t)
	m := NewManager("", nil)
	defer m.Close()
	reg := testRegistry()
	st := publish(t, m, reg, Config{Fragment: time.Second, Window: 3 * time.Second, Dispose: time.Minute, Container: ContainerTS})
	done := make(chan *httptest.ResponseRecorder)
	go func() { done <- serve(m, "GET", "/live/s.m3u8") }()
	time.Sleep(50 * time.Millisecond)
	feed(st, 0, 2500*time.Millisecond, 25)
	select {
	case w := <-done:
		if w.Code != 200 || !strings.Contains(w.Body.String(), "s-0.ts") {
			t.Fatalf("%d %s", w.Code, w.Body.String())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the waiting playlist request did not return")
	}
	st.Unpublish()
	waitIdle(t, m)
}

func TestUnknownStreamAndMethods(t *testing.T) {
	useFake(t)
	m := NewManager("", nil)
	defer m.Close()
	if w := serve(m, "GET", "/live/none.m3u8"); w.Code != -1 {
		t.Fatalf("unknown playlist: %d", w.Code)
	}
	if w := serve(m, "GET", "/live/none-1.ts"); w.Code != -1 {
		t.Fatalf("unknown segment is not left to static files: %d", w.Code)
	}
	if w := serve(m, "GET", "/live/index.html"); w.Code != -1 {
		t.Fatalf("not HLS: %d", w.Code)
	}
	reg := testRegistry()
	st := publish(t, m, reg, cfg2s)
	feed(st, 0, 3*time.Second, 25)
	st.Unpublish()
	waitIdle(t, m)
	if w := serve(m, "POST", "/live/s.m3u8"); w.Code != http.StatusMethodNotAllowed {
		t.Fatalf("POST: %d", w.Code)
	}
	if w := serve(m, "OPTIONS", "/live/s.m3u8"); w.Code != http.StatusNoContent ||
		w.Header().Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("OPTIONS: %d", w.Code)
	}
	r := httptest.NewRequest("GET", "http://x/live/s-0.ts", nil)
	r.Header.Set("Range", "bytes=0-1")
	w := httptest.NewRecorder()
	m.ServeHTTP(w, r, "v")
	if w.Code != http.StatusPartialContent || w.Body.String() != "TK" {
		t.Fatalf("range: %d %q", w.Code, w.Body.String())
	}
}

func TestFolderSegmentsAreFiles(t *testing.T) {
	useFake(t)
	dir := t.TempDir()
	m := NewManager("__defaultVhost__", slog.New(slog.NewTextHandler(os.Stderr, nil)))
	defer m.Close()
	reg := testRegistry()
	cfg := cfg2s
	cfg.Dir = dir
	cfg.Dispose = 200 * time.Millisecond
	st := publish(t, m, reg, cfg)
	feed(st, 0, 11*time.Second, 25)
	st.Unpublish()
	waitIdle(t, m)
	names, _ := filepath.Glob(filepath.Join(dir, "v", "live", "*"))
	var base []string
	for _, n := range names {
		base = append(base, filepath.Base(n))
	}
	if got := strings.Join(base, " "); got != "s-3.ts s-4.ts s-5.ts s.m3u8" {
		t.Fatalf("files: %s\n%s", got, serve(m, "GET", "/live/s.m3u8").Body.String())
	}
	b, _ := os.ReadFile(filepath.Join(dir, "v", "live", "s-4.ts"))
	if !strings.HasPrefix(string(b), "TK") {
		t.Fatalf("segment file %q", b)
	}
	if w := serve(m, "GET", "/live/s-4.ts"); w.Code != 200 || w.Body.String() != string(b) {
		t.Fatalf("served file: %d", w.Code)
	}
	deadline := time.Now().Add(3 * time.Second)
	for {
		left, _ := filepath.Glob(filepath.Join(dir, "v", "live", "*"))
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("left after dispose: %v", left)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestParsePath(t *testing.T) {
	for _, tc := range []struct {
		in   string
		ok   bool
		want Request
	}{
		{"/live/s.m3u8", true, Request{App: "live", Stream: "s", Kind: KindPlaylist}},
		{"/live/s-12.ts", true, Request{App: "live", Stream: "s", Kind: KindSegment, Seq: 12}},
		{"/a/b/my-cam-3.m4s", true, Request{App: "a/b", Stream: "my-cam", Kind: KindSegment, Seq: 3}},
		{"/live/s-init-2.mp4", true, Request{App: "live", Stream: "s", Kind: KindInit, Seq: 2}},
		{"/s.m3u8", false, Request{}},
		{"/live/.m3u8", false, Request{}},
		{"/live/s.ts", false, Request{}},
		{"/live/s-x.ts", false, Request{}},
		{"/live/../s.m3u8", false, Request{}},
		{"//s.m3u8", false, Request{}},
		{"/live/s.mp4", false, Request{}},
		{"live/s.m3u8", false, Request{}},
	} {
		got, ok := ParsePath(tc.in)
		if ok != tc.ok || ok && got != tc.want {
			t.Errorf("ParsePath(%q) = %+v %v, want %+v %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func FuzzParsePath(f *testing.F) {
	for _, s := range []string{"/live/s.m3u8", "/live/s-1.ts", "/a/b/s-init-1.mp4", "/x-/-1.m4s"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		r, ok := ParsePath(p)
		if ok && (r.App == "" || r.Stream == "" || strings.Contains(r.App, "..")) {
			t.Fatalf("%q: %+v", p, r)
		}
	})
}

// BenchmarkServeSegment serves a 500 KB in-memory segment: the bytes go
// from the segment's buffer to the connection without a copy.
func BenchmarkServeSegment(b *testing.B) {
	mx := &Muxer{cfg: cfg2s, m: NewManager("", nil)}
	s := &segment{seq: 1, data: make([]byte, 500<<10), dur: 2 * time.Second, mx: mx}
	s.refs.Store(1)
	mx.segs = []*segment{s}
	r := httptest.NewRequest("GET", "http://x/live/s-1.ts", nil)
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	b.SetBytes(int64(len(s.data)))
	for b.Loop() {
		clear(w.h)
		mx.serveSegment(w, r, 1)
	}
	if w.n == 0 {
		b.Fatal("nothing written")
	}
}

type discardWriter struct {
	h http.Header
	n int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) WriteHeader(int)             {}
func (w *discardWriter) Write(p []byte) (int, error) { w.n += len(p); return len(p), nil }

var _ = fmt.Sprint
