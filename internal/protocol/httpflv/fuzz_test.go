package httpflv

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/srs-lite/srs-lite/internal/media"
)

// FuzzParsePath checks that ParsePath never panics and that what it accepts
// round-trips: "/" + app + "/" + stream + ".flv" is the path.
func FuzzParsePath(f *testing.F) {
	for _, s := range []string{"/live/livestream.flv", "/a/b/c.flv", "/.flv", "//x.flv", "/live/s.m3u8", ""} {
		f.Add(s)
	}
	reg := media.NewRegistry(nil)
	h, err := New(Config{}, Deps{Registry: reg})
	if err != nil {
		f.Fatal(err)
	}
	defer h.Close()
	f.Fuzz(func(t *testing.T, p string) {
		app, stream, ok := ParsePath(p)
		if !ok {
			if app != "" || stream != "" {
				t.Fatalf("rejected %q but returned %q, %q", p, app, stream)
			}
		} else if app == "" || stream == "" || strings.Contains(stream, "/") ||
			"/"+app+"/"+stream+".flv" != p {
			t.Fatalf("ParsePath(%q) = %q, %q", p, app, stream)
		}
		// Nobody publishes: every GET must be answered at once, never hang
		// or panic.
		r := httptest.NewRequest("GET", "/", nil)
		r.URL.Path = p
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusNotFound {
			t.Fatalf("%q: status %d", p, w.Code)
		}
	})
}
