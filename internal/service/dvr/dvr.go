// Package dvr records live streams into files, as SRS's DVR does: FLV
// (Adobe FLV spec v10.1 annex E, with Enhanced RTMP codecs) or fragmented
// MP4 (ISO/IEC 14496-12 §8.8, via internal/fmp4), one file per publish
// session or a new file every segment duration, cut at a keyframe.
//
// A recording reads a media.Reader like any player. It writes NAME.tmp
// through a buffer flushed to the OS every couple of seconds, and at the end
// fsyncs it and renames it NAME. A crash leaves NAME.tmp behind; Repair,
// run at start, cuts such files after their last complete FLV tag or
// moof+mdat fragment and renames them. A write error (a full disk) stops
// only the recording: the stream and its players go on.
package dvr

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/srs-lite/srs-lite/internal/media"
)

// Plans: when a recording starts a new file.
const (
	PlanSession = "session" // one file per publish session
	PlanSegment = "segment" // a new file every Config.Duration, at a keyframe
)

// Defaults of the Config knobs left at 0.
const (
	DefaultFlushInterval = 2 * time.Second
	DefaultFragment      = time.Second
)

// tmpExt is the suffix of a file being written.
const tmpExt = ".tmp"

// ErrUnsupported reports a file type the recorder cannot write.
var ErrUnsupported = errors.New("dvr: unsupported file type")

// Config is the setup of one recording.
type Config struct {
	// Path is the file name template: [vhost], [app], [stream],
	// [timestamp] (Unix milliseconds), [seq] (the file's number in the
	// session, from 0) and SRS's date parts [2006] [01] [02] [15] [04] [05]
	// [999] are replaced. Its extension picks the format: .flv or .mp4.
	Path     string
	Plan     string        // PlanSession (also when empty) or PlanSegment
	Duration time.Duration // file length for PlanSegment
	// FlushInterval is the longest time written data waits in the buffer
	// before it is handed to the OS; 0 means DefaultFlushInterval.
	FlushInterval time.Duration
	// Fragment is the length of fMP4 fragments; 0 means DefaultFragment.
	Fragment time.Duration
}

// Validate checks the file type and plan.
func (c Config) Validate() error {
	switch ext := strings.ToLower(filepath.Ext(c.Path)); ext {
	case ".flv", ".mp4", ".ts":
	default:
		return fmt.Errorf("%w %q in dvr path %q: use .flv, .mp4 or .ts", ErrUnsupported, ext, c.Path)
	}
	switch c.Plan {
	case "", PlanSession:
	case PlanSegment:
		if c.Duration <= 0 {
			return fmt.Errorf("dvr: plan %q needs a duration above 0", c.Plan)
		}
	default:
		return fmt.Errorf("dvr: plan %q: use %q or %q", c.Plan, PlanSession, PlanSegment)
	}
	return nil
}

// Stream names the stream a recording is of.
type Stream struct {
	Vhost, App, Name string
}

// File describes a completed recording file.
type File struct {
	Stream
	Path     string        // the final name
	Start    time.Time     // when the file was opened
	Duration time.Duration // of its media
	Size     int64         // bytes
	Err      error         // the write error that ended it early, if any
}

// Output is a file being written. *os.File is one; tests inject failing
// ones.
type Output interface {
	io.Writer
	io.WriterAt
	Sync() error
	Close() error
}

// Source is what a recording reads: a *media.Reader.
type Source interface {
	Read(ctx context.Context, dst []media.Frame) (int, error)
	Close()
}

// Deps are a recording's dependencies.
type Deps struct {
	// Log gets the recording's log lines; nil discards them.
	Log *slog.Logger
	// OnFile, when set, is called after each file is complete (renamed to
	// its final name), in the recording's goroutine: the on_dvr hook.
	OnFile func(File)
	// Create opens a new file for writing; nil means os.OpenFile with
	// O_CREATE|O_EXCL.
	Create func(name string) (Output, error)
	// Now is the clock for file names; nil means time.Now.
	Now func() time.Time
	// ExpectsVideo, when set, says whether the publisher declared video
	// (media.Stream.ExpectTracks): the first file then waits for it.
	ExpectsVideo func() bool
}

// errInUse reports a file another recording holds.
var errInUse = errors.New("dvr: file in use by another recording")

// createFile creates a new file and locks it for as long as it is open
// (see lock).
func createFile(name string) (Output, error) {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, err
	}
	if err := lock(f); err != nil {
		_ = f.Close()
		_ = os.Remove(name)
		return nil, err
	}
	return f, nil
}

// Record records src into files until the publish session ends (io.EOF),
// ctx is done or a write fails, and closes src. The file being written is
// completed in every case; after a write error it is cut after its last
// complete tag or fragment. The error is logged (one line) and returned;
// the end of the session and ctx are not errors.
func Record(ctx context.Context, src Source, st Stream, cfg Config, deps Deps) error {
	defer src.Close()
	if deps.Log == nil {
		deps.Log = slog.New(slog.DiscardHandler)
	}
	if deps.Create == nil {
		deps.Create = createFile
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if cfg.FlushInterval <= 0 {
		cfg.FlushInterval = DefaultFlushInterval
	}
	if cfg.Fragment <= 0 {
		cfg.Fragment = DefaultFragment
	}
	if err := cfg.Validate(); err != nil {
		deps.Log.Error("dvr: not recording", "err", err)
		return err
	}
	r := &recorder{cfg: cfg, deps: deps, st: st, log: deps.Log,
		mp4: strings.EqualFold(filepath.Ext(cfg.Path), ".mp4"),
		ts:  strings.EqualFold(filepath.Ext(cfg.Path), ".ts")}
	defer r.releaseConfigs()
	var frames [64]media.Frame
	// Reads wake up at the next flush time while data waits in the
	// buffer.
	var dl readDeadline
	defer dl.stop()
	for {
		rctx := ctx
		if r.seg != nil && r.seg.dirty() {
			rctx = dl.at(ctx, r.seg.lastFlush.Add(cfg.FlushInterval))
		}
		n, err := src.Read(rctx, frames[:])
		var werr error
		for i := range n {
			if werr == nil {
				werr = r.frame(&frames[i])
			}
			frames[i].Release()
		}
		if werr == nil && r.seg != nil {
			idle := n == 0 && errors.Is(err, context.DeadlineExceeded)
			werr = r.seg.tick(time.Now(), idle)
		}
		if werr != nil {
			return r.fail(werr)
		}
		if err == nil || errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			continue
		}
		if werr = r.closeSegment(); werr != nil {
			return r.fail(werr)
		}
		if err == io.EOF || ctx.Err() != nil {
			return nil
		}
		r.log.Error("dvr: recording stopped: cannot read the stream", "err", err)
		return err
	}
}

// readDeadline is a context that ends at a given time; one serves every
// read until that time changes (at each flush), so reads do not allocate.
type readDeadline struct {
	ctx    context.Context
	cancel context.CancelFunc
	when   time.Time
}

func (d *readDeadline) at(parent context.Context, when time.Time) context.Context {
	if d.cancel == nil || !when.Equal(d.when) {
		d.stop()
		d.ctx, d.cancel = context.WithDeadline(parent, when)
		d.when = when
	}
	return d.ctx
}

func (d *readDeadline) stop() {
	if d.cancel != nil {
		d.cancel()
		d.cancel = nil
	}
}

// recorder is one recording's state.
type recorder struct {
	cfg  Config
	deps Deps
	st   Stream
	log  *slog.Logger
	mp4  bool
	ts   bool // MPEG-TS

	seg        *segment
	seq        int
	meta       media.Frame // latest metadata and sequence headers, for new files
	vcfg, acfg media.Frame
	hasVideo   bool            // the stream has video: files start at video keyframes
	vwait      media.VideoWait // the first file waits for the declared video
	cutPending bool            // start a new file at the next keyframe
}

func (r *recorder) releaseConfigs() {
	r.meta.Release()
	r.vcfg.Release()
	r.acfg.Release()
}

// keep replaces the frame kept in dst by a clone of f.
func keep(dst, f *media.Frame) {
	c := f.Clone()
	dst.Release()
	*dst = c
}

// frame handles one frame of the stream.
func (r *recorder) frame(f *media.Frame) error {
	switch {
	case f.Codec == media.CodecData:
		keep(&r.meta, f)
		if r.seg != nil {
			return r.seg.config(f)
		}
		return nil
	case f.IsConfig():
		dst := &r.acfg
		if f.Codec.IsVideo() {
			dst, r.hasVideo = &r.vcfg, true
		}
		same := dst.Codec == f.Codec && string(dst.Payload) == string(f.Payload)
		keep(dst, f)
		if r.seg == nil || same {
			return nil
		}
		err := r.seg.config(f)
		if errors.Is(err, errNeedCut) {
			r.cutPending = true
			return nil
		}
		return err
	case f.Codec.IsVideo():
		r.hasVideo = true
	case !f.Codec.IsAudio():
		return nil
	}
	// A file starts at a video keyframe, or at any frame of a stream
	// without video.
	start := f.Codec.IsVideo() && f.IsKey() || !r.hasVideo
	if r.seg != nil && start && (r.cutPending ||
		r.cfg.Plan == PlanSegment && f.DTS-r.seg.base >= r.cfg.Duration) {
		if err := r.closeSegment(); err != nil {
			return err
		}
	}
	if r.seg == nil {
		if !start {
			return nil
		}
		if !r.hasVideo {
			hold, gaveUp := r.vwait.Hold(f.DTS, r.deps.ExpectsVideo)
			if gaveUp {
				r.log.Info("dvr: the declared video did not come, recording audio alone",
					"waited", media.MaxVideoWait.String())
			}
			if hold {
				return nil
			}
		}
		if err := r.openSegment(f); err != nil {
			return err
		}
	}
	err := r.seg.frame(f)
	if errors.Is(err, errNeedCut) {
		r.cutPending = true
		return nil
	}
	return err
}

// fail ends the recording after a write error: one log line, and the file
// is kept up to its last complete tag or fragment.
func (r *recorder) fail(err error) error {
	s := r.seg
	r.seg = nil
	if s == nil {
		r.log.Error("dvr: recording stopped; the stream goes on without it", "err", err)
		return err
	}
	r.log.Error("dvr: recording stopped by a write error; the stream goes on without it",
		"file", s.final, "err", err)
	s.abort()
	final, kept, _, rerr := RepairFile(s.tmp)
	if rerr == nil && final != "" {
		r.done(s, final, kept, err)
	}
	return err
}

func (r *recorder) closeSegment() error {
	s := r.seg
	if s == nil {
		return nil
	}
	if err := s.close(); err != nil {
		return err
	}
	r.seg = nil
	r.cutPending = false
	if s.written == 0 {
		_ = os.Remove(s.tmp)
		return nil
	}
	final, err := rename(s.tmp, s.final)
	if err != nil {
		return err
	}
	r.log.Info("dvr: recording complete", "file", final, "duration", s.duration().Round(time.Millisecond).String(),
		"bytes", s.written)
	r.done(s, final, s.written, nil)
	return nil
}

func (r *recorder) done(s *segment, final string, size int64, err error) {
	if r.deps.OnFile != nil {
		r.deps.OnFile(File{Stream: r.st, Path: final, Start: s.start, Duration: s.duration(), Size: size, Err: err})
	}
}

// openSegment starts a new file with f, its first frame.
func (r *recorder) openSegment(f *media.Frame) error {
	now := r.deps.Now()
	final := Expand(r.cfg.Path, r.st, now, r.seq)
	r.seq++
	if err := os.MkdirAll(filepath.Dir(final), 0o755); err != nil {
		return fmt.Errorf("dvr: create the folder of %s: %w", final, err)
	}
	var out Output
	for i := 0; out == nil; i++ {
		if i > 1000 {
			return fmt.Errorf("dvr: create %s: too many files of that name: put [timestamp] or [seq] in the dvr path", final)
		}
		name := final
		if i > 0 {
			ext := filepath.Ext(final)
			name = strings.TrimSuffix(final, ext) + "." + strconv.Itoa(i) + ext
		}
		if _, err := os.Lstat(name); err == nil {
			continue // never overwrite a recording
		}
		o, err := r.deps.Create(name + tmpExt)
		if err != nil && !errors.Is(err, os.ErrExist) {
			return fmt.Errorf("dvr: create %s: %w", name+tmpExt, err)
		}
		if err == nil {
			out, final = o, name
		}
	}
	s := newSegment(out, final, now, f.DTS, r.cfg)
	r.seg = s
	r.log.Info("dvr: recording", "file", final)
	return s.begin(&r.meta, &r.vcfg, &r.acfg, f, r.mp4, r.ts)
}

// rename moves tmp to final, or to final with a number added when a file
// of that name exists, and returns the name used.
func rename(tmp, final string) (string, error) {
	ext := filepath.Ext(final)
	for i := 0; i < 1000; i++ {
		name := final
		if i > 0 {
			name = strings.TrimSuffix(final, ext) + "." + strconv.Itoa(i) + ext
		}
		if _, err := os.Lstat(name); err == nil {
			continue
		}
		if err := os.Rename(tmp, name); err != nil {
			return "", fmt.Errorf("dvr: rename %s: %w", tmp, err)
		}
		syncDir(filepath.Dir(name))
		return name, nil
	}
	return "", fmt.Errorf("dvr: rename %s: too many files named %s", tmp, final)
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}
