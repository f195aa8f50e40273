// Package audiobridge converts audio for WebRTC through one supervised ffmpeg
// child per stream: AAC (RTMP, SRT, cameras) to Opus for WebRTC players, and
// Opus from WebRTC publishers to AAC for RTMP, HTTP-FLV, TS and SRT players.
//
// AAC to Opus: the first Opus caller of a stream starts a child that reads
// the stream's AAC frames as ADTS on its standard input and writes Ogg Opus
// on its standard output; the Opus frames (48 kHz, 20 ms) go into a companion
// stream of the bridge's private registry, their timestamps mapped onto the
// source's timeline. The last release stops the child after a linger.
//
// Opus to AAC: ToAAC starts a child for a publisher's Opus frames (Ogg Opus
// in, ADTS out) and hands the AAC frames back, config frame first. The
// publisher keeps its Opus in the stream as a second audio track
// (media.TrackOpus) for WHEP viewers and fMP4 HLS: the bridge does not.
//
// A child that dies is restarted with backoff while it is needed. Without
// ffmpeg, or an ffmpeg without an Opus encoder, nothing runs: Available says
// why, and the log says it once.
package audiobridge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/srs-lite/srs-lite/internal/ffmpeg"
	"github.com/srs-lite/srs-lite/internal/media"
)

// Modes of Options.Mode, as [rtc] aac_to_opus names them.
const (
	ModeAuto = "auto" // convert when ffmpeg with an Opus encoder is there
	ModeOff  = "off"  // never: AAC streams play video-only over WebRTC
)

// AAC decoders of ffmpeg, for Options.AACDecoder.
const (
	DecoderFloat = "aac"       // floating point: fastest with an FPU
	DecoderFixed = "aac_fixed" // fixed point: for boards without an FPU
)

// Errors of the bridge. Available and Opus return them wrapped.
var (
	// ErrOff: the bridge is configured off.
	ErrOff = errors.New("audiobridge: aac_to_opus is off")
	// ErrNoFFmpeg: there is no ffmpeg program (it wraps ffmpeg.ErrNotFound too).
	ErrNoFFmpeg = errors.New("ffmpeg missing")
	// ErrNoOpus: ffmpeg has no Opus encoder (libopus) or decoder.
	ErrNoOpus = errors.New("ffmpeg has no libopus (Opus encoder)")
	// ErrNoAAC: the stream is not published or its audio is not AAC.
	ErrNoAAC = errors.New("audiobridge: the stream has no AAC audio")
	// ErrClosed: the bridge is closed.
	ErrClosed = errors.New("audiobridge: closed")
)

// Options configure a Bridge.
type Options struct {
	// FFmpeg is the program: a path or a name on the PATH (empty: "ffmpeg").
	FFmpeg string
	// Mode is ModeAuto or ModeOff (empty: auto).
	Mode string
	// AACDecoder is DecoderFloat or DecoderFixed (empty: DefaultAACDecoder,
	// the fixed point one on builds for FPU-less boards). When ffmpeg lacks
	// the one asked for, the other is used.
	AACDecoder string
	// OpusBitrate and AACBitrate in kbps (defaults 64 and 96).
	OpusBitrate, AACBitrate int
	// Linger keeps a child running after its last reader left (default
	// 5 s), so that viewers coming and going do not churn processes.
	Linger time.Duration
	// MinBackoff and MaxBackoff pace the restarts of a failing child
	// (defaults 1 s and 30 s).
	MinBackoff, MaxBackoff time.Duration
	// Logger gets the bridge's records (nil: discarded).
	Logger *slog.Logger
}

// Bridge runs the conversions. Its methods are safe for concurrent use.
type Bridge struct {
	reg  *media.Registry
	priv *media.Registry // the companion Opus streams
	opt  Options
	log  *slog.Logger
	ctx  context.Context
	stop context.CancelFunc
	wg   sync.WaitGroup

	capsOnce sync.Once
	capsErr  error
	encoder  string // libopus, or opus (ffmpeg's experimental encoder)
	decoder  string // the AAC decoder used
	logOnce  sync.Once

	gen    atomic.Uint64
	mu     sync.Mutex
	closed bool
	opus   map[media.Key]*opusPipe
	aac    map[*aacJob]struct{}
}

// New returns a Bridge of the streams of reg. It starts nothing: children
// start when asked for.
func New(reg *media.Registry, opt Options) *Bridge {
	if opt.Mode == "" {
		opt.Mode = ModeAuto
	}
	if opt.FFmpeg == "" {
		opt.FFmpeg = ffmpeg.Program
	}
	if opt.AACDecoder == "" {
		opt.AACDecoder = DefaultAACDecoder
	}
	if opt.OpusBitrate <= 0 {
		opt.OpusBitrate = 64
	}
	if opt.AACBitrate <= 0 {
		opt.AACBitrate = 96
	}
	if opt.Linger <= 0 {
		opt.Linger = 5 * time.Second
	}
	if opt.MinBackoff <= 0 {
		opt.MinBackoff = time.Second
	}
	if opt.MaxBackoff < opt.MinBackoff {
		opt.MaxBackoff = max(30*time.Second, opt.MinBackoff)
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	b := &Bridge{reg: reg, opt: opt, log: opt.Logger, opus: map[media.Key]*opusPipe{}, aac: map[*aacJob]struct{}{}}
	b.priv = media.NewRegistry(func(string) media.Options {
		// Opus readers (WebRTC senders) get each frame at once: no merged
		// writes, no GOP cache (audio only), 5 s of 20 ms frames.
		return media.Options{RingFrames: 256, QueueLength: 2 * time.Second, MinFrames: 1}
	})
	b.ctx, b.stop = context.WithCancel(context.Background())
	return b
}

// Available reports whether the bridge can convert: nil, or an error that
// says why not (ErrOff, ErrNoFFmpeg, ErrNoOpus). The first failure is logged
// once, at Warn: "AAC streams play video-only over WebRTC".
func (b *Bridge) Available() error {
	if b.opt.Mode == ModeOff {
		return ErrOff
	}
	b.capsOnce.Do(b.probe)
	if b.capsErr != nil {
		b.logOnce.Do(func() {
			b.log.Warn("webrtc audio: AAC streams play video-only over WebRTC, and WHIP streams play without audio over RTMP, HTTP-FLV, TS-HLS and SRT (WHEP and fMP4 HLS keep their Opus)",
				"reason", b.capsErr.Error())
		})
	}
	return b.capsErr
}

// Unavailable returns "" when the bridge can convert, else what the API
// shows for its streams, such as "video-only: ffmpeg missing".
func (b *Bridge) Unavailable() string {
	switch err := b.Available(); {
	case err == nil:
		return ""
	case errors.Is(err, ErrOff):
		return "video-only: aac_to_opus off"
	case errors.Is(err, ErrNoFFmpeg):
		return "video-only: ffmpeg missing"
	case errors.Is(err, ErrNoOpus):
		return "video-only: ffmpeg without libopus"
	default:
		return "video-only: " + err.Error()
	}
}

func (b *Bridge) probe() {
	caps, err := ffmpeg.Probe(b.opt.FFmpeg)
	if err != nil {
		if errors.Is(err, ffmpeg.ErrNotFound) {
			b.capsErr = fmt.Errorf("%w: %w", ErrNoFFmpeg, err)
		} else {
			b.capsErr = fmt.Errorf("%w: %v", ErrNoFFmpeg, err)
		}
		return
	}
	b.opt.FFmpeg = caps.Path
	switch {
	case caps.HasEncoder("libopus"):
		b.encoder = "libopus"
	case caps.HasEncoder("opus"):
		b.encoder = "opus"
	default:
		b.capsErr = ErrNoOpus
		return
	}
	if !caps.HasDecoder("opus") && !caps.HasDecoder("libopus") {
		b.capsErr = ErrNoOpus
		return
	}
	b.decoder = b.opt.AACDecoder
	if !caps.HasDecoder(b.decoder) {
		for _, d := range []string{DecoderFixed, DecoderFloat} {
			if caps.HasDecoder(d) {
				b.decoder = d
				break
			}
		}
	}
	if !caps.HasDecoder(b.decoder) || !caps.HasEncoder("aac") {
		b.capsErr = fmt.Errorf("%w: ffmpeg has no AAC decoder or encoder", ErrNoFFmpeg)
	}
}

// Decoder returns the AAC decoder the children use ("" before Available).
func (b *Bridge) Decoder() string { return b.decoder }

// Close stops every child and waits for them. Readers of companion streams
// get io.EOF. It is idempotent.
func (b *Bridge) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	for _, p := range b.opus {
		if p.linger != nil {
			p.linger.Stop()
		}
	}
	b.mu.Unlock()
	b.stop()
	b.wg.Wait()
	return nil
}

// Stat is one conversion as the API shows it.
type Stat struct {
	Stream    string    `json:"stream"`    // vhost/app/stream
	Direction string    `json:"direction"` // "aac_to_opus" or "opus_to_aac"
	Running   bool      `json:"running"`   // a child runs now
	PID       int       `json:"pid,omitempty"`
	Readers   int       `json:"readers,omitempty"` // Opus readers (aac_to_opus)
	Restarts  uint64    `json:"restarts"`
	FramesIn  uint64    `json:"frames_in"`
	FramesOut uint64    `json:"frames_out"`
	Dropped   uint64    `json:"dropped,omitempty"` // frames pushed while the child could not take them
	LastError string    `json:"last_error,omitempty"`
	Since     time.Time `json:"since"`
}

// Stats lists the conversions, by stream and direction.
func (b *Bridge) Stats() []Stat {
	b.mu.Lock()
	out := make([]Stat, 0, len(b.opus)+len(b.aac))
	for _, p := range b.opus {
		s := p.job.stat(DirAACToOpus)
		s.Readers = p.refs
		out = append(out, s)
	}
	for j := range b.aac {
		out = append(out, j.job.stat(DirOpusToAAC))
	}
	b.mu.Unlock()
	sort.Slice(out, func(i, k int) bool {
		if out[i].Stream != out[k].Stream {
			return out[i].Stream < out[k].Stream
		}
		return out[i].Direction < out[k].Direction
	})
	return out
}

// Directions of a Stat.
const (
	DirAACToOpus = "aac_to_opus"
	DirOpusToAAC = "opus_to_aac"
)

// job is the supervision state both directions share.
type job struct {
	key   media.Key
	log   *slog.Logger
	since time.Time

	restarts, framesIn, framesOut, dropped atomic.Uint64

	mu      sync.Mutex
	pid     int
	lastErr string
	logged  string // the last error logged, so that a repeated one is not
}

func (j *job) stat(dir string) Stat {
	j.mu.Lock()
	defer j.mu.Unlock()
	return Stat{Stream: j.key.String(), Direction: dir, Running: j.pid != 0, PID: j.pid,
		Restarts: j.restarts.Load(), FramesIn: j.framesIn.Load(), FramesOut: j.framesOut.Load(),
		Dropped: j.dropped.Load(), LastError: j.lastErr, Since: j.since}
}

func (j *job) setPID(pid int) {
	j.mu.Lock()
	j.pid = pid
	j.mu.Unlock()
}

// failed records a child's failure and logs it, once per distinct error.
func (j *job) failed(err error, delay time.Duration) {
	j.restarts.Add(1)
	msg := err.Error()
	j.mu.Lock()
	j.lastErr = msg
	repeat := msg == j.logged
	j.logged = msg
	j.mu.Unlock()
	if repeat {
		j.log.Debug("audiobridge: ffmpeg failed again, restarting", "err", msg, "in", delay.Round(time.Millisecond).String())
		return
	}
	j.log.Warn("audiobridge: ffmpeg failed, restarting", "err", msg, "in", delay.Round(time.Millisecond).String())
}

// kbps formats a bitrate for ffmpeg.
func kbps(n int) string { return strconv.Itoa(n) + "k" }

// stallAfter is how long a child may take input without giving output before
// it counts as hung and is killed (then restarted). Encoders hold a frame or
// two, not seconds; a slow board takes a second or two to start one.
var stallAfter = 10 * time.Second

// watch kills proc when j's input count grows while its output count stays
// the same for stallAfter, and reports that it did. It returns when ctx ends.
func (j *job) watch(ctx context.Context, kill func(), stalled *atomic.Bool) {
	t := time.NewTicker(stallAfter / 5)
	defer t.Stop()
	in, out := j.framesIn.Load(), j.framesOut.Load()
	since := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		i, o := j.framesIn.Load(), j.framesOut.Load()
		if o != out || i == in {
			in, out, since = i, o, time.Now()
			continue
		}
		if time.Since(since) >= stallAfter {
			stalled.Store(true)
			kill()
			return
		}
	}
}

// errStalled is the failure of a child killed by watch.
var errStalled = errors.New("ffmpeg stalled: input but no output")
