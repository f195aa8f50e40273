package server

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/srs-lite/srs-lite/internal/config"
	"github.com/srs-lite/srs-lite/internal/log"
)

// staticServer returns a server whose http_server.dir is a fresh folder
// holding a few files, a folder, a hidden file and symlinks, next to a
// secret file outside it.
func staticServer(t *testing.T) (*Server, http.Handler) {
	t.Helper()
	top := t.TempDir()
	dir := filepath.Join(top, "www")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(dir, "live", "sub"), 0o755))
	must(os.MkdirAll(filepath.Join(dir, "players"), 0o755))
	must(os.WriteFile(filepath.Join(top, "secret.txt"), []byte("secret"), 0o644))
	must(os.WriteFile(filepath.Join(dir, "index.html"), []byte("<h1>home</h1>"), 0o644))
	must(os.WriteFile(filepath.Join(dir, "players", "index.html"), []byte("players"), 0o644))
	must(os.WriteFile(filepath.Join(dir, "live", "a.ts"), []byte("0123456789"), 0o644))
	must(os.WriteFile(filepath.Join(dir, "live", "a.m3u8"), []byte("#EXTM3U\n"), 0o644))
	must(os.WriteFile(filepath.Join(dir, "live", "a.m4s"), []byte("m4s"), 0o644))
	must(os.WriteFile(filepath.Join(dir, "live", "a.mp4"), []byte("mp4"), 0o644))
	must(os.WriteFile(filepath.Join(dir, "live", "rec.flv"), []byte("FLV"), 0o644))
	must(os.WriteFile(filepath.Join(dir, ".htpasswd"), []byte("x"), 0o644))
	must(os.Symlink(filepath.Join(top, "secret.txt"), filepath.Join(dir, "out.txt")))
	must(os.Symlink(top, filepath.Join(dir, "up")))
	must(os.Symlink(filepath.Join("live", "a.ts"), filepath.Join(dir, "in.ts"))) // relative: os.Root refuses absolute links
	c := config.Default()
	c.HTTPServer.Dir = dir
	l, err := log.New(log.Options{Level: "error", File: filepath.Join(top, "log")})
	must(err)
	s, err := New("", c, l)
	must(err)
	return s, s.routes.http
}

func get(t *testing.T, h http.Handler, method, target string, hdr ...string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, "http://x"+target, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestStaticServesFilesWithTypes(t *testing.T) {
	_, h := staticServer(t)
	for _, tc := range []struct{ path, ctype, body string }{
		{"/", "text/html; charset=utf-8", "<h1>home</h1>"},
		{"/index.html", "text/html; charset=utf-8", "<h1>home</h1>"},
		{"/players/", "text/html; charset=utf-8", "players"},
		{"/players", "text/html; charset=utf-8", "players"},
		{"/live/a.ts", "video/mp2t", "0123456789"},
		{"/live/a.m3u8", "application/vnd.apple.mpegurl", "#EXTM3U\n"},
		{"/live/a.m4s", "video/iso.segment", "m4s"},
		{"/live/a.mp4", "video/mp4", "mp4"},
		{"/in.ts", "video/mp2t", "0123456789"}, // a symlink that stays inside
	} {
		w := get(t, h, "GET", tc.path)
		if w.Code != 200 || w.Header().Get("Content-Type") != tc.ctype || w.Body.String() != tc.body {
			t.Errorf("%s: %d %q %q", tc.path, w.Code, w.Header().Get("Content-Type"), w.Body.String())
		}
		if w.Header().Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("%s: no CORS header", tc.path)
		}
	}
}

func TestStaticRangeAndHead(t *testing.T) {
	_, h := staticServer(t)
	w := get(t, h, "GET", "/live/a.ts", "Range", "bytes=2-5")
	if w.Code != http.StatusPartialContent || w.Body.String() != "2345" ||
		w.Header().Get("Content-Range") != "bytes 2-5/10" {
		t.Fatalf("range: %d %q %q", w.Code, w.Body.String(), w.Header().Get("Content-Range"))
	}
	w = get(t, h, "GET", "/live/a.ts", "Range", "bytes=20-30")
	if w.Code != http.StatusRequestedRangeNotSatisfiable {
		t.Fatalf("range past the end: %d", w.Code)
	}
	w = get(t, h, "HEAD", "/live/a.ts")
	if w.Code != 200 || w.Body.Len() != 0 || w.Header().Get("Content-Length") != "10" {
		t.Fatalf("HEAD: %d %d %q", w.Code, w.Body.Len(), w.Header().Get("Content-Length"))
	}
	w = get(t, h, "OPTIONS", "/live/a.ts")
	if w.Code != http.StatusNoContent || !strings.Contains(w.Header().Get("Access-Control-Allow-Headers"), "Range") {
		t.Fatalf("OPTIONS: %d %v", w.Code, w.Header())
	}
	w = get(t, h, "POST", "/live/a.ts")
	if w.Code != http.StatusMethodNotAllowed {
		t.Fatalf("POST: %d", w.Code)
	}
}

func TestStaticRefusesEscapes(t *testing.T) {
	_, h := staticServer(t)
	for _, p := range []string{
		"/../secret.txt",
		"/live/../../secret.txt",
		"/%2e%2e/secret.txt",
		"/live/%2e%2e/%2e%2e/secret.txt",
		"/..%2fsecret.txt",
		"/live%2f..%2f..%2fsecret.txt",
		"/..%5csecret.txt",
		"/live/..\\..\\secret.txt",
		"/out.txt",       // symlink to a file outside
		"/up/secret.txt", // symlink to a folder outside
		"/.htpasswd",     // hidden file
		"/live/",         // a folder without index.html: no listing
		"/live",          // same
		"/nothing.html",  // missing
		"/secret.txt%00.html",
		"//secret.txt",
	} {
		r := httptest.NewRequest("GET", "http://x/", nil)
		r.URL.Path = ""
		u := *r.URL
		parsed, err := u.Parse(p)
		if err != nil {
			continue // not even a URL
		}
		r.URL = parsed
		r.RequestURI = p
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		body, _ := io.ReadAll(w.Body)
		// ServeMux answers an unclean path with a redirect to its clean form.
		refused := w.Code == http.StatusNotFound ||
			w.Code/100 == 3 && !strings.Contains(w.Header().Get("Location"), "secret")
		if !refused || strings.Contains(string(body), "secret") {
			t.Errorf("%s: %d %q", p, w.Code, body)
		}
	}
}
