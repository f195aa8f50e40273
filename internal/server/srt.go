package server

import "github.com/srs-lite/srs-lite/internal/config"

// listenSRT binds the SRT listener when [srt] is enabled, and records its
// address as s.addrs["srt"].
func (s *Server) listenSRT(c *config.Config) error { return nil }

// closeSRT closes the SRT listener and its connections, at shutdown.
func (s *Server) closeSRT() {}

// reloadSRT applies changed [srt] settings.
func (s *Server) reloadSRT(old, next *config.Config) {}
