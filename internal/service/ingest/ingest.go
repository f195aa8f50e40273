// Package ingest pulls sources into streams of the server: each [[ingest]]
// entry runs a Source, chosen by the input URL's scheme, that publishes
// directly into the media core: an RTSP camera (pure Go), a V4L2 camera
// (pure Go for H.264, through an ffmpeg encoder for MJPEG and raw video),
// or, for files and every other URL, an ffmpeg child whose FLV output is
// published frame by frame.
// A supervisor per entry reconnects with exponential backoff and jitter
// after any failure, shows its state for GET /api/v1/ingests, and starts and
// stops with the config. An on-demand entry connects when the first player
// arrives and disconnects a while after the last one leaves.
package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/srs-lite/srs-lite/internal/backoff"
	"github.com/srs-lite/srs-lite/internal/format/codec"
	"github.com/srs-lite/srs-lite/internal/log"
	"github.com/srs-lite/srs-lite/internal/media"
	"github.com/srs-lite/srs-lite/internal/protocol/rtmp"
	"github.com/srs-lite/srs-lite/internal/protocol/rtsp"
	"github.com/srs-lite/srs-lite/internal/session"
)

// Errors of the package.
var (
	// ErrNoRegistry is returned by New without a media registry.
	ErrNoRegistry = errors.New("ingest: no media registry")
	// ErrNoSource reports an input whose scheme no source reads.
	ErrNoSource = errors.New("ingest: no source for this input")
	// ErrUnknown is returned by Retry for a name no entry has.
	ErrUnknown = errors.New("ingest: no such entry")
)

// Fatal marks an error that retrying cannot fix (ffmpeg is missing, the
// input is malformed): the entry fails, logs it once, and waits for a
// reload, which starts failed entries again.
func Fatal(err error) error {
	if err == nil {
		return nil
	}
	return &fatalError{err}
}

type fatalError struct{ err error }

func (e *fatalError) Error() string { return e.err.Error() }
func (e *fatalError) Unwrap() error { return e.err }

// Publisher takes a source's frames into the ingest's output stream. The
// ingest's also takes ExpectTracks(video, audio bool): a source that knows
// its tracks before its first frame (an RTSP camera's SDP) declares them to
// the stream (media.Stream.ExpectTracks).
type Publisher interface {
	// Write publishes one frame. A frame whose payload is not pooled
	// (scratch memory of the source) is copied; a pooled one is handed
	// over with its reference. Config frames update the stream's codec
	// info. An error (another publisher holds the stream) means the source
	// must stop and return it.
	Write(f *media.Frame) error
}

// Source is a pull source. Run plays one session into pub until ctx is done
// or the session fails, and returns why it ended. The supervisor calls Run
// again to reconnect; a source may keep what it learned between runs.
type Source interface {
	Run(ctx context.Context, pub Publisher) error
}

// NewSource makes the Source of an entry.
type NewSource func(cfg Config, log *slog.Logger) (Source, error)

// States of an ingest, as GET /api/v1/ingests shows them.
const (
	StateDisabled   = "disabled"   // enabled = false
	StateIdle       = "idle"       // on demand, nobody is playing
	StateConnecting = "connecting" // the source is starting
	StateRunning    = "running"    // frames are flowing
	StateRetrying   = "retrying"   // waiting out the backoff after a failure
	StateFailed     = "failed"     // a config error; fixed by a reload
	StateStopped    = "stopped"
)

// Config is one [[ingest]] entry, mapped by the server.
type Config struct {
	Name    string
	Enabled bool
	Input   string // rtsp://[user:pass@]host/path, ...
	// Vhost, App and Stream name the output stream in this server.
	Vhost, App, Stream string
	// Push is an rtmp:// output URL instead of a local stream: the frames
	// are published there over RTMP (on_demand does not apply).
	Push string
	// OnDemand pulls only while the stream has players.
	OnDemand bool
	// CloseAfter is how long an on-demand ingest keeps pulling after the
	// last player left (default 30 s).
	CloseAfter time.Duration
	// Transport is the RTSP transport: auto (default), udp or tcp.
	Transport string
	// Encoder is the H.264 encoder of inputs that need one: "auto" or
	// empty (libx264 for MJPEG and raw cameras, none for coded inputs),
	// "copy", or an ffmpeg encoder such as libx264, h264_v4l2m2m or
	// h264_omx (a board's hardware encoder). Set on an ffmpeg input, it
	// re-encodes the video.
	Encoder string
	// ACodec is the audio of ffmpeg inputs: "copy" (default), "aac" or
	// "none".
	ACodec string
}

// Deps are what the ingests use.
type Deps struct {
	Registry *media.Registry
	Clients  *session.Table // nil: ingests are not listed as clients
	Log      *slog.Logger   // nil: discard
	// Players counts the players of a stream, for on-demand entries. nil:
	// the stream's readers (which include remuxers such as HLS and DVR).
	Players func(vhost, app, stream string) int
	// Sources maps input URL schemes to their sources; nil: DefaultSources.
	// The key "" is for inputs without a scheme (file paths), the key "*"
	// for every scheme without a source of its own.
	Sources map[string]NewSource
	// MinBackoff and MaxBackoff bound the delay between attempts (defaults
	// 1 s and 30 s); Poll is how often on-demand entries look for players
	// (default 1 s).
	MinBackoff, MaxBackoff, Poll time.Duration
}

// DefaultSources returns the sources built in: rtsp:// and v4l2:// in
// pure Go, and ffmpeg for file paths, file:// and any other scheme.
func DefaultSources() map[string]NewSource {
	return map[string]NewSource{"rtsp": newRTSP, "v4l2": NewV4L2Source(nil),
		"": newFFmpeg, "file": newFFmpeg, "*": newFFmpeg}
}

func newRTSP(cfg Config, l *slog.Logger) (Source, error) {
	s, err := rtsp.NewSource(cfg.Input, rtsp.Config{Transport: cfg.Transport}, l)
	if err != nil {
		return nil, err
	}
	return rtspSource{s}, nil
}

// rtspSource adapts rtsp.Source, whose Publisher is the same interface.
type rtspSource struct{ s *rtsp.Source }

func (r rtspSource) Run(ctx context.Context, pub Publisher) error { return r.s.Run(ctx, pub) }
func (r rtspSource) Transport() string                            { return r.s.Transport() }
func (r rtspSource) Describe() string                             { return "rtsp" }

// Manager runs the ingests.
type Manager struct {
	deps   Deps
	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc

	applyMu sync.Mutex // one Apply at a time
	mu      sync.Mutex
	ingests map[string]*ingest
	closed  bool
}

// New returns a Manager with no ingests; Apply starts them.
func New(deps Deps) (*Manager, error) {
	if deps.Registry == nil {
		return nil, ErrNoRegistry
	}
	if deps.Log == nil {
		deps.Log = slog.New(slog.DiscardHandler)
	}
	if deps.Sources == nil {
		deps.Sources = DefaultSources()
	}
	if deps.MinBackoff <= 0 {
		deps.MinBackoff = time.Second
	}
	if deps.MaxBackoff < deps.MinBackoff {
		deps.MaxBackoff = max(30*time.Second, deps.MinBackoff)
	}
	if deps.Poll <= 0 {
		deps.Poll = time.Second
	}
	m := &Manager{deps: deps, log: deps.Log, ingests: map[string]*ingest{}}
	m.ctx, m.cancel = context.WithCancel(context.Background())
	return m, nil
}

// Apply makes the running ingests match cfgs: entries that are gone stop,
// entries that changed restart, entries that are new start, and the others
// go on undisturbed. The stopped ones have ended (and unpublished) before
// the new ones start. After Close it does nothing.
func (m *Manager) Apply(cfgs []Config) {
	next := make(map[string]Config, len(cfgs))
	for _, c := range cfgs {
		next[c.Name] = c
	}
	m.applyMu.Lock()
	defer m.applyMu.Unlock()
	m.mu.Lock()
	var stopping []*ingest
	for name, in := range m.ingests {
		if c, ok := next[name]; !ok || c != in.orig || in.failed() {
			in.stop()
			stopping = append(stopping, in)
			delete(m.ingests, name)
		}
	}
	m.mu.Unlock()
	// The old ones let go of their streams before a changed entry takes
	// its stream again.
	for _, in := range stopping {
		<-in.done
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return
	}
	for _, c := range cfgs {
		if _, ok := m.ingests[c.Name]; !ok {
			m.ingests[c.Name] = m.start(c)
		}
	}
}

// Retry restarts the entry called name at once: a failed or retrying one
// skips the rest of its backoff, a running one reconnects. Its restart
// count goes on. It returns ErrUnknown when no entry has that name.
func (m *Manager) Retry(name string) error {
	m.applyMu.Lock()
	defer m.applyMu.Unlock()
	m.mu.Lock()
	in, ok := m.ingests[name]
	if !ok || m.closed {
		m.mu.Unlock()
		return fmt.Errorf("%w: %q", ErrUnknown, name)
	}
	in.stop()
	delete(m.ingests, name)
	m.mu.Unlock()
	<-in.done
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil
	}
	n := m.start(in.orig)
	n.restarts.Store(in.restarts.Load() + 1)
	m.ingests[name] = n
	return nil
}

// Close stops every ingest and waits for them. It is idempotent.
func (m *Manager) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	all := make([]*ingest, 0, len(m.ingests))
	for _, in := range m.ingests {
		all = append(all, in)
	}
	m.mu.Unlock()
	m.cancel()
	for _, in := range all {
		<-in.done
	}
	return nil
}

// Status is an ingest as GET /api/v1/ingests shows it.
type Status struct {
	Name      string    `json:"name"`
	Input     string    `json:"input"` // password redacted
	Output    string    `json:"output"`
	Enabled   bool      `json:"enabled"`
	OnDemand  bool      `json:"on_demand"`
	State     string    `json:"state"`
	Error     string    `json:"error,omitempty"` // the last failure
	Since     time.Time `json:"since"`           // when the state began
	Restarts  uint64    `json:"restarts"`
	Frames    uint64    `json:"frames"`
	Bytes     uint64    `json:"bytes"`
	Kbps      int       `json:"kbps"`
	Transport string    `json:"transport,omitempty"`
	// Source says how the input is read: "rtsp", "v4l2 H264", "ffmpeg",
	// "v4l2 MJPG, ffmpeg libx264", ...
	Source string `json:"source,omitempty"`
}

// Status returns the state of every ingest, by name.
func (m *Manager) Status() []Status {
	m.mu.Lock()
	all := make([]*ingest, 0, len(m.ingests))
	for _, in := range m.ingests {
		all = append(all, in)
	}
	m.mu.Unlock()
	out := make([]Status, len(all))
	now := time.Now()
	for i, in := range all {
		out[i] = in.status(now)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// ingest is one supervised entry.
type ingest struct {
	m      *Manager
	orig   Config // as given to Apply, to compare
	cfg    Config // with defaults
	log    *slog.Logger
	cancel context.CancelFunc
	done   chan struct{}

	frames   atomic.Uint64
	bytes    atomic.Uint64
	restarts atomic.Uint64

	mu       sync.Mutex
	state    string
	lastErr  string
	since    time.Time
	src      Source
	sampleAt time.Time
	sampleB  uint64
	kbps     int
}

func (m *Manager) start(c Config) *ingest {
	in := &ingest{m: m, orig: c, cfg: c, done: make(chan struct{}),
		log: m.log.With("ingest", c.Name, "cid", log.NewTraceID())}
	if in.cfg.CloseAfter <= 0 {
		in.cfg.CloseAfter = 30 * time.Second
	}
	ctx, cancel := context.WithCancel(m.ctx)
	in.cancel = cancel
	if !c.Enabled {
		cancel()
		in.setState(StateDisabled, nil)
		close(in.done)
		return in
	}
	go in.run(ctx)
	return in
}

func (in *ingest) stop() { in.cancel() }

// failed reports whether the entry has failed for good: a reload starts it
// again.
func (in *ingest) failed() bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.state == StateFailed
}

func (in *ingest) setState(s string, err error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if s != in.state {
		in.state, in.since = s, time.Now()
	}
	if err != nil {
		in.lastErr = err.Error()
	}
}

func (in *ingest) status(now time.Time) Status {
	in.mu.Lock()
	defer in.mu.Unlock()
	b := in.bytes.Load()
	if d := now.Sub(in.sampleAt); in.sampleAt.IsZero() || d >= 2*time.Second {
		if !in.sampleAt.IsZero() && b >= in.sampleB {
			in.kbps = int(float64(b-in.sampleB) * 8 / d.Seconds() / 1000)
		}
		in.sampleAt, in.sampleB = now, b
	}
	st := Status{Name: in.cfg.Name, Input: redact(in.cfg.Input), Output: in.output(),
		Enabled: in.cfg.Enabled, OnDemand: in.cfg.OnDemand, State: in.state, Error: in.lastErr,
		Since: in.since, Restarts: in.restarts.Load(), Frames: in.frames.Load(), Bytes: b, Kbps: in.kbps}
	if in.state != StateRunning && in.state != StateConnecting {
		st.Kbps = 0
	}
	if t, ok := in.src.(interface{ Transport() string }); ok {
		st.Transport = t.Transport()
	}
	if d, ok := in.src.(interface{ Describe() string }); ok {
		st.Source = d.Describe()
	}
	return st
}

func (in *ingest) output() string {
	if in.cfg.Push != "" {
		return redact(in.cfg.Push)
	}
	return in.cfg.App + "/" + in.cfg.Stream
}

// redact hides the password of a URL.
func redact(s string) string {
	if u, err := url.Parse(s); err == nil && u.User != nil {
		return u.Redacted()
	}
	return s
}

// newSource picks the source of the input's scheme.
func (in *ingest) newSource() (Source, error) {
	c := in.cfg
	if c.Push != "" && !rtmp.IsURL(c.Push) {
		return nil, fmt.Errorf("ingest %s: output %s: only rtmp:// and rtmps:// URLs can be pushed to", c.Name, redact(c.Push))
	}
	scheme := ""
	if u, err := url.Parse(c.Input); err == nil {
		scheme = strings.ToLower(u.Scheme)
	}
	mk := in.m.deps.Sources[scheme]
	if mk == nil {
		mk = in.m.deps.Sources["*"]
	}
	if mk == nil {
		known := make([]string, 0, len(in.m.deps.Sources))
		for k := range in.m.deps.Sources {
			known = append(known, k+"://")
		}
		sort.Strings(known)
		return nil, fmt.Errorf("%w: %q (this build reads %s)", ErrNoSource, redact(c.Input), strings.Join(known, ", "))
	}
	return mk(c, in.log)
}

// run supervises the entry until ctx is done.
func (in *ingest) run(ctx context.Context) {
	defer close(in.done)
	defer in.setState(StateStopped, nil)
	src, err := in.newSource()
	if err != nil {
		in.setState(StateFailed, err)
		in.log.Error("ingest: cannot start: fix the entry and reload", "err", err)
		<-ctx.Done()
		return
	}
	in.mu.Lock()
	in.src = src
	in.mu.Unlock()
	d := in.m.deps
	bo := backoff.Backoff{Min: d.MinBackoff, Max: d.MaxBackoff}
	for {
		// Players of a pushed stream are elsewhere: on_demand has no
		// meaning there.
		if in.cfg.OnDemand && in.cfg.Push == "" && !in.waitPlayers(ctx) {
			return
		}
		in.setState(StateConnecting, nil)
		start := time.Now()
		idle, err := in.session(ctx, src)
		if ctx.Err() != nil {
			return
		}
		if idle {
			in.log.Info("ingest: no players: disconnected", "after", in.cfg.CloseAfter.String())
			bo.Reset()
			continue
		}
		var fatal *fatalError
		if errors.As(err, &fatal) {
			in.setState(StateFailed, err)
			in.log.Error("ingest: cannot run: fix the cause and reload", "err", err)
			<-ctx.Done()
			return
		}
		in.restarts.Add(1)
		in.setState(StateRetrying, err)
		delay := bo.Next(time.Since(start))
		in.log.Warn("ingest: source failed, retrying", "err", err, "in", delay.Round(time.Millisecond).String())
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
	}
}

// players counts the players of the output stream.
func (in *ingest) players() int {
	c := in.cfg
	if f := in.m.deps.Players; f != nil {
		return f(c.Vhost, c.App, c.Stream)
	}
	if st := in.m.deps.Registry.Lookup(c.key()); st != nil {
		return st.Stats().Readers
	}
	return 0
}

// waitPlayers waits, idle, until the stream has a player; false when ctx
// ended first.
func (in *ingest) waitPlayers(ctx context.Context) bool {
	if in.players() > 0 {
		return true
	}
	in.setState(StateIdle, nil)
	t := time.NewTicker(in.m.deps.Poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
			if in.players() > 0 {
				in.log.Info("ingest: a player arrived: connecting")
				return true
			}
		}
	}
}

// session runs the source once. For an on-demand entry a watcher ends it
// when the stream has had no players for CloseAfter; idle is then true.
func (in *ingest) session(ctx context.Context, src Source) (idle bool, err error) {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var idleStop atomic.Bool
	var wg sync.WaitGroup
	if in.cfg.OnDemand && in.cfg.Push == "" {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTicker(in.m.deps.Poll)
			defer t.Stop()
			var empty time.Time
			for {
				select {
				case <-sctx.Done():
					return
				case now := <-t.C:
					if in.players() > 0 {
						empty = time.Time{}
						continue
					}
					if empty.IsZero() {
						empty = now
					}
					if now.Sub(empty) >= in.cfg.CloseAfter {
						idleStop.Store(true)
						cancel()
						return
					}
				}
			}
		}()
	}
	pub := &publisher{in: in, kick: cancel, ctx: sctx}
	err = src.Run(sctx, pub)
	pub.close()
	cancel()
	wg.Wait()
	if err == nil {
		err = errors.New("the source ended")
	}
	if pub.kicked.Load() && ctx.Err() == nil && !idleStop.Load() {
		err = errors.New("kicked by the API")
	}
	return idleStop.Load(), err
}

// publisher publishes one session of a source: it takes the stream at the
// first frame and lets it go when the session ends.
type publisher struct {
	in        *ingest
	ctx       context.Context
	st        *media.Stream
	push      *rtmp.Client // output = rtmp://...: the frames go there instead
	client    *session.Session
	kick      context.CancelFunc
	kicked    atomic.Bool
	audioInfo bool
	// The tracks the source declared (ExpectTracks), for the stream; none
	// declared is what a new publish starts with.
	expectVideo, expectAudio bool
}

// ExpectTracks takes the tracks a source says it will send (an RTSP
// camera's SDP) to the stream, before its first frame.
func (p *publisher) ExpectTracks(video, audio bool) {
	p.expectVideo, p.expectAudio = video, audio
	if p.st != nil {
		p.st.ExpectTracks(video, audio)
	}
}

// Write implements Publisher.
func (p *publisher) Write(f *media.Frame) error {
	if p.in.cfg.Push != "" {
		return p.writePush(f)
	}
	if p.st == nil {
		if err := p.open(); err != nil {
			return err
		}
	}
	if f.IsConfig() {
		if v, ok := codec.VideoInfo(f); ok {
			p.st.SetVideoInfo(v)
		} else if a, ok := codec.AudioInfo(f); ok {
			p.st.SetAudioInfo(a)
		}
	} else {
		if !p.audioInfo && (f.Codec == media.CodecPCMA || f.Codec == media.CodecPCMU) {
			p.audioInfo = true
			p.st.SetAudioInfo(media.AudioInfo{Codec: f.Codec, SampleRate: int(f.SampleRate), Channels: int(f.Channels)})
		}
		p.in.frames.Add(1)
	}
	n := uint64(len(f.Payload))
	p.in.bytes.Add(n)
	if p.client != nil {
		p.client.BytesIn.Add(n)
	}
	f.Own()
	p.st.Write(f)
	return nil
}

func (p *publisher) open() error {
	in := p.in
	c := in.cfg
	st, err := in.m.deps.Registry.Publish(c.key())
	if err != nil {
		if errors.Is(err, media.ErrBusy) {
			return fmt.Errorf("ingest %s: %s/%s is already published by another client: %w", c.Name, c.App, c.Stream, err)
		}
		return fmt.Errorf("ingest %s: publish %s/%s: %w", c.Name, c.App, c.Stream, err)
	}
	p.st = st
	st.ExpectTracks(p.expectVideo, p.expectAudio)
	if cl := in.m.deps.Clients; cl != nil {
		host := ""
		if u, err := url.Parse(c.Input); err == nil {
			host = u.Hostname()
		}
		p.client = session.New(log.NewTraceID(), "ingest", host)
		p.client.SetURL(redact(c.Input), "")
		p.client.SetStream(c.key(), session.Publisher)
		p.client.SetStreamID(st.ID)
		p.client.SetKick(func() {
			p.kicked.Store(true)
			p.kick()
		})
		cl.Add(p.client)
	}
	in.setState(StateRunning, nil)
	in.log.Info("ingest: publishing", "input", redact(c.Input), "stream", st.Key())
	return nil
}

// writePush sends f to the output RTMP server, connecting and publishing
// at the first frame.
func (p *publisher) writePush(f *media.Frame) error {
	in := p.in
	if p.push == nil {
		c, err := rtmp.Dial(p.ctx, in.cfg.Push, rtmp.ClientOptions{})
		if err != nil {
			return fmt.Errorf("ingest %s: push to %s: %w", in.cfg.Name, redact(in.cfg.Push), err)
		}
		if err := c.Publish(p.ctx); err != nil {
			c.Close()
			return fmt.Errorf("ingest %s: push to %s: %w", in.cfg.Name, redact(in.cfg.Push), err)
		}
		p.push = c
		in.setState(StateRunning, nil)
		in.log.Info("ingest: pushing", "input", redact(in.cfg.Input), "output", redact(in.cfg.Push))
	}
	if !f.IsConfig() {
		in.frames.Add(1)
	}
	in.bytes.Add(uint64(len(f.Payload)))
	if err := p.push.WriteFrame(f); err != nil {
		return fmt.Errorf("ingest %s: push to %s: %w", in.cfg.Name, redact(in.cfg.Push), err)
	}
	return nil
}

// close unpublishes the stream, if the session took it.
func (p *publisher) close() {
	if p.push != nil {
		_ = p.push.Close()
		p.push = nil
	}
	if p.st == nil {
		return
	}
	p.st.Unpublish()
	if p.client != nil {
		p.in.m.deps.Clients.Remove(p.client)
	}
	p.st = nil
}

// key is the stream the ingest publishes in this server.
func (c Config) key() media.Key { return media.Key{Vhost: c.Vhost, App: c.App, Stream: c.Stream} }
