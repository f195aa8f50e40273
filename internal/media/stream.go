package media

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// Errors of the media core.
var (
	// ErrBusy is returned by Registry.Publish when the stream has a publisher.
	ErrBusy = errors.New("media: stream is already being published")
	// ErrSlowReader closes a reader that was lapped too often.
	ErrSlowReader = errors.New("media: slow reader")
	// ErrClosed is returned by a closed Reader.
	ErrClosed = errors.New("media: reader closed")
)

// Options are the per-stream knobs, taken from the stream's vhost. They may
// change on reload: the ring size applies to the next publish, the rest at
// once.
type Options struct {
	RingFrames        int           // ring capacity in frames
	GOPCache          bool          // start new readers at the newest keyframe
	GOPCacheMaxFrames int           // no GOP cache for a GOP longer than this (0: no limit)
	QueueLength       time.Duration // a reader further behind the live edge skips ahead (0: only when lapped)
	MinFrames         int           // merged write: frames per Read at least (mw_msgs)
	MaxDelay          time.Duration // merged write: longest wait for MinFrames (mw_latency)
	TimeJitter        TimeJitter    // how RTMP and HTTP-FLV players' timestamps are corrected
}

// TimeJitter names SRS's time_jitter algorithms, which correct what each
// player gets as timestamps. The zero value is JitterFull.
type TimeJitter uint8

// Time jitter algorithms.
const (
	// JitterFull: each player's timeline starts at 0 and has no jumps.
	JitterFull TimeJitter = iota
	// JitterZero: each player's timeline starts at 0, with no other change.
	JitterZero
	// JitterOff: the publisher's timestamps.
	JitterOff
)

// String returns the config name of the algorithm.
func (j TimeJitter) String() string {
	switch j {
	case JitterFull:
		return "full"
	case JitterZero:
		return "zero"
	case JitterOff:
		return "off"
	}
	return "unknown"
}

// DefaultOptions returns the options of a stream with no config.
func DefaultOptions() Options {
	return Options{RingFrames: 1024, GOPCache: true, GOPCacheMaxFrames: 2500,
		QueueLength: 10 * time.Second, MinFrames: 8, MaxDelay: 350 * time.Millisecond}
}

// VideoInfo describes a stream's video, as its sequence header says.
type VideoInfo struct {
	Codec   Codec
	Profile string
	Level   string
	Width   int
	Height  int
}

// AudioInfo describes a stream's audio.
type AudioInfo struct {
	Codec      Codec
	Profile    string
	SampleRate int
	Channels   int
}

// Stats is a snapshot of a stream's counters.
type Stats struct {
	Publishing  bool
	PublishedAt time.Time // start of the current or last publish
	Readers     int       // players; the server's own readers (HLS, DVR) are not counted
	FramesIn    uint64    // frames written by publishers, every generation
	VideoFrames uint64
	AudioFrames uint64
	BytesIn     uint64 // payload bytes written
	// Dropped are the frames the stream's readers skipped because they
	// fell behind (lapped by the ring, or over queue_length), and the
	// frames they passed over while waiting for a keyframe after that.
	Dropped uint64
	// Skips counts the times a reader skipped ahead to the newest keyframe;
	// SlowClosed the readers closed for skipping too often (ErrSlowReader).
	Skips, SlowClosed uint64
	Video             VideoInfo
	Audio             AudioInfo // the main track's audio
	HasVideo          bool
	HasAudio          bool
	// OpusAudio describes the second audio track (TrackOpus), when the
	// stream carries one: a WebRTC publisher's Opus as it came. RTMP,
	// HTTP-FLV, TS and SRT players get Audio (the audio bridge's AAC), or
	// no audio when HasAudio is false.
	OpusAudio    AudioInfo
	HasOpusAudio bool
}

// DefaultVhost is the vhost of a client that names none, as in SRS.
const DefaultVhost = "__defaultVhost__"

// Key names a stream: vhost, app and stream name.
type Key struct{ Vhost, App, Stream string }

// String returns "vhost/app/stream".
func (k Key) String() string { return k.Vhost + "/" + k.App + "/" + k.Stream }

// Stream is one live stream: vhost/app/name, the ring of its current publish
// session, the cached sequence headers and metadata, and its readers.
//
// Write and Unpublish belong to the publisher's goroutine; everything else is
// safe for concurrent use.
type Stream struct {
	Vhost, App, Name string
	// ID is a short unique id, as the HTTP API shows it.
	ID string

	reg  *Registry
	opts atomic.Pointer[Options]

	mu          sync.Mutex
	ring        *Ring // nil while nobody publishes
	publishing  bool
	publishedAt time.Time
	meta        Frame
	vcfg        Frame
	acfg        Frame
	ocfg        Frame // the config of the second audio track (TrackOpus)
	video       VideoInfo
	audio       AudioInfo
	oaudio      AudioInfo // the second audio track's
	hasVideo    bool
	hasAudio    bool
	hasOpus     bool          // the stream carries a second audio track
	expectVideo bool          // the publisher said it sends video (ExpectTracks)
	expectAudio bool          // the publisher said it sends audio (ExpectTracks)
	codecsKnown chan struct{} // WaitCodecs' waiters; closed when the codecs are known or the publish ends
	nreaders    int           // players
	ninternal   int           // the server's own readers (HLS, DVR, ...)
	gen         uint64        // publish sessions so far

	readers atomic.Pointer[[]*Reader] // copy on write, for the writer's wake-ups

	wring       *Ring // the publisher's ring: touched by the publisher only
	sawVideo    bool  // publisher only
	sawAudio    bool  // publisher only
	sawOpus     bool  // publisher only: a frame of the second audio track
	framesIn    atomic.Uint64
	videoFrames atomic.Uint64
	audioFrames atomic.Uint64
	bytesIn     atomic.Uint64
	dropped     atomic.Uint64 // frames skipped by readers
	skips       atomic.Uint64 // readers' skips to the newest keyframe
	skipLogged  atomic.Int64  // unix ns of the last "fell behind" line of any reader
	slowClosed  atomic.Uint64 // readers closed with ErrSlowReader
}

// Key returns the stream's key; its String is "vhost/app/name".
func (s *Stream) Key() Key { return Key{Vhost: s.Vhost, App: s.App, Stream: s.Name} }

// Options returns the stream's current options.
func (s *Stream) Options() Options { return *s.opts.Load() }

// SetOptions replaces the stream's options.
func (s *Stream) SetOptions(o Options) { s.opts.Store(&o) }

// Write appends f to the ring, taking over the caller's reference on its
// payload. It never blocks on readers. Sequence headers and metadata are also
// cached for readers that join later, one audio config per track. Only the
// publisher calls Write. A publisher with a second audio track (f.Track
// TrackOpus) writes that track's config before the main track's first audio
// frame, so that readers of it never see the main track's audio.
func (s *Stream) Write(f *Frame) {
	r := s.wring
	if r == nil {
		f.Release()
		return
	}
	s.framesIn.Add(1)
	s.bytesIn.Add(uint64(len(f.Payload)))
	switch {
	case f.Codec == CodecData:
		s.cache(&s.meta, f)
	case f.Flags&FlagConfig != 0:
		switch {
		case f.Codec.IsVideo():
			s.cache(&s.vcfg, f)
		case f.Track != TrackMain:
			s.cache(&s.ocfg, f)
		default:
			s.cache(&s.acfg, f)
		}
	case f.Codec.IsVideo():
		s.videoFrames.Add(1)
	case f.Codec.IsAudio():
		s.audioFrames.Add(1)
	}
	if f.Track != TrackMain {
		if !s.sawOpus && f.Codec.IsAudio() {
			s.sawOpus = true
			s.mu.Lock()
			s.hasOpus = true
			s.mu.Unlock()
		}
	} else if f.Codec.IsVideo() && !s.sawVideo || f.Codec.IsAudio() && !s.sawAudio {
		s.sawVideo = s.sawVideo || f.Codec.IsVideo()
		s.sawAudio = s.sawAudio || f.Codec.IsAudio()
		s.mu.Lock()
		s.hasVideo, s.hasAudio = s.hasVideo || s.sawVideo, s.hasAudio || s.sawAudio
		s.wakeCodecsLocked()
		s.mu.Unlock()
	}
	seq := r.write(f)
	*f = Frame{}
	if rs := s.readers.Load(); rs != nil {
		for _, rd := range *rs {
			rd.notify(seq)
		}
	}
}

func (s *Stream) cache(dst *Frame, f *Frame) {
	c := f.Clone()
	s.mu.Lock()
	old := *dst
	*dst = c
	s.mu.Unlock()
	old.Release()
}

// Configs returns clones of the cached sequence headers of the current
// publish session's main track (zero Frames when there are none); the caller
// releases them. Protocols that describe a stream before playing it (RTSP
// DESCRIBE, an SDP offer) read the parameter sets from them.
func (s *Stream) Configs() (video, audio Frame) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.vcfg.Payload != nil {
		video = s.vcfg.Clone()
	}
	if s.acfg.Payload != nil {
		audio = s.acfg.Clone()
	}
	return video, audio
}

// OpusConfig returns a clone of the cached config of the second audio track
// (TrackOpus), or a zero Frame; the caller releases it.
func (s *Stream) OpusConfig() Frame {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ocfg.Payload == nil {
		return Frame{}
	}
	return s.ocfg.Clone()
}

// SetVideoInfo records what the publisher's video sequence header says.
func (s *Stream) SetVideoInfo(v VideoInfo) {
	s.mu.Lock()
	s.video, s.hasVideo = v, true
	s.wakeCodecsLocked()
	s.mu.Unlock()
}

// SetAudioInfo records what the publisher's audio sequence header says.
func (s *Stream) SetAudioInfo(a AudioInfo) {
	s.mu.Lock()
	s.audio, s.hasAudio = a, true
	s.wakeCodecsLocked()
	s.mu.Unlock()
}

// ExpectTracks records the tracks the publisher says it will send, before
// its first frame (a WHIP offer's media sections): consumers that must start
// with a track, such as the HLS segmenter's first segment with the video,
// know to wait for it. Each publish session starts with none declared.
func (s *Stream) ExpectTracks(video, audio bool) {
	s.mu.Lock()
	s.expectVideo, s.expectAudio = video, audio
	s.mu.Unlock()
}

// ExpectedTracks returns what the publisher declared with ExpectTracks:
// false for a track it did not declare.
func (s *Stream) ExpectedTracks() (video, audio bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.expectVideo, s.expectAudio
}

// WaitCodecs returns the stream's stats once its codecs are known (from the
// first frames or sequence headers of a publish), at once if they are or
// the stream has no publisher, or when ctx ends: a WHEP offer for a stream
// published a moment ago answers with the stream's codecs, not guesses.
func (s *Stream) WaitCodecs(ctx context.Context) Stats {
	s.mu.Lock()
	if !s.publishing || s.hasVideo || s.hasAudio {
		s.mu.Unlock()
		return s.Stats()
	}
	if s.codecsKnown == nil {
		s.codecsKnown = make(chan struct{})
	}
	ch := s.codecsKnown
	s.mu.Unlock()
	select {
	case <-ch:
	case <-ctx.Done():
	}
	return s.Stats()
}

// wakeCodecsLocked releases WaitCodecs' waiters.
func (s *Stream) wakeCodecsLocked() {
	if s.codecsKnown != nil {
		close(s.codecsKnown)
		s.codecsKnown = nil
	}
}

// SetOpusAudioInfo records what the second audio track's (TrackOpus)
// config says.
func (s *Stream) SetOpusAudioInfo(a AudioInfo) {
	s.mu.Lock()
	s.oaudio, s.hasOpus = a, true
	s.mu.Unlock()
}

// Stats returns a snapshot of the stream's counters.
func (s *Stream) Stats() Stats {
	s.mu.Lock()
	st := Stats{Publishing: s.publishing, PublishedAt: s.publishedAt, Readers: s.nreaders,
		Video: s.video, Audio: s.audio, HasVideo: s.hasVideo, HasAudio: s.hasAudio,
		OpusAudio: s.oaudio, HasOpusAudio: s.hasOpus}
	s.mu.Unlock()
	st.FramesIn = s.framesIn.Load()
	st.VideoFrames = s.videoFrames.Load()
	st.AudioFrames = s.audioFrames.Load()
	st.BytesIn = s.bytesIn.Load()
	st.Dropped = s.dropped.Load()
	st.Skips = s.skips.Load()
	st.SlowClosed = s.slowClosed.Load()
	return st
}

// Publishing reports whether the stream has a publisher.
func (s *Stream) Publishing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.publishing
}

// Unpublish ends the publish session: readers drain the ring and get io.EOF,
// and the cached sequence headers are dropped. Only the publisher calls it,
// once.
func (s *Stream) Unpublish() {
	s.mu.Lock()
	r := s.ring
	s.ring = nil
	s.wring = nil
	s.publishing = false
	s.wakeCodecsLocked()
	meta, vcfg, acfg, ocfg := s.meta, s.vcfg, s.acfg, s.ocfg
	s.meta, s.vcfg, s.acfg, s.ocfg = Frame{}, Frame{}, Frame{}, Frame{}
	s.mu.Unlock()
	meta.Release()
	vcfg.Release()
	acfg.Release()
	ocfg.Release()
	if r != nil {
		r.close()
		s.wakeAll()
		r.unref() // the publisher's use; readers still draining hold theirs
	}
	s.reg.maybeFree(s)
}

func (s *Stream) wakeAll() {
	if rs := s.readers.Load(); rs != nil {
		for _, rd := range *rs {
			rd.kick()
		}
	}
}

func (s *Stream) addReader(rd *Reader) {
	s.mu.Lock()
	old := s.readers.Load()
	var n []*Reader
	if old != nil {
		n = make([]*Reader, 0, len(*old)+1)
		n = append(n, *old...)
	}
	n = append(n, rd)
	s.readers.Store(&n)
	if rd.internal {
		s.ninternal++
	} else {
		s.nreaders++
	}
	s.mu.Unlock()
}

func (s *Stream) removeReader(rd *Reader) {
	s.mu.Lock()
	old := s.readers.Load()
	if old != nil {
		n := make([]*Reader, 0, len(*old))
		for _, x := range *old {
			if x != rd {
				n = append(n, x)
			}
		}
		s.readers.Store(&n)
	}
	if rd.internal {
		s.ninternal--
	} else {
		s.nreaders--
	}
	s.mu.Unlock()
	s.reg.maybeFree(s)
}

// attach binds rd to the current publish session, if any: it returns the
// ring and where to start, and fills the reader's pending sequence headers.
func (s *Stream) attach(rd *Reader) *Ring {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.ring
	if r == nil {
		return nil
	}
	r.ref()
	o := s.opts.Load()
	rd.npending = 0
	if r.gen > rd.subGen {
		// The reader subscribed before this publisher came: it was
		// waiting for the session, so it gets all of it, sequence
		// headers included, from the ring.
		rd.cursor = r.firstSeq()
		if rd.cursor == 1 {
			return r
		}
	} else {
		rd.cursor = r.joinSeq(o.GOPCache, o.GOPCacheMaxFrames)
	}
	acfg := &s.acfg
	if rd.track != TrackMain && s.ocfg.Payload != nil {
		acfg = &s.ocfg // the reader's audio track replaces the main one's
	}
	for _, f := range [...]*Frame{&s.meta, &s.vcfg, acfg} {
		if f.Payload != nil || f.buf != nil {
			rd.pending[rd.npending] = f.Clone()
			rd.npending++
		}
	}
	return r
}
