package server

import (
	"context"
	"net/http"
	"time"

	"github.com/srs-lite/srs-lite/internal/config"
	"github.com/srs-lite/srs-lite/internal/protocol/httpflv"
)

func init() { register(orderFLV, newFLV) }

// flvComponent serves SRS's HTTP remuxes of every stream on each vhost's
// [vhost.http_remux] mount: HTTP-FLV, HTTP-TS, AAC and MP3.
type flvComponent struct {
	passive
	s *Server
	h *httpflv.Handler
}

func newFLV(s *Server) (component, error) {
	// A player that arrives a little before its publisher (an encoder
	// restarting) waits for it, as RTMP players do.
	h, err := httpflv.New(httpflv.Config{WaitPublisher: 10 * time.Second}, httpflv.Deps{
		Registry: s.reg, Events: s, Log: s.log, Vhost: s.flvVhost, BaseContext: s.baseCtx, Locate: s.locateHTTP,
	})
	if err != nil {
		return nil, err
	}
	return &flvComponent{s: s, h: h}, nil
}

// flvVhost resolves an HTTP-FLV request's vhost and reports whether the
// vhost serves HTTP-FLV.
func (s *Server) flvVhost(r *http.Request) (string, bool) {
	name, ok := s.vhostFor(r.Host, r.URL.Query().Get("vhost"))
	if !ok {
		return "", false
	}
	v := s.cfg.Load().Vhost(name)
	return name, v != nil && v.HTTPRemux.Enabled
}

// flvMounts returns each vhost's http_remux mount template.
func flvMounts(c *config.Config) map[string]string {
	m := make(map[string]string, len(c.Vhosts))
	for _, v := range c.Vhosts {
		m[v.Name] = v.HTTPRemux.Mount
	}
	return m
}

func (c *flvComponent) name() string { return "http-remux" }

// routes: mount templates are no ServeMux patterns ([stream].flv is part of
// a path segment), so the handler matches them itself, first among the
// stream handlers.
func (c *flvComponent) routes(r *routes) { r.stream("http-remux", c.h.ServeStream) }

func (c *flvComponent) start(_ context.Context, cfg *config.Config) error {
	return c.h.SetMounts(flvMounts(cfg))
}

func (c *flvComponent) reload(_, next *config.Config, ch config.Sections) error {
	if !ch.Has(config.SectionVhosts) {
		return nil
	}
	return c.h.SetMounts(flvMounts(next))
}

// close ends the plays still running (their streams have ended by now).
func (c *flvComponent) close(context.Context) error { return c.h.Close() }
