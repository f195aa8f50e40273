//go:build !noconsole && !tiny

package server

import (
	"encoding/json"
	"net"
	"net/http"
	"strings"

	"github.com/srs-lite/srs-lite/internal/buildinfo"
	"github.com/srs-lite/srs-lite/internal/console"
)

// The web console; left out by the noconsole tag and by the tiny profile.
func init() { buildinfo.Register("console") }

// orderConsole follows the API, whose access policy the console shares; it
// starts nothing.
const orderConsole = orderAPI + 2

func init() { register(orderConsole, newConsole) }

// consoleComponent serves the web console at /console/ on the API port,
// behind the API's access policy (reads follow [http_api.auth] read), plus
// /console/env.json: the listeners' ports, for the copy-ready URLs.
type consoleComponent struct {
	passive
	s *Server
}

func newConsole(s *Server) (component, error) { return &consoleComponent{s: s}, nil }

func (c *consoleComponent) name() string { return "console" }

func (c *consoleComponent) routes(r *routes) {
	ac := find[*apiComponent](c.s)
	if ac == nil {
		return
	}
	// The page, its script and style hold no data: served to anybody, so
	// that the page can show its own login form (env.json and the API
	// follow the access policy).
	r.api.Handle("GET /console/", console.HandlerConnect("/console/", c.origins))
	r.api.Handle("GET /console/env.json", ac.a.Guard(http.HandlerFunc(c.env)))
	r.api.Handle("GET /console", http.RedirectHandler("/console/", http.StatusMovedPermanently))
}

// origins are the box's HTTP and HTTPS servers as the browser reaches
// them (the host it used for the console, their ports): the preview
// fetches HTTP-FLV from there.
func (c *consoleComponent) origins(r *http.Request) []string {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	for _, ch := range host {
		if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '.' || ch == '-' || ch == ':') {
			return nil // not a host name nor an address: no more than 'self'
		}
	}
	if strings.ContainsRune(host, ':') {
		host = "[" + host + "]"
	}
	var out []string
	for _, l := range []struct{ role, scheme string }{{"http_server", "http"}, {"https_server", "https"}} {
		if _, p, err := net.SplitHostPort(c.s.Addr(l.role)); err == nil && p != "" && p != "0" {
			out = append(out, l.scheme+"://"+host+":"+p)
		}
	}
	return out
}

// env is GET /console/env.json: the ports the console builds its
// copy-ready URLs with (0 when a listener is off).
func (c *consoleComponent) env(w http.ResponseWriter, _ *http.Request) {
	port := func(name string) int {
		_, p, err := net.SplitHostPort(c.s.Addr(name))
		if err != nil {
			return 0
		}
		n, _ := net.LookupPort("tcp", p)
		return n
	}
	out := map[string]any{
		"rtmp": port("rtmp"), "http_server": port("http_server"), "srt": port("srt"),
		"rtmps": port("rtmps"), "https_server": port("https_server"), "rtsp": port("rtsp"),
		"gb28181": port("gb28181"), "gb28181_media": port("gb28181_media"),
		"features": buildinfo.Features(), "profile": buildinfo.Profile(),
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", console.CSP)
	_ = json.NewEncoder(w).Encode(out)
}
