package console

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func get(t *testing.T, h http.Handler, path, enc string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest("GET", path, nil)
	if enc != "" {
		r.Header.Set("Accept-Encoding", enc)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestHandler(t *testing.T) {
	h := Handler("/console/")
	for _, p := range []string{"/console/", "/console/streams", "/console/index.html"} {
		w := get(t, h, p, "")
		if w.Code != 200 || !strings.Contains(w.Body.String(), `<script type="module" src="/console/app.js">`) {
			t.Errorf("%s: %d %.60q", p, w.Code, w.Body.String())
		}
		if w.Header().Get("Content-Security-Policy") != CSP || !strings.HasPrefix(CSP, "default-src 'self';") {
			t.Errorf("%s: CSP %q", p, w.Header().Get("Content-Security-Policy"))
		}
	}
	raw := get(t, h, "/console/app.js", "identity")
	gz := get(t, h, "/console/app.js", "br, gzip;q=0.8")
	if gz.Header().Get("Content-Encoding") != "gzip" || raw.Header().Get("Content-Encoding") != "" {
		t.Fatalf("encodings %q %q", gz.Header().Get("Content-Encoding"), raw.Header().Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(gz.Body)
	if err != nil {
		t.Fatal(err)
	}
	un, _ := io.ReadAll(zr)
	if !bytes.Equal(un, raw.Body.Bytes()) || raw.Header().Get("Content-Type") != "text/javascript; charset=utf-8" {
		t.Errorf("gzip body differs, or type %q", raw.Header().Get("Content-Type"))
	}
	if w := get(t, h, "/console/app.js", "gzip;q=0"); w.Header().Get("Content-Encoding") != "" {
		t.Errorf("gzip;q=0 got gzip")
	}
	r := httptest.NewRequest("GET", "/console/app.js", nil)
	r.Header.Set("If-None-Match", raw.Header().Get("ETag"))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusNotModified {
		t.Errorf("If-None-Match: %d", w.Code)
	}
	for _, p := range []string{"/console/missing.js", "/console/../console.go"} {
		if w := get(t, h, p, ""); w.Code != 404 {
			t.Errorf("%s: %d", p, w.Code)
		}
	}
	if w := httptest.NewRecorder(); true {
		h.ServeHTTP(w, httptest.NewRequest("POST", "/console/", nil))
		if w.Code != http.StatusMethodNotAllowed {
			t.Errorf("POST: %d", w.Code)
		}
	}
}

// TestSize keeps the console small: the issue allows 200 KiB in the binary.
func TestSize(t *testing.T) {
	raw, gz := Size()
	t.Logf("console assets: %d bytes raw, %d gzipped", raw, gz)
	if raw > 200<<10 {
		t.Errorf("console assets are %d bytes, over 200 KiB", raw)
	}
}
