package server

import (
	"mime"
	"net/http"
	"os"
	"path"
	"strings"
)

func init() { register(orderStatic, newStatic) }

// staticComponent serves the files of [http_server] dir, after the
// streams.
type staticComponent struct {
	passive
	s *Server
}

func newStatic(s *Server) (component, error) { return &staticComponent{s: s}, nil }

func (c *staticComponent) name() string { return "static" }

func (c *staticComponent) routes(r *routes) { r.fallback = http.HandlerFunc(c.s.serveStatic) }

// staticTypes are the content types of the files players fetch, which some
// systems' MIME tables lack or get wrong.
var staticTypes = map[string]string{
	".m3u8": "application/vnd.apple.mpegurl",
	".ts":   "video/mp2t",
	".m4s":  "video/iso.segment",
	".mp4":  "video/mp4",
	".m4a":  "audio/mp4",
	".flv":  "video/x-flv",
	".mp3":  "audio/mpeg",
	".aac":  "audio/aac",
	".webm": "video/webm",
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".mjs":  "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".json": "application/json",
	".svg":  "image/svg+xml",
	".wasm": "application/wasm",
	".txt":  "text/plain; charset=utf-8",
}

// staticType returns the content type of a file name.
func staticType(name string) string {
	ext := strings.ToLower(path.Ext(name))
	if t, ok := staticTypes[ext]; ok {
		return t
	}
	if t := mime.TypeByExtension(ext); t != "" {
		return t
	}
	return "application/octet-stream"
}

// staticName maps a request path onto a file name inside the folder, or
// reports false for paths that try to leave it or name hidden files:
// ".." segments, backslashes, encoded slashes, NUL bytes and dot files.
func staticName(r *http.Request) (string, bool) {
	raw := strings.ToLower(r.URL.EscapedPath())
	if strings.Contains(raw, "%2f") || strings.Contains(raw, "%5c") || strings.Contains(raw, "%00") {
		return "", false
	}
	p := r.URL.Path
	if !strings.HasPrefix(p, "/") || strings.ContainsAny(p, "\\\x00") {
		return "", false
	}
	for _, seg := range strings.Split(p[1:], "/") {
		if seg == ".." || strings.HasPrefix(seg, ".") && seg != "" {
			return "", false
		}
	}
	name := strings.TrimPrefix(path.Clean(p), "/")
	if name == "" || strings.HasSuffix(p, "/") {
		name = path.Join(name, "index.html")
	}
	return name, true
}

// serveStatic serves http_server.dir: files only (a folder serves its
// index.html, never a listing), with range requests and CORS, and nothing
// outside the folder: os.Root refuses paths and symlinks that lead out.
func (s *Server) serveStatic(w http.ResponseWriter, r *http.Request) {
	cors := w.Header()
	cors.Set("Access-Control-Allow-Origin", "*")
	cors.Set("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS")
	cors.Set("Access-Control-Allow-Headers", "Range, Origin, Accept")
	cors.Set("Access-Control-Expose-Headers", "Content-Length, Content-Range")
	switch r.Method {
	case http.MethodGet, http.MethodHead:
	case http.MethodOptions:
		w.WriteHeader(http.StatusNoContent)
		return
	default:
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	name, ok := staticName(r)
	if !ok {
		http.NotFound(w, r)
		return
	}
	root, err := os.OpenRoot(s.cfg.Load().HTTPServer.Dir)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	defer root.Close()
	f, err := root.Open(name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err == nil && fi.IsDir() {
		f.Close()
		name = path.Join(name, "index.html")
		if f, err = root.Open(name); err != nil {
			http.NotFound(w, r)
			return
		}
		defer f.Close()
		fi, err = f.Stat()
	}
	if err != nil || !fi.Mode().IsRegular() {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", staticType(name))
	http.ServeContent(w, r, name, fi.ModTime(), f)
}
