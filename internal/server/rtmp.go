package server

import (
	"context"
	"net"

	"github.com/srs-lite/srs-lite/internal/config"
	"github.com/srs-lite/srs-lite/internal/protocol/rtmp"
)

func init() { register(orderRTMP, newRTMP) }

// rtmpComponent is the RTMP server on [rtmp] listen, and on rtmps_listen
// over TLS: the same sessions, counted against max_connections alike.
type rtmpComponent struct {
	s    *Server
	srv  *rtmp.Server
	lns  *listenerSet
	tlns *listenerSet
}

func newRTMP(s *Server) (component, error) {
	srv, err := rtmp.NewServer(rtmpConfig(s.cfg.Load()), rtmp.ServerDeps{
		Registry: s.reg, Events: s, Log: s.log, Vhost: s.vhostFor, Locate: s.locate,
	})
	if err != nil {
		return nil, err
	}
	c := &rtmpComponent{s: s, srv: srv}
	c.lns = newListenerSet(s, "rtmp", true, func(ln net.Listener) { _ = srv.Serve(s.baseCtx, ln) })
	// The TLS handshake runs on the connection's first read, in its own
	// goroutine, under the RTMP handshake's deadline.
	c.tlns = newListenerSet(s, "rtmps", true, func(ln net.Listener) {
		_ = srv.Serve(s.baseCtx, s.tlsListener(ln))
	})
	return c, nil
}

func rtmpConfig(c *config.Config) rtmp.ServerConfig {
	return rtmp.ServerConfig{ChunkSize: c.RTMP.ChunkSize}
}

func (c *rtmpComponent) name() string { return "rtmp" }

// rtmpsAddrs is the RTMPS listen address of cfg as a list.
func rtmpsAddrs(cfg *config.Config) []string {
	if cfg.RTMP.RTMPSListen == "" {
		return nil
	}
	return []string{cfg.RTMP.RTMPSListen}
}

func (c *rtmpComponent) start(_ context.Context, cfg *config.Config) error {
	if err := c.lns.set(cfg.RTMP.Listen); err != nil {
		return err
	}
	if err := c.tlns.set(rtmpsAddrs(cfg)); err != nil {
		c.lns.close()
		return err
	}
	return nil
}

func (c *rtmpComponent) reload(old, next *config.Config, ch config.Sections) error {
	if !ch.Has(config.SectionRTMP) {
		return nil
	}
	if err := c.lns.set(next.RTMP.Listen); err != nil {
		return err
	}
	if err := c.tlns.set(rtmpsAddrs(next)); err != nil {
		_ = c.lns.set(old.RTMP.Listen)
		return err
	}
	c.srv.SetConfig(rtmpConfig(next))
	return nil
}

// close stops accepting and ends every RTMP connection: publishers
// unpublish, so players of every protocol see their streams end.
func (c *rtmpComponent) close(context.Context) error {
	c.lns.close()
	c.tlns.close()
	return c.srv.Close()
}
