package hls

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/srs-lite/srs-lite/internal/media"
	sess "github.com/srs-lite/srs-lite/internal/session"
)

// recorder counts the Events calls by kind and keeps the sessions.
type recorder struct {
	mu     sync.Mutex
	calls  map[string]int
	denyOn string // "connect" or "play"
	tab    *sess.Table
}

func (rc *recorder) add(kind string) {
	rc.mu.Lock()
	rc.calls[kind]++
	rc.mu.Unlock()
}

func (rc *recorder) n(kind string) int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.calls[kind]
}

func (rc *recorder) events() sess.Funcs {
	deny := func(kind string) func(context.Context, *sess.Session) error {
		return func(context.Context, *sess.Session) error {
			rc.add(kind)
			if rc.denyOn == kind {
				return errors.New("denied")
			}
			return nil
		}
	}
	return sess.Funcs{Table: rc.tab, OnConnect: deny("connect"), OnPlay: deny("play"),
		OnStop:  func(*sess.Session) { rc.add("stop") },
		OnClose: func(*sess.Session) { rc.add("close") }}
}

// viewerSetup publishes a stream that stays (segments s-3..s-5) and makes
// viewers sessions with a 200 ms timeout.
func viewerSetup(t *testing.T) (*Manager, *recorder) {
	t.Helper()
	useFake(t)
	m := NewManager("", nil)
	t.Cleanup(m.Close)
	rc := &recorder{calls: map[string]int{}, tab: sess.NewTable()}
	m.SetEvents(rc.events())
	m.SetSessionTimeout(200 * time.Millisecond)
	reg := testRegistry()
	st := publish(t, m, reg, cfg2s)
	feed(st, 0, 11*time.Second, 25)
	st.Unpublish()
	waitIdle(t, m)
	return m, rc
}

// startViewer makes the first playlist request and returns the hls_ctx it
// was redirected with.
func startViewer(t *testing.T, m *Manager, query string) string {
	t.Helper()
	w := serve(m, "GET", "/live/s.m3u8"+query)
	if w.Code != http.StatusFound {
		t.Fatalf("first playlist request: %d %s", w.Code, w.Body.String())
	}
	loc, err := url.Parse(w.Header().Get("Location"))
	if err != nil || loc.Path != "s.m3u8" {
		t.Fatalf("Location %q", w.Header().Get("Location"))
	}
	id := loc.Query().Get(CtxParam)
	if len(id) != 8 {
		t.Fatalf("Location %q has no hls_ctx", w.Header().Get("Location"))
	}
	return id
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out waiting for " + what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestViewerRedirectRefreshTimeout(t *testing.T) {
	m, rc := viewerSetup(t)
	id := startViewer(t, m, "?token=1")
	if rc.n("connect") != 1 || rc.n("play") != 1 || rc.tab.Len() != 1 {
		t.Fatalf("calls %v, table %d", rc.calls, rc.tab.Len())
	}
	w := serve(m, "GET", "/live/s.m3u8")
	if loc := w.Header().Get("Location"); w.Code != http.StatusFound || loc == "s.m3u8?"+CtxParam+"="+id {
		t.Fatalf("a second request without hls_ctx: %d %q", w.Code, loc)
	}
	second := strings.TrimPrefix(w.Header().Get("Location"), "s.m3u8?"+CtxParam+"=")

	w = serve(m, "GET", "/live/s.m3u8?"+CtxParam+"="+id+"&token=1")
	if w.Code != 200 || !strings.Contains(w.Body.String(), "\ns-4.ts?"+CtxParam+"="+id+"\n") {
		t.Fatalf("followed playlist: %d\n%s", w.Code, w.Body.String())
	}
	plBytes := w.Body.Len()
	w = serve(m, "GET", "/live/s-4.ts?"+CtxParam+"="+id)
	if w.Code != 200 {
		t.Fatalf("segment: %d", w.Code)
	}
	segBytes := w.Body.Len()
	if rc.n("connect") != 2 || rc.n("play") != 2 {
		t.Fatalf("refreshes called Events: %v", rc.calls)
	}
	var snap sess.Snapshot
	for _, s := range rc.tab.List() {
		if s.ID == id {
			snap = s
		}
	}
	want := media.Key{Vhost: "v", App: "live", Stream: "s"}
	if snap.Proto != "hls" || snap.Role != sess.Player || snap.Key != want || snap.Param != "?token=1" ||
		snap.URL != "http://x/live/s.m3u8" || snap.BytesOut != uint64(plBytes+segBytes) {
		t.Fatalf("session %+v, want bytes %d", snap, plBytes+segBytes)
	}
	if st, ok := m.Stats(want); !ok || st.Viewers != 2 {
		t.Fatalf("stats %+v", st)
	}

	// Requests keep it alive past its timeout; the other one ends.
	for range 8 {
		time.Sleep(50 * time.Millisecond)
		serve(m, "GET", "/live/s-5.ts?"+CtxParam+"="+id)
	}
	if rc.tab.Get(id) == nil || rc.tab.Get(second) != nil {
		t.Fatalf("after 400 ms: refreshed alive %v, idle gone %v", rc.tab.Get(id) != nil, rc.tab.Get(second) == nil)
	}
	waitFor(t, "the timeout", func() bool { return rc.n("close") == 2 })
	if rc.n("stop") != 2 || rc.tab.Len() != 0 {
		t.Fatalf("calls %v, table %d", rc.calls, rc.tab.Len())
	}
	if st, _ := m.Stats(want); st.Viewers != 0 {
		t.Fatalf("viewers after timeout: %d", st.Viewers)
	}
	// An expired id still plays segments, and its playlist starts anew.
	if w := serve(m, "GET", "/live/s-5.ts?"+CtxParam+"="+id); w.Code != 200 || rc.n("connect") != 2 {
		t.Fatalf("segment of an expired id: %d, %v", w.Code, rc.calls)
	}
	if n := startViewer(t, m, "?"+CtxParam+"="+id); n == id || rc.n("connect") != 3 {
		t.Fatalf("playlist of an expired id: %s, %v", n, rc.calls)
	}
}

func TestViewerDenied(t *testing.T) {
	for _, deny := range []string{"connect", "play"} {
		t.Run(deny, func(t *testing.T) {
			m, rc := viewerSetup(t)
			rc.denyOn = deny
			if w := serve(m, "GET", "/live/s.m3u8"); w.Code != http.StatusForbidden {
				t.Fatalf("denied: %d", w.Code)
			}
			m.vmu.Lock()
			n := len(m.viewers)
			m.vmu.Unlock()
			if n != 0 || rc.tab.Len() != 0 || rc.n("stop") != 0 {
				t.Fatalf("left behind: %d viewers, %d sessions, %v", n, rc.tab.Len(), rc.calls)
			}
			// Segments are not gated: SRS checks the playlist only.
			if w := serve(m, "GET", "/live/s-4.ts"); w.Code != 200 {
				t.Fatalf("segment: %d", w.Code)
			}
		})
	}
}

func TestViewerKick(t *testing.T) {
	m, rc := viewerSetup(t)
	m.SetSessionTimeout(time.Hour) // only the kick ends it
	id := startViewer(t, m, "")
	if !rc.tab.Kick(id) {
		t.Fatal("not in the table")
	}
	waitFor(t, "the kick", func() bool { return rc.n("close") == 1 })
	if rc.n("stop") != 1 || rc.tab.Len() != 0 {
		t.Fatalf("calls %v", rc.calls)
	}
	for _, p := range []string{"/live/s.m3u8", "/live/s-4.ts"} {
		if w := serve(m, "GET", p+"?"+CtxParam+"="+id); w.Code != http.StatusForbidden {
			t.Fatalf("%s with a kicked id: %d", p, w.Code)
		}
	}
	if n := startViewer(t, m, ""); n == id {
		t.Fatal("same id again")
	}
}

func TestViewerKickedDuringPlay(t *testing.T) {
	m, rc := viewerSetup(t)
	ev := rc.events()
	play := ev.OnPlay
	ev.OnPlay = func(ctx context.Context, s *sess.Session) error {
		s.Kick() // the API kicks it while on_play runs
		return play(ctx, s)
	}
	m.SetEvents(ev)
	if w := serve(m, "GET", "/live/s.m3u8"); w.Code != http.StatusForbidden {
		t.Fatalf("kicked during on_play: %d", w.Code)
	}
	if rc.n("stop") != 1 || rc.n("close") != 1 || rc.tab.Len() != 0 {
		t.Fatalf("calls %v, table %d", rc.calls, rc.tab.Len())
	}
}

func TestViewerManagerCloseEndsAll(t *testing.T) {
	m, rc := viewerSetup(t)
	m.SetSessionTimeout(time.Hour)
	for range 3 {
		startViewer(t, m, "")
	}
	m.Close()
	if rc.n("stop") != 3 || rc.n("close") != 3 || rc.tab.Len() != 0 {
		t.Fatalf("calls %v", rc.calls)
	}
	m.Close()
	if rc.n("close") != 3 {
		t.Fatal("second Close ended sessions again")
	}
}

func TestNoEventsNoRedirect(t *testing.T) {
	useFake(t)
	m := NewManager("", nil)
	defer m.Close()
	reg := testRegistry()
	st := publish(t, m, reg, cfg2s)
	feed(st, 0, 5*time.Second, 25)
	st.Unpublish()
	waitIdle(t, m)
	w := serve(m, "GET", "/live/s.m3u8?"+CtxParam+"=abc")
	if w.Code != 200 || strings.Contains(w.Body.String(), CtxParam) {
		t.Fatalf("%d\n%s", w.Code, w.Body.String())
	}
	w = serve(m, "GET", "/live/s.m3u8?vhost=a%0A%23X")
	if !strings.Contains(w.Body.String(), "s-0.ts?vhost=a%0A%23X\n") {
		t.Fatalf("vhost param not escaped:\n%s", w.Body.String())
	}
	m.vmu.Lock()
	reaping := m.reaping
	m.vmu.Unlock()
	if reaping {
		t.Fatal("a reaper without Events")
	}
}

func TestStatsFields(t *testing.T) {
	m, _ := viewerSetup(t)
	st, ok := m.Stats(media.Key{Vhost: "v", App: "live", Stream: "s"})
	if !ok || st.Container != ContainerTS || st.Segments != 3 || st.MediaSeq != 3 || st.Seq != 5 ||
		st.LastDuration <= 0 || st.Target != 2 || st.Viewers != 0 {
		t.Fatalf("%+v", st)
	}
	if _, ok := m.Stats(media.Key{Vhost: "v", App: "live", Stream: "none"}); ok {
		t.Fatal("stats of no stream")
	}
}

func TestNotifyURL(t *testing.T) {
	seg := SegmentInfo{Vhost: "v", App: "live", Stream: "cam", URL: "/live/cam-7.ts", Seq: 7}
	for _, tc := range []struct{ tmpl, want string }{
		{"http://cdn/warm?u=[url]", "http://cdn/warm?u=/live/cam-7.ts"},
		{"http://cdn/[app]/[ts_url]", "http://cdn/live/cam-7.ts"},
		{"http://h/n?v=[vhost]&s=[stream]&q=[seq]&id=[server_id]", "http://h/n?v=v&s=cam&q=7&id=[server_id]"},
		{"http://h/plain", "http://h/plain"},
	} {
		if got := NotifyURL(tc.tmpl, seg); got != tc.want {
			t.Errorf("NotifyURL(%q) = %q, want %q", tc.tmpl, got, tc.want)
		}
	}
}

func TestQueryHelpers(t *testing.T) {
	for _, tc := range []struct{ raw, val, without string }{
		{"", "", ""},
		{"hls_ctx=ab12", "ab12", ""},
		{"a=1&hls_ctx=ab12&b=2", "ab12", "a=1&b=2"},
		{"hls_ctxx=1&hls_ctx&x", "", "hls_ctxx=1&x"},
		{"hls_ctx=&hls_ctx=z", "", ""},
		{"a=1&&b", "", "a=1&&b"},
	} {
		if v := queryValue(tc.raw, CtxParam); v != tc.val {
			t.Errorf("queryValue(%q) = %q, want %q", tc.raw, v, tc.val)
		}
		if v := withoutParam(tc.raw, CtxParam); v != tc.without {
			t.Errorf("withoutParam(%q) = %q, want %q", tc.raw, v, tc.without)
		}
	}
}

func FuzzQueryParam(f *testing.F) {
	for _, s := range []string{"", "hls_ctx=ab", "a=1&hls_ctx=x&b", "hls_ctx&&hls_ctx=", "%26hls_ctx=1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		rest := withoutParam(raw, CtxParam)
		if queryValue(rest, CtxParam) != "" || len(rest) > len(raw) {
			t.Fatalf("withoutParam(%q) = %q", raw, rest)
		}
		if withoutParam(rest, CtxParam) != rest {
			t.Fatalf("withoutParam not idempotent on %q", raw)
		}
		q := CtxParam + "=id1"
		if rest != "" {
			q += "&" + rest
		}
		if v := queryValue(q, CtxParam); v != "id1" {
			t.Fatalf("queryValue(%q) = %q", q, v)
		}
	})
}

// BenchmarkServeSegmentViewer serves a memory segment through ServeHTTP,
// without sessions and to a viewer: the session lookup must not add
// allocations per request.
func BenchmarkServeSegmentViewer(b *testing.B) {
	for _, viewers := range []bool{false, true} {
		b.Run("viewer="+strconv.FormatBool(viewers), func(b *testing.B) {
			m := NewManager("", nil)
			defer m.Close()
			mx := newMuxer(m, "v", "live", "s", cfg2s)
			s := &segment{seq: 1, data: make([]byte, 500<<10), dur: 2 * time.Second, mx: mx}
			s.refs.Store(1)
			mx.segs = []*segment{s}
			m.muxers[mx.key()] = mx
			target := "http://x/live/s-1.ts"
			id := ""
			if viewers {
				m.SetEvents(sess.Funcs{})
				w := httptest.NewRecorder()
				m.ServeHTTP(w, httptest.NewRequest("GET", "http://x/live/s.m3u8", nil), "v")
				id = queryValue(strings.TrimPrefix(w.Header().Get("Location"), "s.m3u8?"), CtxParam)
				if id == "" {
					b.Fatalf("no viewer: %d", w.Code)
				}
				target += "?" + CtxParam + "=" + id
			}
			r := httptest.NewRequest("GET", target, nil)
			dw := &discardWriter{h: http.Header{}}
			b.ReportAllocs()
			b.SetBytes(int64(len(s.data)))
			for b.Loop() {
				clear(dw.h)
				m.ServeHTTP(dw, r, "v")
			}
			if viewers && m.viewers[id].s.BytesOut.Load() < uint64(len(s.data)) {
				b.Fatal("bytes not counted")
			}
		})
	}
}
