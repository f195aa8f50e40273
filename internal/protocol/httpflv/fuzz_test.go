package httpflv

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/srs-lite/srs-lite/internal/media"
)

// FuzzMount checks that the mount parser and matcher never panic, that a
// match round-trips (the template with the captured app and stream is the
// path's stem) and that ServeStream answers a mount's path at once when
// nobody publishes.
func FuzzMount(f *testing.F) {
	for _, s := range [][2]string{
		{DefaultMount, "/live/livestream.flv"},
		{DefaultMount, "/a/b/c.ts"},
		{"/live/[stream].flv", "/live/s.aac"},
		{"/flv/[app]/[stream].flv", "/flv/live/s.mp3"},
		{"[vhost]/[app]/[stream].flv", "//x.flv"},
		{"/[app]-[stream].flv", "/a-b-c.flv"},
		{"/x/[stream]/[app].ts", "/x/s/a/b.ts"},
	} {
		f.Add(s[0], s[1])
	}
	reg := media.NewRegistry(nil)
	const vhost = "v.example.com"
	h, err := New(Config{}, Deps{Registry: reg,
		Vhost: func(*http.Request) (string, bool) { return vhost, true }})
	if err != nil {
		f.Fatal(err)
	}
	defer h.Close()
	f.Fuzz(func(t *testing.T, tmpl, p string) {
		m, err := ParseMount(vhost, tmpl)
		if err != nil {
			return
		}
		ext := m.ext
		if i := strings.LastIndexByte(p, '.'); i >= 0 && !strings.Contains(p[i:], "/") {
			ext = p[i:]
		}
		stem := strings.TrimSuffix(p, ext)
		app, stream, ok := m.Match(stem)
		if !ok {
			if app != "" || stream != "" {
				t.Fatalf("rejected %q but returned %q, %q", stem, app, stream)
			}
		} else {
			if !validApp(app) || stream == "" || strings.Contains(stream, "/") {
				t.Fatalf("%q on %q: app %q stream %q", stem, tmpl, app, stream)
			}
			if m.app && m.str {
				var b strings.Builder
				for _, part := range m.parts {
					switch part {
					case "[app]":
						b.WriteString(app)
					case "[stream]":
						b.WriteString(stream)
					default:
						b.WriteString(part)
					}
				}
				if b.String() != stem {
					t.Fatalf("%q on %q: app %q stream %q rebuild %q", stem, tmpl, app, stream, b.String())
				}
			}
		}
		if err := h.SetMounts(map[string]string{vhost: tmpl}); err != nil {
			t.Fatal(err)
		}
		// Nobody publishes: every GET is answered at once (404) or passed
		// on, never hangs or panics.
		r := httptest.NewRequest("GET", "/", nil)
		r.URL.Path = p
		w := httptest.NewRecorder()
		if h.ServeStream(w, r) && w.Code != http.StatusNotFound {
			t.Fatalf("%q: status %d", p, w.Code)
		}
	})
}
