//go:build tiny

package server

import (
	"net"
	"net/http"
)

// The tiny profile has no TLS serving: its config refuses the TLS keys
// (config.TLSBuilt), so these are never reached with a listener.

func (s *Server) serveHTTPS(_ *http.Server, ln net.Listener) { _ = ln.Close() }

func (s *Server) tlsListener(ln net.Listener) net.Listener { return ln }

func (s *Server) tlsInfo() any { return nil }
