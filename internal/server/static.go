package server

import (
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// serveStatic serves http_server.dir: files only, no directory listings,
// nothing outside the folder.
func (s *Server) serveStatic(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	dir := s.cfg.Load().HTTPServer.Dir
	clean := path.Clean("/" + r.URL.Path)
	if strings.Contains(r.URL.Path, "\\") || strings.Contains(r.URL.RawPath, "%2f") || strings.Contains(r.URL.RawPath, "%2F") {
		http.NotFound(w, r)
		return
	}
	if clean == "/" {
		clean = "/index.html"
	}
	root, err := filepath.Abs(dir)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	full := filepath.Join(root, filepath.FromSlash(clean))
	real, err := filepath.EvalSymlinks(full)
	if err != nil || !strings.HasPrefix(real, root+string(filepath.Separator)) {
		http.NotFound(w, r)
		return
	}
	fi, err := os.Stat(real)
	if err != nil || fi.IsDir() {
		http.NotFound(w, r)
		return
	}
	http.ServeFile(w, r, real)
}
