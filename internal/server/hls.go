package server

import (
	"net/http"

	"github.com/srs-lite/srs-lite/internal/media"
	"github.com/srs-lite/srs-lite/internal/protocol/hls"
)

// hlsConfig maps a vhost's [vhost.hls] onto the segmenter's settings; ok
// is false when the vhost has HLS off.
func (s *Server) hlsConfig(vhost string) (hls.Config, bool) {
	v := s.cfg.Load().Vhost(vhost)
	if v == nil || !v.HLS.Enabled {
		return hls.Config{}, false
	}
	h := v.HLS
	return hls.Config{Fragment: h.Fragment.D(), Window: h.Window.D(), Dispose: h.Dispose.D(),
		Container: h.Container, Dir: h.Path}, true
}

// hlsPublish starts the HLS segmenter of a publish session. The reader is
// subscribed here, in the publisher's goroutine, so that the segmenter sees
// the session from its first frame.
func (s *Server) hlsPublish(st *media.Stream) {
	cfg, ok := s.hlsConfig(st.Vhost)
	if !ok {
		return
	}
	rd := s.reg.SubscribeInternal(st.Vhost, st.App, st.Name, s.log)
	if err := s.hls.Publish(st, rd, cfg); err != nil {
		s.log.Error("hls: not started", "stream", st.Key(), "err", err)
	}
}

// serveHLS serves playlists and segments; false when r is not for HLS.
func (s *Server) serveHLS(w http.ResponseWriter, r *http.Request) bool {
	vhost, ok := s.vhostFor(r.Host, r.URL.Query().Get("vhost"))
	if !ok {
		return false
	}
	return s.hls.ServeHTTP(w, r, vhost)
}

// closeHLS drops every HLS stream, at shutdown.
func (s *Server) closeHLS() { s.hls.Close() }
