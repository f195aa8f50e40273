// Package forward pushes published streams to other RTMP servers: SRS's
// forward ([vhost.forward] destinations), its dynamic forward (the
// on_forward hook's answer) and the publish side of an edge (a publisher on
// an edge goes to the origin, with failover between origins).
//
// Each destination of each publish session is a job: it reads the stream's
// ring like any reader (so a slow or dead destination never slows the
// publisher or the players: a lapped reader skips to the newest keyframe),
// connects and publishes through the Dialer the server gives it, and
// reconnects with backoff until the publish session ends. A running job is
// a session in the session table (proto "forward", role publisher).
package forward

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/srs-lite/srs-lite/internal/backoff"
	"github.com/srs-lite/srs-lite/internal/log"
	"github.com/srs-lite/srs-lite/internal/media"
	"github.com/srs-lite/srs-lite/internal/session"
)

// ErrNoRegistry is returned by New without a media registry or dialer.
var ErrNoRegistry = errors.New("forward: no media registry or dialer")

// errWriteTimeout ends a connection whose writes stay blocked.
var errWriteTimeout = errors.New("forward: destination stopped reading (write timeout)")

// States of a job, as the API shows them.
const (
	StateConnecting = "connecting" // dialing and publishing
	StateForwarding = "forwarding" // the destination takes the stream
	StateRetrying   = "retrying"   // waiting out the backoff after a failure
)

// Kinds of targets.
const (
	KindForward = "forward"    // a [vhost.forward] destination
	KindDynamic = "on_forward" // a URL the on_forward hook answered
	KindEdge    = "edge"       // a publish edge's origins
)

// Conn is one RTMP publish at a destination, connected and publishing.
type Conn interface {
	// WriteFrame sends f; the caller keeps its reference.
	WriteFrame(f *media.Frame) error
	// Close ends the publish; it unblocks a WriteFrame in progress.
	Close() error
	// BytesWritten is how many bytes the connection has sent.
	BytesWritten() uint64
	// PeerID is the destination's id of the connection (SRS's srs_id in
	// the connect result), "" when it sent none.
	PeerID() string
}

// Dialer connects to an rtmp:// URL and publishes its stream.
type Dialer func(ctx context.Context, url string) (Conn, error)

// Target is where one publish session goes: a destination (one URL), or a
// publish edge's origins (URLs tried in order, moving to the next when one
// refuses or dies).
type Target struct {
	Kind string
	URLs []string
}

func (t Target) id() string { return t.Kind + "\x00" + strings.Join(t.URLs, "\x00") }

// Deps are what the forwards use.
type Deps struct {
	Registry *media.Registry
	Clients  *session.Table // nil: forwards are not listed as clients
	Log      *slog.Logger   // nil: discard
	Dial     Dialer
	// MinBackoff and MaxBackoff bound the delay between reconnections
	// (defaults 1 s and 10 s; SRS retries every 3 s).
	MinBackoff, MaxBackoff time.Duration
	// DialTimeout bounds connect and publish (default 10 s); WriteTimeout
	// ends a connection whose write has been blocked that long (default
	// 10 s).
	DialTimeout, WriteTimeout time.Duration
}

// Manager runs the forwards of the live publish sessions.
type Manager struct {
	deps Deps
	log  *slog.Logger
	ctx  context.Context
	stop context.CancelFunc

	mu     sync.Mutex
	pubs   map[media.Key]*Publish // by stream key: the current session's
	closed bool
	wg     sync.WaitGroup
}

// New returns a Manager.
func New(deps Deps) (*Manager, error) {
	if deps.Registry == nil || deps.Dial == nil {
		return nil, ErrNoRegistry
	}
	if deps.Log == nil {
		deps.Log = slog.New(slog.DiscardHandler)
	}
	if deps.MinBackoff <= 0 {
		deps.MinBackoff = time.Second
	}
	if deps.MaxBackoff < deps.MinBackoff {
		deps.MaxBackoff = max(10*time.Second, deps.MinBackoff)
	}
	if deps.DialTimeout <= 0 {
		deps.DialTimeout = 10 * time.Second
	}
	if deps.WriteTimeout <= 0 {
		deps.WriteTimeout = 10 * time.Second
	}
	m := &Manager{deps: deps, log: deps.Log, pubs: map[media.Key]*Publish{}}
	m.ctx, m.stop = context.WithCancel(context.Background())
	return m, nil
}

// Publish is the forwards of one publish session of a stream.
type Publish struct {
	m     *Manager
	st    *media.Stream
	at    time.Time // the session's start: Stats().PublishedAt
	ctx   context.Context
	stop  context.CancelFunc
	param string

	mu   sync.Mutex
	jobs map[string]*job // by Target.id
}

// Start begins the forwards of a new publish session of st, replacing
// those of its previous session, and starts targets. It is called in the
// publisher's goroutine (Registry.OnPublish), so that the first targets see
// the session from its first frame, and does not block.
func (m *Manager) Start(st *media.Stream, targets ...Target) *Publish {
	p := &Publish{m: m, st: st, at: st.Stats().PublishedAt, jobs: map[string]*job{}}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return p
	}
	p.ctx, p.stop = context.WithCancel(m.ctx)
	if prev := m.pubs[st.Key()]; prev != nil {
		prev.stop()
	}
	m.pubs[st.Key()] = p
	m.mu.Unlock()
	p.set(targets, nil, true)
	return p
}

// Apply sets the targets of the kinds given for the live publish session
// of st (a reload): jobs of those kinds not in targets stop, new targets
// start, joining the stream at its newest keyframe.
func (m *Manager) Apply(st *media.Stream, targets []Target, kinds ...string) {
	m.mu.Lock()
	p := m.pubs[st.Key()]
	m.mu.Unlock()
	if p != nil && p.st == st && p.live() {
		p.Set(targets, kinds...)
		return
	}
	if len(targets) > 0 {
		m.Start(st, targets...)
	}
}

// Add starts more targets for the session (the on_forward hook's answer).
// It does nothing once the session has ended.
func (p *Publish) Add(targets ...Target) {
	p.set(targets, nil, false)
}

// Set makes targets the jobs of the kinds given: other jobs of those kinds
// stop, new targets start.
func (p *Publish) Set(targets []Target, kinds ...string) {
	p.set(targets, kinds, false)
}

// set starts the targets not running and stops the running jobs of kinds
// not in targets. fromStart subscribes the new jobs' readers now, from the
// publisher's goroutine, so that they get the session from its first
// frame; otherwise each connection joins at the newest keyframe.
func (p *Publish) set(targets []Target, kinds []string, fromStart bool) {
	if p.ctx == nil || p.ctx.Err() != nil || !p.live() {
		return
	}
	m := p.m
	want := map[string]bool{}
	for _, t := range targets {
		if len(t.URLs) > 0 {
			want[t.id()] = true
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for id, j := range p.jobs {
		if !want[id] && containsKind(kinds, j.target.Kind) {
			j.cancel()
			delete(p.jobs, id)
		}
	}
	for _, t := range targets {
		id := t.id()
		if len(t.URLs) == 0 || p.jobs[id] != nil {
			continue
		}
		j := &job{p: p, target: t, state: StateConnecting, since: time.Now(), url: t.URLs[0]}
		j.log = m.log.With("cid", log.NewTraceID(), "stream", p.st.Key(), "kind", t.Kind)
		var ctx context.Context
		ctx, j.cancel = context.WithCancel(p.ctx)
		var rd *media.Reader
		if fromStart {
			rd = m.deps.Registry.SubscribeInternal(p.st.Key(), j.log)
		}
		p.jobs[id] = j
		m.wg.Add(1)
		go j.run(ctx, rd)
	}
}

func containsKind(kinds []string, k string) bool {
	for _, x := range kinds {
		if x == k {
			return true
		}
	}
	return false
}

// done forgets an ended job, and the session once it has none left and
// has ended.
func (p *Publish) done(j *job) {
	p.mu.Lock()
	for id, x := range p.jobs {
		if x == j {
			delete(p.jobs, id)
		}
	}
	empty := len(p.jobs) == 0
	p.mu.Unlock()
	if empty && !p.live() {
		p.m.mu.Lock()
		if p.m.pubs[p.st.Key()] == p {
			delete(p.m.pubs, p.st.Key())
		}
		p.m.mu.Unlock()
	}
}

// live reports whether the publish session is still the stream's.
func (p *Publish) live() bool {
	s := p.st.Stats()
	return s.Publishing && s.PublishedAt.Equal(p.at)
}

// Close stops every forward and waits for them. It is idempotent.
func (m *Manager) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	m.mu.Unlock()
	m.stop()
	m.wg.Wait()
	return nil
}

// Status is a forward as the API shows it.
type Status struct {
	ID       string    `json:"id"`   // the session id while connected, else the job's
	Kind     string    `json:"kind"` // forward | on_forward | edge
	Vhost    string    `json:"vhost"`
	Stream   string    `json:"stream"` // app/stream
	URL      string    `json:"url"`    // the destination now, query redacted
	URLs     []string  `json:"urls,omitempty"`
	State    string    `json:"state"`
	Error    string    `json:"error,omitempty"` // the last failure
	Since    time.Time `json:"since"`
	Restarts uint64    `json:"restarts"`
	Frames   uint64    `json:"frames"`
	Bytes    uint64    `json:"bytes"`
	Kbps     uint64    `json:"kbps"`
	PeerID   string    `json:"peer_id,omitempty"` // the destination's connection id (srs_id)
}

// Status lists the forwards of the live sessions, by stream and URL.
func (m *Manager) Status() []Status {
	m.mu.Lock()
	pubs := make([]*Publish, 0, len(m.pubs))
	for _, p := range m.pubs {
		pubs = append(pubs, p)
	}
	m.mu.Unlock()
	out := []Status{}
	for _, p := range pubs {
		p.mu.Lock()
		for _, j := range p.jobs {
			out = append(out, j.status())
		}
		p.mu.Unlock()
	}
	sort.Slice(out, func(i, k int) bool {
		if out[i].Vhost+"/"+out[i].Stream != out[k].Vhost+"/"+out[k].Stream {
			return out[i].Vhost+"/"+out[i].Stream < out[k].Vhost+"/"+out[k].Stream
		}
		return out[i].URL < out[k].URL
	})
	return out
}

// job forwards one publish session to one target.
type job struct {
	p      *Publish
	target Target
	log    *slog.Logger
	cancel context.CancelFunc

	frames, restarts atomic.Uint64
	bytesDone        atomic.Uint64 // bytes of ended connections
	conn             atomic.Pointer[connBox]

	mu      sync.Mutex
	state   string
	lastErr string
	since   time.Time
	url     string
	peer    string
	client  string
	kbps    uint64
}

type connBox struct{ c Conn }

func (j *job) setState(s string, err error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if s != j.state {
		j.state, j.since = s, time.Now()
	}
	if err != nil {
		j.lastErr = err.Error()
	}
}

func (j *job) bytes() uint64 {
	n := j.bytesDone.Load()
	if b := j.conn.Load(); b != nil {
		n += b.c.BytesWritten()
	}
	return n
}

func (j *job) status() Status {
	bytes := j.bytes()
	j.mu.Lock()
	defer j.mu.Unlock()
	st := j.p.st
	s := Status{ID: j.client, Kind: j.target.Kind, Vhost: st.Vhost, Stream: st.App + "/" + st.Name,
		URL: Redact(j.url), State: j.state, Error: j.lastErr, Since: j.since, Restarts: j.restarts.Load(),
		Frames: j.frames.Load(), Bytes: bytes, Kbps: j.kbps, PeerID: j.peer}
	if len(j.target.URLs) > 1 {
		for _, u := range j.target.URLs {
			s.URLs = append(s.URLs, Redact(u))
		}
	}
	return s
}

// run supervises the job until the publish session ends or ctx does. rd,
// when not nil, is a reader subscribed at the session's start.
func (j *job) run(ctx context.Context, rd *media.Reader) {
	m := j.p.m
	defer m.wg.Done()
	defer func() {
		if rd != nil {
			rd.Close()
		}
		j.p.done(j)
	}()
	bo := backoff.Backoff{Min: m.deps.MinBackoff, Max: m.deps.MaxBackoff}
	urls := j.target.URLs
	idx, failed := 0, 0 // the URL tried now; failures in a row
	for {
		u := urls[idx]
		j.mu.Lock()
		j.url = u
		j.mu.Unlock()
		j.setState(StateConnecting, nil)
		start := time.Now()
		forwarded, srcEnded, err := j.session(ctx, u, &rd)
		if ctx.Err() != nil || srcEnded {
			return
		}
		j.restarts.Add(1)
		j.setState(StateRetrying, err)
		if forwarded {
			failed = 0
		}
		failed++
		delay := time.Duration(0)
		if len(urls) > 1 {
			// Failover: the next origin at once, the backoff once every
			// origin has failed in a row.
			idx = (idx + 1) % len(urls)
			if failed%len(urls) == 0 {
				delay = bo.Next(time.Since(start))
			}
		} else {
			delay = bo.Next(time.Since(start))
		}
		if forwarded {
			bo.Reset()
			delay = min(delay, m.deps.MinBackoff)
		}
		j.log.Warn("forward: failed, retrying", "url", Redact(u), "err", err,
			"in", delay.Round(time.Millisecond).String(), "next", Redact(urls[idx]))
		if !j.wait(ctx, delay) {
			return
		}
	}
}

// wait waits d, and reports false when ctx or the publish session ends
// first.
func (j *job) wait(ctx context.Context, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for {
		if ctx.Err() != nil || !j.p.live() {
			return false
		}
		left := time.Until(deadline)
		if left <= 0 {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(min(left, 250*time.Millisecond)):
		}
	}
}

// session makes one connection to u and forwards until it fails, ctx ends
// or the publish session ends (srcEnded). forwarded reports that the
// destination took the stream. *first, when not nil, is a reader from the
// session's start: it is used (and set to nil) once connected, so that a
// destination that comes up soon still gets the session from its start.
func (j *job) session(ctx context.Context, u string, first **media.Reader) (forwarded, srcEnded bool, err error) {
	m := j.p.m
	st := j.p.st
	dctx, dcancel := context.WithTimeout(ctx, m.deps.DialTimeout)
	c, err := m.deps.Dial(dctx, u)
	dcancel()
	if err != nil {
		return false, false, err
	}
	rd := *first
	*first = nil
	if rd == nil {
		rd = m.deps.Registry.SubscribeInternal(st.Key(), j.log)
	}
	defer rd.Close()
	if !j.p.live() {
		// Ended while connecting; the reader may wait for a new session.
		c.Close()
		return false, true, nil
	}
	sctx, scancel := context.WithCancel(ctx)
	defer scancel()
	j.conn.Store(&connBox{c})
	var cl *session.Session
	if tab := m.deps.Clients; tab != nil {
		cl = session.New(log.NewTraceID(), "forward", host(u))
		cl.SetURL(Redact(u), "")
		cl.SetStream(st.Key(), session.Publisher)
		cl.SetStreamID(st.ID)
		cl.SetKick(scancel)
		tab.Add(cl)
	}
	j.mu.Lock()
	j.peer = c.PeerID()
	if cl != nil {
		j.client = cl.ID
	}
	j.mu.Unlock()
	j.setState(StateForwarding, nil)
	j.log.Info("forward: connected", "url", Redact(u), "origin_cid", c.PeerID())

	// The watchdog: a destination that stops reading blocks WriteFrame;
	// closing the connection unblocks it. It also samples the rate.
	var writing atomic.Int64 // unix nanos of the write in progress, 0 when none
	wdone := make(chan struct{})
	timedOut := atomic.Bool{}
	go func() {
		defer close(wdone)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		lastN, lastT := c.BytesWritten(), time.Now()
		for {
			select {
			case <-sctx.Done():
				c.Close()
				return
			case now := <-t.C:
				if w := writing.Load(); w != 0 && now.Sub(time.Unix(0, w)) > m.deps.WriteTimeout {
					timedOut.Store(true)
					c.Close()
				}
				n := c.BytesWritten()
				if cl != nil {
					cl.BytesOut.Store(n)
				}
				if d := now.Sub(lastT); d >= 5*time.Second {
					j.mu.Lock()
					j.kbps = (n - lastN) * 8 * uint64(time.Second) / uint64(d) / 1000
					j.mu.Unlock()
					lastN, lastT = n, now
				}
			}
		}
	}()

	var frames [32]media.Frame
	for err == nil {
		var n int
		n, err = rd.Read(sctx, frames[:])
		for i := range frames[:n] {
			if err == nil || errors.Is(err, io.EOF) {
				writing.Store(time.Now().UnixNano())
				if werr := c.WriteFrame(&frames[i]); werr != nil {
					err = werr
				} else if !frames[i].IsConfig() {
					j.frames.Add(1)
				}
				writing.Store(0)
			}
			frames[i].Release()
		}
	}
	scancel()
	<-wdone
	c.Close()
	nb := c.BytesWritten()
	j.conn.Store(nil)
	j.bytesDone.Add(nb)
	if cl != nil {
		cl.BytesOut.Store(nb)
		m.deps.Clients.Remove(cl)
	}
	j.mu.Lock()
	j.client, j.kbps = "", 0
	j.mu.Unlock()
	switch {
	case errors.Is(err, io.EOF):
		j.log.Info("forward: publish ended", "url", Redact(u), "bytes", nb)
		return true, true, nil
	case ctx.Err() != nil:
		return true, false, ctx.Err()
	case timedOut.Load():
		return true, false, errWriteTimeout
	case errors.Is(err, context.Canceled):
		return true, false, errors.New("forward: kicked")
	}
	return true, false, err
}
