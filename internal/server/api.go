package server

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/srs-lite/srs-lite/internal/api"
	"github.com/srs-lite/srs-lite/internal/config"
	"github.com/srs-lite/srs-lite/internal/device/ptz"
	"github.com/srs-lite/srs-lite/internal/device/v4l2"
	"github.com/srs-lite/srs-lite/internal/media"
	"github.com/srs-lite/srs-lite/internal/service/forward"
	"github.com/srs-lite/srs-lite/internal/service/ingest"
	"github.com/srs-lite/srs-lite/internal/service/snapshot"
	"github.com/srs-lite/srs-lite/internal/service/transcode"
)

func init() { register(orderAPI, newAPI) }

// apiComponent is the HTTP API (/api/) on the API port.
type apiComponent struct {
	passive
	s   *Server
	a   *api.API
	wg  sync.WaitGroup
	ctx context.CancelFunc

	snapOnce sync.Once
	snap     *snapshot.Taker
	snapErr  error
}

func newAPI(s *Server) (component, error) {
	c := &apiComponent{s: s}
	a, err := api.New(api.Deps{
		Registry: s.reg, Clients: s.sessions, Log: s.log, Version: Version,
		Vhosts: s.vhostsJSON, Ingests: c.ingests, HLS: c.hls, Transcodes: c.transcodes, Forwards: c.forwards,
		Devices: func() any { return v4l2.List("", nil) }, Snapshot: c.snapshot, Clusters: s.clusterOrigin,
		Reload: s.Reload, ServerID: s.serverID, Start: s.start,
		Access: s.apiAccess, Board: s.boardView, TLS: s.tlsInfo, Config: s.Config, PutConfig: s.putConfig, PTZ: c.ptz,
		CheckConfig: s.checkConfig, LastGood: s.lastGood, Logs: s.recentLogs,
		EditIngest: c.editIngest(), RetryIngest: c.retryIngest(), DVRRoots: c.dvrRoots(), DVRDuration: c.dvrDuration(),
	})
	if err != nil {
		return nil, err
	}
	c.a = a
	return c, nil
}

func (c *apiComponent) name() string { return "api" }

func (c *apiComponent) routes(r *routes) { r.api.Handle("/api/", c.a.Handler()) }

// start runs the API's bandwidth sampler.
func (c *apiComponent) start(ctx context.Context, _ *config.Config) error {
	ctx, c.ctx = context.WithCancel(ctx)
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		_ = c.a.Run(ctx)
	}()
	return nil
}

func (c *apiComponent) close(context.Context) error {
	if c.ctx != nil {
		c.ctx()
	}
	c.wg.Wait()
	return nil
}

func (c *apiComponent) ingests() any {
	if ic := find[*ingestComponent](c.s); ic != nil {
		return ic.status()
	}
	return []ingest.Status{}
}

// hls is a stream's HLS state in /api/v1/streams.
func (c *apiComponent) hls(st *media.Stream) (any, int) {
	hc := find[*hlsComponent](c.s)
	if hc == nil {
		return nil, 0
	}
	h, ok := hc.m.Stats(st.Key())
	if !ok {
		return nil, 0
	}
	return map[string]any{"container": h.Container, "segments": h.Segments, "sequence": h.Seq,
		"media_sequence": h.MediaSeq, "last_duration": h.LastDuration.Seconds(), "target_duration": h.Target,
		"bytes": h.Bytes, "viewers": h.Viewers}, h.Viewers
}

func (c *apiComponent) transcodes() any {
	if tc := find[*transcodeComponent](c.s); tc != nil {
		return tc.status()
	}
	return []transcode.Status{}
}

func (c *apiComponent) forwards() any {
	if fc := find[*forwardComponent](c.s); fc != nil {
		return fc.status()
	}
	return []forward.Status{}
}

func (c *apiComponent) ptz(ctx context.Context, name string, cmd ptz.Command) error {
	for _, b := range ptzBackends {
		if ok, err := b(c.s, ctx, name, cmd); ok {
			return err
		}
	}
	return find[*ptzComponent](c.s).command(ctx, name, cmd)
}

// snapshot returns a JPEG of a stream, for GET /api/v1/snapshot. An empty
// vhost is the default one.
func (c *apiComponent) snapshot(ctx context.Context, vhost, app, stream string) ([]byte, error) {
	v, ok := c.s.vhostFor("", vhost)
	if !ok {
		return nil, fmt.Errorf("%w: vhost %q is disabled", snapshot.ErrNotFound, vhost)
	}
	c.snapOnce.Do(func() { c.snap, c.snapErr = snapshot.New(snapshot.Deps{Registry: c.s.reg, Log: c.s.log}) })
	if c.snapErr != nil {
		return nil, c.snapErr
	}
	return c.snap.JPEG(ctx, v, app, stream)
}

// vhostsJSON is GET /api/v1/vhosts.
func (s *Server) vhostsJSON() any {
	c := s.cfg.Load()
	out := make([]map[string]any, 0, len(c.Vhosts))
	for _, v := range c.Vhosts {
		n := 0
		for _, st := range s.reg.Streams() {
			if strings.EqualFold(st.Vhost, v.Name) {
				n++
			}
		}
		out = append(out, map[string]any{
			"id": v.Name, "name": v.Name, "enabled": v.Enabled, "streams": n,
			"gop_cache": v.GOPCache, "queue_length": v.QueueLength.String(),
			"mw_latency": v.MWLatency.String(), "mw_msgs": v.MWMsgs,
			"http_remux": map[string]any{"enabled": v.HTTPRemux.Enabled, "mount": v.HTTPRemux.Mount},
			"hls": map[string]any{"enabled": v.HLS.Enabled, "fragment": v.HLS.Fragment.String(),
				"window": v.HLS.Window.String(), "container": v.HLS.Container, "path": v.HLS.Path,
				"dispose": v.HLS.Dispose.String()},
			"dvr": map[string]any{"enabled": v.DVR.Enabled, "path": v.DVR.Path, "plan": v.DVR.Plan,
				"duration": v.DVR.Duration.String()},
		})
	}
	return out
}

// recentLogs is the API's GET /api/v1/logs: the log ring's lines after seq.
func (s *Server) recentLogs(seq uint64) []api.LogLine {
	ls := s.logger.Since(seq)
	out := make([]api.LogLine, len(ls))
	for i, l := range ls {
		out[i] = api.LogLine{Seq: l.Seq, Text: l.Text}
	}
	return out
}
