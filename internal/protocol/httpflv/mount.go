package httpflv

import (
	"errors"
	"fmt"
	"net/http"
	"path"
	"strings"

	"github.com/srs-lite/srs-lite/internal/media"
)

// DefaultMount is SRS's default http_remux mount template.
const DefaultMount = "[vhost]/[app]/[stream].flv"

// defaultVhost is SRS's name of the vhost of clients that name none.
const defaultVhost = media.DefaultVhost

// maxPath bounds the request paths matched against a mount (the matcher
// tries split points, so its work grows with the square of the length).
const maxPath = 1024

// ErrMount reports a mount template that cannot be served.
var ErrMount = errors.New("httpflv: invalid mount")

// kind is what a play sends: FLV, or one of SRS's other HTTP remuxes of the
// same stream, picked by the request's extension.
type kind uint8

const (
	kindFLV kind = iota
	kindTS
	kindAAC
	kindMP3
)

var kinds = [...]struct {
	ext, proto, contentType string
}{
	kindFLV: {".flv", "flv", "video/x-flv"},
	kindTS:  {".ts", "ts", "video/MP2T"},
	kindAAC: {".aac", "aac", "audio/aac"},
	kindMP3: {".mp3", "mp3", "audio/mpeg"},
}

func kindOf(ext string) (kind, bool) {
	for k, v := range kinds {
		if v.ext == ext {
			return kind(k), true
		}
	}
	return 0, false
}

// Mount is a parsed http_remux mount template of one vhost: the URL path
// stem (the path without its extension) made of literals and the [app] and
// [stream] placeholders, and the template's own extension. Every stem is
// served with each of .flv, .ts, .aac and .mp3.
type Mount struct {
	parts []string // literals, and "[app]", "[stream]"
	ext   string
	app   bool // the template has [app]
	str   bool // the template has [stream]
}

// ParseMount parses the mount template of vhost as SRS reads it: [vhost] is
// replaced by the vhost's name; a template that does not start with "/"
// names a host first ("[vhost]/..." or the vhost's own name), which the
// vhost resolution (Host header, ?vhost=) has matched already, and the
// default vhost's "__defaultVhost__/" prefix is dropped, so that its URL is
// /APP/STREAM.flv. [app] and [stream] may appear once each, not next to
// each other; the extension is .flv, .ts, .aac or .mp3.
func ParseMount(vhost, template string) (Mount, error) {
	var m Mount
	bad := func(why string) (Mount, error) {
		return Mount{}, fmt.Errorf("%w: %q: %s", ErrMount, template, why)
	}
	t := template
	if !strings.HasPrefix(t, "/") {
		host, rest, ok := strings.Cut(t, "/")
		if !ok || (host != "[vhost]" && !strings.EqualFold(host, vhost)) {
			return bad(`must start with "/" or "[vhost]/"`)
		}
		t = "/" + rest
	}
	t = strings.ReplaceAll(t, "[vhost]", vhost)
	m.ext = path.Ext(t)
	if _, ok := kindOf(m.ext); !ok {
		return bad("extension must be .flv, .ts, .aac or .mp3")
	}
	if strings.ContainsAny(t, "?#%\\ \t\r\n") || strings.Contains(t, "//") {
		return bad("not a clean URL path")
	}
	stem := strings.TrimSuffix(t, m.ext)
	if strings.HasSuffix(stem, "/") {
		return bad("no stream name")
	}
	for stem != "" {
		i := strings.IndexByte(stem, '[')
		if i < 0 {
			m.parts = append(m.parts, stem)
			break
		}
		if i > 0 {
			m.parts = append(m.parts, stem[:i])
		} else if len(m.parts) > 0 && isPlaceholder(m.parts[len(m.parts)-1]) {
			return bad("placeholders must be separated")
		}
		j := strings.IndexByte(stem[i:], ']')
		if j < 0 {
			return bad("unclosed [")
		}
		ph := stem[i : i+j+1]
		switch {
		case ph == "[app]" && !m.app:
			m.app = true
		case ph == "[stream]" && !m.str:
			m.str = true
		default:
			return bad("unknown or repeated placeholder " + ph)
		}
		m.parts = append(m.parts, ph)
		stem = stem[i+j+1:]
	}
	return m, nil
}

func isPlaceholder(s string) bool { return s == "[app]" || s == "[stream]" }

// Match matches a request path stem (the path without its extension)
// against the mount. A template without [app] takes the app from the path
// (everything between the first and the last slash), one without [stream]
// the last path segment, as SRS parses an HTTP stream URL.
func (m *Mount) Match(stem string) (app, stream string, ok bool) {
	if len(stem) > maxPath || !strings.HasPrefix(stem, "/") {
		return "", "", false
	}
	var caps [2]string
	if !match(m.parts, stem, &caps) {
		return "", "", false
	}
	app, stream = caps[0], caps[1]
	if !m.app || !m.str {
		i := strings.LastIndexByte(stem, '/')
		if !m.app {
			app = stem[1:max(i, 1)]
		}
		if !m.str {
			stream = stem[i+1:]
		}
	}
	if !validApp(app) || stream == "" || strings.Contains(stream, "/") {
		return "", "", false
	}
	return app, stream, true
}

// match reports whether s matches parts, filling caps[0] with [app] and
// caps[1] with [stream]. [stream] is one path segment, [app] one or more.
func match(parts []string, s string, caps *[2]string) bool {
	if len(parts) == 0 {
		return s == ""
	}
	p := parts[0]
	if !isPlaceholder(p) {
		rest, ok := strings.CutPrefix(s, p)
		return ok && match(parts[1:], rest, caps)
	}
	idx := 1
	if p == "[app]" {
		idx = 0
	}
	for n := 1; n <= len(s); n++ {
		v := s[:n]
		if idx == 1 && strings.HasSuffix(v, "/") {
			break // a stream name is one segment
		}
		if idx == 0 && !validApp(v) {
			continue
		}
		if match(parts[1:], s[n:], caps) {
			caps[idx] = v
			return true
		}
	}
	return false
}

// validApp reports whether app is a non-empty run of non-empty segments.
func validApp(app string) bool {
	return app != "" && app[0] != '/' && app[len(app)-1] != '/' && !strings.Contains(app, "//")
}

// SetMounts sets each vhost's mount template (vhost name to template; a
// vhost left out uses DefaultMount). The server calls it at start and on
// reload; plays already running keep their stream. It returns an error,
// and changes nothing, when a template does not parse.
func (h *Handler) SetMounts(templates map[string]string) error {
	ms := make(map[string]*Mount, len(templates))
	for v, t := range templates {
		m, err := ParseMount(v, t)
		if err != nil {
			return fmt.Errorf("vhost %s: %w", v, err)
		}
		ms[strings.ToLower(v)] = &m
	}
	h.mounts.Store(&ms)
	return nil
}

// mount returns vhost's mount.
func (h *Handler) mount(vhost string) *Mount {
	if ms := h.mounts.Load(); ms != nil {
		if m := (*ms)[strings.ToLower(vhost)]; m != nil {
			return m
		}
	}
	return &h.defMount
}

// ServeStream serves r when its path is a stream of a vhost's mount: with
// the mount's stem and any of .flv (HTTP-FLV), .ts (HTTP-TS), .aac (ADTS)
// or .mp3. It reports false, having written nothing, when the path is not
// one, so that the caller tries HLS and static files next.
//
// The vhost comes from Deps.Vhost (?vhost=NAME, else the Host header when
// it names a vhost, else the default vhost), as for RTMP. A path with the
// mount's own extension is always answered (404 when the vhost has no HTTP
// streams, a wait for a publisher as Config.WaitPublisher says); the other
// extensions, and .ts always, only while the stream is published: so HLS
// segments (STREAM-SEQ.ts) and static files with those names pass through,
// unless Deps.Locate redirects an .aac or .mp3 to another origin.
func (h *Handler) ServeStream(w http.ResponseWriter, r *http.Request) bool {
	p := r.URL.Path
	ext := path.Ext(p)
	k, ok := kindOf(ext)
	if !ok {
		return false
	}
	vhost, enabled := defaultVhost, true
	if h.deps.Vhost != nil {
		vhost, enabled = h.deps.Vhost(r)
	}
	m := h.mount(vhost)
	app, name, ok := m.Match(p[:len(p)-len(ext)])
	if !ok {
		return false
	}
	if ext != m.ext || k == kindTS {
		st := h.deps.Registry.Lookup(media.Key{Vhost: vhost, App: app, Stream: name})
		if !enabled || st == nil || !st.Publishing() {
			// .aac and .mp3 of a stream published elsewhere in an origin
			// cluster are redirected; .ts never is (HLS segments share
			// the extension: asking the coworkers for each would be slow).
			return enabled && k != kindTS && h.deps.Locate != nil &&
				(r.Method == http.MethodGet || r.Method == http.MethodHead) && h.redirect(w, r, vhost, app, name)
		}
	}
	h.serve(w, r, k, vhost, app, name, enabled)
	return true
}
