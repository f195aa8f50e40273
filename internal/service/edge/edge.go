// Package edge is SRS's play edge: the first player of a stream on an edge
// vhost makes the edge pull the stream from an origin and publish it into
// the local registry, where every player of every protocol shares that one
// pull. Origins are tried in order; when one dies or its stream ends the
// edge moves to the next one while the local publish goes on, so players
// keep their connections (the GOP cache bridges the gap and timestamps stay
// monotonic). The pull stops a few seconds after the last player left.
//
// How an upstream is dialed (RTMP, HTTP-FLV) is injected by the server: the
// package imports media and the formats only.
package edge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/srs-lite/srs-lite/internal/format/codec"
	"github.com/srs-lite/srs-lite/internal/log"
	"github.com/srs-lite/srs-lite/internal/media"
)

// Defaults of Deps.
const (
	DefaultIdle   = 3 * time.Second
	DefaultPoll   = 250 * time.Millisecond
	DefaultNoData = 5 * time.Second
	// dialTimeout bounds one connect and play to an origin (SRS's
	// SRS_EDGE_INGESTER_TIMEOUT is 3s).
	dialTimeout = 3 * time.Second
	// retryRound is the pause after every origin failed once (SRS sleeps 1s
	// between ingester cycles); between two origins of a round there is
	// none, so a failover costs no more than the new connect.
	retryRound = time.Second
	// switchGap is the step between the last frame of one upstream and the
	// first of the next on the local timeline.
	switchGap = 40 * time.Millisecond
)

// Request is one pull of a stream from one origin.
type Request struct {
	Origin   string // host:port, as configured
	Protocol string // rtmp | flv
	Vhost    string
	App      string
	Stream   string
	// CID is the pull's trace id: the edge logs with it and sends it to the
	// origin (SRS's srs_id in connect's args), which logs it as peer_cid.
	CID string
}

// Upstream is a connection to an origin playing one stream.
type Upstream interface {
	// Pull calls fn with each frame until the stream ends (io.EOF), the
	// connection fails, fn fails, or ctx is done. The frame's payload may
	// be borrowed for the call only: fn takes what it keeps.
	Pull(ctx context.Context, fn func(f *media.Frame) error) error
	// PeerID is the origin's id of this connection (SRS's srs_id), or "".
	PeerID() string
	Close() error
}

// Dialer connects to r.Origin and starts playing the stream.
type Dialer func(ctx context.Context, r Request) (Upstream, error)

// Config is an edge vhost's origins and how to pull from them.
type Config struct {
	Origins  []string
	Protocol string
}

// Deps are what a Manager needs from the server.
type Deps struct {
	Registry *media.Registry
	Dial     Dialer
	// Config returns the edge settings of a vhost, ok false when the vhost
	// is not (or no longer) an edge. It is read at each origin switch, so
	// a reload applies at the next one.
	Config func(vhost string) (Config, bool)
	// Players counts a stream's players in the session table (HLS viewers
	// read no ring, and are counted there only). The registry's readers
	// count too.
	Players func(vhost, app, stream string) int
	Log     *slog.Logger
	// Idle is how long a pull goes on without players, default DefaultIdle.
	Idle time.Duration
	// Poll is how often players are counted, default DefaultPoll.
	Poll time.Duration
	// NoData leaves an origin that sent no frame for this long (a stream
	// it does not have: RTMP and HTTP-FLV origins let a player wait),
	// default DefaultNoData.
	NoData time.Duration
}

// Manager runs the pulls of an edge server.
type Manager struct {
	deps   Deps
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	pulls  map[media.Key]*pull
	closed bool
}

// New returns a Manager; Close stops its pulls.
func New(d Deps) (*Manager, error) {
	if d.Registry == nil || d.Dial == nil || d.Config == nil {
		return nil, errors.New("edge: registry, dialer and config are required")
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Idle <= 0 {
		d.Idle = DefaultIdle
	}
	if d.Poll <= 0 {
		d.Poll = DefaultPoll
	}
	if d.NoData <= 0 {
		d.NoData = DefaultNoData
	}
	m := &Manager{deps: d, pulls: map[media.Key]*pull{}}
	m.ctx, m.cancel = context.WithCancel(context.Background())
	return m, nil
}

// Demand starts pulling a stream of an edge vhost unless a pull of it runs
// already. It returns at once; it is the registry's OnSubscribe callback.
func (m *Manager) Demand(vhost, app, stream string) {
	cfg, ok := m.deps.Config(vhost)
	if !ok || len(cfg.Origins) == 0 {
		return
	}
	key := media.Key{Vhost: vhost, App: app, Stream: stream}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return
	}
	if p := m.pulls[key]; p != nil {
		if p.stopping {
			p.again = true // a player came while it was stopping: pull again
		}
		return
	}
	m.startLocked(key)
}

func (m *Manager) startLocked(key media.Key) {
	p := &pull{m: m, key: key}
	m.pulls[key] = p
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		p.run(m.ctx)
		m.mu.Lock()
		again := p.again && !m.closed
		delete(m.pulls, key)
		if again {
			m.startLocked(key)
		}
		m.mu.Unlock()
	}()
}

// Status is one pull as the API shows it.
type Status struct {
	Vhost     string `json:"vhost"`
	App       string `json:"app"`
	Stream    string `json:"stream"`
	Origin    string `json:"origin"`     // the origin pulled from now, "" between two
	CID       string `json:"cid"`        // the current upstream's trace id
	PeerID    string `json:"peer_cid"`   // the origin's id of it
	Switches  int    `json:"switches"`   // upstream changes after the first
	Frames    uint64 `json:"frames"`     // frames written locally
	Since     string `json:"since"`      // start of the pull
	Published bool   `json:"publishing"` // the local publish is on
}

// Status returns the running pulls.
func (m *Manager) Status() []Status {
	m.mu.Lock()
	ps := make([]*pull, 0, len(m.pulls))
	for _, p := range m.pulls {
		ps = append(ps, p)
	}
	m.mu.Unlock()
	out := make([]Status, 0, len(ps))
	for _, p := range ps {
		p.smu.Lock()
		out = append(out, Status{Vhost: p.key.Vhost, App: p.key.App, Stream: p.key.Stream, Origin: p.origin,
			CID: p.cid, PeerID: p.peer, Switches: p.switches, Frames: p.frames,
			Since: p.since.UTC().Format(time.RFC3339), Published: p.published})
		p.smu.Unlock()
	}
	return out
}

// Close stops every pull (their local publishes end) and waits for them.
func (m *Manager) Close() {
	m.mu.Lock()
	m.closed = true
	m.mu.Unlock()
	m.cancel()
	m.wg.Wait()
}

// pull is one stream pulled from the origins: one local publish across
// every upstream connection it makes.
type pull struct {
	m   *Manager
	key media.Key

	// Under Manager.mu.
	stopping bool
	again    bool

	// The writer's state: the pull goroutine only.
	st       *media.Stream
	rebase   bool          // the next media frame is the first of a new upstream
	offset   time.Duration // added to the upstream's timestamps
	last     time.Duration // the highest DTS written
	lastV    time.Duration
	lastA    time.Duration
	wrote    bool
	lastRecv time.Time

	// Status, under smu.
	smu       sync.Mutex
	origin    string
	cid       string
	peer      string
	switches  int
	frames    uint64
	since     time.Time
	published bool
	recvAt    time.Time
}

func (p *pull) players() int {
	n := 0
	if f := p.m.deps.Players; f != nil {
		n = f(p.key.Vhost, p.key.App, p.key.Stream)
	}
	if st := p.m.deps.Registry.Lookup(p.key); st != nil {
		n += st.Stats().Readers
	}
	return n
}

// run pulls until the stream has had no players for Idle, the vhost is no
// longer an edge, or ctx is done.
func (p *pull) run(ctx context.Context) {
	d := p.m.deps
	l := d.Log.With("stream", p.key.String())
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	p.smu.Lock()
	p.since = time.Now()
	p.smu.Unlock()
	l.Info("edge: a player wants the stream: pulling it from the origins")

	// The watchdog: no players for Idle ends the pull; an upstream that
	// sends nothing for NoData is left for the next origin.
	var upMu sync.Mutex
	var upCancel context.CancelFunc
	go func() {
		t := time.NewTicker(d.Poll)
		defer t.Stop()
		var empty time.Time
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-t.C:
				if p.players() > 0 {
					empty = time.Time{}
				} else if empty.IsZero() {
					empty = now
				} else if now.Sub(empty) >= d.Idle {
					p.m.mu.Lock()
					p.stopping = true
					p.m.mu.Unlock()
					l.Info("edge: no players: stopping the pull", "after", d.Idle.String())
					cancel()
					return
				}
				p.smu.Lock()
				stale := !p.recvAt.IsZero() && now.Sub(p.recvAt) > d.NoData
				p.smu.Unlock()
				if stale {
					upMu.Lock()
					if upCancel != nil {
						upCancel()
					}
					upMu.Unlock()
				}
			}
		}
	}()

	defer func() {
		if p.st != nil {
			p.st.Unpublish()
			p.st = nil
			l.Info("edge: local publish ended")
		}
	}()
	next := 0
	failed := 0
	for ctx.Err() == nil {
		cfg, ok := d.Config(p.key.Vhost)
		if !ok || len(cfg.Origins) == 0 {
			l.Info("edge: the vhost is no longer an edge: stopping the pull")
			return
		}
		origin := cfg.Origins[next%len(cfg.Origins)]
		next++
		cid := log.NewTraceID()
		ul := l.With("cid", cid, "origin", origin, "protocol", cfg.Protocol)
		uctx, ucancel := context.WithCancel(ctx)
		upMu.Lock()
		upCancel = ucancel
		upMu.Unlock()
		p.smu.Lock()
		p.origin, p.cid, p.peer = origin, cid, ""
		p.recvAt = time.Now() // the dial and the wait for the stream count as silence
		p.smu.Unlock()

		start := time.Now()
		err := p.upstream(uctx, ul, Request{Origin: origin, Protocol: cfg.Protocol, Vhost: p.key.Vhost,
			App: p.key.App, Stream: p.key.Stream, CID: cid})
		ucancel()
		p.smu.Lock()
		p.origin, p.recvAt = "", time.Time{}
		p.smu.Unlock()
		if ctx.Err() != nil {
			return
		}
		if errors.Is(err, media.ErrBusy) {
			ul.Warn("edge: the stream is published here by another client: no pull")
			return
		}
		ul.Warn("edge: upstream ended: next origin", "err", err, "after", time.Since(start).Round(time.Millisecond).String())
		// A round of failures in a row waits before the next round.
		if !p.gotFrames(start) {
			failed++
		} else {
			failed = 0
		}
		if failed >= len(cfg.Origins) {
			failed = 0
			select {
			case <-ctx.Done():
				return
			case <-time.After(retryRound):
			}
		}
	}
}

// gotFrames reports whether the last upstream, started at start, sent
// frames.
func (p *pull) gotFrames(start time.Time) bool { return !p.lastRecv.Before(start) }

// upstream runs one connection to one origin.
func (p *pull) upstream(ctx context.Context, l *slog.Logger, r Request) error {
	dctx, cancel := context.WithTimeout(ctx, dialTimeout)
	up, err := p.m.deps.Dial(dctx, r)
	cancel()
	if err != nil {
		return fmt.Errorf("edge: pull from %s: %w", r.Origin, err)
	}
	defer up.Close()
	peer := up.PeerID()
	p.smu.Lock()
	p.peer = peer
	if p.published {
		p.switches++
	}
	p.smu.Unlock()
	l.Info("edge: pulling", "peer_cid", peer)
	p.rebase = true
	return up.Pull(ctx, p.write)
}

// write publishes one upstream frame locally: the local publish starts with
// the first frame and goes on across upstreams, on one timeline.
func (p *pull) write(f *media.Frame) error {
	now := time.Now()
	p.lastRecv = now
	if p.st == nil {
		st, err := p.m.deps.Registry.Publish(p.key)
		if err != nil {
			return err
		}
		p.st = st
		p.smu.Lock()
		p.published = true
		p.smu.Unlock()
	}
	f.Own()
	av := f.Codec.IsVideo() || f.Codec.IsAudio()
	if p.rebase && av && !f.IsConfig() {
		// The first frame of a new upstream: its timeline restarts (a
		// republished stream, another origin), so it goes on from the
		// last frame written, switchGap later.
		p.rebase = false
		if p.wrote {
			p.offset = p.last + switchGap - f.DTS
		}
	}
	if p.rebase && p.wrote {
		// Sequence headers and metadata ahead of the new upstream's first
		// frame: at the last time written.
		f.PTS += p.last - f.DTS
		f.DTS = p.last
	} else {
		f.DTS += p.offset
		f.PTS += p.offset
	}
	// Never back in time on a track, whatever the origin sends.
	track := &p.lastA
	if f.Codec.IsVideo() {
		track = &p.lastV
	}
	if av && p.wrote && f.DTS < *track {
		d := *track - f.DTS
		f.DTS += d
		f.PTS += d
	}
	if av {
		*track = f.DTS
		p.last = max(p.last, f.DTS)
		p.wrote = true
	}
	if f.IsConfig() {
		if v, ok := codec.VideoInfo(f); ok {
			p.st.SetVideoInfo(v)
		} else if a, ok := codec.AudioInfo(f); ok {
			p.st.SetAudioInfo(a)
		}
	}
	p.smu.Lock()
	p.frames++
	p.recvAt = now
	p.smu.Unlock()
	p.st.Write(f)
	return nil
}
