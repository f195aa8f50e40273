// Package v4l2 captures video from Linux video devices (USB UVC cameras,
// board camera drivers) in pure Go, through the V4L2 ioctls of
// golang.org/x/sys/unix: it lists devices and their formats
// (VIDIOC_QUERYCAP, VIDIOC_ENUM_FMT, VIDIOC_ENUM_FRAMESIZES,
// VIDIOC_ENUM_FRAMEINTERVALS), captures by mmap streaming I/O (V4L2 API
// §3.2: VIDIOC_REQBUFS, VIDIOC_QUERYBUF, mmap, VIDIOC_QBUF, VIDIOC_STREAMON,
// poll and VIDIOC_DQBUF), and publishes H.264 from cameras that encode it
// directly as media frames. Other formats (MJPEG, YUYV) need an encoder,
// which the ingest service runs with ffmpeg.
//
// The system calls go through the Device interface, so that the request
// sequence is tested against a fake driver (package v4l2test).
package v4l2

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/srs-lite/srs-lite/internal/media"
)

// Input is a parsed v4l2:// ingest input:
// v4l2:///dev/video0?format=h264&size=1280x720&fps=30. Every parameter is
// optional.
type Input struct {
	Device string // the node, e.g. /dev/video0
	// Format is a format= name ("h264", "mjpeg", "yuyv", ...) or a FourCC;
	// empty: H.264 when the device offers it, else MJPEG, else YUYV, else
	// its first format.
	Format        string
	Width, Height int // 0: the device's current size
	FPS           int // 0: the device's current rate
}

// ErrInput reports a malformed v4l2:// input.
var ErrInput = errors.New("v4l2: bad input")

// ParseInput parses a v4l2:// URL. The device path may be given as
// v4l2:///dev/video0, v4l2:/dev/video0 or v4l2://video0.
func ParseInput(s string) (Input, error) {
	u, err := url.Parse(s)
	if err != nil || !strings.EqualFold(u.Scheme, "v4l2") {
		return Input{}, fmt.Errorf("%w: %q: want v4l2:///dev/videoN?format=h264&size=WxH&fps=N", ErrInput, s)
	}
	in := Input{Device: u.Path}
	if u.Host != "" {
		in.Device = "/dev/" + u.Host + u.Path
	} else if u.Opaque != "" {
		in.Device = u.Opaque
	}
	if !strings.HasPrefix(in.Device, "/") || strings.Contains(in.Device, "..") || len(in.Device) > 256 {
		return Input{}, fmt.Errorf("%w: %q: no device path: want v4l2:///dev/videoN", ErrInput, s)
	}
	q := u.Query()
	for k := range q {
		switch k {
		case "format", "size", "fps":
		default:
			return Input{}, fmt.Errorf("%w: %q: unknown parameter %q (format, size, fps)", ErrInput, s, k)
		}
	}
	if f := q.Get("format"); f != "" && !strings.EqualFold(f, "auto") {
		if lf := strings.ToLower(f); isName(lf) {
			f = lf
		} else if len(f) != 4 {
			return Input{}, fmt.Errorf("%w: format %q: want h264, mjpeg, yuyv, nv12, yuv420, or a FourCC", ErrInput, f)
		}
		in.Format = f
	}
	if sz := q.Get("size"); sz != "" {
		w, h, ok := ParseSize(sz)
		if !ok {
			return Input{}, fmt.Errorf("%w: size %q: want WxH, e.g. 1280x720", ErrInput, sz)
		}
		in.Width, in.Height = w, h
	}
	if f := q.Get("fps"); f != "" {
		n, err := strconv.Atoi(f)
		if err != nil || n <= 0 || n > 1000 {
			return Input{}, fmt.Errorf("%w: fps %q: want 1..1000", ErrInput, f)
		}
		in.FPS = n
	}
	return in, nil
}

// ParseSize parses "WxH" with 1 <= W, H <= 16384.
func ParseSize(s string) (w, h int, ok bool) {
	ws, hs, found := strings.Cut(strings.ToLower(s), "x")
	if !found {
		return 0, 0, false
	}
	w, err1 := strconv.Atoi(ws)
	h, err2 := strconv.Atoi(hs)
	if err1 != nil || err2 != nil || w < 1 || h < 1 || w > 16384 || h > 16384 {
		return 0, 0, false
	}
	return w, h, true
}

// Resolve picks the pixel format of in from what the device offers.
func Resolve(d Device, in Input) (uint32, error) {
	fmts, err := EnumFormats(d)
	if err != nil {
		return 0, err
	}
	if len(fmts) == 0 {
		return 0, fmt.Errorf("v4l2: %s offers no capture format", in.Device)
	}
	has := func(p uint32) bool {
		for _, f := range fmts {
			if f.PixelFormat == p {
				return true
			}
		}
		return false
	}
	if in.Format != "" {
		p, _ := PixelFormat(in.Format)
		if !has(p) {
			names := make([]string, len(fmts))
			for i, f := range fmts {
				names[i] = FormatName(f.PixelFormat)
			}
			return 0, fmt.Errorf("v4l2: %s does not offer format %s (it offers %s)", in.Device, in.Format, strings.Join(names, ", "))
		}
		return p, nil
	}
	for _, p := range []uint32{PixH264, PixMJPEG, PixYUYV} {
		if has(p) {
			return p, nil
		}
	}
	return fmts[0].PixelFormat, nil
}

// Publisher takes a source's frames: the output stream of an ingest.
type Publisher interface {
	// Write publishes one frame. Its payload may be scratch memory valid
	// during the call only. An error stops the source, which returns it.
	Write(f *media.Frame) error
}

// Config configures a Source. Zero values take the defaults.
type Config struct {
	// Open opens the device (default Open).
	Open func(path string) (Device, error)
	// Timeout is how long the device may stay silent (default 5 s).
	Timeout time.Duration
	// Buffers is the number of mmap buffers (default DefaultBuffers).
	Buffers int
}

// Source publishes the H.264 of an encoding camera.
type Source struct {
	in  Input
	cfg Config
	log *slog.Logger
}

// NewSource returns a source capturing H.264 from in.Device.
func NewSource(in Input, cfg Config, log *slog.Logger) *Source {
	if cfg.Open == nil {
		cfg.Open = Open
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Second
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Source{in: in, cfg: cfg, log: log}
}

// Run captures until ctx ends or the device fails, publishing into pub.
// Timestamps come from the buffers' timestamps, relative to the first;
// a driver whose timestamps do not advance gets the arrival time instead.
func (s *Source) Run(ctx context.Context, pub Publisher) error {
	d, err := s.cfg.Open(s.in.Device)
	if err != nil {
		return err
	}
	defer d.Close()
	c, err := StartCapture(d, Format{PixelFormat: PixH264, Width: s.in.Width, Height: s.in.Height, FPS: s.in.FPS}, s.cfg.Buffers)
	if err != nil {
		return err
	}
	defer c.Close()
	f := c.Format()
	s.log.Info("v4l2: capturing", "device", s.in.Device, "format", FourCCString(f.PixelFormat),
		"size", fmt.Sprintf("%dx%d", f.Width, f.Height), "fps", f.FPS)
	var (
		p       H264Packer
		first   time.Duration
		last    time.Duration
		n       int
		clock   bool // the driver's timestamps do not advance: use the arrival time
		start   = time.Now()
		frameAt = start
	)
	for ctx.Err() == nil {
		fr, err := c.Read(min(s.cfg.Timeout, time.Second))
		if errors.Is(err, ErrTimeout) {
			if time.Since(frameAt) > s.cfg.Timeout {
				return fmt.Errorf("v4l2: %s: no frame for %s", s.in.Device, s.cfg.Timeout)
			}
			continue
		}
		if err != nil {
			return err
		}
		frameAt = time.Now()
		if n == 0 {
			first = fr.Timestamp
		}
		rel := fr.Timestamp - first
		if !clock && (fr.Timestamp == 0 || n > 0 && rel <= last) {
			clock = true
			s.log.Warn("v4l2: the driver's timestamps do not advance: using the arrival time", "device", s.in.Device)
		}
		if clock {
			rel = frameAt.Sub(start)
		}
		last = rel
		n++
		err = p.Pack(fr.Data, rel, pub.Write)
		if rerr := c.Release(fr); err == nil {
			err = rerr
		}
		if err != nil {
			return err
		}
	}
	return ctx.Err()
}
