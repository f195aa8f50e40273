package console

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
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
	embedded, gz := Size()
	t.Logf("console assets: %d bytes embedded, %d gzipped", embedded, gz)
	if embedded > 200<<10 {
		t.Errorf("console assets are %d bytes, over 200 KiB", embedded)
	}
}

// mpegtsSHA256 is the sha256 of package/dist/mpegts.js of mpegts.js 1.8.2
// as npm packs it (assets/vendor/README.txt).
const mpegtsSHA256 = "bda31748736a69cb610c2edf4623e633f1f4f47b5bda83668c8d287e51b0c3a8"

// TestVendoredMpegts: the vendored mpegts.js, committed gzipped, unzips to
// the file npm packs (its checksum recorded in the vendor README), is served
// at /console/vendor/mpegts.js gzipped or raw, and comes with its licence.
func TestVendoredMpegts(t *testing.T) {
	gz, err := assets.ReadFile("assets/vendor/mpegts.js.gz")
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(raw)
	if got := hex.EncodeToString(sum[:]); got != mpegtsSHA256 {
		t.Errorf("mpegts.js sha256 %s, want %s", got, mpegtsSHA256)
	}
	readme, _ := assets.ReadFile("assets/vendor/README.txt")
	if !strings.Contains(string(readme), mpegtsSHA256) || !strings.Contains(string(readme), "mpegts.js 1.8.2") {
		t.Error("the vendor README does not record the version and checksum")
	}
	if lic, _ := assets.ReadFile("assets/vendor/mpegts.js.LICENSE.txt"); !strings.Contains(string(lic), "Apache License") {
		t.Error("no Apache licence beside mpegts.js")
	}
	h := Handler("/console/")
	w := get(t, h, "/console/vendor/mpegts.js", "gzip")
	if w.Code != 200 || w.Header().Get("Content-Encoding") != "gzip" || !bytes.Equal(w.Body.Bytes(), gz) ||
		w.Header().Get("Content-Type") != "text/javascript; charset=utf-8" {
		t.Errorf("gzip: %d %q %q", w.Code, w.Header().Get("Content-Encoding"), w.Header().Get("Content-Type"))
	}
	w = get(t, h, "/console/vendor/mpegts.js", "")
	if w.Code != 200 || w.Header().Get("Content-Encoding") != "" || !bytes.Equal(w.Body.Bytes(), raw) {
		t.Errorf("raw: %d %q, %d bytes", w.Code, w.Header().Get("Content-Encoding"), w.Body.Len())
	}
	if w := get(t, h, "/console/vendor/mpegts.js.gz", "gzip"); w.Code != 404 {
		t.Errorf("the .gz name answers %d", w.Code)
	}
}

// TestCSPConnect: the page may fetch from the box's HTTP server (the
// preview) and nothing else; MSE's blob: media and the snapshots' blob:
// images are allowed, no worker (mpegts.js runs without one).
func TestCSPConnect(t *testing.T) {
	h := HandlerConnect("/console/", func(*http.Request) []string { return []string{"http://10.0.0.1:8080"} })
	csp := get(t, h, "/console/", "").Header().Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'self';", "connect-src 'self' http://10.0.0.1:8080;", "media-src 'self' blob:", "img-src 'self' blob:"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "worker-src") || strings.Contains(csp, "*") {
		t.Errorf("CSP %q", csp)
	}
}
