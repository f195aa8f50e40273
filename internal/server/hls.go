package server

import (
	"net/http"

	"github.com/srs-lite/srs-lite/internal/media"
)

// hlsPublish starts the HLS segmenter of a publish session.
func (s *Server) hlsPublish(st *media.Stream) {}

// serveHLS serves playlists and segments; false when r is not for HLS.
func (s *Server) serveHLS(w http.ResponseWriter, r *http.Request) bool { return false }

// closeHLS drops every HLS stream, at shutdown.
func (s *Server) closeHLS() {}
