package media

import (
	"log/slog"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Registry maps vhost/app/stream to live streams. It holds the publish lock:
// one publisher per stream. A stream with neither publisher nor readers is
// freed.
type Registry struct {
	mu      sync.Mutex
	streams map[Key]*Stream
	optsFor func(vhost string) Options
	ids     atomic.Uint64

	onPublish   atomic.Pointer[func(*Stream)]
	onSubscribe atomic.Pointer[[]func(*Stream)]
	subMu       sync.Mutex // serializes OnSubscribe
}

// OnSubscribe adds fn to the functions called, in the subscriber's
// goroutine, when a player's reader (Subscribe, not SubscribeInternal)
// joins a stream that nobody publishes: an edge starts pulling the stream
// from its origin there, GB28181 invites a camera. Every function added is
// called, in the order they were added; each decides whether the stream is
// its own. They are called after the reader is attached, outside the
// registry's locks, on the subscribe path only (never per frame). fn must
// not block. OnSubscribe(nil) removes them all.
func (g *Registry) OnSubscribe(fn func(*Stream)) {
	g.subMu.Lock()
	defer g.subMu.Unlock()
	if fn == nil {
		g.onSubscribe.Store(nil)
		return
	}
	var fns []func(*Stream)
	if old := g.onSubscribe.Load(); old != nil {
		fns = append(fns, *old...)
	}
	fns = append(fns, fn)
	g.onSubscribe.Store(&fns)
}

// OnPublish sets fn to be called, in the publisher's goroutine, each time a
// publish session starts, after the stream is ready for Write and before
// Publish returns. Remuxers (HLS, DVR) subscribe there so that they see the
// session from its first frame. fn must not block.
func (g *Registry) OnPublish(fn func(*Stream)) {
	if fn == nil {
		g.onPublish.Store(nil)
		return
	}
	g.onPublish.Store(&fn)
}

// NewRegistry returns an empty registry. optsFor gives the options of a
// vhost's streams; nil means DefaultOptions.
func NewRegistry(optsFor func(vhost string) Options) *Registry {
	if optsFor == nil {
		optsFor = func(string) Options { return DefaultOptions() }
	}
	return &Registry{streams: map[Key]*Stream{}, optsFor: optsFor}
}

func (g *Registry) get(k Key) *Stream {
	s := g.streams[k]
	if s == nil {
		s = &Stream{Vhost: k.Vhost, App: k.App, Name: k.Stream, reg: g,
			ID: "vid-" + strconv.FormatUint(g.ids.Add(1), 36)}
		o := g.optsFor(k.Vhost)
		s.opts.Store(&o)
		g.streams[k] = s
	}
	return s
}

// Publish starts a publish session on the stream, creating it if needed. It
// returns ErrBusy when the stream already has a publisher. The caller writes
// with Stream.Write and ends with Stream.Unpublish.
func (g *Registry) Publish(k Key) (*Stream, error) {
	g.mu.Lock()
	s := g.get(k)
	s.mu.Lock()
	if s.publishing {
		s.mu.Unlock()
		g.mu.Unlock()
		return nil, ErrBusy
	}
	o := g.optsFor(k.Vhost)
	s.opts.Store(&o)
	s.gen++
	s.ring = NewRing(o.RingFrames)
	s.ring.gen = s.gen
	s.wring = s.ring
	s.sawVideo, s.sawAudio = false, false
	s.publishing = true
	s.publishedAt = time.Now()
	s.video, s.audio = VideoInfo{}, AudioInfo{}
	s.hasVideo, s.hasAudio = false, false
	s.expectVideo, s.expectAudio = false, false
	s.sawOpus, s.oaudio, s.hasOpus = false, AudioInfo{}, false
	s.mu.Unlock()
	g.mu.Unlock()
	s.wakeAll() // readers waiting for a publisher
	if fn := g.onPublish.Load(); fn != nil {
		(*fn)(s)
	}
	return s, nil
}

// Subscribe returns a reader of the stream, creating the stream if needed: a
// reader of a stream nobody publishes yet waits for its publisher. log, when
// not nil, gets the reader's rare warnings (skips).
func (g *Registry) Subscribe(k Key, log *slog.Logger) *Reader {
	return g.subscribe(k, log, SubscribeOptions{})
}

// SubscribeOptions choose what a reader gets.
type SubscribeOptions struct {
	// Internal marks the server's own consumers, as SubscribeInternal.
	Internal bool
	// Track is the audio track the reader wants: TrackMain (every
	// player), or TrackOpus, whose audio replaces the main track's once
	// the stream carries that track (a WHIP publisher's Opus, which WHEP
	// viewers and fMP4 HLS take as it came); a stream without it gives
	// such a reader its main track, AAC or whatever it is.
	Track uint8
}

// SubscribeWith is Subscribe with options.
func (g *Registry) SubscribeWith(k Key, log *slog.Logger, o SubscribeOptions) *Reader {
	return g.subscribe(k, log, o)
}

// SubscribeInternal is Subscribe for the server's own consumers (HLS, DVR,
// forwarders): their readers do not count as players in Stats.Readers, so
// that an on-demand source stops when the last real player leaves.
func (g *Registry) SubscribeInternal(k Key, log *slog.Logger) *Reader {
	return g.subscribe(k, log, SubscribeOptions{Internal: true})
}

func (g *Registry) subscribe(k Key, log *slog.Logger, o SubscribeOptions) *Reader {
	internal := o.Internal
	g.mu.Lock()
	s := g.get(k)
	rd := &Reader{s: s, log: log, wake: make(chan struct{}, 1), internal: internal, track: o.Track}
	s.mu.Lock()
	rd.subGen = s.gen
	s.mu.Unlock()
	s.addReader(rd)
	rd.ring = s.attach(rd)
	g.mu.Unlock()
	if fns := g.onSubscribe.Load(); fns != nil && !internal && rd.ring == nil {
		for _, fn := range *fns {
			fn(s)
		}
	}
	return rd
}

// Lookup returns the stream, or nil.
func (g *Registry) Lookup(k Key) *Stream {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.streams[k]
}

// ByID returns the stream with the given id, or nil.
func (g *Registry) ByID(id string) *Stream {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, s := range g.streams {
		if s.ID == id {
			return s
		}
	}
	return nil
}

// Streams returns the streams, ordered by key.
func (g *Registry) Streams() []*Stream {
	g.mu.Lock()
	out := make([]*Stream, 0, len(g.streams))
	for _, s := range g.streams {
		out = append(out, s)
	}
	g.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Key().String() < out[j].Key().String() })
	return out
}

// Reconfigure sets new per-vhost options and applies them to live streams.
func (g *Registry) Reconfigure(optsFor func(vhost string) Options) {
	g.mu.Lock()
	if optsFor == nil {
		optsFor = func(string) Options { return DefaultOptions() }
	}
	g.optsFor = optsFor
	for _, s := range g.streams {
		o := optsFor(s.Vhost)
		s.opts.Store(&o)
	}
	g.mu.Unlock()
}

// maybeFree drops s from the registry when it has no publisher and no reader.
func (g *Registry) maybeFree(s *Stream) {
	g.mu.Lock()
	s.mu.Lock()
	idle := !s.publishing && s.nreaders == 0 && s.ninternal == 0
	s.mu.Unlock()
	if idle && g.streams[s.Key()] == s {
		delete(g.streams, s.Key())
	}
	g.mu.Unlock()
}
