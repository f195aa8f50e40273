package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/srs-lite/srs-lite/internal/ffmpeg"
	"github.com/srs-lite/srs-lite/internal/media"
)

// Stall limits of an ffmpeg child: it must give its first frame within
// ffmpegStart (probing a network input takes a few seconds) and then keep
// giving frames; a hung child is killed and the supervisor starts another.
var (
	ffmpegStart = 30 * time.Second
	ffmpegStall = 15 * time.Second
)

// ffmpegSource reads a file or a URL only ffmpeg reads: the child writes
// FLV to its standard output and the frames are published directly. SRS
// pushes its ingest children over RTMP to itself; a pipe spares the
// loopback connection and the RTMP handshake.
type ffmpegSource struct {
	cfg Config
	log *slog.Logger
}

func newFFmpeg(cfg Config, l *slog.Logger) (Source, error) {
	return &ffmpegSource{cfg: cfg, log: l}, nil
}

func (s *ffmpegSource) Describe() string {
	if v := s.cfg.Encoder; v != "" && v != ffmpeg.Auto && v != ffmpeg.Copy {
		return "ffmpeg " + v
	}
	return "ffmpeg"
}

func (s *ffmpegSource) Run(ctx context.Context, pub Publisher) error {
	args := ffmpeg.Ingest{Input: s.cfg.Input, VCodec: s.cfg.Encoder, ACodec: s.cfg.ACodec}.Args()
	return runFFmpeg(ctx, args, pub, s.log)
}

// errPublish marks the publisher's refusal, which ends a child.
type errPublish struct{ err error }

func (e errPublish) Error() string { return e.err.Error() }
func (e errPublish) Unwrap() error { return e.err }

// runFFmpeg runs one ffmpeg child writing FLV on its standard output and
// publishes its frames until ctx ends or the child exits or stalls. A
// missing ffmpeg is Fatal: the entry fails with one clear error.
func runFFmpeg(ctx context.Context, args []string, pub Publisher, l *slog.Logger) error {
	path, err := ffmpeg.Look()
	if err != nil {
		return Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	p, err := ffmpeg.Start(cctx, args, ffmpeg.Options{Path: path, Log: l})
	if err != nil {
		return err
	}
	l.Info("ingest: ffmpeg started", "pid", p.Pid(), "args", redactArgs(args))
	var last atomic.Int64 // unix ns of the last frame; 0: none yet
	var stalled atomic.Bool
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		start := time.Now()
		for {
			select {
			case <-cctx.Done():
				return
			case <-p.Done():
				return
			case now := <-t.C:
				at := last.Load()
				if (at == 0 && now.Sub(start) > ffmpegStart) || (at != 0 && now.Sub(time.Unix(0, at)) > ffmpegStall) {
					stalled.Store(true)
					p.Kill()
					return
				}
			}
		}
	}()
	rerr := ffmpeg.ReadFrames(p.Stdout, func(f *media.Frame) error {
		last.Store(time.Now().UnixNano())
		if err := pub.Write(f); err != nil {
			return errPublish{err}
		}
		return nil
	})
	if rerr != nil {
		p.Kill()
	}
	werr := p.Wait()
	var pe errPublish
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.As(rerr, &pe):
		return pe.err
	case stalled.Load():
		if last.Load() == 0 {
			return fmt.Errorf("ffmpeg gave no frame within %s: is the input reachable?", ffmpegStart)
		}
		return fmt.Errorf("ffmpeg gave no frame for %s: killed", ffmpegStall)
	case werr != nil:
		return werr
	case rerr != nil:
		return fmt.Errorf("ffmpeg output: %w", rerr)
	}
	return errors.New("ffmpeg: the input ended")
}

// redactArgs joins a command line for the log, with passwords of URLs
// hidden.
func redactArgs(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		if strings.Contains(a, "://") {
			a = redact(a)
		}
		out[i] = a
	}
	return strings.Join(out, " ")
}
