package server

import "github.com/srs-lite/srs-lite/internal/media"

// dvrPublish starts recording a publish session when its vhost's DVR is on.
func (s *Server) dvrPublish(st *media.Stream) {}

// closeDVR waits for the recordings to be complete, at shutdown.
func (s *Server) closeDVR() {}
