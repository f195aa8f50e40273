// Package server wires srs-lite together: it maps the config onto each
// component, owns the listeners, and runs the lifecycle (start, reload,
// drain). It is the only package that imports every other.
package server

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/srs-lite/srs-lite/internal/config"
	"github.com/srs-lite/srs-lite/internal/config/txn"
	"github.com/srs-lite/srs-lite/internal/log"
	"github.com/srs-lite/srs-lite/internal/media"
	"github.com/srs-lite/srs-lite/internal/service/hooks"
	"github.com/srs-lite/srs-lite/internal/session"
)

// Version is the srs-lite version, stamped by the build (-ldflags -X).
var Version = "0.1.0"

// Server is a running srs-lite: the media core, the session table and the
// ordered list of components (component.go), each file of which registers
// one service.
type Server struct {
	path   string // config file; empty: embedded defaults
	cfg    atomic.Pointer[config.Config]
	logger *log.Logger
	log    *slog.Logger

	reg      *media.Registry
	sessions *session.Table
	hooks    *hooks.Caller
	serverID string
	start    time.Time
	routes   *routes
	comps    []component
	ota      *txn.Manager
	board    atomic.Pointer[boardInfo]

	reloadMu sync.Mutex
	limit    connLimit

	mu         sync.Mutex
	wg         sync.WaitGroup
	closed     atomic.Bool
	fast       atomic.Bool
	baseCtx    context.Context // parent of every listener's and connection's context
	cancelBase context.CancelFunc
	// addrs are the bound addresses by role ("rtmp", "http_api",
	// "http_server", "srt", ...), for the log and tests that listen on
	// port 0.
	addrs map[string]string
}

// New builds a server from a validated config. path is the file the config
// came from (empty for the embedded defaults); Reload reads it again.
func New(path string, cfg *config.Config, logger *log.Logger) (*Server, error) {
	return newServer(path, cfg, logger, nil)
}

// newServer is New with extra components after the registered ones (tests).
func newServer(path string, cfg *config.Config, logger *log.Logger, extra []component) (*Server, error) {
	s := &Server{path: path, logger: logger, log: logger.Slog(), sessions: session.NewTable(),
		start: time.Now(), addrs: map[string]string{}, routes: newRoutes()}
	cfg, err := s.startBoard(cfg) // board profile: sizes, memory limit, devices
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	s.cfg.Store(cfg)
	if err := s.setupOTA(s.applyFile); err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	s.serverID = "vid-" + log.NewTraceID()
	s.limit.log = s.log
	s.limit.count = s.sessions.Len
	s.limit.max.Store(int64(cfg.Server.MaxConnections))
	s.baseCtx, s.cancelBase = context.WithCancel(context.Background())
	s.reg = media.NewRegistry(s.streamOptions)
	s.reg.OnPublish(s.onPublish)
	s.hooks = hooks.New(0, s.log)
	if err := s.makeComponents(extra); err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	for _, c := range s.comps {
		if r, ok := c.(router); ok {
			r.routes(s.routes)
		}
	}
	return s, nil
}

// Config returns the config in force.
func (s *Server) Config() *config.Config { return s.cfg.Load() }

// Registry returns the stream registry.
func (s *Server) Registry() *media.Registry { return s.reg }

// Addr returns the address a role ("rtmp", "http_api", "http_server",
// "srt", "rtmps", "https_api", "https_server") is bound to, once Listen has run.
func (s *Server) Addr(role string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addrs[role]
}

// setAddr records the bound address of a role; "" forgets it.
func (s *Server) setAddr(role, addr string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if addr == "" {
		delete(s.addrs, role)
		return
	}
	s.addrs[role] = addr
}

// find returns the component of type T, or the zero T.
func find[T component](s *Server) T {
	for _, c := range s.comps {
		if t, ok := c.(T); ok {
			return t
		}
	}
	var zero T
	return zero
}

// streamOptions maps a vhost's settings onto the media core's knobs.
func (s *Server) streamOptions(vhost string) media.Options {
	o := media.DefaultOptions()
	v := s.cfg.Load().Vhost(vhost)
	if v == nil {
		return o
	}
	o.RingFrames = v.RingFrames
	o.GOPCache = v.GOPCache
	o.GOPCacheMaxFrames = v.GOPCacheMaxFrames
	o.QueueLength = v.QueueLength.D()
	o.MinFrames = v.MWMsgs
	o.MaxDelay = v.MWLatency.D()
	switch v.TimeJitter {
	case config.JitterZero:
		o.TimeJitter = media.JitterZero
	case config.JitterOff:
		o.TimeJitter = media.JitterOff
	}
	if v.ATC { // SRS's atc: the publisher's timestamps, whatever time_jitter says
		o.TimeJitter = media.JitterOff
	}
	return o
}

// vhostFor picks a client's vhost: the ?vhost= parameter, else the host
// (RTMP tcUrl, HTTP Host) when such a vhost is configured, else the default
// vhost. ok is false when that vhost is disabled.
func (s *Server) vhostFor(host, param string) (string, bool) {
	c := s.cfg.Load()
	name := media.DefaultVhost
	if param != "" {
		name = param
	} else if h := stripPort(host); h != "" {
		for _, v := range c.Vhosts {
			if strings.EqualFold(v.Name, h) {
				name = v.Name
			}
		}
	}
	v := c.Vhost(name)
	if v == nil {
		return "", false
	}
	return v.Name, true
}

func stripPort(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return hostport
}

// Listen starts every component in order: each binds its listeners. A
// port already in use is an error that names the listener and the address.
func (s *Server) Listen() error {
	return s.startComponents(s.baseCtx, s.cfg.Load())
}

// onPublish starts the remuxers of a new publish session (HLS, DVR,
// transcoders). It runs in the publisher's goroutine, from
// Registry.Publish.
func (s *Server) onPublish(st *media.Stream) {
	if s.closed.Load() {
		return
	}
	for _, c := range s.comps {
		if w, ok := c.(publishWatcher); ok {
			w.onPublish(st)
		}
	}
}

// goServe runs fn in a goroutine that Shutdown waits for.
func (s *Server) goServe(fn func()) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		fn()
	}()
}

// Run serves until ctx is done, then shuts down: listeners close at once and
// connections get the configured grace period to finish.
func (s *Server) Run(ctx context.Context) error {
	if err := s.writePID(); err != nil {
		return err
	}
	s.startOTA()
	s.log.Info("srs-lite started", "version", Version, "pid", os.Getpid(),
		"rtmp", s.Addr("rtmp"), "http_api", s.Addr("http_api"), "http_server", s.Addr("http_server"),
		"srt", s.Addr("srt"), "rtc", s.Addr("rtc"),
		"rtmps", s.Addr("rtmps"), "https_api", s.Addr("https_api"), "https_server", s.Addr("https_server"),
		"go", runtime.Version(), "config", s.configName())
	<-ctx.Done()
	grace := s.cfg.Load().Server.Grace.D()
	if s.fast.Load() {
		grace = 200 * time.Millisecond
	}
	return s.Shutdown(grace)
}

// Fast makes the next shutdown skip most of the grace period (SIGINT).
func (s *Server) Fast() { s.fast.Store(true) }

func (s *Server) configName() string {
	if s.path == "" {
		return "(embedded defaults)"
	}
	return s.path
}

func (s *Server) writePID() error {
	p := s.cfg.Load().Server.PID
	if p == "" {
		return nil
	}
	if err := os.WriteFile(p, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		return fmt.Errorf("cannot write pid file: %w", err)
	}
	return nil
}

// Shutdown closes the components in reverse order: sources and publishers
// first, so players and recordings see the end of their streams, then the
// listeners, whose connections get up to grace to finish.
func (s *Server) Shutdown(grace time.Duration) error {
	if s.closed.Swap(true) {
		return nil
	}
	s.log.Info("shutting down", "grace", grace.String())
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	s.closeComponents(ctx)
	s.cancelBase()
	s.wg.Wait()
	s.hooks.Wait(time.Second) // on_unpublish, on_dvr... still in flight
	if p := s.cfg.Load().Server.PID; p != "" {
		_ = os.Remove(p)
	}
	s.log.Info("stopped")
	return nil
}

// Reload reads the config file again and applies it as a transaction
// (package txn): a file that fails to load, validate or apply, or that
// leaves the server unhealthy within [ota] health_grace, is replaced by the
// last good config, which runs again. SIGHUP and the RAW API reload use it.
func (s *Server) Reload() error { return s.reloadChecked("reload") }

// applyFile reads the config file again and applies it (the reload
// proper, which Reload wraps): the log settings, the board profile, then
// every component, all or none. A config that fails to load or validate,
// or that a component cannot apply, changes nothing and is an error; the
// transaction around it (package txn) then restores the file.
func (s *Server) applyFile() error {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	if err := s.apply(); err != nil {
		s.log.Error("reload failed, keeping the running config", "err", err)
		return err
	}
	return nil
}

func (s *Server) apply() error {
	old := s.cfg.Load()
	next := config.Default()
	if s.path != "" {
		c, err := config.Load(s.path)
		if err != nil {
			return err
		}
		next = c
	}
	if err := next.Validate(); err != nil {
		return err
	}
	next, bi, err := s.withBoard(next)
	if err != nil {
		return err
	}
	sec := config.Diff(old, next)
	if sec.Has(config.SectionLog) {
		if err := s.logger.Reconfigure(LogOptions(next)); err != nil {
			return err
		}
	}
	// Components read per-stream knobs from the config in force: store it
	// first, and put the old one back if a component refuses.
	s.cfg.Store(next)
	if err := s.reloadComponents(old, next, sec); err != nil {
		s.cfg.Store(old)
		if sec.Has(config.SectionLog) {
			_ = s.logger.Reconfigure(LogOptions(old))
		}
		return err
	}
	s.boardApplied(next, bi)
	s.limit.max.Store(int64(next.Server.MaxConnections))
	if sec.Has(config.SectionVhosts) {
		s.reg.Reconfigure(s.streamOptions)
	}
	s.log.Info("config reloaded", "changed", sec.String())
	return nil
}

// LogOptions maps the [log] section onto the logger's options.
func LogOptions(c *config.Config) log.Options {
	return log.Options{Level: c.Log.Level, File: c.Log.File, Format: c.Log.Format, MaxSize: int64(c.Log.MaxSize)}
}
