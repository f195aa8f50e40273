// Package api is the HTTP API: JSON in the shapes of SRS's /api/v1 (versions,
// summaries, streams, clients, vhosts, raw?rpc=reload), so that tools and
// consoles written for SRS work against srs-lite, plus srs-lite's own
// config (GET and PUT /api/v1/config) and PTZ (POST /api/v1/ptz/{name}),
// and the Prometheus metrics of GET /metrics (metrics.go), all behind the
// access policy of [http_api.auth]. It reads the media registry and the
// stats client table, and samples byte counters every 5 s for the kbps
// figures.
package api

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/srs-lite/srs-lite/internal/config"
	"github.com/srs-lite/srs-lite/internal/device/ptz"
	"github.com/srs-lite/srs-lite/internal/media"
	"github.com/srs-lite/srs-lite/internal/metrics"
	"github.com/srs-lite/srs-lite/internal/session"
)

// Errors of New.
var (
	// ErrNoRegistry is returned by New without a media registry.
	ErrNoRegistry = errors.New("api: no media registry")
	// ErrNoClients is returned by New without a client table.
	ErrNoClients = errors.New("api: no client table")
)

// Codes of the JSON answers: SRS's where SRS has one (srs_kernel_error.hpp),
// else the HTTP status, as SRS itself answers some errors.
const (
	// CodeSuccess is the code of every successful answer.
	CodeSuccess = 0
	// CodeBadRequest answers a malformed query (?start=, ?count=).
	CodeBadRequest = http.StatusBadRequest
	// CodeUnauthorized answers a request Deps.Auth refused.
	CodeUnauthorized = http.StatusUnauthorized
	// CodeNotFound answers an /api/ path that does not exist.
	CodeNotFound = http.StatusNotFound
	// CodeNotAllowed answers a method the path does not serve.
	CodeNotAllowed = http.StatusMethodNotAllowed
	// CodeRaw is SRS's ERROR_SYSTEM_CONFIG_RAW: an unsupported rpc or a
	// failed reload.
	CodeRaw = 1060
	// CodeRawDisabled is SRS's ERROR_SYSTEM_CONFIG_RAW_DISABLED: the server
	// gave no Deps.Reload.
	CodeRawDisabled = 1061
	// CodeStreamNotFound is SRS's ERROR_RTMP_STREAM_NOT_FOUND.
	CodeStreamNotFound = 2048
	// CodeClientNotFound is SRS's ERROR_RTMP_CLIENT_NOT_FOUND.
	CodeClientNotFound = 2049
)

// Deps are what the API reads and calls.
type Deps struct {
	Registry *media.Registry
	Clients  *session.Table
	Log      *slog.Logger // nil: discard
	// Version is the server's "x.y.z" version.
	Version string
	// Vhosts returns the vhosts and their settings as a JSON-able list (nil:
	// none). Streams and clients name their vhost by name, so an item's "id"
	// should be its name.
	Vhosts func() any
	// HLS returns a stream's HLS state as a JSON-able value (nil when it
	// has none) and its HLS viewers, which count among its clients (nil:
	// no HLS).
	HLS func(s *media.Stream) (view any, viewers int)
	// Ingests returns the [[ingest]] entries and their state (nil: none).
	Ingests func() any
	// Reload reloads the config, as SIGHUP does (nil: the RAW API reload is
	// disabled).
	Reload func() error
	// ServerID is SRS's "server" field, e.g. "vid-0a1b2c3" (empty: made up).
	ServerID string
	// Start is when the server started (zero: now).
	Start time.Time
	// Auth, when not nil, allows a request or not: a refused request gets
	// 401. CORS preflights are always answered.
	Auth func(r *http.Request) bool
	// Access, when not nil, returns the access policy in force ([http_api.auth]),
	// applied to every request: see Access.
	Access func() Access
	// Board returns the board profile in force and the limits it set, as a
	// JSON-able value shown in the summaries (nil: none).
	Board func() any
	// TLS returns the certificate of the TLS listeners (its SHA-256
	// fingerprint, subject, expiry, whether self-signed) as a JSON-able
	// value shown in the summaries (nil: no TLS listener).
	TLS func() any
	// Config returns the config in force, for GET /api/v1/config (nil: 403).
	Config func() *config.Config
	// PutConfig validates, writes and applies a new config file (PUT
	// /api/v1/config), rolling back what fails; origin is the client's
	// address, for the log (nil: 403). See package txn for its errors.
	PutConfig func(ctx context.Context, data []byte, origin string) error
	// CheckConfig parses and validates a candidate config file as srs-lite
	// -t does, applying nothing (POST /api/v1/config/check; nil: 403).
	CheckConfig func(data []byte) error
	// LastGood returns the last config that applied and passed the
	// self-check, nil when none is known yet (GET and POST
	// /api/v1/config/last-good; nil: 403).
	LastGood func() []byte
	// Logs returns the lines of the in-memory log ring after sequence
	// number since, oldest first (GET /api/v1/logs; nil: 404).
	Logs func(since uint64) []LogLine
	// PTZ sends a command to the serial PTZ port called name (POST
	// /api/v1/ptz/{name}; nil: 404).
	PTZ func(ctx context.Context, name string, c ptz.Command) error
	// Transcodes returns the running transcoders (GET /api/v1/transcodes;
	// nil: none).
	Transcodes func() any
	// Forwards returns the forwards of the live streams (GET
	// /api/v1/forwards; nil: none).
	Forwards func() any
	// Devices lists the video capture devices with their formats and
	// sizes (GET /api/v1/devices; nil: none).
	Devices func() any
	// Clusters answers where a stream lives, for the other origins of an
	// origin cluster (GET /api/v1/clusters): a JSON-able origin, nil (null)
	// when the stream is not published here or Clusters is nil. coworker
	// is the address the asker reached this server's API at.
	Clusters func(vhost, app, stream, coworker string) any
	// Snapshot returns a JPEG of a stream (GET /api/v1/snapshot; nil: 404);
	// see camera.go for how its errors map to statuses.
	Snapshot func(ctx context.Context, vhost, app, stream string) ([]byte, error)
	// EditIngest changes the [[ingest]] entry called name in the config
	// file and applies the file through the config transaction (POST, PUT
	// and DELETE /api/v1/ingests/{name}): e nil removes it; create adds it
	// (an error wrapping fs.ErrExist when the name is taken), else it must
	// be there (fs.ErrNotExist). Other errors as PutConfig's (nil: 403).
	EditIngest func(ctx context.Context, name string, e *IngestEdit, create bool, origin string) error
	// RetryIngest restarts an ingest at once, ending its backoff (POST
	// /api/v1/ingests/{name}/retry; fs.ErrNotExist: no such entry; nil:
	// 404).
	RetryIngest func(name string) error
	// DVRRoots returns the folders recordings are written under (GET,
	// DELETE /api/v1/dvr/files; nil: none).
	DVRRoots func() []DVRRoot
	// DVRDuration returns the duration of a recording the server finished
	// (its path as the DVR wrote it), when it knows it.
	DVRDuration func(path string) (time.Duration, bool)
}

// API serves the HTTP API. Create it with New, serve Handler, and keep Run
// running for the kbps and CPU figures.
type API struct {
	deps    Deps
	log     *slog.Logger
	proc    proc
	service string // SRS "service": random per process start
	pid     string
	mux     *http.ServeMux
	handler http.Handler

	// editMu makes a config change's If-Match check and its apply one step
	// against other API edits.
	editMu sync.Mutex

	mu           sync.Mutex
	gen          uint64
	clientMeters map[string]*meter
	streamMeters map[string]*meter
	closedIn     map[string]uint64 // stream id -> bytes from publishers that left
	closedOut    map[string]uint64 // stream id -> bytes to clients that left
	host         hostSample
	rates        hostRates

	refused authLog

	scrapeMu sync.Mutex     // one /metrics scrape at a time
	scrape   metrics.Writer // reused from scrape to scrape
}

// New checks deps and returns the API. It takes a first sample, so that the
// first rates are there one period after Run starts.
func New(deps Deps) (*API, error) {
	if deps.Registry == nil {
		return nil, ErrNoRegistry
	}
	if deps.Clients == nil {
		return nil, ErrNoClients
	}
	if deps.Log == nil {
		deps.Log = slog.New(slog.DiscardHandler)
	}
	if deps.Version == "" {
		deps.Version = "0.0.0"
	}
	if deps.ServerID == "" {
		deps.ServerID = "vid-" + randomID(7)
	}
	if deps.Start.IsZero() {
		deps.Start = time.Now()
	}
	a := &API{
		deps:         deps,
		log:          deps.Log,
		proc:         proc{root: "/proc"},
		service:      randomID(8),
		pid:          strconv.Itoa(os.Getpid()),
		clientMeters: map[string]*meter{},
		streamMeters: map[string]*meter{},
		closedIn:     map[string]uint64{},
		closedOut:    map[string]uint64{},
	}
	a.routes()
	a.sample(time.Now())
	return a, nil
}

// Handler returns the handler of every /api/ path, with CORS headers on every
// answer and OPTIONS preflights answered.
func (a *API) Handler() http.Handler { return a.handler }

// Run samples the counters every 5 s until ctx is done.
func (a *API) Run(ctx context.Context) error {
	t := time.NewTicker(sampleEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case now := <-t.C:
			a.sample(now)
		}
	}
}

func (a *API) routes() {
	m := http.NewServeMux()
	for _, p := range []string{"GET /api/{$}"} {
		m.HandleFunc(p, a.root)
	}
	for _, p := range []string{"GET /api/v1", "GET /api/v1/{$}"} {
		m.HandleFunc(p, a.v1)
	}
	m.HandleFunc("GET /api/v1/versions", a.versions)
	m.HandleFunc("GET /api/v1/summaries", a.summaries)
	for _, p := range []string{"GET /api/v1/streams", "GET /api/v1/streams/{$}"} {
		m.HandleFunc(p, a.streams)
	}
	m.HandleFunc("GET /api/v1/streams/{id}", a.stream)
	for _, p := range []string{"GET /api/v1/clients", "GET /api/v1/clients/{$}"} {
		m.HandleFunc(p, a.clients)
	}
	m.HandleFunc("GET /api/v1/clients/{id}", a.client)
	m.HandleFunc("DELETE /api/v1/clients/{id}", a.kick)
	for _, p := range []string{"GET /api/v1/ingests", "GET /api/v1/ingests/{$}"} {
		m.HandleFunc(p, a.ingests)
	}
	for _, p := range []string{"GET /api/v1/vhosts", "GET /api/v1/vhosts/{$}"} {
		m.HandleFunc(p, a.vhosts)
	}
	// SRS answers the RAW API on any method; GET and POST are what tools use.
	m.HandleFunc("GET /api/v1/raw", a.raw)
	m.HandleFunc("POST /api/v1/raw", a.raw)
	m.HandleFunc("GET /api/v1/config", a.getConfig)
	m.HandleFunc("PUT /api/v1/config", a.putConfig)
	m.HandleFunc("POST /api/v1/config/check", a.checkConfig)
	m.HandleFunc("GET /api/v1/config/last-good", a.getLastGood)
	m.HandleFunc("POST /api/v1/config/last-good", a.restoreLastGood)
	m.HandleFunc("GET /api/v1/logs", a.logs)
	m.HandleFunc("POST /api/v1/ptz/{name}", a.postPTZ)
	m.HandleFunc("GET /api/v1/clusters", a.clusters)
	a.cameraRoutes(m)
	a.forwardRoutes(m)
	a.ingestRoutes(m)
	a.dvrRoutes(m)
	m.HandleFunc("/api/", a.notFound)
	a.mux = m
	a.handler = http.HandlerFunc(a.serve)
}

// corsMethods and corsHeaders are what SRS allows cross-origin.
const (
	corsMethods = "GET, POST, HEAD, PUT, DELETE, OPTIONS"
	corsHeaders = "origin, range, accept-encoding, referer, Cache-Control, X-Proxy-Authorization, X-Requested-With, Content-Type, Authorization, If-Match"
	corsExpose  = "Server, range, Content-Length, Content-Range, ETag"
)

func (a *API) serve(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Allow-Methods", corsMethods)
	h.Set("Access-Control-Allow-Headers", corsHeaders)
	h.Set("Access-Control-Expose-Headers", corsExpose)
	h.Set("Server", "srs-lite/"+a.deps.Version)
	if r.Method == http.MethodOptions {
		h.Set("Access-Control-Max-Age", "86400")
		w.WriteHeader(http.StatusOK)
		return
	}
	if a.deps.Auth != nil && !a.deps.Auth(r) {
		h.Set("WWW-Authenticate", `Basic realm="srs-lite"`)
		a.fail(w, r, http.StatusUnauthorized, CodeUnauthorized, "unauthorized")
		return
	}
	if !a.checkAccess(w, r) {
		return
	}
	a.mux.ServeHTTP(w, r)
}

// envelope starts every answer, as SRS's does.
type envelope struct {
	Code    int    `json:"code"`
	Server  string `json:"server"`
	Service string `json:"service"`
	PID     string `json:"pid"`
}

func (a *API) env(code int) envelope {
	return envelope{Code: code, Server: a.deps.ServerID, Service: a.service, PID: a.pid}
}

type errorAnswer struct {
	envelope
	Msg string `json:"msg"`
}

// reply writes v as JSON, or as JSONP when the request names a valid
// ?callback= (SRS's consoles use it).
func (a *API) reply(w http.ResponseWriter, r *http.Request, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		a.log.Error("api: encode answer", "path", r.URL.Path, "err", err)
		status = http.StatusInternalServerError
		b, _ = json.Marshal(errorAnswer{a.env(http.StatusInternalServerError), "cannot encode the answer"})
	}
	h := w.Header()
	if cb := jsonpCallback(r); cb != "" {
		h.Set("Content-Type", "text/javascript")
		b = append(append([]byte(cb+"("), b...), ')')
	} else {
		h.Set("Content-Type", "application/json")
	}
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b)
}

func (a *API) fail(w http.ResponseWriter, r *http.Request, status, code int, msg string) {
	a.reply(w, r, status, errorAnswer{a.env(code), msg})
}

// jsonpCallback returns ?callback= when it is a plain JavaScript name.
func jsonpCallback(r *http.Request) string {
	cb := r.URL.Query().Get("callback")
	if cb == "" || len(cb) > 64 {
		return ""
	}
	for _, c := range cb {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '$' || c == '.') {
			return ""
		}
	}
	return cb
}

// notFound answers every /api/ path no route took: 405 when the path exists
// for another method, else 404.
func (a *API) notFound(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete} {
		if m == r.Method {
			continue
		}
		r2 := r.Clone(r.Context())
		r2.Method = m
		if _, p := a.mux.Handler(r2); p != "/api/" {
			allow = append(allow, m)
		}
	}
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(append(allow, http.MethodOptions), ", "))
		a.fail(w, r, http.StatusMethodNotAllowed, CodeNotAllowed, fmt.Sprintf("method %s not allowed on %s", r.Method, r.URL.Path))
		return
	}
	a.fail(w, r, http.StatusNotFound, CodeNotFound, "no api at "+r.URL.Path)
}

func (a *API) root(w http.ResponseWriter, r *http.Request) {
	a.reply(w, r, http.StatusOK, struct {
		envelope
		URLs map[string]string `json:"urls"`
	}{a.env(CodeSuccess), map[string]string{"v1": "the api version 1.0"}})
}

// v1 lists the endpoints, as SRS's /api/v1/ does.
func (a *API) v1(w http.ResponseWriter, r *http.Request) {
	a.reply(w, r, http.StatusOK, struct {
		envelope
		URLs map[string]string `json:"urls"`
	}{a.env(CodeSuccess), map[string]string{
		"versions":  "the version of the server",
		"summaries": "the summary (pid, argv, cwd, cpu, mem, load, network) of the server and the host",
		"streams":   "all streams or one stream: /api/v1/streams/{id}, paged with ?start=0&count=10",
		"clients":   "all clients or one client: /api/v1/clients/{id}, paged with ?start=0&count=10; DELETE kicks",
		"vhosts":    "the vhosts and their settings",
		"ingests":   "the [[ingest]] pull sources and their state; POST, PUT, DELETE /api/v1/ingests/{name} edit the config's entry, POST /api/v1/ingests/{name}/retry restarts it",
		"raw":       "the RAW API: ?rpc=reload reloads the config",
		"config":    "the config in force (GET, secrets redacted; ?format=toml), or a new one to apply (PUT, TOML body); /api/v1/config/check (POST) validates without applying; /api/v1/config/last-good (GET, redacted TOML; POST restores it)",
		"logs":      "the in-memory log ring, newest last: ?since=SEQ&level=warn&cid=ID&count=200",
		"ptz":       "PTZ of a serial camera: POST /api/v1/ptz/{name} {\"action\": \"pan_left\", \"speed\": 32}",
		"forwards":  "the forwards of published streams ([vhost.forward], on_forward, publish edge) and their state",
		"clusters":  "origin cluster: where a stream lives, ?vhost=&ip=&app=&stream=&coworker= (SRS's)",

		// The camera gateway (camera.go).
		"transcodes": "the [[transcode]] ffmpeg children and their state",
		"devices":    "the video capture devices (V4L2) with their formats and sizes",
		"snapshot":   "a JPEG of a stream: /api/v1/snapshot?app=live&stream=cam1",
		"dvr":        "the recordings: /api/v1/dvr/files (list), /api/v1/dvr/files/{path} (GET downloads, DELETE removes)",
	}})
}

type versionData struct {
	Major    int    `json:"major"`
	Minor    int    `json:"minor"`
	Revision int    `json:"revision"`
	Version  string `json:"version"`
}

func (a *API) versions(w http.ResponseWriter, r *http.Request) {
	a.reply(w, r, http.StatusOK, struct {
		envelope
		Data versionData `json:"data"`
	}{a.env(CodeSuccess), parseVersion(a.deps.Version)})
}

// parseVersion splits "v1.2.3-rc1" into 1, 2, 3 and "1.2.3-rc1"; missing or
// non-numeric parts are 0.
func parseVersion(v string) versionData {
	v = strings.TrimPrefix(v, "v")
	d := versionData{Version: v}
	core, _, _ := strings.Cut(v, "-")
	core, _, _ = strings.Cut(core, "+")
	parts := strings.SplitN(core, ".", 3)
	dst := []*int{&d.Major, &d.Minor, &d.Revision}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			break
		}
		*dst[i] = n
	}
	return d
}

func (a *API) ingests(w http.ResponseWriter, r *http.Request) {
	a.list(w, r, "ingests", a.deps.Ingests)
}

func (a *API) vhosts(w http.ResponseWriter, r *http.Request) { a.list(w, r, "vhosts", a.deps.Vhosts) }

// list answers a list endpoint: the envelope and key: fn() (an empty list
// when fn is nil or gives nil).
func (a *API) list(w http.ResponseWriter, r *http.Request, key string, fn func() any) {
	var v any = []any{}
	if fn != nil {
		if x := fn(); x != nil {
			v = x
		}
	}
	a.reply(w, r, http.StatusOK, listReply{a.env(CodeSuccess), key, v})
}

// listReply is the envelope followed by one key, in that order.
type listReply struct {
	envelope
	key string
	v   any
}

// MarshalJSON implements json.Marshaler.
func (l listReply) MarshalJSON() ([]byte, error) {
	b, err := json.Marshal(l.envelope)
	if err != nil {
		return nil, err
	}
	k, _ := json.Marshal(l.key)
	v, err := json.Marshal(l.v)
	if err != nil {
		return nil, err
	}
	b = append(append(append(append(b[:len(b)-1], ','), k...), ':'), v...)
	return append(b, '}'), nil
}

// raw is SRS's RAW API; only rpc=reload is served.
func (a *API) raw(w http.ResponseWriter, r *http.Request) {
	rpc := r.URL.Query().Get("rpc")
	if rpc != "reload" {
		a.fail(w, r, http.StatusBadRequest, CodeRaw, fmt.Sprintf("rpc %q not supported: use rpc=reload", rpc))
		return
	}
	if a.deps.Reload == nil {
		a.fail(w, r, http.StatusForbidden, CodeRawDisabled, "reload is disabled")
		return
	}
	if err := a.deps.Reload(); err != nil {
		a.log.Warn("api: reload failed", "remote", r.RemoteAddr, "err", err)
		a.fail(w, r, http.StatusInternalServerError, CodeRaw, err.Error())
		return
	}
	a.log.Info("api: config reloaded", "remote", r.RemoteAddr)
	a.reply(w, r, http.StatusOK, a.env(CodeSuccess))
}

// page reads SRS's ?start=0&count=10.
func page(r *http.Request) (start, count int, err error) {
	q := r.URL.Query()
	start, count = 0, 10
	if s := q.Get("start"); s != "" {
		if start, err = strconv.Atoi(s); err != nil || start < 0 {
			return 0, 0, fmt.Errorf("api: bad start %q", s)
		}
	}
	if s := q.Get("count"); s != "" {
		if count, err = strconv.Atoi(s); err != nil || count < 0 {
			return 0, 0, fmt.Errorf("api: bad count %q", s)
		}
		if count == 0 {
			count = 10
		}
	}
	return start, count, nil
}

// paged returns the part of all that the request's ?start=&count= select.
func paged[T any](r *http.Request, all []T) ([]T, error) {
	start, count, err := page(r)
	if err != nil {
		return nil, err
	}
	lo := min(start, len(all))
	return all[lo : lo+min(count, len(all)-lo)], nil
}

const idChars = "0123456789abcdefghijklmnopqrstuvwxyz"

// randomID returns n random characters of [0-9a-z].
func randomID(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	for i := range b {
		b[i] = idChars[int(b[i])%len(idChars)]
	}
	return string(b)
}
