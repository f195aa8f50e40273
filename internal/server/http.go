package server

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/srs-lite/srs-lite/internal/config"
)

func init() { register(orderHTTP, newHTTP) }

// httpComponent serves the HTTP API port ([http_api] listen) and the HTTP
// server port ([http_server] listen) with the routes the components gave.
// When both name the same address, one port serves both: the API's
// patterns first, then the HTTP server's.
type httpComponent struct {
	s        *Server
	api, srv *listenerSet

	mu      sync.Mutex
	servers []*http.Server
}

func newHTTP(s *Server) (component, error) {
	c := &httpComponent{s: s}
	r := s.routes
	r.http.HandleFunc("/", r.serveStreams)
	shared := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if _, pattern := r.api.Handler(req); pattern != "" {
			r.api.ServeHTTP(w, req)
			return
		}
		r.http.ServeHTTP(w, req)
	})
	// The API port does not count against max_connections: an operator can
	// still kick and reload on a full server. A shared port is the HTTP
	// server's too, whose players are sessions and count when they play.
	c.api = newListenerSet(s, "http_api", false, func(ln net.Listener) {
		var h http.Handler = r.api
		if c.shared() {
			h = shared
		}
		c.serve(ln, h)
	})
	c.srv = newListenerSet(s, "http_server", true, func(ln net.Listener) { c.serve(ln, r.http) })
	return c, nil
}

// shared reports whether the config in force serves the API and the HTTP
// server on one port.
func (c *httpComponent) shared() bool {
	cfg := c.s.cfg.Load()
	return cfg.HTTPAPI.Enabled && cfg.HTTPServer.Enabled && cfg.HTTPAPI.Listen == cfg.HTTPServer.Listen
}

func (c *httpComponent) serve(ln net.Listener, h http.Handler) {
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second,
		BaseContext: func(net.Listener) context.Context { return c.s.baseCtx },
		ErrorLog:    slog.NewLogLogger(c.s.log.Handler(), slog.LevelDebug)}
	c.mu.Lock()
	c.servers = append(c.servers, hs)
	c.mu.Unlock()
	_ = hs.Serve(ln)
}

func (c *httpComponent) name() string { return "http" }

// addrs are the listen addresses of both ports in cfg; the HTTP server's
// is empty when it shares the API's port.
func httpAddrs(cfg *config.Config) (api, srv []string) {
	if cfg.HTTPAPI.Enabled {
		api = []string{cfg.HTTPAPI.Listen}
	}
	if cfg.HTTPServer.Enabled && !(cfg.HTTPAPI.Enabled && cfg.HTTPAPI.Listen == cfg.HTTPServer.Listen) {
		srv = []string{cfg.HTTPServer.Listen}
	}
	return api, srv
}

func (c *httpComponent) start(_ context.Context, cfg *config.Config) error {
	return c.apply(nil, cfg)
}

func (c *httpComponent) apply(old, next *config.Config) error {
	api, srv := httpAddrs(next)
	wasShared := old != nil && len(httpAddrsSrv(old)) == 0 && old.HTTPServer.Enabled
	isShared := len(srv) == 0 && next.HTTPServer.Enabled
	if wasShared != isShared {
		// The API listener's handler changes with sharing: a new socket.
		c.api.close()
	}
	if err := c.api.set(api); err != nil {
		return err
	}
	if err := c.srv.set(srv); err != nil {
		if old != nil {
			oa, _ := httpAddrs(old)
			_ = c.api.set(oa)
		} else {
			c.api.close()
		}
		return err
	}
	if isShared {
		c.s.setAddr("http_server", c.s.Addr("http_api"))
	}
	return nil
}

func httpAddrsSrv(cfg *config.Config) []string {
	_, srv := httpAddrs(cfg)
	return srv
}

func (c *httpComponent) reload(old, next *config.Config, ch config.Sections) error {
	if !ch.Has(config.SectionHTTPAPI) && !ch.Has(config.SectionHTTPServer) {
		return nil
	}
	return c.apply(old, next)
}

// close stops accepting, lets requests finish within ctx, then closes what
// is left.
func (c *httpComponent) close(ctx context.Context) error {
	c.api.close()
	c.srv.close()
	c.mu.Lock()
	servers := c.servers
	c.mu.Unlock()
	for _, hs := range servers {
		_ = hs.Shutdown(ctx)
	}
	for _, hs := range servers {
		_ = hs.Close()
	}
	return nil
}
