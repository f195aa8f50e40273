//go:build !tiny

package api

import (
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/srs-lite/srs-lite/internal/service/dvr"
)

// maxDVRFiles bounds the list of GET /api/v1/dvr/files.
const maxDVRFiles = 5000

var dvrTypes = map[string]string{".flv": "video/x-flv", ".mp4": "video/mp4", ".ts": "video/mp2t"}

// dvrRoutes adds the recordings: list, download, delete.
func (a *API) dvrRoutes(m *http.ServeMux) {
	for _, p := range []string{"GET /api/v1/dvr/files", "GET /api/v1/dvr/files/{$}"} {
		m.HandleFunc(p, a.dvrList)
	}
	m.HandleFunc("GET /api/v1/dvr/files/{path...}", a.dvrGet)
	m.HandleFunc("DELETE /api/v1/dvr/files/{path...}", a.dvrDelete)
}

// labelled is a root with its label, the first element of its files' paths.
type labelled struct {
	DVRRoot
	label string
}

// dvrRoots returns the distinct roots, labelled by their folder's name
// ("dvr"), made unique with "-2", "-3"... in the order of the config.
func (a *API) dvrRoots() []labelled {
	if a.deps.DVRRoots == nil {
		return nil
	}
	var out []labelled
	seen := map[string]bool{}
	labels := map[string]bool{}
	for _, r := range a.deps.DVRRoots() {
		dir := filepath.Clean(r.Dir)
		if seen[dir] {
			continue
		}
		seen[dir] = true
		base := filepath.Base(dir)
		if abs, err := filepath.Abs(dir); err == nil {
			base = filepath.Base(abs)
		}
		if base == "" || base == "." || base == "/" || strings.HasPrefix(base, ".") {
			base = "dvr"
		}
		label := base
		for i := 2; labels[label]; i++ {
			label = base + "-" + itoa(i)
		}
		labels[label] = true
		out = append(out, labelled{DVRRoot{dir, r.Depth, r.Template}, label})
	}
	return out
}

func itoa(i int) string {
	var b [20]byte
	n := len(b)
	for {
		n--
		b[n] = byte('0' + i%10)
		i /= 10
		if i == 0 {
			return string(b[n:])
		}
	}
}

// recording reports whether a file name is a finished recording (not a
// .tmp being written, not hidden).
func recording(name string) bool {
	return !strings.HasPrefix(name, ".") && dvrTypes[strings.ToLower(path.Ext(name))] != ""
}

func (a *API) dvrList(w http.ResponseWriter, r *http.Request) {
	files := []DVRFile{}
	for _, root := range a.dvrRoots() {
		rt, err := os.OpenRoot(root.Dir)
		if err != nil {
			continue // no recording yet
		}
		fsys := rt.FS()
		_ = fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
			if err != nil || len(files) >= maxDVRFiles {
				return fs.SkipDir
			}
			if d.IsDir() {
				if p != "." && (strings.HasPrefix(d.Name(), ".") || strings.Count(p, "/")+1 > root.Depth) {
					return fs.SkipDir
				}
				return nil
			}
			if !d.Type().IsRegular() || !recording(d.Name()) {
				return nil
			}
			info, err := d.Info()
			if err != nil {
				return nil
			}
			f := DVRFile{Path: root.label + "/" + p, Name: d.Name(), Size: info.Size(), MTime: info.ModTime(),
				Format: strings.TrimPrefix(strings.ToLower(path.Ext(p)), "."), Stream: streamOf(root.Template, root.Dir, p)}
			if sec, ok := a.dvrDuration(rt, root.Dir, p, info.Size()); ok {
				f.Duration = &sec
			}
			files = append(files, f)
			return nil
		})
		rt.Close()
	}
	sort.Slice(files, func(i, j int) bool {
		if !files[i].MTime.Equal(files[j].MTime) {
			return files[i].MTime.After(files[j].MTime)
		}
		return files[i].Path < files[j].Path
	})
	a.reply(w, r, http.StatusOK, listReply{a.env(CodeSuccess), "files", files})
}

// dvrDuration returns a recording's duration in seconds: tracked by the
// server when it finished the file, else read from the file.
func (a *API) dvrDuration(rt *os.Root, dir, p string, size int64) (float64, bool) {
	if a.deps.DVRDuration != nil {
		if d, ok := a.deps.DVRDuration(filepath.Join(dir, filepath.FromSlash(p))); ok {
			return d.Seconds(), true
		}
	}
	f, err := rt.Open(p)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	d, ok := dvr.Duration(f, size, p)
	return d.Seconds(), ok
}

// streamOf tells "app/stream" of a file from the template it was written
// by, or "" when the template does not match it.
func streamOf(tmpl, dir, rel string) string {
	t := filepath.ToSlash(filepath.Clean(tmpl))
	d := filepath.ToSlash(filepath.Clean(dir))
	if d != "." {
		if !strings.HasPrefix(t, d+"/") {
			return ""
		}
		t = t[len(d)+1:]
	}
	vals := map[string]string{}
	// A file whose name was taken got NAME.N.ext: that reading first.
	ext := path.Ext(rel)
	base := strings.TrimSuffix(rel, ext)
	i := strings.LastIndexByte(base, '.')
	if i < 0 || !digits(base[i+1:]) || !matchTemplate(t, base[:i]+ext, vals) {
		clear(vals)
		if !matchTemplate(t, rel, vals) {
			return ""
		}
	}
	if vals["stream"] == "" {
		return ""
	}
	app := vals["app"]
	if app == "" {
		app = "?"
	}
	return app + "/" + vals["stream"]
}

func digits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

// matchTemplate matches s against a path template: [vhost], [app] and
// [stream] take one or more characters but '/', [timestamp] and [seq]
// digits; anything else is literal. It backtracks, on short strings.
func matchTemplate(t, s string, vals map[string]string) bool {
	if t == "" {
		return s == ""
	}
	if t[0] != '[' {
		return s != "" && s[0] == t[0] && matchTemplate(t[1:], s[1:], vals)
	}
	end := strings.IndexByte(t, ']')
	if end < 0 {
		return s != "" && s[0] == t[0] && matchTemplate(t[1:], s[1:], vals)
	}
	name := t[1:end]
	switch name {
	case "vhost", "app", "stream", "timestamp", "seq":
	default:
		return strings.HasPrefix(s, t[:end+1]) && matchTemplate(t[end+1:], s[end+1:], vals)
	}
	num := name == "timestamp" || name == "seq"
	for i := 1; i <= len(s); i++ {
		c := s[i-1]
		if c == '/' || (num && (c < '0' || c > '9')) {
			break
		}
		if matchTemplate(t[end+1:], s[i:], vals) {
			vals[name] = s[:i]
			return true
		}
	}
	return false
}

// dvrOpen resolves an API path to its root and the path below it.
func (a *API) dvrFind(p string) (*os.Root, string, error) {
	label, rel, ok := strings.Cut(p, "/")
	if !ok || rel == "" {
		return nil, "", fs.ErrNotExist
	}
	for _, part := range strings.Split(rel, "/") {
		if part == "" || part == "." || part == ".." || strings.HasPrefix(part, ".") || strings.ContainsRune(part, '\\') {
			return nil, "", fs.ErrNotExist
		}
	}
	if !recording(path.Base(rel)) {
		return nil, "", fs.ErrNotExist
	}
	for _, root := range a.dvrRoots() {
		if root.label == label {
			rt, err := os.OpenRoot(root.Dir)
			if err != nil {
				return nil, "", fs.ErrNotExist
			}
			return rt, rel, nil
		}
	}
	return nil, "", fs.ErrNotExist
}

func (a *API) dvrGet(w http.ResponseWriter, r *http.Request) {
	rt, rel, err := a.dvrFind(r.PathValue("path"))
	if err != nil {
		a.fail(w, r, http.StatusNotFound, CodeNotFound, "no recording at "+r.URL.Path)
		return
	}
	defer rt.Close()
	f, err := rt.Open(rel) // os.Root: no "..", no symlink out of the root
	if err != nil {
		a.fail(w, r, http.StatusNotFound, CodeNotFound, "no recording at "+r.URL.Path)
		return
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil || !info.Mode().IsRegular() {
		a.fail(w, r, http.StatusNotFound, CodeNotFound, "no recording at "+r.URL.Path)
		return
	}
	h := w.Header()
	name := path.Base(rel)
	h.Set("Content-Type", dvrTypes[strings.ToLower(path.Ext(name))])
	h.Set("Content-Disposition", `attachment; filename="`+strings.ReplaceAll(name, `"`, "_")+`"`)
	h.Set("Cache-Control", "no-cache")
	http.ServeContent(w, r, name, info.ModTime(), f)
}

func (a *API) dvrDelete(w http.ResponseWriter, r *http.Request) {
	rt, rel, err := a.dvrFind(r.PathValue("path"))
	if err != nil {
		a.fail(w, r, http.StatusNotFound, CodeNotFound, "no recording at "+r.URL.Path)
		return
	}
	defer rt.Close()
	info, err := rt.Lstat(rel)
	if err != nil || !info.Mode().IsRegular() {
		a.fail(w, r, http.StatusNotFound, CodeNotFound, "no recording at "+r.URL.Path)
		return
	}
	if err := rt.Remove(rel); err != nil {
		status := http.StatusInternalServerError
		if errors.Is(err, fs.ErrNotExist) {
			status = http.StatusNotFound
		}
		a.fail(w, r, status, status, "delete: "+err.Error())
		return
	}
	a.log.Info("api: recording deleted", "file", r.PathValue("path"), "bytes", info.Size(), "remote", r.RemoteAddr)
	a.reply(w, r, http.StatusOK, a.env(CodeSuccess))
}
