package server

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/srs-lite/srs-lite/internal/protocol/httpflv"
)

func init() { register(orderFLV, newFLV) }

// flvComponent serves HTTP-FLV players ([vhost.http_remux]).
type flvComponent struct {
	passive
	s *Server
	h *httpflv.Handler
}

func newFLV(s *Server) (component, error) {
	// A player that arrives a little before its publisher (an encoder
	// restarting) waits for it, as RTMP players do.
	h, err := httpflv.New(httpflv.Config{WaitPublisher: 10 * time.Second}, httpflv.Deps{
		Registry: s.reg, Events: s, Log: s.log, Vhost: s.flvVhost, BaseContext: s.baseCtx,
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

func (c *flvComponent) name() string { return "http-flv" }

func (c *flvComponent) routes(r *routes) {
	r.stream("flv", func(w http.ResponseWriter, req *http.Request) bool {
		if !strings.HasSuffix(req.URL.Path, ".flv") {
			return false
		}
		c.h.ServeHTTP(w, req)
		return true
	})
}

// close ends the plays still running (their streams have ended by now).
func (c *flvComponent) close(context.Context) error { return c.h.Close() }
