// Package httpflv serves live streams over HTTP as SRS's http_remux does:
// HTTP-FLV (ffplay, VLC, mpegts.js, flv.js) at each vhost's mount,
// http://HOST:8080/APP/STREAM.flv by default, and on the same stem HTTP-TS
// (.ts), AAC as ADTS (.aac) and MP3 (.mp3).
//
// A play is a Reader on the stream's ring: each batch of frames Read returns
// is written as FLV tags (encoded once per frame and shared by all players)
// in one chunk of the chunked response body, with one writev per batch. The
// other formats are muxed per player (see ts.go), in chunks of at most about
// flushBytes.
package httpflv

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/srs-lite/srs-lite/internal/media"
	sess "github.com/srs-lite/srs-lite/internal/session"
)

// Defaults of the Config fields left zero.
const (
	DefaultWriteTimeout = 10 * time.Second
	DefaultBatchFrames  = 64
	// MaxBatchFrames bounds Config.BatchFrames (IOV_MAX is 1024 on Linux).
	MaxBatchFrames = 1000
)

// Errors of the package. The cancel causes show as the reason on a play's
// end log line.
var (
	// ErrConfig reports an invalid Config or missing Deps.
	ErrConfig = errors.New("httpflv: invalid config")

	errKicked     = errors.New("kicked")
	errClientGone = errors.New("client gone")
	errShutdown   = errors.New("server closing")
)

// Config holds the HTTP-FLV knobs.
type Config struct {
	// WriteTimeout bounds the write of one batch: a player that stops
	// reading for longer is dropped. 0 means DefaultWriteTimeout.
	WriteTimeout time.Duration
	// WaitPublisher is how long a request for a stream nobody publishes
	// waits for a publisher before it is answered 404. 0 answers 404 at
	// once, as an SRS origin does; ingest-on-demand and edges set it.
	WaitPublisher time.Duration
	// BatchFrames is the most frames written per batch (one writev).
	// 0 means DefaultBatchFrames.
	BatchFrames int
}

// Deps are the handler's collaborators.
type Deps struct {
	// Registry is the stream registry (required).
	Registry *media.Registry
	// Log receives the play log lines; nil discards them.
	Log *slog.Logger
	// Vhost resolves the request's vhost (?vhost=NAME or the Host header)
	// and reports whether HTTP-FLV is enabled on it; when not, the
	// request gets 404. nil means media.DefaultVhost, enabled.
	Vhost func(r *http.Request) (vhost string, ok bool)
	// Events is told of each play's connect, play, stop and close (hooks,
	// rules, the session table, which can kick it); an error from Connect
	// or Play refuses the play with 403. nil allows every play and keeps
	// no table.
	Events sess.Events
	// Locate, when not nil, is asked where a stream that is not
	// published here lives (SRS's origin cluster): a URL answers the
	// request with an HTTP 302 to it, "" serves it here as without
	// Locate (a wait for a publisher). It is never called for a stream
	// published here.
	Locate func(r *http.Request, key media.Key) (url string)
	// BaseContext is the server's context: when it is done, every play
	// ends (as Close does, but without waiting). nil means
	// context.Background().
	BaseContext context.Context
}

// Handler serves HTTP stream plays. Its entry point is ServeStream, which a
// catch-all route calls before HLS and static files; it is also an
// http.Handler for GET, HEAD and OPTIONS on the mounts.
type Handler struct {
	cfg  Config
	deps Deps
	log  *slog.Logger

	ctx    context.Context // canceled by Close and with Deps.BaseContext
	cancel context.CancelFunc

	mounts   atomic.Pointer[map[string]*Mount] // by lower-case vhost name
	defMount Mount                             // DefaultMount, for vhosts without one

	mu     sync.Mutex
	closed bool
	wg     sync.WaitGroup // running plays
}

// events returns Deps.Events, or sess.Funcs{} (allow all).
func (h *Handler) events() sess.Events {
	if h.deps.Events == nil {
		return sess.Funcs{}
	}
	return h.deps.Events
}

// New validates cfg and deps and returns a Handler.
func New(cfg Config, deps Deps) (*Handler, error) {
	if deps.Registry == nil {
		return nil, fmt.Errorf("%w: no registry", ErrConfig)
	}
	if cfg.WriteTimeout < 0 || cfg.WaitPublisher < 0 || cfg.BatchFrames < 0 {
		return nil, fmt.Errorf("%w: negative value", ErrConfig)
	}
	if cfg.BatchFrames > MaxBatchFrames {
		return nil, fmt.Errorf("%w: batch_frames %d over %d", ErrConfig, cfg.BatchFrames, MaxBatchFrames)
	}
	if cfg.WriteTimeout == 0 {
		cfg.WriteTimeout = DefaultWriteTimeout
	}
	if cfg.BatchFrames == 0 {
		cfg.BatchFrames = DefaultBatchFrames
	}
	l := deps.Log
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	base := deps.BaseContext
	if base == nil {
		base = context.Background()
	}
	ctx, cancel := context.WithCancel(base)
	h := &Handler{cfg: cfg, deps: deps, log: l, ctx: ctx, cancel: cancel}
	h.defMount, _ = ParseMount(defaultVhost, DefaultMount)
	return h, nil
}

// Close ends every play and waits until their goroutines have returned.
// Later requests get 503. Close is idempotent and always returns nil.
func (h *Handler) Close() error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil
	}
	h.closed = true
	h.mu.Unlock()
	h.cancel()
	h.wg.Wait()
	return nil
}

// begin registers a play; it reports false once the handler is closed.
func (h *Handler) begin() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false
	}
	h.wg.Add(1)
	return true
}

// CORS headers, as SRS's SrsHttpCorsMux sends them (methods limited to what
// this handler answers).
var corsHeaders = [...][2]string{
	{"Access-Control-Allow-Origin", "*"},
	{"Access-Control-Allow-Methods", "GET, HEAD, OPTIONS"},
	{"Access-Control-Expose-Headers", "Server,range,Content-Length,Content-Range"},
	{"Access-Control-Allow-Headers", "origin,range,accept-encoding,referer,Cache-Control,X-Proxy-Authorization,X-Requested-With,Content-Type"},
}

// ServeHTTP serves the streams of the vhosts' mounts, as ServeStream
// does, and answers 404 for any other path.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !h.ServeStream(w, r) {
		for _, kv := range corsHeaders {
			w.Header().Set(kv[0], kv[1])
		}
		http.NotFound(w, r)
	}
}

// serve answers OPTIONS (CORS preflight), HEAD and GET of a stream's path.
// A stream not published here that Deps.Locate finds elsewhere gets a
// 302. Errors: 404 for a vhost without HTTP streams or a stream nobody
// publishes, 403 when OnPlay refuses, 405 for other methods, 503 after
// Close.
func (h *Handler) serve(w http.ResponseWriter, r *http.Request, k kind, vhost, app, name string, enabled bool) {
	hd := w.Header()
	for _, kv := range corsHeaders {
		hd.Set(kv[0], kv[1])
	}
	switch r.Method {
	case http.MethodOptions:
		hd.Set("Content-Length", "0")
		w.WriteHeader(http.StatusOK)
		return
	case http.MethodGet, http.MethodHead:
	default:
		hd.Set("Allow", "GET, HEAD, OPTIONS")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if !enabled {
		http.Error(w, "http-flv disabled", http.StatusNotFound)
		return
	}
	if h.deps.Locate != nil && h.redirect(w, r, vhost, app, name) {
		return
	}
	if h.cfg.WaitPublisher == 0 || r.Method == http.MethodHead {
		if st := h.deps.Registry.Lookup(media.Key{Vhost: vhost, App: app, Stream: name}); st == nil || !st.Publishing() {
			http.Error(w, "stream not found", http.StatusNotFound)
			return
		}
	}
	if r.Method == http.MethodHead {
		setPlayHeaders(hd, k)
		w.WriteHeader(http.StatusOK)
		return
	}
	if !h.begin() {
		http.Error(w, "server closing", http.StatusServiceUnavailable)
		return
	}
	defer h.wg.Done()
	h.play(w, r, k, vhost, app, name)
}

// redirect answers a request for a stream not published here with an
// HTTP 302 to where Deps.Locate says it is, and reports whether it did.
func (h *Handler) redirect(w http.ResponseWriter, r *http.Request, vhost, app, name string) bool {
	if st := h.deps.Registry.Lookup(media.Key{Vhost: vhost, App: app, Stream: name}); st != nil && st.Publishing() {
		return false
	}
	key := media.Key{Vhost: vhost, App: app, Stream: name}
	url := h.deps.Locate(r, key)
	if url == "" {
		return false
	}
	h.log.Info("http: redirect in cluster", "stream", key, "url", url, "client", r.RemoteAddr)
	hd := w.Header()
	for _, kv := range corsHeaders {
		hd.Set(kv[0], kv[1])
	}
	hd.Set("Location", url)
	hd.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusFound)
	return true
}

// setPlayHeaders sets the headers of a play's answer.
func setPlayHeaders(hd http.Header, k kind) {
	hd.Set("Content-Type", kinds[k].contentType)
	hd.Set("Cache-Control", "no-cache")
	hd.Set("Expires", "-1")
	hd.Set("Pragma", "no-cache")
}
