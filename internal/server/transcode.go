package server

import (
	"context"

	"github.com/srs-lite/srs-lite/internal/config"
	"github.com/srs-lite/srs-lite/internal/media"
	"github.com/srs-lite/srs-lite/internal/service/transcode"
)

func init() { register(orderTranscode, newTranscode) }

// transcodeComponent runs the [[transcode]] rules on publishes.
type transcodeComponent struct {
	passive
	s *Server
	m *transcode.Manager
}

func newTranscode(s *Server) (component, error) {
	m, err := transcode.New(transcode.Deps{Registry: s.reg, Clients: s.sessions, Log: s.log})
	if err != nil {
		return nil, err
	}
	return &transcodeComponent{s: s, m: m}, nil
}

// transcodeRules maps the [[transcode]] entries onto the rules.
func transcodeRules(c *config.Config) []transcode.Rule {
	out := make([]transcode.Rule, 0, len(c.Transcodes))
	for _, t := range c.Transcodes {
		r := transcode.Rule{Name: t.Name, Vhost: t.Vhost, App: t.App, Stream: t.Stream, Output: t.Output,
			VCodec: t.VCodec, VBitrate: t.VBitrate, VPreset: t.VPreset, FPS: t.FPS, ACodec: t.ACodec,
			ABitrate: t.ABitrate, Filter: t.Filter, Logo: t.Logo, Args: t.Args}
		if t.Size != "" {
			r.Width, r.Height, _ = config.ParseSize(t.Size)
		}
		out = append(out, r)
	}
	return out
}

func (c *transcodeComponent) name() string { return "transcode" }

func (c *transcodeComponent) start(_ context.Context, cfg *config.Config) error {
	c.m.SetRules(transcodeRules(cfg))
	return nil
}

func (c *transcodeComponent) onPublish(st *media.Stream) { c.m.Publish(st) }

// reload applies changed [[transcode]] rules: transcoders of removed and
// changed rules stop, new rules start on live streams.
func (c *transcodeComponent) reload(_, next *config.Config, ch config.Sections) error {
	if ch.Has(config.SectionTranscode) {
		c.m.SetRules(transcodeRules(next))
	}
	return nil
}

// close stops every transcoder.
func (c *transcodeComponent) close(context.Context) error { return c.m.Close() }

// status is GET /api/v1/transcodes.
func (c *transcodeComponent) status() any { return c.m.Status() }
