// Package snapshot makes JPEG pictures of live streams: the latest
// keyframe, taken from the stream's GOP cache by a short-lived internal
// reader, is decoded by an ffmpeg child (H.264 or H.265 as an Annex B
// elementary stream, ITU-T H.264 Annex B / H.265 Annex B, with the
// parameter sets of the sequence header first) into one MJPEG picture.
//
// Pictures are cached per stream for a second, and concurrent requests for
// the same stream share one decode: a hundred viewers of a camera page do
// not run a hundred ffmpegs.
package snapshot

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/srs-lite/srs-lite/internal/ffmpeg"
	"github.com/srs-lite/srs-lite/internal/format/codec/h264"
	"github.com/srs-lite/srs-lite/internal/format/codec/h265"
	"github.com/srs-lite/srs-lite/internal/media"
)

// Errors of JPEG; the API maps them to HTTP statuses.
var (
	// ErrNotFound: no such stream, or nobody publishes it (404).
	ErrNotFound = errors.New("snapshot: the stream is not being published")
	// ErrNoVideo: the stream is audio only (404).
	ErrNoVideo = errors.New("snapshot: the stream has no video")
	// ErrCodec: a video codec the decoder is not fed (AV1) (415).
	ErrCodec = errors.New("snapshot: video codec not supported for snapshots (H.264 and H.265 are)")
	// ErrTimeout: no keyframe, or no picture, in time (504).
	ErrTimeout = errors.New("snapshot: no keyframe in time")
	// ErrNoRegistry is returned by New without a media registry.
	ErrNoRegistry = errors.New("snapshot: no media registry")
)

// Deps configure a Taker.
type Deps struct {
	Registry *media.Registry
	Log      *slog.Logger // nil: discard
	// TTL is how long a picture is served again (default 1 s).
	TTL time.Duration
	// Timeout bounds the wait for a keyframe plus the decode (default 10 s:
	// a stream without GOP cache gives its next keyframe only).
	Timeout time.Duration
	// Workers bounds the ffmpeg decodes running at once (default 2).
	Workers int
}

// Taker takes snapshots.
type Taker struct {
	deps Deps
	log  *slog.Logger
	sem  chan struct{}

	mu    sync.Mutex
	cache map[string]*entry
}

// entry is a cached picture, or a decode in flight (done not closed yet).
type entry struct {
	done chan struct{}
	jpeg []byte
	err  error
	at   time.Time
}

// New returns a Taker.
func New(deps Deps) (*Taker, error) {
	if deps.Registry == nil {
		return nil, ErrNoRegistry
	}
	if deps.Log == nil {
		deps.Log = slog.New(slog.DiscardHandler)
	}
	if deps.TTL <= 0 {
		deps.TTL = time.Second
	}
	if deps.Timeout <= 0 {
		deps.Timeout = 10 * time.Second
	}
	if deps.Workers <= 0 {
		deps.Workers = 2
	}
	return &Taker{deps: deps, log: deps.Log, sem: make(chan struct{}, deps.Workers), cache: map[string]*entry{}}, nil
}

// JPEG returns a current picture of the stream vhost/app/stream. Errors
// wrap ErrNotFound, ErrNoVideo, ErrCodec, ErrTimeout or ffmpeg.ErrNotFound.
func (t *Taker) JPEG(ctx context.Context, vhost, app, stream string) ([]byte, error) {
	st := t.deps.Registry.Lookup(media.Key{Vhost: vhost, App: app, Stream: stream})
	if st == nil || !st.Publishing() {
		return nil, fmt.Errorf("%w: %s/%s", ErrNotFound, app, stream)
	}
	key := st.Key().String()
	now := time.Now()
	t.mu.Lock()
	e := t.cache[key]
	if e != nil {
		select {
		case <-e.done:
			if now.Sub(e.at) >= t.deps.TTL || e.err != nil {
				e = nil // stale; failures are not cached
			}
		default: // in flight: share it
		}
	}
	if e == nil {
		e = &entry{done: make(chan struct{})}
		t.cache[key] = e
		for k, old := range t.cache { // prune
			select {
			case <-old.done:
				if now.Sub(old.at) > 10*t.deps.TTL {
					delete(t.cache, k)
				}
			default:
			}
		}
		t.mu.Unlock()
		// The decode is not tied to one request: the others wait for it.
		go t.take(e, st)
	} else {
		t.mu.Unlock()
	}
	select {
	case <-e.done:
		return e.jpeg, e.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (t *Taker) take(e *entry, st *media.Stream) {
	ctx, cancel := context.WithTimeout(context.Background(), t.deps.Timeout)
	defer cancel()
	e.jpeg, e.err = t.decode(ctx, st)
	e.at = time.Now()
	if e.err != nil {
		t.log.Debug("snapshot: failed", "stream", st.Key(), "err", e.err)
	}
	close(e.done)
}

func (t *Taker) decode(ctx context.Context, st *media.Stream) ([]byte, error) {
	if s := st.Stats(); s.HasAudio && !s.HasVideo && s.AudioFrames > 50 {
		return nil, fmt.Errorf("%w: %s", ErrNoVideo, st.Key())
	}
	path, err := ffmpeg.Look()
	if err != nil {
		return nil, err
	}
	cfg, key, err := t.keyframe(ctx, st)
	if err != nil {
		return nil, err
	}
	es, format, err := AnnexB(cfg, key)
	if err != nil {
		return nil, err
	}
	select {
	case t.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ErrTimeout
	}
	defer func() { <-t.sem }()
	return runDecoder(ctx, path, format, es)
}

// keyframe reads the stream from its GOP cache until the first keyframe,
// and returns it with the video sequence header before it (copies).
func (t *Taker) keyframe(ctx context.Context, st *media.Stream) (cfg, key media.Frame, err error) {
	rd := t.deps.Registry.SubscribeInternal(st.Key(), t.log)
	defer rd.Close()
	var frames [16]media.Frame
	audio := 0
	for {
		n, err := rd.Read(ctx, frames[:])
		for i := range frames[:n] {
			f := &frames[i]
			switch {
			case key.Payload != nil:
			case f.Codec.IsVideo() && f.IsConfig():
				cfg = copyFrame(f)
			case f.Codec.IsVideo() && f.IsKey() && cfg.Payload != nil:
				key = copyFrame(f)
			case f.Codec.IsAudio():
				audio++
			}
			f.Release()
		}
		if key.Payload != nil {
			return cfg, key, nil
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return cfg, key, fmt.Errorf("%w: %s", ErrNotFound, st.Key())
			}
			if ctx.Err() != nil {
				if cfg.Payload == nil && audio > 0 {
					return cfg, key, fmt.Errorf("%w: %s", ErrNoVideo, st.Key())
				}
				return cfg, key, fmt.Errorf("%w: %s", ErrTimeout, st.Key())
			}
			return cfg, key, err
		}
	}
}

func copyFrame(f *media.Frame) media.Frame {
	return media.Frame{DTS: f.DTS, PTS: f.PTS, Codec: f.Codec, Flags: f.Flags, Payload: bytes.Clone(f.Payload)}
}

// AnnexB returns the keyframe as an Annex B elementary stream with the
// parameter sets of the sequence header cfg first, and ffmpeg's demuxer
// name for it ("h264" or "hevc").
func AnnexB(cfg, key media.Frame) ([]byte, string, error) {
	var sets [][]byte
	var format string
	switch cfg.Codec {
	case media.CodecH264:
		c, err := h264.ParseConfig(cfg.Payload)
		if err != nil {
			return nil, "", err
		}
		sets, format = append(c.SPS, c.PPS...), "h264"
	case media.CodecH265:
		c, err := h265.ParseConfig(cfg.Payload)
		if err != nil {
			return nil, "", err
		}
		sets, format = append(append(c.VPS, c.SPS...), c.PPS...), "hevc"
	default:
		return nil, "", fmt.Errorf("%w: %s", ErrCodec, cfg.Codec)
	}
	if key.Codec != cfg.Codec {
		return nil, "", fmt.Errorf("%w: a %s keyframe after a %s sequence header", ErrCodec, key.Codec, cfg.Codec)
	}
	if err := h264.SplitAVCC(key.Payload, func([]byte) bool { return true }); err != nil || len(key.Payload) == 0 {
		return nil, "", fmt.Errorf("snapshot: malformed keyframe of %d bytes: %v", len(key.Payload), err)
	}
	n := len(key.Payload) + 16
	for _, s := range sets {
		n += 4 + len(s)
	}
	es := make([]byte, 0, n)
	for _, s := range sets {
		es = append(append(es, 0, 0, 0, 1), s...)
	}
	es = h264.AVCCToAnnexB(es, key.Payload)
	return es, format, nil
}

// maxJPEG bounds the decoder's output.
const maxJPEG = 16 << 20

// runDecoder decodes one picture of an elementary stream to a JPEG.
func runDecoder(ctx context.Context, path, format string, es []byte) ([]byte, error) {
	args := []string{"-hide_banner", "-nostats", "-nostdin", "-loglevel", "error",
		"-f", format, "-i", "pipe:0", "-frames:v", "1", "-pix_fmt", "yuvj420p",
		"-c:v", "mjpeg", "-q:v", "3", "-f", "image2pipe", "pipe:1"}
	p, err := ffmpeg.Start(ctx, args, ffmpeg.Options{Path: path, Stdin: true})
	if err != nil {
		return nil, err
	}
	go func() {
		_, _ = p.Stdin.Write(es)
		_ = p.Stdin.Close()
	}()
	jpeg, rerr := io.ReadAll(io.LimitReader(p.Stdout, maxJPEG))
	werr := p.Wait()
	if ctx.Err() != nil {
		return nil, fmt.Errorf("%w: the decoder took too long", ErrTimeout)
	}
	if werr != nil {
		return nil, fmt.Errorf("snapshot: decode: %w", werr)
	}
	if rerr != nil {
		return nil, fmt.Errorf("snapshot: decode: %w", rerr)
	}
	if len(jpeg) < 4 || jpeg[0] != 0xff || jpeg[1] != 0xd8 {
		msg := strings.Join(p.LastLines(), "; ")
		return nil, fmt.Errorf("snapshot: the decoder gave no picture (%d bytes) %s", len(jpeg), msg)
	}
	return jpeg, nil
}
