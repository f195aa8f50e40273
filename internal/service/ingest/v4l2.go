package ingest

import (
	"context"
	"log/slog"
	"strconv"
	"sync"

	"github.com/srs-lite/srs-lite/internal/device/v4l2"
	"github.com/srs-lite/srs-lite/internal/ffmpeg"
)

// NewV4L2Source returns the source of v4l2:// inputs, opening devices with
// open (nil: v4l2.Open). A camera that encodes H.264 is captured in pure Go
// and published directly; MJPEG and raw formats go through an ffmpeg child
// that encodes them with the entry's encoder (libx264 by default, or the
// board's h264_v4l2m2m or h264_omx).
func NewV4L2Source(open func(path string) (v4l2.Device, error)) NewSource {
	if open == nil {
		open = v4l2.Open
	}
	return func(cfg Config, l *slog.Logger) (Source, error) {
		in, err := v4l2.ParseInput(cfg.Input)
		if err != nil {
			return nil, err
		}
		return &v4l2Source{cfg: cfg, in: in, open: open, log: l}, nil
	}
}

type v4l2Source struct {
	cfg  Config
	in   v4l2.Input
	open func(string) (v4l2.Device, error)
	log  *slog.Logger

	mu   sync.Mutex
	desc string
}

func (s *v4l2Source) Describe() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.desc == "" {
		return "v4l2"
	}
	return s.desc
}

func (s *v4l2Source) setDesc(d string) {
	s.mu.Lock()
	s.desc = d
	s.mu.Unlock()
}

func (s *v4l2Source) Run(ctx context.Context, pub Publisher) error {
	d, err := s.open(s.in.Device)
	if err != nil {
		return err // unplugged: it may come back
	}
	pix, err := v4l2.Resolve(d, s.in)
	_ = d.Close()
	if err != nil {
		return err
	}
	enc := s.cfg.Encoder
	if pix == v4l2.PixH264 && (enc == "" || enc == ffmpeg.Auto || enc == ffmpeg.Copy) {
		s.setDesc("v4l2 H264")
		in := s.in
		in.Format = "h264"
		return v4l2.NewSource(in, v4l2.Config{Open: s.open}, s.log).Run(ctx, pub)
	}
	name, ok := v4l2.FFmpegFormat(pix)
	if !ok {
		return Fatal(errUnsupportedPix(pix))
	}
	if enc == "" || enc == ffmpeg.Auto || enc == ffmpeg.Copy {
		enc = ffmpeg.X264
	}
	s.setDesc("v4l2 " + v4l2.FourCCString(pix) + ", ffmpeg " + enc)
	inArgs := []string{"-f", "v4l2", "-input_format", name}
	if s.in.Width > 0 {
		inArgs = append(inArgs, "-video_size", strconv.Itoa(s.in.Width)+"x"+strconv.Itoa(s.in.Height))
	}
	if s.in.FPS > 0 {
		inArgs = append(inArgs, "-framerate", strconv.Itoa(s.in.FPS))
	}
	args := ffmpeg.Ingest{Input: s.in.Device, InputArgs: inArgs, VCodec: enc, ACodec: ffmpeg.None, FPS: s.in.FPS}.Args()
	return runFFmpeg(ctx, args, pub, s.log)
}

type errUnsupportedPix uint32

func (e errUnsupportedPix) Error() string {
	return "v4l2: format " + v4l2.FourCCString(uint32(e)) + " cannot be encoded: choose another with ?format= (h264, mjpeg, yuyv, nv12, yuv420)"
}
