//go:build tiny

package server

import (
	"context"
	"log"
	"net"
	"net/http"
	"time"

	"github.com/srs-lite/srs-lite/internal/http1"
)

// The tiny profile has no TLS serving: its config refuses the TLS keys
// (config.TLSBuilt), so these are never reached with a listener.

// newHTTPServer is http1's server of h (tls is never set here).
func (s *Server) newHTTPServer(h http.Handler, _ bool, errLog *log.Logger) httpServer {
	return &http1.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second,
		BaseContext: func(net.Listener) context.Context { return s.baseCtx }, ErrorLog: errLog}
}

func (s *Server) tlsListener(ln net.Listener) net.Listener { return ln }

func (s *Server) tlsInfo() any { return nil }
