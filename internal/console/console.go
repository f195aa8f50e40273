// Package console is the web console served at /console/ on the API port:
// plain HTML, CSS and ES modules embedded in the binary (no build step, no
// CDN: every asset comes from the box). The assets are gzipped once, at the
// first request, and kept in memory; a browser that takes gzip gets those
// bytes, any other the raw ones.
//
// The server wires the handler behind the API's access policy; the package
// knows nothing of it. It is left out of builds tagged noconsole or tiny by
// the server file that uses it.
package console

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
)

//go:embed assets
var assets embed.FS

// CSP is the Content-Security-Policy of every console answer: nothing but
// the box itself; blob: for the snapshot and MSE previews.
const CSP = "default-src 'self'; img-src 'self' blob:; media-src 'self' blob:; " +
	"object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"

// CSPConnect is CSP with a connect-src of the page's own origin and the
// given ones ("http://HOST:PORT").
func CSPConnect(origins []string) string {
	return "default-src 'self'; connect-src 'self' " + strings.Join(origins, " ") + "; " +
		strings.TrimPrefix(CSP, "default-src 'self'; ")
}

// asset is one embedded file, raw and gzipped. A file committed gzipped
// (NAME.gz, a vendored library) is served as NAME; its raw bytes are
// unzipped only for a browser that does not take gzip.
type asset struct {
	raw, gz []byte
	ctype   string
	etag    string
	packed  bool // committed gzipped: raw is unzipped on demand
	unzip   sync.Once
}

// body returns the raw bytes, unzipping a file committed gzipped once.
func (a *asset) body() []byte {
	a.unzip.Do(func() {
		if a.raw != nil {
			return
		}
		zr, err := gzip.NewReader(bytes.NewReader(a.gz))
		if err == nil {
			a.raw, err = io.ReadAll(zr)
		}
		if err != nil {
			a.raw = []byte{}
		}
	})
	return a.raw
}

var (
	once  sync.Once
	files map[string]*asset
)

var types = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".svg":  "image/svg+xml",
	".json": "application/json",
	".txt":  "text/plain; charset=utf-8",
}

// load reads and gzips every asset, once.
func load() {
	files = map[string]*asset{}
	_ = fs.WalkDir(assets, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		raw, err := assets.ReadFile(p)
		if err != nil {
			return err
		}
		if strings.HasSuffix(p, ".gz") {
			p = strings.TrimSuffix(p, ".gz")
			sum := sha256.Sum256(raw)
			files[strings.TrimPrefix(p, "assets/")] = &asset{gz: raw, packed: true, ctype: types[path.Ext(p)],
				etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
			return nil
		}
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		_, _ = zw.Write(raw)
		_ = zw.Close()
		sum := sha256.Sum256(raw)
		a := &asset{raw: raw, ctype: types[path.Ext(p)], etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
		if buf.Len() < len(raw) {
			a.gz = buf.Bytes()
		}
		if a.ctype == "" {
			a.ctype = "application/octet-stream"
		}
		files[strings.TrimPrefix(p, "assets/")] = a
		return nil
	})
}

// Size returns the assets' total size as embedded in the binary (a file
// committed gzipped counts gzipped) and as served gzipped, for reports.
func Size() (embedded, gz int) {
	once.Do(load)
	for _, a := range files {
		if !a.packed {
			embedded += len(a.raw)
		} else {
			embedded += len(a.gz)
		}
		if a.gz != nil {
			gz += len(a.gz)
		} else {
			gz += len(a.raw)
		}
	}
	return embedded, gz
}

// Handler serves the console under prefix ("/console/"): the page at the
// prefix itself and at any path without an extension (the pages are routed
// in the browser), the assets by name.
func Handler(prefix string) http.Handler { return HandlerConnect(prefix, nil) }

// HandlerConnect is Handler whose pages may also fetch from the origins
// connect returns for a request (the box's HTTP server, for the HTTP-FLV
// preview): they are added to the CSP's connect-src.
func HandlerConnect(prefix string, connect func(r *http.Request) []string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		once.Do(load)
		h := w.Header()
		csp := CSP
		if connect != nil {
			if o := connect(r); len(o) > 0 {
				csp = CSPConnect(o)
			}
		}
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		name := strings.TrimPrefix(r.URL.Path, prefix)
		if name == "" || path.Ext(name) == "" {
			name = "index.html"
		}
		a, ok := files[name]
		if !ok || strings.Contains(name, "..") {
			http.NotFound(w, r)
			return
		}
		h.Set("Content-Type", a.ctype)
		h.Set("Cache-Control", "no-cache") // revalidate: the ETag changes with the binary
		h.Set("ETag", a.etag)
		h.Add("Vary", "Accept-Encoding")
		if r.Header.Get("If-None-Match") == a.etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		var body []byte
		if a.gz != nil && acceptsGzip(r) {
			body = a.gz
			h.Set("Content-Encoding", "gzip")
		} else {
			body = a.body()
		}
		h.Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(http.StatusOK)
		if r.Method != http.MethodHead {
			_, _ = w.Write(body)
		}
	})
}

// acceptsGzip reports whether Accept-Encoding takes gzip (with a q above 0).
func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		enc, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(enc), "gzip") {
			continue
		}
		k, v, ok := strings.Cut(strings.TrimSpace(params), "=")
		if !ok || strings.TrimSpace(k) != "q" {
			return true
		}
		q, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		return err == nil && q > 0
	}
	return false
}
