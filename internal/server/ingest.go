package server

import (
	"context"
	"strings"

	"github.com/srs-lite/srs-lite/internal/config"
	"github.com/srs-lite/srs-lite/internal/media"
	"github.com/srs-lite/srs-lite/internal/service/ingest"
	"github.com/srs-lite/srs-lite/internal/session"
)

func init() { register(orderIngest, newIngest) }

// ingestComponent runs the [[ingest]] entries: cameras, devices, files.
type ingestComponent struct {
	passive
	s *Server
	m *ingest.Manager
}

func newIngest(s *Server) (component, error) {
	m, err := ingest.New(ingest.Deps{Registry: s.reg, Clients: s.sessions, Log: s.log, Players: s.streamPlayers})
	if err != nil {
		return nil, err
	}
	return &ingestComponent{s: s, m: m}, nil
}

// ingestConfigs maps the [[ingest]] entries onto the ingest package's
// config: output "APP/STREAM" in the default vhost, or an rtmp:// URL.
func ingestConfigs(c *config.Config) []ingest.Config {
	out := make([]ingest.Config, 0, len(c.Ingests))
	for _, e := range c.Ingests {
		ic := ingest.Config{Name: e.Name, Enabled: e.Enabled, Input: e.Input, OnDemand: e.OnDemand,
			Vhost: media.DefaultVhost, CloseAfter: e.IdleTimeout.D(), Transport: e.Transport,
			Encoder: e.Encoder, ACodec: e.ACodec}
		o := e.Output
		if o == "" {
			o = "live/" + e.Name
		}
		if strings.Contains(o, "://") {
			ic.Push = o
		} else {
			ic.App, ic.Stream, _ = strings.Cut(strings.Trim(o, "/"), "/")
		}
		out = append(out, ic)
	}
	return out
}

func (c *ingestComponent) name() string { return "ingest" }

func (c *ingestComponent) start(_ context.Context, cfg *config.Config) error {
	c.m.Apply(ingestConfigs(cfg))
	return nil
}

// reload starts, stops and restarts the ingests whose entries changed.
func (c *ingestComponent) reload(_, next *config.Config, ch config.Sections) error {
	if ch.Has(config.SectionIngest) {
		c.m.Apply(ingestConfigs(next))
	}
	return nil
}

// close stops every ingest and unpublishes their streams.
func (c *ingestComponent) close(context.Context) error { return c.m.Close() }

// status is GET /api/v1/ingests.
func (c *ingestComponent) status() any { return c.m.Status() }

// streamPlayers counts the connected players of a stream, for on-demand
// sources (ingests, edges, GB28181 channels). Remuxers (HLS, DVR) read the
// stream too but are not players; HLS viewers without sessions
// (hls_ctx = false), seen only by their recent requests, count as one.
func (s *Server) streamPlayers(vhost, app, stream string) int {
	n := 0
	for _, c := range s.sessions.List() {
		if c.Role == session.Player && c.Stream == stream && c.App == app && strings.EqualFold(c.Vhost, vhost) {
			n++
		}
	}
	if h := find[*hlsComponent](s); h != nil && h.m.Watched(vhost, app, stream) {
		n++
	}
	return n
}
