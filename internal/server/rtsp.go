//go:build !nortsp && !tiny

package server

import (
	"context"
	"fmt"

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
	s    *Server
	srvs drainSet[*rtsp.Server] // nil while RTSP is off; old ones' sessions go on
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
	c.srvs.set(c.s, "rtsp", srv)
	return nil
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
	prev := c.srvs.set(c.s, "rtsp", srv)
	switch {
	case prev == nil:
	case srv == nil:
		_ = prev.Close()
	default:
		c.s.log.Info("rtsp: listen address changed: the old one's sessions go on", "old", old.RTSP.Listen, "new", next.RTSP.Listen)
		c.srvs.retire(prev)
	}
	return nil
}

func (c *rtspComponent) close(context.Context) error { return c.srvs.close() }
