//go:build !nortsp && !tiny

package server

import (
	"context"
	"fmt"
	"sync"

	"github.com/srs-lite/srs-lite/internal/buildinfo"
	"github.com/srs-lite/srs-lite/internal/config"
	"github.com/srs-lite/srs-lite/internal/protocol/rtsp"
)

// orderRTSP starts the RTSP server with the other listeners, after SRT and
// before RTMP.
const orderRTSP = orderSRT + 5

func init() {
	register(orderRTSP, newRTSP)
	buildinfo.Register("rtsp-server")
}

// rtspComponent is the RTSP server on [rtsp] listen (TCP; RTP over UDP on
// ports picked per session).
type rtspComponent struct {
	s *Server

	mu  sync.Mutex
	srv *rtsp.Server   // nil while RTSP is off
	old []*rtsp.Server // draining after a change of address: their sessions go on
}

func newRTSP(s *Server) (component, error) { return &rtspComponent{s: s}, nil }

func (c *rtspComponent) name() string { return "rtsp" }

// bind makes and binds an RTSP server for cfg, or nil when RTSP is off.
func (c *rtspComponent) bind(cfg *config.Config) (*rtsp.Server, error) {
	if !cfg.RTSP.Enabled {
		return nil, nil
	}
	srv, err := rtsp.NewServer(rtsp.ServerConfig{}, rtsp.ServerDeps{
		Registry: c.s.reg, Events: c.s, Log: c.s.log, Vhost: c.s.vhostFor,
	})
	if err != nil {
		return nil, fmt.Errorf("rtsp: %w", err)
	}
	if _, err := srv.Listen(cfg.RTSP.Listen); err != nil {
		_ = srv.Close()
		return nil, fmt.Errorf("cannot listen for rtsp on %s: %w", cfg.RTSP.Listen, unwrapAddrInUse(err))
	}
	return srv, nil
}

func (c *rtspComponent) start(_ context.Context, cfg *config.Config) error {
	srv, err := c.bind(cfg)
	if err != nil {
		return err
	}
	c.set(srv)
	return nil
}

func (c *rtspComponent) set(srv *rtsp.Server) {
	c.mu.Lock()
	c.srv = srv
	c.mu.Unlock()
	addr := ""
	if srv != nil {
		addr = srv.Addr().String()
	}
	c.s.setAddr("rtsp", addr)
}

// reload applies [rtsp]: a new address (or RTSP turned on or off) binds the
// new listener first; the old one stops listening and its sessions go on
// (turned off: they end).
func (c *rtspComponent) reload(old, next *config.Config, ch config.Sections) error {
	if !ch.Has(config.SectionRTSP) {
		return nil
	}
	if old.RTSP == next.RTSP {
		return nil
	}
	srv, err := c.bind(next)
	if err != nil {
		return err
	}
	c.mu.Lock()
	prev := c.srv
	c.mu.Unlock()
	c.set(srv)
	if prev != nil {
		if srv == nil {
			_ = prev.Close()
			return nil
		}
		c.s.log.Info("rtsp: listen address changed: the old one's sessions go on", "old", old.RTSP.Listen, "new", next.RTSP.Listen)
		prev.Drain()
		c.mu.Lock()
		c.old = append(c.old, prev)
		c.mu.Unlock()
	}
	return nil
}

func (c *rtspComponent) close(context.Context) error {
	c.mu.Lock()
	srv, old := c.srv, c.old
	c.old = nil
	c.mu.Unlock()
	for _, o := range old {
		_ = o.Close()
	}
	if srv != nil {
		return srv.Close()
	}
	return nil
}
