package transcode

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/srs-lite/srs-lite/internal/backoff"
	"github.com/srs-lite/srs-lite/internal/ffmpeg"
	"github.com/srs-lite/srs-lite/internal/format/codec"
	"github.com/srs-lite/srs-lite/internal/format/flv"
	"github.com/srs-lite/srs-lite/internal/log"
	"github.com/srs-lite/srs-lite/internal/media"
	"github.com/srs-lite/srs-lite/internal/session"
)

// ErrNoRegistry is returned by New without a media registry.
var ErrNoRegistry = errors.New("transcode: no media registry")

// States of a transcoder, as the API shows them.
const (
	StateStarting = "starting" // ffmpeg runs, no output yet
	StateRunning  = "running"  // the output stream is published
	StateRetrying = "retrying" // waiting out the backoff after a failure
	StateFailed   = "failed"   // ffmpeg is missing: fixed by installing it and a reload
)

// Deps are what the transcoders use.
type Deps struct {
	Registry *media.Registry
	Clients  *session.Table // nil: outputs are not listed as clients
	Log      *slog.Logger   // nil: discard
	// MinBackoff and MaxBackoff bound the delay between restarts of a
	// failing child (defaults 1 s and 30 s).
	MinBackoff, MaxBackoff time.Duration
}

// Manager runs the transcoders of the rules in force.
type Manager struct {
	deps Deps
	log  *slog.Logger
	ctx  context.Context
	stop context.CancelFunc

	mu      sync.Mutex
	rules   []Rule
	jobs    map[string]*job // rule name + "\x00" + source key
	outputs map[string]int  // output stream keys of running jobs
	closed  bool
	wg      sync.WaitGroup
}

// New returns a Manager without rules.
func New(deps Deps) (*Manager, error) {
	if deps.Registry == nil {
		return nil, ErrNoRegistry
	}
	if deps.Log == nil {
		deps.Log = slog.New(slog.DiscardHandler)
	}
	if deps.MinBackoff <= 0 {
		deps.MinBackoff = time.Second
	}
	if deps.MaxBackoff < deps.MinBackoff {
		deps.MaxBackoff = max(30*time.Second, deps.MinBackoff)
	}
	m := &Manager{deps: deps, log: deps.Log, jobs: map[string]*job{}, outputs: map[string]int{}}
	m.ctx, m.stop = context.WithCancel(context.Background())
	return m, nil
}

// SetRules makes rules the rules in force: transcoders of removed or
// changed rules stop, and the new and changed rules start on the streams
// being published now (from their latest keyframe), as do failed ones (ffmpeg
// was missing): a reload retries them.
func (m *Manager) SetRules(rules []Rule) {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return
	}
	m.rules = append([]Rule(nil), rules...)
	for k, j := range m.jobs {
		same := false
		for _, r := range rules {
			same = same || reflect.DeepEqual(j.rule, r)
		}
		if !same {
			j.stop()
			if j.ended() {
				delete(m.jobs, k)
			}
		}
	}
	m.mu.Unlock()
	for _, st := range m.deps.Registry.Streams() {
		if st.Publishing() {
			m.publish(st, false)
		}
	}
}

// Publish starts the transcoders of a new publish session of st. The
// server calls it from Registry.OnPublish, in the publisher's goroutine,
// so that the transcoders see the session from its first frame. It does
// not block. The outputs of transcoders are never transcoded again.
func (m *Manager) Publish(st *media.Stream) { m.publish(st, true) }

// publish starts the transcoders of st. A new session replaces the
// transcoders of the previous one; otherwise (SetRules) running ones are
// kept.
func (m *Manager) publish(st *media.Stream, session bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed || m.outputs[st.Key().String()] > 0 {
		return
	}
	for _, r := range m.rules {
		if !r.Match(st.Vhost, st.App, st.Name) {
			continue
		}
		key := r.Name + "\x00" + st.Key().String()
		prev := m.jobs[key]
		if prev != nil && !session && !prev.ended() && !prev.stopping.Load() && prev.currentState() != StateFailed {
			continue // SetRules: already running
		}
		if prev != nil {
			prev.stop() // the new transcoder waits for it to let go of the output
		}
		outApp, outStream := r.OutputName(st.Vhost, st.App, st.Name)
		if outApp == st.App && outStream == st.Name {
			continue // validated away; never transcode a stream into itself
		}
		j := &job{m: m, rule: r, key: key, src: st, outApp: outApp, outStream: outStream,
			outKey: st.Vhost + "/" + outApp + "/" + outStream, prev: prev, done: make(chan struct{}),
			state: StateStarting, since: time.Now()}
		j.log = m.log.With("transcode", r.Name, "cid", log.NewTraceID(), "stream", st.Key(),
			"output", outApp+"/"+outStream)
		var ctx context.Context
		ctx, j.cancel = context.WithCancel(m.ctx)
		rd := m.deps.Registry.SubscribeInternal(st.Key(), j.log)
		m.jobs[key] = j
		m.outputs[j.outKey]++
		m.wg.Add(1)
		go j.run(ctx, rd)
	}
}

// Close stops every transcoder and waits for them. It is idempotent.
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

// Status is a transcoder as the API shows it.
type Status struct {
	Name     string    `json:"name"`   // the rule
	Input    string    `json:"input"`  // app/stream of the source
	Output   string    `json:"output"` // app/stream made
	Vhost    string    `json:"vhost"`
	State    string    `json:"state"`
	Error    string    `json:"error,omitempty"` // the last failure
	Since    time.Time `json:"since"`
	Restarts uint64    `json:"restarts"`
	Frames   uint64    `json:"frames"` // frames published into the output
	Bytes    uint64    `json:"bytes"`
	PID      int       `json:"pid,omitempty"` // of the running ffmpeg
}

// Status lists the transcoders, running or failed, by rule and input.
func (m *Manager) Status() []Status {
	m.mu.Lock()
	out := make([]Status, 0, len(m.jobs))
	for _, j := range m.jobs {
		out = append(out, j.status())
	}
	m.mu.Unlock()
	sort.Slice(out, func(i, k int) bool {
		if out[i].Name != out[k].Name {
			return out[i].Name < out[k].Name
		}
		return out[i].Input < out[k].Input
	})
	return out
}

// job transcodes one publish session of one source with one rule.
type job struct {
	m                 *Manager
	rule              Rule
	key               string
	src               *media.Stream
	outApp, outStream string
	outKey            string
	prev              *job
	log               *slog.Logger
	cancel            context.CancelFunc
	done              chan struct{}

	frames, bytes, restarts atomic.Uint64
	stopping                atomic.Bool // canceled by a rule change or a new session

	mu      sync.Mutex
	state   string
	lastErr string
	since   time.Time
	pid     int
	kill    context.CancelFunc // of the running session
	end     bool
}

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

// stop cancels the job.
func (j *job) stop() {
	j.stopping.Store(true)
	j.cancel()
}

func (j *job) currentState() string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.state
}

func (j *job) ended() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.end
}

func (j *job) status() Status {
	j.mu.Lock()
	defer j.mu.Unlock()
	return Status{Name: j.rule.Name, Input: j.src.App + "/" + j.src.Name, Output: j.outApp + "/" + j.outStream,
		Vhost: j.src.Vhost, State: j.state, Error: j.lastErr, Since: j.since, Restarts: j.restarts.Load(),
		Frames: j.frames.Load(), Bytes: j.bytes.Load(), PID: j.pid}
}

// run supervises the job until the source's session ends or ctx does.
func (j *job) run(ctx context.Context, rd *media.Reader) {
	m := j.m
	defer m.wg.Done()
	defer func() {
		j.mu.Lock()
		j.end, j.pid = true, 0
		j.mu.Unlock()
		m.mu.Lock()
		if m.outputs[j.outKey]--; m.outputs[j.outKey] <= 0 {
			delete(m.outputs, j.outKey)
		}
		if m.jobs[j.key] == j {
			delete(m.jobs, j.key)
		}
		m.mu.Unlock()
		close(j.done)
	}()
	if j.prev != nil {
		// The previous session's transcoder lets go of the output first.
		select {
		case <-j.prev.done:
		case <-ctx.Done():
			rd.Close()
			return
		}
		j.prev = nil
	}
	bo := backoff.Backoff{Min: m.deps.MinBackoff, Max: m.deps.MaxBackoff}
	for {
		start := time.Now()
		srcEnded, err := j.session(ctx, rd)
		rd = nil
		if ctx.Err() != nil || srcEnded {
			return
		}
		var nf *notFound
		if errors.As(err, &nf) {
			// Listed as failed while the source is published; a reload or a
			// new session of the source tries again.
			j.setState(StateFailed, err)
			j.log.Error("transcode: cannot run: install ffmpeg, then reload", "err", err)
			j.waitSourceEnd(ctx)
			return
		}
		j.restarts.Add(1)
		j.setState(StateRetrying, err)
		delay := bo.Next(time.Since(start))
		j.log.Warn("transcode: ffmpeg failed, restarting", "err", err, "in", delay.Round(time.Millisecond).String())
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
		if !j.src.Publishing() {
			return
		}
		rd = m.deps.Registry.SubscribeInternal(j.src.Key(), j.log)
		j.setState(StateStarting, nil)
	}
}

// waitSourceEnd waits until the source is no longer published or ctx ends.
func (j *job) waitSourceEnd(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for j.src.Publishing() {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// notFound wraps ffmpeg.ErrNotFound: a restart cannot help.
type notFound struct{ err error }

func (e *notFound) Error() string { return e.err.Error() }
func (e *notFound) Unwrap() error { return e.err }

// session runs one ffmpeg child: the source's frames in, the output's out.
// srcEnded reports that the source's publish session ended, which ends the
// job.
func (j *job) session(ctx context.Context, rd *media.Reader) (srcEnded bool, err error) {
	path, err := ffmpeg.Look()
	if err != nil {
		rd.Close()
		return false, &notFound{err}
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	args := j.rule.Command()
	p, err := ffmpeg.Start(sctx, args, ffmpeg.Options{Path: path, Log: j.log, Stdin: true})
	if err != nil {
		rd.Close()
		return false, err
	}
	j.mu.Lock()
	j.pid, j.kill = p.Pid(), cancel
	j.mu.Unlock()
	j.log.Info("transcode: ffmpeg started", "pid", p.Pid(), "args", strings.Join(args, " "))
	feedErr := make(chan error, 1)
	go func() { feedErr <- feed(sctx, rd, p.Stdin) }()
	out := &output{j: j}
	rerr := ffmpeg.ReadFrames(p.Stdout, out.write)
	if rerr != nil {
		p.Kill()
	}
	werr := p.Wait()
	cancel()
	ferr := <-feedErr
	out.close()
	j.mu.Lock()
	j.pid, j.kill = 0, nil
	j.mu.Unlock()
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	var pe publishError
	switch {
	case errors.As(rerr, &pe):
		return false, pe.err
	case errors.Is(ferr, io.EOF) && werr == nil:
		return true, nil // the source ended, ffmpeg flushed and exited
	case errors.Is(ferr, io.EOF):
		return true, werr
	case werr != nil:
		return false, werr
	case rerr != nil:
		return false, fmt.Errorf("ffmpeg output: %w", rerr)
	case ferr != nil && !errors.Is(ferr, context.Canceled):
		return false, ferr
	}
	return false, errors.New("ffmpeg ended")
}

// feed writes the source as FLV to ffmpeg's standard input until the
// source's session ends (io.EOF) or ctx does, and closes the input. The
// header's audio and video flags come from the frames before the first
// coded one: a source without audio must not make ffmpeg wait for it.
func feed(ctx context.Context, rd *media.Reader, w io.WriteCloser) error {
	defer rd.Close()
	defer w.Close()
	bw := bufio.NewWriterSize(w, 64<<10)
	fw := flv.NewWriter(bw)
	var (
		frames       [32]media.Frame
		pending      []media.Frame // held until the header is written
		header       bool
		audio, video bool
		werr, rerr   error
		n            int
		writeFrame   = func(f *media.Frame) {
			if werr == nil && flv.TagType(f) != 0 {
				werr = fw.WriteFrame(f)
			}
		}
	)
	defer func() {
		for i := range pending {
			pending[i].Release()
		}
	}()
	for werr == nil && rerr == nil {
		n, rerr = rd.Read(ctx, frames[:])
		for i := range frames[:n] {
			f := &frames[i]
			if header {
				writeFrame(f)
				f.Release()
				continue
			}
			audio = audio || f.Codec.IsAudio()
			video = video || f.Codec.IsVideo()
			pending = append(pending, *f)
			if (f.Codec.IsVideo() && !f.IsConfig()) || len(pending) >= 64 || (f.Codec.IsAudio() && !f.IsConfig() && len(pending) >= 16) {
				header = true
				if err := fw.WriteHeader(audio, video); err != nil {
					werr = err
				}
				for k := range pending {
					writeFrame(&pending[k])
					pending[k].Release()
				}
				pending = pending[:0]
			}
		}
		if werr == nil && n > 0 {
			werr = bw.Flush()
		}
	}
	if werr != nil {
		return fmt.Errorf("writing to ffmpeg: %w", werr)
	}
	if errors.Is(rerr, io.EOF) {
		if !header && len(pending) > 0 {
			_ = fw.WriteHeader(audio, video)
			for k := range pending {
				writeFrame(&pending[k])
			}
		}
		_ = bw.Flush()
	}
	return rerr
}

// publishError marks the output publisher's refusal.
type publishError struct{ err error }

func (e publishError) Error() string { return e.err.Error() }
func (e publishError) Unwrap() error { return e.err }

// output publishes ffmpeg's frames into the output stream, taken at the
// first frame.
type output struct {
	j      *job
	st     *media.Stream
	client *session.Session
}

func (o *output) write(f *media.Frame) error {
	j := o.j
	if o.st == nil {
		st, err := j.m.deps.Registry.Publish(media.Key{Vhost: j.src.Vhost, App: j.outApp, Stream: j.outStream})
		if err != nil {
			if errors.Is(err, media.ErrBusy) {
				err = fmt.Errorf("transcode %s: %s/%s is already published by another client: %w", j.rule.Name, j.outApp, j.outStream, err)
			}
			return publishError{err}
		}
		o.st = st
		if cl := j.m.deps.Clients; cl != nil {
			o.client = session.New(log.NewTraceID(), "transcode", "127.0.0.1")
			o.client.SetURL("transcode://"+j.rule.Name+"/"+j.src.App+"/"+j.src.Name, "")
			o.client.SetStream(st.Key(), session.Publisher)
			o.client.SetStreamID(st.ID)
			o.client.SetKick(func() { o.j.cancelSession() })
			cl.Add(o.client)
		}
		j.setState(StateRunning, nil)
		j.log.Info("transcode: publishing")
	}
	if f.IsConfig() {
		if v, ok := codec.VideoInfo(f); ok {
			o.st.SetVideoInfo(v)
		} else if a, ok := codec.AudioInfo(f); ok {
			o.st.SetAudioInfo(a)
		}
	} else {
		j.frames.Add(1)
	}
	n := uint64(len(f.Payload))
	j.bytes.Add(n)
	if o.client != nil {
		o.client.BytesIn.Add(n)
	}
	f.Own()
	o.st.Write(f)
	return nil
}

func (o *output) close() {
	if o.st == nil {
		return
	}
	o.st.Unpublish()
	if o.client != nil {
		o.j.m.deps.Clients.Remove(o.client)
	}
	o.st = nil
}

// cancelSession kills the running child (DELETE /api/v1/clients/{id});
// the job restarts it.
func (j *job) cancelSession() {
	j.mu.Lock()
	kill := j.kill
	j.mu.Unlock()
	if kill != nil {
		kill()
	}
}
