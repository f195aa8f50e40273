package server

import (
	"strings"
	"sync"

	"github.com/srs-lite/srs-lite/internal/config"
	"github.com/srs-lite/srs-lite/internal/service/ingest"
)

// ingestManagers holds each Server's ingest manager. It stands in for a
// Server field so that this file needs no change to server.go's struct.
var ingestManagers sync.Map // *Server -> *ingest.Manager

func (s *Server) ingestManager() *ingest.Manager {
	if m, ok := ingestManagers.Load(s); ok {
		return m.(*ingest.Manager)
	}
	return nil
}

// ingestConfigs maps the [[ingest]] entries onto the ingest package's
// config: output "APP/STREAM" in the default vhost, or an rtmp:// URL.
func ingestConfigs(c *config.Config) []ingest.Config {
	out := make([]ingest.Config, 0, len(c.Ingests))
	for _, e := range c.Ingests {
		ic := ingest.Config{Name: e.Name, Enabled: e.Enabled, Input: e.Input, OnDemand: e.OnDemand,
			Vhost: config.DefaultVhost, CloseAfter: e.IdleTimeout.D(), Transport: e.Transport,
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

// startIngests starts the [[ingest]] entries of the config in force. It
// runs once, from Run.
func (s *Server) startIngests() error {
	m, err := ingest.New(ingest.Deps{Registry: s.reg, Clients: s.clients, Log: s.log, Players: s.streamPlayers})
	if err != nil {
		return err
	}
	if _, loaded := ingestManagers.LoadOrStore(s, m); loaded {
		return nil
	}
	m.Apply(ingestConfigs(s.cfg.Load()))
	return nil
}

// reloadIngests starts, stops and restarts ingests whose entries changed,
// and restarts the failed ones (ffmpeg was missing, the camera was
// unplugged for good), whatever changed.
func (s *Server) reloadIngests(old, next *config.Config) {
	if m := s.ingestManager(); m != nil {
		m.Apply(ingestConfigs(next))
	}
}

// closeIngests stops every ingest and unpublishes their streams, at
// shutdown.
func (s *Server) closeIngests() {
	if m := s.ingestManager(); m != nil {
		_ = m.Close()
		ingestManagers.Delete(s)
	}
}

// ingestsJSON is the list of GET /api/v1/ingests.
func (s *Server) ingestsJSON() any {
	if m := s.ingestManager(); m != nil {
		return m.Status()
	}
	return []ingest.Status{}
}

// streamPlayers counts the connected players of a stream, for on-demand
// ingests. Remuxers (HLS, DVR) read the stream too but are not players.
func (s *Server) streamPlayers(vhost, app, stream string) int {
	n := 0
	for _, c := range s.clients.List() {
		if !c.Publisher && c.Stream == stream && c.App == app && strings.EqualFold(c.Vhost, vhost) {
			n++
		}
	}
	return n
}
