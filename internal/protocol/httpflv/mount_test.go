package httpflv

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/srs-lite/srs-lite/internal/media"
)

func TestMountMatch(t *testing.T) {
	tests := []struct {
		vhost, tmpl, path string
		app, stream       string
		ok                bool
	}{
		{defaultVhost, DefaultMount, "/live/livestream.flv", "live", "livestream", true},
		{defaultVhost, DefaultMount, "/a/b/c.flv", "a/b", "c", true},
		{defaultVhost, DefaultMount, "/live/s.t.flv", "live", "s.t", true},
		{defaultVhost, DefaultMount, "/live/s.ts", "live", "s", true},
		{defaultVhost, DefaultMount, "/live/s.aac", "live", "s", true},
		{defaultVhost, DefaultMount, "/live/s.mp3", "live", "s", true},
		{defaultVhost, DefaultMount, "/s.flv", "", "", false},
		{defaultVhost, DefaultMount, "/live/.flv", "", "", false},
		{defaultVhost, DefaultMount, "//s.flv", "", "", false},
		{defaultVhost, DefaultMount, "/a//s.flv", "", "", false},
		{defaultVhost, DefaultMount, "live/s.flv", "", "", false},
		{defaultVhost, DefaultMount, "/.flv", "", "", false},
		{defaultVhost, DefaultMount, "/__defaultVhost__/live/s.flv", "__defaultVhost__/live", "s", true},
		// A named vhost's host part was matched by the vhost resolution.
		{"v.example.com", DefaultMount, "/live/s.flv", "live", "s", true},
		{"v.example.com", "V.example.com/[app]/[stream].flv", "/live/s.flv", "live", "s", true},
		{"v.example.com", "/[vhost]/[app]/[stream].flv", "/v.example.com/live/s.flv", "live", "s", true},
		{"v.example.com", "/[vhost]/[app]/[stream].flv", "/live/s.flv", "", "", false},
		// A fixed app: the app is the path's directory.
		{defaultVhost, "/live/[stream].flv", "/live/s.flv", "live", "s", true},
		{defaultVhost, "/live/[stream].flv", "/other/s.flv", "", "", false},
		{defaultVhost, "/live/[stream].flv", "/live/a/s.flv", "", "", false},
		// A prefix.
		{defaultVhost, "/flv/[app]/[stream].flv", "/flv/live/s.flv", "live", "s", true},
		{defaultVhost, "/flv/[app]/[stream].flv", "/flv/live/s.ts", "live", "s", true},
		{defaultVhost, "/flv/[app]/[stream].flv", "/live/s.flv", "", "", false},
		{defaultVhost, "/flv/[app]/[stream].flv", "/flv/s.flv", "", "", false},
		// Other shapes and extensions.
		{defaultVhost, "/[app]-[stream].ts", "/a-b-c.ts", "a", "b-c", true},
		{defaultVhost, "/x/[stream]/[app].aac", "/x/s/a/b.flv", "a/b", "s", true},
		{defaultVhost, "/cam.mp3", "/cam.mp3", "", "", false},
		{defaultVhost, "/live/cam.mp3", "/live/cam.flv", "live", "cam", true},
	}
	for _, tt := range tests {
		t.Run(tt.vhost+" "+tt.tmpl+" "+tt.path, func(t *testing.T) {
			m, err := ParseMount(tt.vhost, tt.tmpl)
			if err != nil {
				t.Fatal(err)
			}
			ext := tt.path[strings.LastIndexByte(tt.path, '.'):]
			app, stream, ok := m.Match(strings.TrimSuffix(tt.path, ext))
			if app != tt.app || stream != tt.stream || ok != tt.ok {
				t.Errorf("Match = %q, %q, %v; want %q, %q, %v", app, stream, ok, tt.app, tt.stream, tt.ok)
			}
		})
	}
}

func TestParseMountErrors(t *testing.T) {
	for _, tmpl := range []string{
		"[app]/[stream].flv", // SRS would read "[app]" as a host
		"other.com/[app]/[stream].flv",
		"/[app]/[stream].m3u8",
		"/[app]/[stream]",
		"/[app][stream].flv",
		"/[stream]/[stream].flv",
		"/[app]/[x].flv",
		"/[app]/[stream.flv",
		"/[app]/.flv",
		"/[app]//[stream].flv",
		"/[app]/[stream].flv?x",
		"",
	} {
		if _, err := ParseMount("v.example.com", tmpl); err == nil {
			t.Errorf("ParseMount(%q) accepted", tmpl)
		}
	}
	h := &Handler{}
	if err := h.SetMounts(map[string]string{"a": "/ok/[stream].flv", "b": "bad"}); err == nil || h.mounts.Load() != nil {
		t.Errorf("SetMounts with a bad template: %v", err)
	}
}

// TestServeStream routes requests by vhost (Host header, ?vhost=) and
// mount, and passes on what is not a stream.
func TestServeStream(t *testing.T) {
	vhostOf := func(r *http.Request) (string, bool) {
		if v := r.URL.Query().Get("vhost"); v != "" {
			return v, v != "off.example.com"
		}
		if h, _, _ := strings.Cut(r.Host, ":"); strings.EqualFold(h, "v.example.com") {
			return "v.example.com", true
		}
		return defaultVhost, true
	}
	e := newEnv(t, Config{}, Deps{Vhost: vhostOf})
	if err := e.h.SetMounts(map[string]string{
		defaultVhost:      "/flv/[app]/[stream].flv",
		"v.example.com":   DefaultMount,
		"off.example.com": DefaultMount,
		"ts.example.com":  "[vhost]/[app]/[stream].ts",
	}); err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{defaultVhost, "v.example.com", "ts.example.com"} {
		p := publish(t, e.reg, v, "live", "s")
		p.headers()
		p.next(1)
		defer p.s.Unpublish()
	}

	tests := []struct {
		name, host, path string
		served           bool
		status           int
	}{
		{"default vhost mount", "", "/flv/live/s.flv", true, 200},
		{"default vhost ts", "", "/flv/live/s.ts", true, 200},
		{"default vhost aac", "", "/flv/live/s.aac", true, 200},
		{"default vhost mp3 of aac", "", "/flv/live/s.mp3", true, 415},
		{"old path passes", "", "/live/s.flv", false, 0},
		{"unknown stream own ext", "", "/flv/live/none.flv", true, 404},
		{"unknown stream other ext passes", "", "/flv/live/none.aac", false, 0},
		{"hls segment passes", "", "/flv/live/s-12.ts", false, 0},
		{"playlist passes", "", "/flv/live/s.m3u8", false, 0},
		{"named vhost by host", "v.example.com:8080", "/live/s.flv", true, 200},
		{"named vhost by param", "", "/live/s.flv?vhost=v.example.com", true, 200},
		{"named vhost ts", "v.example.com", "/live/s.ts", true, 200},
		{"disabled vhost", "", "/live/s.flv?vhost=off.example.com", true, 404},
		{"disabled vhost other ext passes", "", "/live/s.ts?vhost=off.example.com", false, 0},
		{"ts mount flv", "", "/live/s.flv?vhost=ts.example.com", true, 200},
		{"ts mount own ext", "", "/live/s.ts?vhost=ts.example.com", true, 200},
		{"ts mount unknown passes", "", "/live/none.ts?vhost=ts.example.com", false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("HEAD", tt.path, nil)
			if tt.host != "" {
				r.Host = tt.host
			}
			w := httptest.NewRecorder()
			served := e.h.ServeStream(w, r)
			if served != tt.served {
				t.Fatalf("served %v, want %v", served, tt.served)
			}
			if !served {
				if w.Body.Len() != 0 || len(w.Header()) != 0 {
					t.Error("wrote to a request it passed on")
				}
				return
			}
			if tt.status == 415 { // found out on the first frames: a GET
				resp := e.get(t, tt.path)
				resp.Body.Close()
				if resp.StatusCode != 415 {
					t.Errorf("GET status %d, want 415", resp.StatusCode)
				}
				return
			}
			if w.Code != tt.status {
				t.Errorf("status %d, want %d", w.Code, tt.status)
			}
		})
	}
}

// TestLocateRedirect: Deps.Locate (the origin cluster) is asked only for
// streams not published here; a URL is a 302 there, "" serves as without
// it; .ts (HLS segments) is never asked about.
func TestLocateRedirect(t *testing.T) {
	var mu sync.Mutex
	var asked []string
	locate := func(r *http.Request, key media.Key) string {
		mu.Lock()
		asked = append(asked, key.Stream)
		mu.Unlock()
		if key.Stream == "far" {
			return "http://10.0.0.2:8080" + r.URL.Path
		}
		return ""
	}
	e := newEnv(t, Config{}, Deps{Locate: locate})
	p := publish(t, e.reg, defaultVhost, "live", "s")
	p.headers()
	p.next(1)
	defer p.s.Unpublish()

	for _, tt := range []struct {
		method, path string
		served       bool
		status       int
		location     string
	}{
		{"HEAD", "/live/s.flv", true, 200, ""},
		{"HEAD", "/live/s.aac", true, 200, ""},
		{"GET", "/live/far.flv", true, 302, "http://10.0.0.2:8080/live/far.flv"},
		{"HEAD", "/live/far.flv", true, 302, "http://10.0.0.2:8080/live/far.flv"},
		{"GET", "/live/far.aac", true, 302, "http://10.0.0.2:8080/live/far.aac"},
		{"GET", "/live/far.mp3", true, 302, "http://10.0.0.2:8080/live/far.mp3"},
		{"GET", "/live/far.ts", false, 0, ""},
		{"OPTIONS", "/live/far.aac", false, 0, ""},
		{"HEAD", "/live/none.flv", true, 404, ""},
		{"GET", "/live/none.aac", false, 0, ""},
	} {
		r := httptest.NewRequest(tt.method, tt.path, nil)
		w := httptest.NewRecorder()
		served := e.h.ServeStream(w, r)
		if served != tt.served || (served && (w.Code != tt.status || w.Header().Get("Location") != tt.location)) {
			t.Errorf("%s %s: served %v %d %q, want %v %d %q", tt.method, tt.path, served, w.Code,
				w.Header().Get("Location"), tt.served, tt.status, tt.location)
		}
		if !served && (w.Body.Len() != 0 || len(w.Header()) != 0) {
			t.Errorf("%s %s: wrote to a request it passed on", tt.method, tt.path)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for _, s := range asked {
		if s == "s" {
			t.Errorf("Locate asked about a stream published here: %v", asked)
		}
	}
	if want := "far far far far none none"; strings.Join(asked, " ") != want {
		t.Errorf("asked %v, want %s", asked, want)
	}
}
