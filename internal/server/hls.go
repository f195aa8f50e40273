package server

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/srs-lite/srs-lite/internal/config"
	"github.com/srs-lite/srs-lite/internal/media"
	"github.com/srs-lite/srs-lite/internal/protocol/hls"
	"github.com/srs-lite/srs-lite/internal/service/hooks"
)

func init() { register(orderHLS, newHLS) }

// hlsComponent segments every publish of a vhost with [vhost.hls] on and
// serves the playlists and segments.
type hlsComponent struct {
	passive
	s *Server
	m *hls.Manager
}

func newHLS(s *Server) (component, error) {
	c := &hlsComponent{s: s, m: hls.NewManager(media.DefaultVhost, s.log)}
	c.m.OnSegment(s.onHLS)
	c.m.SetEvents(s) // viewers are sessions (hls_ctx)
	c.m.SetGuard(func(ip string, key media.Key) error {
		return s.checkSecurity("", "hls", ip, key, true)
	})
	return c, nil
}

func (c *hlsComponent) name() string { return "hls" }

// config maps a vhost's [vhost.hls] onto the segmenter's settings; ok is
// false when the vhost has HLS off.
func (c *hlsComponent) config(vhost string) (hls.Config, bool) {
	v := c.s.cfg.Load().Vhost(vhost)
	if v == nil || !v.HLS.Enabled {
		return hls.Config{}, false
	}
	h := v.HLS
	return hls.Config{Fragment: h.Fragment.D(), Window: h.Window.D(), Dispose: h.Dispose.D(),
		Container: h.Container, Dir: h.Path, NoCtx: !h.Ctx, ATC: v.ATC,
		LowLatency: h.LowLatency, Part: h.Part.D()}, true
}

// onPublish starts the segmenter of a publish session. The reader is
// subscribed here, in the publisher's goroutine, so that the segmenter sees
// the session from its first frame.
func (c *hlsComponent) onPublish(st *media.Stream) {
	cfg, ok := c.config(st.Vhost)
	if !ok {
		return
	}
	// fMP4 carries Opus as it is: a WHIP publisher's Opus track rather
	// than the AAC the audio bridge makes of it (TS carries AAC).
	o := media.SubscribeOptions{Internal: true}
	if cfg.Container == hls.ContainerFMP4 {
		o.Track = media.TrackOpus
	}
	rd := c.s.reg.SubscribeWith(st.Key(), c.s.log, o)
	if err := c.m.Publish(st, rd, cfg); err != nil {
		c.s.log.Error("hls: not started", "stream", st.Key(), "err", err)
	}
}

func (c *hlsComponent) routes(r *routes) {
	r.stream("hls", func(w http.ResponseWriter, req *http.Request) bool {
		vhost, ok := c.s.vhostFor(req.Host, req.URL.Query().Get("vhost"))
		if !ok {
			return false
		}
		if c.m.ServeHTTP(w, req, vhost) {
			return true
		}
		return c.s.redirectPlaylist(w, req, vhost)
	})
}

// redirectPlaylist answers a GET or HEAD of the playlist of a stream that
// has no HLS here with an HTTP 302 to the coworker origin that publishes
// it (origin cluster; SRS does not redirect HLS), and reports whether it
// did. Segments are never redirected: the player fetches them relative to
// the playlist it was redirected to.
func (s *Server) redirectPlaylist(w http.ResponseWriter, req *http.Request, vhost string) bool {
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		return false
	}
	p, ok := hls.ParsePath(req.URL.Path)
	if !ok || p.Kind != hls.KindPlaylist {
		return false
	}
	v := s.cfg.Load().Vhost(vhost)
	if v == nil || !v.Cluster.OriginCluster || !v.HLS.Enabled {
		return false
	}
	url := s.locateHTTP(req, media.Key{Vhost: v.Name, App: p.App, Stream: p.Stream})
	if url == "" {
		return false
	}
	s.log.Info("hls: redirect in cluster", "stream", media.Key{Vhost: v.Name, App: p.App, Stream: p.Stream}, "url", url, "client", req.RemoteAddr)
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Header().Set("Location", url)
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusFound)
	return true
}

// close drops every HLS stream, once their publishers are gone.
func (c *hlsComponent) close(context.Context) error {
	c.m.Close()
	return nil
}

// onHLS is on_hls: an HLS segment is complete.
func (s *Server) onHLS(seg hls.SegmentInfo) {
	seq := seg.Seq
	cwd, _ := os.Getwd()
	ev := hooks.Event{ServerID: s.serverID, Action: "on_hls", Vhost: seg.Vhost, App: seg.App, Stream: seg.Stream,
		StreamURL: "/" + seg.App + "/" + seg.Stream, Cwd: cwd, File: seg.File, URL: seg.URL,
		M3U8URL: "/" + seg.App + "/" + seg.Stream + ".m3u8", SeqNo: &seq, Duration: seg.Duration}
	if seg.File != "" {
		ev.M3U8 = filepath.Join(filepath.Dir(seg.File), seg.Stream+".m3u8")
	}
	s.hooks.Tell(s.hookURLs(seg.Vhost, func(h *config.Hooks) []string { return h.OnHLS }), ev)
	// on_hls_notify: SRS's GET per segment, e.g. to pre-warm a CDN.
	for _, tmpl := range s.hookURLs(seg.Vhost, func(h *config.Hooks) []string { return h.OnHLSNotify }) {
		u := strings.ReplaceAll(hls.NotifyURL(tmpl, seg), "[server_id]", s.serverID)
		s.hooks.Get(u, "on_hls_notify")
	}
}
