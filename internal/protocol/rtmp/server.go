package rtmp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/srs-lite/srs-lite/internal/media"
	"github.com/srs-lite/srs-lite/internal/session"
)

// Defaults of ServerConfig, and the vhost of URLs that name none.
const (
	// DefaultOutChunkSize is the chunk size the server sends with, as SRS's
	// chunk_size default.
	DefaultOutChunkSize = 60000
	// DefaultHandshakeTimeout bounds the handshake and the connect command.
	DefaultHandshakeTimeout = 10 * time.Second
	// DefaultIdleTimeout drops a publisher that sends nothing and a player
	// whose batch cannot be written for this long.
	DefaultIdleTimeout = 20 * time.Second
)

// maxOutChunkSize caps the configured chunk size, as SRS does (65536); it
// also keeps the chunk size below the stream ID bits of the wire cache key.
const maxOutChunkSize = 65536

// ErrServerClosed is returned by Serve after Close.
var ErrServerClosed = errors.New("rtmp: server closed")

// ServerConfig are the RTMP server's settings. Zero fields take the
// defaults.
type ServerConfig struct {
	ChunkSize        int           // out chunk size, default DefaultOutChunkSize, 128..65536
	HandshakeTimeout time.Duration // default DefaultHandshakeTimeout
	IdleTimeout      time.Duration // default DefaultIdleTimeout
}

func (c ServerConfig) withDefaults() ServerConfig {
	if c.ChunkSize <= 0 {
		c.ChunkSize = DefaultOutChunkSize
	}
	c.ChunkSize = min(max(c.ChunkSize, DefaultChunkSize), maxOutChunkSize)
	if c.HandshakeTimeout <= 0 {
		c.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	return c
}

// ServerDeps are what the server needs from its parent.
type ServerDeps struct {
	// Registry holds the streams (required).
	Registry *media.Registry
	// Log gets the connection logs; nil discards them.
	Log *slog.Logger
	// Vhost resolves the vhost from the tcUrl host and the ?vhost= param and
	// reports whether it is served; nil means always media.DefaultVhost.
	Vhost func(tcURLHost, vhostParam string) (vhost string, ok bool)
	// Events is told of each session's connect, publish or play and end
	// (hooks, rules, the session table); nil allows everything and keeps
	// no table.
	Events session.Events
	// Locate, when not nil, is asked where a stream lives before a play
	// (SRS's origin cluster): an empty url plays here (waiting for a
	// publisher if there is none), a url answers the player with an RTMP
	// 302 redirect to it, and an error refuses the play.
	// host is the host of the client's tcUrl.
	Locate func(ctx context.Context, key media.Key, host, param string) (url string, err error)
}

// Server is an RTMP server: it accepts connections and runs one session per
// connection, publishing into and playing from the Registry.
type Server struct {
	deps ServerDeps
	cfg  atomic.Pointer[ServerConfig]
	log  *slog.Logger

	mu     sync.Mutex
	closed bool
	lns    map[net.Listener]struct{}
	conns  map[*conn]struct{}
	wg     sync.WaitGroup
}

// events returns Deps.Events, or session.Funcs{} (allow all).
func (s *Server) events() session.Events {
	if s.deps.Events == nil {
		return session.Funcs{}
	}
	return s.deps.Events
}

// NewServer checks deps and returns a server; Serve runs it.
func NewServer(cfg ServerConfig, deps ServerDeps) (*Server, error) {
	if deps.Registry == nil {
		return nil, fmt.Errorf("rtmp: server: no registry")
	}
	s := &Server{deps: deps, log: deps.Log,
		lns: map[net.Listener]struct{}{}, conns: map[*conn]struct{}{}}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.SetConfig(cfg)
	return s, nil
}

// SetConfig replaces the settings; connections accepted afterwards use them.
func (s *Server) SetConfig(cfg ServerConfig) {
	c := cfg.withDefaults()
	s.cfg.Store(&c)
}

// Serve accepts connections on ln until ln is closed, ctx is done or Close
// is called; it then closes ln and returns nil (ErrServerClosed when the
// server was closed before). Connections live on after Serve returns, until
// they end, their ctx (derived from ctx) is done or Close is called.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ln.Close()
		return ErrServerClosed
	}
	s.lns[ln] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer func() {
		stop()
		ln.Close()
		s.mu.Lock()
		delete(s.lns, ln)
		s.mu.Unlock()
	}()
	var backoff time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) || s.isClosed() {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || isTemporary(err) {
				// Out of file descriptors and the like: back off, as
				// net/http does.
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				s.log.Warn("rtmp: accept", "err", err, "retry", backoff)
				select {
				case <-time.After(backoff):
				case <-ctx.Done():
					return nil
				}
				continue
			}
			return fmt.Errorf("rtmp: accept: %w", err)
		}
		backoff = 0
		s.startConn(ctx, nc)
	}
}

func isTemporary(err error) bool {
	t, ok := err.(interface{ Temporary() bool })
	return ok && t.Temporary()
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

func (s *Server) startConn(ctx context.Context, nc net.Conn) {
	c := newConn(s, nc)
	c.ctx, c.cancel = context.WithCancel(ctx)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		c.cancel()
		nc.Close()
		return
	}
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		defer func() {
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
		}()
		c.serve()
	}()
}

// Close stops accepting, closes every connection and waits for every
// goroutine of the server. It is idempotent.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		s.wg.Wait()
		return nil
	}
	s.closed = true
	for ln := range s.lns {
		ln.Close()
	}
	for c := range s.conns {
		c.close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return nil
}
