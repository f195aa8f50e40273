package server

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"sync"

	"github.com/srs-lite/srs-lite/internal/config"
)

func init() { register(orderHTTP, newHTTP) }

// httpComponent serves the HTTP API port ([http_api] listen) and the HTTP
// server port ([http_server] listen) with the routes the components gave,
// and the same two over TLS (https_listen, HTTP/2 included) when set.
// When both name the same address, one port serves both: the API's
// patterns first, then the HTTP server's.
type httpComponent struct {
	s          *Server
	plain, tls httpPorts

	mu      sync.Mutex
	servers []httpServer
}

// httpServer serves HTTP on a listener: net/http's Server in the full
// build (TLS, HTTP/2), http1's in the tiny one (net/http's links crypto/tls
// even when no TLS is served).
type httpServer interface {
	Serve(net.Listener) error
	Shutdown(context.Context) error
	Close() error
}

// httpPorts are the API's and the HTTP server's listeners of one kind,
// plain or TLS.
type httpPorts struct {
	api, srv *listenerSet
	// addrs are the two listen addresses of a config ("" when off).
	addrs func(cfg *config.Config) (api, srv string)
}

// shared reports whether cfg serves the API and the HTTP server on one port.
func (p *httpPorts) shared(cfg *config.Config) bool {
	a, s := p.addrs(cfg)
	return a != "" && a == s
}

// lists are the addresses each listener set binds in cfg: the HTTP
// server's is empty when it shares the API's port.
func (p *httpPorts) lists(cfg *config.Config) (api, srv []string) {
	a, s := p.addrs(cfg)
	if a != "" {
		api = []string{a}
	}
	if s != "" && s != a {
		srv = []string{s}
	}
	return api, srv
}

func plainAddrs(cfg *config.Config) (api, srv string) {
	if cfg.HTTPAPI.Enabled {
		api = cfg.HTTPAPI.Listen
	}
	if cfg.HTTPServer.Enabled {
		srv = cfg.HTTPServer.Listen
	}
	return api, srv
}

func tlsAddrs(cfg *config.Config) (api, srv string) {
	if cfg.HTTPAPI.Enabled {
		api = cfg.HTTPAPI.HTTPSListen
	}
	if cfg.HTTPServer.Enabled {
		srv = cfg.HTTPServer.HTTPSListen
	}
	return api, srv
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
	ports := func(p *httpPorts, apiRole, srvRole string, tls bool) {
		p.api = newListenerSet(s, apiRole, false, func(ln net.Listener) {
			var h http.Handler = r.api
			if p.shared(c.s.cfg.Load()) {
				h = shared
			}
			c.serve(ln, h, tls)
		})
		p.srv = newListenerSet(s, srvRole, true, func(ln net.Listener) { c.serve(ln, r.http, tls) })
	}
	c.plain.addrs, c.tls.addrs = plainAddrs, tlsAddrs
	ports(&c.plain, "http_api", "http_server", false)
	ports(&c.tls, "https_api", "https_server", true)
	return c, nil
}

// serve serves h on ln; over TLS (the certificate of the tls component),
// with HTTP/2 when the build has it (not the tiny profile).
func (c *httpComponent) serve(ln net.Listener, h http.Handler, tls bool) {
	hs := c.s.newHTTPServer(h, tls, slog.NewLogLogger(c.s.log.Handler(), slog.LevelDebug))
	c.mu.Lock()
	c.servers = append(c.servers, hs)
	c.mu.Unlock()
	_ = hs.Serve(ln)
}

func (c *httpComponent) name() string { return "http" }

func (c *httpComponent) start(_ context.Context, cfg *config.Config) error {
	return c.apply(nil, cfg)
}

// apply binds the plain ports and then the TLS ones; when the TLS ones
// fail, the plain ones go back to old.
func (c *httpComponent) apply(old, next *config.Config) error {
	if err := c.applyPorts(&c.plain, old, next, "http_api", "http_server"); err != nil {
		return err
	}
	if err := c.applyPorts(&c.tls, old, next, "https_api", "https_server"); err != nil {
		if old != nil {
			_ = c.applyPorts(&c.plain, next, old, "http_api", "http_server")
		} else {
			c.plain.api.close()
			c.plain.srv.close()
		}
		return err
	}
	return nil
}

func (c *httpComponent) applyPorts(p *httpPorts, old, next *config.Config, apiRole, srvRole string) error {
	api, srv := p.lists(next)
	wasShared := old != nil && p.shared(old)
	isShared := p.shared(next)
	if wasShared != isShared {
		// The API listener's handler changes with sharing: a new socket.
		p.api.close()
	}
	if err := p.api.set(api); err != nil {
		return err
	}
	if err := p.srv.set(srv); err != nil {
		if old != nil {
			oa, _ := p.lists(old)
			_ = p.api.set(oa)
		} else {
			p.api.close()
		}
		return err
	}
	if isShared {
		c.s.setAddr(srvRole, c.s.Addr(apiRole))
	}
	return nil
}

func (c *httpComponent) reload(old, next *config.Config, ch config.Sections) error {
	if !ch.Has(config.SectionHTTPAPI) && !ch.Has(config.SectionHTTPServer) {
		return nil // a new certificate needs no new listener: GetCertificate reads it
	}
	return c.apply(old, next)
}

// close stops accepting, lets requests finish within ctx, then closes what
// is left.
func (c *httpComponent) close(ctx context.Context) error {
	for _, p := range []*httpPorts{&c.plain, &c.tls} {
		p.api.close()
		p.srv.close()
	}
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
