package server

import (
	"sync"

	"github.com/srs-lite/srs-lite/internal/config"
	"github.com/srs-lite/srs-lite/internal/media"
	"github.com/srs-lite/srs-lite/internal/service/transcode"
)

// transcodeManagers holds each Server's transcode manager, made at the
// first publish or reload that needs it. It stands in for a Server field
// so that this file needs no change to server.go's struct.
var transcodeManagers sync.Map // *Server -> *transcode.Manager

// transcodeManager returns the server's manager, making it with the rules
// in force when create is set.
func (s *Server) transcodeManager(create bool) *transcode.Manager {
	if m, ok := transcodeManagers.Load(s); ok {
		return m.(*transcode.Manager)
	}
	if !create || s.closed.Load() {
		return nil
	}
	m, err := transcode.New(transcode.Deps{Registry: s.reg, Clients: s.clients, Log: s.log})
	if err != nil {
		s.log.Error("transcode: not started", "err", err)
		return nil
	}
	if v, loaded := transcodeManagers.LoadOrStore(s, m); loaded {
		return v.(*transcode.Manager)
	}
	m.SetRules(transcodeRules(s.cfg.Load()))
	return m
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

// transcodePublish starts the transcoders of a new publish session; from
// onPublish.
func (s *Server) transcodePublish(st *media.Stream) {
	m := s.transcodeManager(len(s.cfg.Load().Transcodes) > 0)
	if m != nil {
		m.Publish(st)
	}
}

// reloadTranscodes applies the [[transcode]] rules: transcoders of removed
// and changed rules stop, new rules start on live streams, and failed ones
// (ffmpeg was missing) try again, whatever changed.
func (s *Server) reloadTranscodes(old, next *config.Config) {
	if m := s.transcodeManager(len(next.Transcodes) > 0); m != nil {
		m.SetRules(transcodeRules(next))
	}
}

// closeTranscodes stops every transcoder, at shutdown.
func (s *Server) closeTranscodes() {
	if m := s.transcodeManager(false); m != nil {
		_ = m.Close()
		transcodeManagers.Delete(s)
	}
}

// transcodesJSON is the list of GET /api/v1/transcodes.
func (s *Server) transcodesJSON() any {
	if m := s.transcodeManager(false); m != nil {
		return m.Status()
	}
	return []transcode.Status{}
}
