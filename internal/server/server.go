// Package server wires srs-lite together: it maps the config onto each
// component, owns the listeners, and runs the lifecycle (start, reload,
// drain). It is the only package that imports every other.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/srs-lite/srs-lite/internal/api"
	"github.com/srs-lite/srs-lite/internal/config"
	"github.com/srs-lite/srs-lite/internal/log"
	"github.com/srs-lite/srs-lite/internal/media"
	"github.com/srs-lite/srs-lite/internal/protocol/hls"
	"github.com/srs-lite/srs-lite/internal/protocol/httpflv"
	"github.com/srs-lite/srs-lite/internal/protocol/rtmp"
	"github.com/srs-lite/srs-lite/internal/service/hooks"
	"github.com/srs-lite/srs-lite/internal/stats"
)

// Version is the srs-lite version, stamped by the build (-ldflags -X).
var Version = "0.1.0"

// Server is a running srs-lite.
type Server struct {
	path   string // config file; empty: embedded defaults
	cfg    atomic.Pointer[config.Config]
	logger *log.Logger
	log    *slog.Logger

	reg     *media.Registry
	clients *stats.Clients
	rtmp    *rtmp.Server
	flv     *httpflv.Handler
	hls     *hls.Manager
	hooks   *hooks.Caller

	serverID string
	api      *api.API

	reloadMu sync.Mutex
	limit    connLimit

	mu         sync.Mutex
	listeners  []net.Listener
	https      []*http.Server
	wg         sync.WaitGroup
	start      time.Time
	closed     atomic.Bool
	fast       atomic.Bool
	baseCtx    context.Context // parent of every listener's and connection's context
	cancelBase context.CancelFunc
	// Addrs are the bound addresses by role ("rtmp", "http_api",
	// "http_server"), for tests that listen on port 0.
	addrs map[string]string
}

// New builds a server from a validated config. path is the file the config
// came from (empty for the embedded defaults); Reload reads it again.
func New(path string, cfg *config.Config, logger *log.Logger) (*Server, error) {
	s := &Server{path: path, logger: logger, log: logger.Slog(), clients: stats.NewClients(),
		start: time.Now(), addrs: map[string]string{}}
	cfg, err := s.startBoard(cfg) // board profile: sizes, memory limit, devices
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	s.cfg.Store(cfg)
	s.ptzReload(cfg)
	if err := s.setupOTA(s.applyFile); err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	s.serverID = "vid-" + log.NewTraceID()
	s.limit.log = s.log
	s.limit.count = s.clients.Len
	s.limit.max.Store(int64(cfg.Server.MaxConnections))
	s.baseCtx, s.cancelBase = context.WithCancel(context.Background())
	s.reg = media.NewRegistry(s.streamOptions)
	s.reg.OnPublish(s.onPublish)
	s.repairDVR() // before any publisher: recordings left by a crash
	s.hls = hls.NewManager(config.DefaultVhost, s.log)
	s.hls.OnSegment(s.onHLS)
	s.hooks = hooks.New(0, s.log)
	s.rtmp, err = rtmp.NewServer(rtmpConfig(cfg), rtmp.ServerDeps{
		Registry: s.reg, Clients: s.clients, Log: s.log, Vhost: s.vhostFor,
		OnConnect:   s.rtmpAsk("on_connect", func(h *config.Hooks) []string { return h.OnConnect }),
		OnPublish:   s.rtmpAsk("on_publish", func(h *config.Hooks) []string { return h.OnPublish }),
		OnPlay:      s.rtmpAsk("on_play", func(h *config.Hooks) []string { return h.OnPlay }),
		OnUnpublish: s.rtmpTell("on_unpublish", func(h *config.Hooks) []string { return h.OnUnpublish }),
		OnStop:      s.rtmpTell("on_stop", func(h *config.Hooks) []string { return h.OnStop }),
	})
	if err != nil {
		return nil, fmt.Errorf("server: rtmp: %w", err)
	}
	// A player that arrives a little before its publisher (an encoder
	// restarting) waits for it, as RTMP players do.
	s.flv, err = httpflv.New(httpflv.Config{WaitPublisher: 10 * time.Second}, httpflv.Deps{
		Registry: s.reg, Clients: s.clients, Log: s.log, Vhost: s.flvVhost, BaseContext: s.baseCtx,
		OnPlay: s.flvOnPlay,
	})
	if err != nil {
		return nil, fmt.Errorf("server: http-flv: %w", err)
	}
	s.api, err = api.New(api.Deps{
		Registry: s.reg, Clients: s.clients, Log: s.log, Version: Version,
		Vhosts: s.vhostsJSON, Ingests: s.ingestsJSON,
		Transcodes: s.transcodesJSON, Devices: s.devicesJSON, Snapshot: s.snapshot, Reload: s.Reload, ServerID: s.serverID, Start: s.start,
		Access: s.apiAccess, Board: s.boardView, Config: s.Config, PutConfig: s.putConfig, PTZ: s.ptzCommand,
	})
	if err != nil {
		return nil, fmt.Errorf("server: api: %w", err)
	}
	return s, nil
}

// Config returns the config in force.
func (s *Server) Config() *config.Config { return s.cfg.Load() }

// Registry returns the stream registry.
func (s *Server) Registry() *media.Registry { return s.reg }

// Addr returns the address a role ("rtmp", "http_api", "http_server") is
// bound to, once Listen has run.
func (s *Server) Addr(role string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addrs[role]
}

func rtmpConfig(c *config.Config) rtmp.ServerConfig {
	return rtmp.ServerConfig{ChunkSize: c.RTMP.ChunkSize}
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
	return o
}

// vhostFor picks a client's vhost: the ?vhost= parameter, else the host
// (RTMP tcUrl, HTTP Host) when such a vhost is configured, else the default
// vhost. ok is false when that vhost is disabled.
func (s *Server) vhostFor(host, param string) (string, bool) {
	c := s.cfg.Load()
	name := config.DefaultVhost
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

// flvVhost resolves an HTTP-FLV request's vhost and reports whether the vhost
// serves HTTP-FLV.
func (s *Server) flvVhost(r *http.Request) (string, bool) {
	name, ok := s.vhostFor(r.Host, r.URL.Query().Get("vhost"))
	if !ok {
		return "", false
	}
	v := s.cfg.Load().Vhost(name)
	return name, v != nil && v.HTTPRemux.Enabled
}

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

// Listen binds every configured listener. A port already in use is an error
// that names the listener and the address.
func (s *Server) Listen() error {
	c := s.cfg.Load()
	bind := func(role, addr string) (net.Listener, error) {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("cannot listen for %s on %s: %w", role, addr, unwrapAddrInUse(err))
		}
		s.mu.Lock()
		s.listeners = append(s.listeners, ln)
		s.addrs[role] = ln.Addr().String()
		s.mu.Unlock()
		return s.limit.wrap(ln), nil
	}
	for _, a := range c.RTMP.Listen {
		ln, err := bind("rtmp", a)
		if err != nil {
			s.closeListeners()
			return err
		}
		s.goServe(func(ctx context.Context) { _ = s.rtmp.Serve(ctx, ln) })
	}
	apiMux := http.NewServeMux()
	apiMux.Handle("/api/", s.api.Handler())
	httpMux := http.NewServeMux()
	httpMux.HandleFunc("/", s.serveHTTP)
	shared := c.HTTPAPI.Enabled && c.HTTPServer.Enabled && c.HTTPAPI.Listen == c.HTTPServer.Listen
	if shared {
		apiMux.HandleFunc("/", s.serveHTTP)
	}
	if c.HTTPAPI.Enabled {
		ln, err := bind("http_api", c.HTTPAPI.Listen)
		if err != nil {
			s.closeListeners()
			return err
		}
		if shared {
			s.mu.Lock()
			s.addrs["http_server"] = ln.Addr().String()
			s.mu.Unlock()
		}
		s.serveHTTPOn(ln, apiMux)
	}
	if c.HTTPServer.Enabled && !shared {
		ln, err := bind("http_server", c.HTTPServer.Listen)
		if err != nil {
			s.closeListeners()
			return err
		}
		s.serveHTTPOn(ln, httpMux)
	}
	if err := s.listenSRT(c); err != nil {
		s.closeListeners()
		return err
	}
	return nil
}

// onPublish starts the remuxers of a new publish session (HLS, DVR). It runs
// in the publisher's goroutine, from Registry.Publish.
func (s *Server) onPublish(st *media.Stream) {
	if s.closed.Load() {
		return
	}
	s.hlsPublish(st)
	s.dvrPublish(st)
	s.transcodePublish(st)
}

func unwrapAddrInUse(err error) error {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Err
	}
	return err
}

// serveHTTP is the HTTP server's handler: HTTP-FLV streams, HLS playlists
// and segments, then static files.
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasSuffix(r.URL.Path, ".flv") {
		s.flv.ServeHTTP(w, r)
		return
	}
	if s.serveHLS(w, r) {
		return
	}
	s.serveStatic(w, r)
}

func (s *Server) serveHTTPOn(ln net.Listener, h http.Handler) {
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelDebug)}
	s.mu.Lock()
	s.https = append(s.https, hs)
	s.mu.Unlock()
	s.goServe(func(context.Context) { _ = hs.Serve(ln) })
}

func (s *Server) goServe(fn func(ctx context.Context)) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		fn(s.baseCtx)
	}()
}

// Run serves until ctx is done, then shuts down: listeners close at once and
// connections get the configured grace period to finish.
func (s *Server) Run(ctx context.Context) error {
	if err := s.writePID(); err != nil {
		return err
	}
	s.startOTA()
	apiCtx, cancelAPI := context.WithCancel(context.Background())
	defer cancelAPI()
	go func() { _ = s.api.Run(apiCtx) }()
	if err := s.startIngests(); err != nil {
		return err
	}
	s.log.Info("srs-lite started", "version", Version, "pid", os.Getpid(),
		"rtmp", s.Addr("rtmp"), "http_api", s.Addr("http_api"), "http_server", s.Addr("http_server"),
		"srt", s.Addr("srt"),
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

// Shutdown stops accepting, lets connections drain for up to grace, then
// closes what is left and waits for every goroutine.
func (s *Server) Shutdown(grace time.Duration) error {
	if s.closed.Swap(true) {
		return nil
	}
	s.log.Info("shutting down", "grace", grace.String())
	s.closeListeners()
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	s.mu.Lock()
	https := s.https
	s.mu.Unlock()
	// Streams end when their publishers go: close RTMP first, so players of
	// every protocol see the end of their streams and finish their writes.
	s.closeIngests()
	s.closeTranscodes()
	_ = s.rtmp.Close()
	s.closeSRT()
	done := make(chan struct{})
	go func() {
		for _, hs := range https {
			_ = hs.Shutdown(ctx)
		}
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
	}
	_ = s.flv.Close()
	for _, hs := range https {
		_ = hs.Close()
	}
	s.cancelBase()
	s.wg.Wait()
	s.closeFirmware()
	s.closeDVR() // after every publisher is gone: files are complete
	s.closeHLS()
	s.hooks.Wait(time.Second) // on_unpublish, on_dvr... still in flight
	if p := s.cfg.Load().Server.PID; p != "" {
		_ = os.Remove(p)
	}
	s.log.Info("stopped")
	return nil
}

func (s *Server) closeListeners() {
	s.mu.Lock()
	lns := s.listeners
	s.listeners = nil
	s.mu.Unlock()
	for _, ln := range lns {
		_ = ln.Close()
	}
}

// Reload reads the config file again and applies it as a transaction
// (package ota): a file that fails to load, validate or apply, or that
// leaves the server unhealthy within [ota] health_grace, is replaced by the
// last good config, which runs again. SIGHUP and the RAW API reload use it.
func (s *Server) Reload() error { return s.reloadChecked("reload") }

// applyFile reads the config file again and applies what changed (the
// reload proper, which Reload wraps): log
// settings, vhost settings (to live streams at once), the RTMP chunk size.
// A config that fails to load or validate changes nothing. Listener
// addresses changed in the file take effect at the next start; the log says
// so.
func (s *Server) applyFile() error {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	old := s.cfg.Load()
	var next *config.Config
	if s.path == "" {
		next = config.Default()
	} else {
		c, err := config.Load(s.path)
		if err != nil {
			s.log.Error("reload failed, keeping the running config", "err", err)
			return err
		}
		next = c
	}
	if err := next.Validate(); err != nil {
		s.log.Error("reload failed, keeping the running config", "err", err)
		return err
	}
	next, bi, err := s.withBoard(next)
	if err != nil {
		s.log.Error("reload failed, keeping the running config", "err", err)
		return err
	}
	sec := config.Diff(old, next)
	if sec.Has(config.SectionLog) {
		if err := s.logger.Reconfigure(LogOptions(next)); err != nil {
			s.log.Error("reload failed, keeping the running config", "err", err)
			return err
		}
	}
	s.cfg.Store(next)
	s.boardApplied(next, bi)
	s.ptzReload(next)
	s.limit.max.Store(int64(next.Server.MaxConnections))
	if sec.Has(config.SectionVhosts) {
		s.reg.Reconfigure(s.streamOptions)
	}
	if sec.Has(config.SectionRTMP) {
		s.rtmp.SetConfig(rtmpConfig(next))
	}
	s.reloadSRT(old, next)
	s.reloadIngests(old, next)
	s.reloadTranscodes(old, next)
	listenChanged := !equalStrings(old.RTMP.Listen, next.RTMP.Listen) ||
		old.HTTPAPI.Listen != next.HTTPAPI.Listen || old.HTTPServer.Listen != next.HTTPServer.Listen ||
		old.HTTPAPI.Enabled != next.HTTPAPI.Enabled || old.HTTPServer.Enabled != next.HTTPServer.Enabled
	if listenChanged {
		s.log.Warn("listener addresses changed: they take effect at the next start")
	}
	s.log.Info("config reloaded", "changed", sec.String())
	return nil
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// LogOptions maps the [log] section onto the logger's options.
func LogOptions(c *config.Config) log.Options {
	return log.Options{Level: c.Log.Level, File: c.Log.File, Format: c.Log.Format, MaxSize: int64(c.Log.MaxSize)}
}
