package dvr

import (
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Expand returns the file name for a recording of st opened at t, the
// seq-th file of its session: the placeholders of the template are
// replaced (see Config.Path). Names from clients cannot leave the folder:
// path separators in them become '_', and so do names "." and "..".
func Expand(tmpl string, st Stream, t time.Time, seq int) string {
	if !strings.Contains(tmpl, "[") {
		return tmpl
	}
	pad := func(v, n int) string {
		s := strconv.Itoa(v)
		for len(s) < n {
			s = "0" + s
		}
		return s
	}
	r := strings.NewReplacer(
		"[vhost]", safe(st.Vhost),
		"[app]", safe(st.App),
		"[stream]", safe(st.Name),
		"[timestamp]", strconv.FormatInt(t.UnixMilli(), 10),
		"[seq]", strconv.Itoa(seq),
		"[2006]", pad(t.Year(), 4),
		"[01]", pad(int(t.Month()), 2),
		"[02]", pad(t.Day(), 2),
		"[15]", pad(t.Hour(), 2),
		"[04]", pad(t.Minute(), 2),
		"[05]", pad(t.Second(), 2),
		"[999]", pad(t.Nanosecond()/int(time.Millisecond), 3),
	)
	return r.Replace(tmpl)
}

// safe makes a client-given name usable as one path element.
func safe(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r == 0 {
			return '_'
		}
		return r
	}, s)
	if s == "" || s == "." || s == ".." {
		return "_" + s
	}
	return s
}

// Root returns the folder under which a path template puts its files (the
// part before the first placeholder) and how many folder levels below it
// they may be.
func Root(tmpl string) (dir string, depth int) {
	tmpl = filepath.Clean(tmpl)
	fixed := tmpl
	if i := strings.IndexByte(tmpl, '['); i >= 0 {
		fixed = tmpl[:i]
	}
	dir = filepath.Dir(fixed + "x")
	sep := string(filepath.Separator)
	depth = strings.Count(tmpl, sep)
	switch {
	case dir == ".":
	case strings.HasSuffix(dir, sep):
		depth -= strings.Count(dir, sep)
	default:
		depth -= strings.Count(dir, sep) + 1
	}
	return dir, max(depth, 0)
}
