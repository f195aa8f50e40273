package server

import (
	"context"
	"fmt"

	"github.com/srs-lite/srs-lite/internal/config"
	"github.com/srs-lite/srs-lite/internal/protocol/srt"
)

func init() { register(orderSRT, newSRT) }

// srtComponent is the SRT server on [srt] listen (UDP).
type srtComponent struct {
	s    *Server
	srvs drainSet[*srt.Server] // nil while SRT is off; read by /metrics
}

func newSRT(s *Server) (component, error) { return &srtComponent{s: s}, nil }

// srtConfig maps [srt] onto the SRT server's settings.
func srtConfig(c *config.Config) srt.ServerConfig {
	s := c.SRT
	return srt.ServerConfig{Config: srt.Config{
		Latency:         s.Latency.D(),
		PeerLatency:     s.PeerLatency.D(),
		MaxBW:           int64(s.MaxBW),
		Passphrase:      s.Passphrase,
		PBKeyLen:        s.PBKeyLen,
		MSS:             s.MSS,
		PeerIdleTimeout: s.PeerIdleTimeout.D(),
	}}
}

func (c *srtComponent) name() string { return "srt" }

// bind makes and binds an SRT server for cfg, or nil when SRT is off.
func (c *srtComponent) bind(cfg *config.Config) (*srt.Server, error) {
	if !cfg.SRT.Enabled {
		return nil, nil
	}
	srv, err := srt.NewServer(srtConfig(cfg), srt.ServerDeps{
		Registry: c.s.reg, Events: c.s, Log: c.s.log, Vhost: c.s.vhostFor,
	})
	if err != nil {
		return nil, fmt.Errorf("srt: %w", err)
	}
	if _, err := srv.Listen(cfg.SRT.Listen); err != nil {
		_ = srv.Close()
		return nil, fmt.Errorf("cannot listen for srt on %s: %w", cfg.SRT.Listen, unwrapAddrInUse(err))
	}
	return srv, nil
}

func (c *srtComponent) start(_ context.Context, cfg *config.Config) error {
	srv, err := c.bind(cfg)
	if err != nil {
		return err
	}
	c.srvs.set(c.s, "srt", srv)
	return nil
}

// reload applies [srt]: settings to the callers accepted from now on; a new
// address (or SRT turned on or off) binds a new socket first, and the old
// one refuses new callers and closes when its sessions have ended.
func (c *srtComponent) reload(old, next *config.Config, ch config.Sections) error {
	if !ch.Has(config.SectionSRT) {
		return nil
	}
	if old.SRT.Enabled == next.SRT.Enabled && old.SRT.Listen == next.SRT.Listen {
		if srv := c.srvs.get(); srv != nil {
			return srv.SetConfig(srtConfig(next))
		}
		return nil
	}
	srv, err := c.bind(next)
	if err != nil {
		return err
	}
	if prev := c.srvs.set(c.s, "srt", srv); prev != nil {
		c.s.log.Info("srt: listen address changed: the old one closes after its sessions", "old", old.SRT.Listen, "new", next.SRT.Listen)
		c.srvs.retire(prev)
	}
	return nil
}

// totals adds up the counters of the SRT servers, the draining ones
// included; ok is false when SRT has never been on.
func (c *srtComponent) totals() (t srt.Totals, ok bool) {
	for _, srv := range c.srvs.all() {
		ok = true
		t.Add(srv.Totals())
	}
	return t, ok
}

// close ends every SRT session: publishers unpublish, players end.
func (c *srtComponent) close(context.Context) error { return c.srvs.close() }
