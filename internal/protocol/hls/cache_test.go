package hls

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/srs-lite/srs-lite/internal/media"
)

// TestCacheHeaders checks what an HTTP cache in front needs: a playlist
// kept about half a fragment, segments immutable with an ETag, and 304 for
// a conditional GET.
func TestCacheHeaders(t *testing.T) {
	useFake(t)
	m := NewManager("", nil)
	defer m.Close()
	reg := testRegistry()
	st := publish(t, m, reg, cfg2s)
	feed(st, 0, 7*time.Second, 25)
	st.Unpublish()
	waitIdle(t, m)

	pl := serve(m, "GET", "/live/s.m3u8")
	if cc := pl.Header().Get("Cache-Control"); cc != "public, max-age=1" {
		t.Errorf("playlist Cache-Control %q", cc)
	}
	if _, err := http.ParseTime(pl.Header().Get("Last-Modified")); err != nil {
		t.Errorf("playlist Last-Modified %q", pl.Header().Get("Last-Modified"))
	}
	seg := serve(m, "GET", "/live/s-1.ts")
	h := seg.Header()
	if seg.Code != 200 || h.Get("Cache-Control") != "public, max-age=86400, immutable" || !strings.HasPrefix(h.Get("ETag"), `"1-`) {
		t.Fatalf("segment: %d %v", seg.Code, h)
	}
	etag, lm := h.Get("ETag"), h.Get("Last-Modified")
	for _, hd := range [][2]string{{"If-None-Match", etag}, {"If-None-Match", `"x", W/` + etag}, {"If-Modified-Since", lm}} {
		r := httptest.NewRequest("GET", "http://x/live/s-1.ts", nil)
		r.Header.Set(hd[0], hd[1])
		w := httptest.NewRecorder()
		m.ServeHTTP(w, r, "v")
		if w.Code != http.StatusNotModified || w.Body.Len() != 0 {
			t.Errorf("%s: %s: %d, %d bytes", hd[0], hd[1], w.Code, w.Body.Len())
		}
	}
	r := httptest.NewRequest("GET", "http://x/live/s-1.ts", nil)
	r.Header.Set("If-None-Match", `"other"`)
	w := httptest.NewRecorder()
	m.ServeHTTP(w, r, "v")
	if w.Code != 200 {
		t.Errorf("other ETag: %d", w.Code)
	}
	if got := playlistCacheControl(10 * time.Second); got != "public, max-age=5" {
		t.Errorf("10 s fragments: %q", got)
	}
}

// TestNamesNotReusedAfterDispose: a stream published again after its HLS
// was disposed continues the sequence, so a cache never serves an old
// segment under a new segment's name.
func TestNamesNotReusedAfterDispose(t *testing.T) {
	useFake(t)
	m := NewManager("", nil)
	defer m.Close()
	reg := testRegistry()
	cfg := cfg2s
	cfg.Dispose = 50 * time.Millisecond
	st := publish(t, m, reg, cfg)
	feed(st, 0, 5*time.Second, 25)
	st.Unpublish()
	waitIdle(t, m)
	waitFor(t, "dispose", func() bool { return m.lookup("v", "live", "s") == nil })
	st = publish(t, m, reg, cfg)
	feed(st, 0, 5*time.Second, 25)
	st.Unpublish()
	waitIdle(t, m)
	pl := serve(m, "GET", "/live/s.m3u8").Body.String()
	if strings.Contains(pl, "s-0.ts") || !strings.Contains(pl, "s-3.ts") {
		t.Fatalf("second publish reuses names:\n%s", pl)
	}
}

// TestNoCtx: hls_ctx off serves the same playlist to everyone, with no
// redirect and no session.
func TestNoCtx(t *testing.T) {
	useFake(t)
	m := NewManager("", nil)
	defer m.Close()
	rc := &recorder{calls: map[string]int{}}
	m.SetEvents(rc.events())
	reg := testRegistry()
	cfg := cfg2s
	cfg.NoCtx = true
	st := publish(t, m, reg, cfg)
	feed(st, 0, 7*time.Second, 25)
	st.Unpublish()
	waitIdle(t, m)
	a, b := serve(m, "GET", "/live/s.m3u8"), serve(m, "GET", "/live/s.m3u8")
	if a.Code != 200 || a.Body.String() != b.Body.String() || strings.Contains(a.Body.String(), CtxParam) {
		t.Fatalf("%d\n%s", a.Code, a.Body.String())
	}
	if rc.n("connect")+rc.n("play") != 0 {
		t.Fatalf("sessions started: %v", rc.calls)
	}
	// Without sessions the requests say someone watches, for the viewer
	// timeout (10 s at least).
	if !m.Watched("v", "live", "s") || m.Watched("v", "live", "other") {
		t.Fatal("a stream just requested is not watched")
	}
	mx := m.lookup("v", "live", "s")
	mx.anon.Store(time.Now().Add(-11 * time.Second).UnixNano())
	if m.Watched("v", "live", "s") {
		t.Fatal("watched 11 s after the last request")
	}
}

// TestGuard: requests without a session are checked by the guard; a viewer
// session is checked once, by Events.Play.
func TestGuard(t *testing.T) {
	m, rc := viewerSetup(t)
	var asked []string
	deny := false
	m.SetGuard(func(ip string, key media.Key) error {
		asked = append(asked, ip+" "+key.String())
		if deny {
			return errors.New("no")
		}
		return nil
	})
	id := startViewer(t, m, "")
	if len(asked) != 0 || rc.n("play") != 1 {
		t.Fatalf("a new viewer went through the guard: %v", asked)
	}
	deny = true
	if w := serve(m, "GET", "/live/s-4.ts?hls_ctx="+id); w.Code != 200 {
		t.Fatalf("live viewer's segment: %d", w.Code)
	}
	if w := serve(m, "GET", "/live/s-4.ts"); w.Code != http.StatusForbidden {
		t.Fatalf("segment without a session: %d", w.Code)
	}
	if w := serve(m, "GET", "/live/s-3.ts?hls_ctx=nosuchid"); w.Code != http.StatusForbidden {
		t.Fatalf("unknown hls_ctx: %d", w.Code)
	}
	if len(asked) != 2 || !strings.HasPrefix(asked[0], "192.0.2.1 ") {
		t.Fatalf("guard asked %v", asked)
	}
}
