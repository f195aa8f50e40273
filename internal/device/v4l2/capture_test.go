package v4l2_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/srs-lite/srs-lite/internal/device/v4l2"
	"github.com/srs-lite/srs-lite/internal/device/v4l2/v4l2test"
	"github.com/srs-lite/srs-lite/internal/format/codec"
	"github.com/srs-lite/srs-lite/internal/media"
)

// accessUnits splits testdata/cam.h264 (made by x264 with aud=1) at its
// access unit delimiters: one Annex B access unit per camera buffer.
func accessUnits(t testing.TB) [][]byte {
	t.Helper()
	b, err := os.ReadFile("testdata/cam.h264")
	if err != nil {
		t.Fatal(err)
	}
	aud := []byte{0, 0, 0, 1, 9}
	var out [][]byte
	for len(b) > 0 {
		i := bytes.Index(b[1:], aud)
		if i < 0 {
			out = append(out, b)
			break
		}
		out = append(out, b[:i+1])
		b = b[i+1:]
	}
	return out
}

func TestDescribe(t *testing.T) {
	f := v4l2test.Camera(nil)
	info, err := v4l2.Describe(f, "/dev/video0")
	if err != nil {
		t.Fatal(err)
	}
	if !info.Capture || info.Driver != "uvcvideo" || info.Card != "Fake Camera" || info.Version != "6.1.0" {
		t.Fatalf("info %+v", info)
	}
	if len(info.Formats) != 3 {
		t.Fatalf("formats %+v", info.Formats)
	}
	h := info.Formats[1]
	if h.FourCC != "H264" || h.Name != "h264" || !h.Compressed || len(h.Sizes) != 2 {
		t.Fatalf("h264 %+v", h)
	}
	if s := h.Sizes[0]; s.Width != 1280 || s.Height != 720 || len(s.FPS) != 2 || s.FPS[0] != 30 || s.FPS[1] != 15 {
		t.Fatalf("size %+v", s)
	}
	// A metadata node (the second node of every UVC camera) is listed
	// without formats.
	meta := v4l2test.Camera(nil)
	meta.Cap.DeviceCaps = v4l2.CapMetaCapture | v4l2.CapStreaming
	info, err = v4l2.Describe(meta, "/dev/video1")
	if err != nil || info.Capture || len(info.Formats) != 0 {
		t.Fatalf("meta node: %+v %v", info, err)
	}
}

func TestList(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"video0", "video1", "video10", "video2"} {
		if err := os.WriteFile(dir+"/"+n, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	list := v4l2.List(dir+"/video*", func(p string) (v4l2.Device, error) {
		if p == dir+"/video1" {
			return nil, errors.New("permission denied")
		}
		return v4l2test.Camera(nil), nil
	})
	var paths []string
	for _, d := range list {
		paths = append(paths, d.Path[len(dir)+1:])
	}
	if len(list) != 4 || paths[0] != "video0" || paths[2] != "video2" || paths[3] != "video10" {
		t.Fatalf("paths %v", paths)
	}
	if list[1].Error != "permission denied" || list[0].Error != "" || len(list[0].Formats) != 3 {
		t.Fatalf("list %+v", list)
	}
}

func TestCapture(t *testing.T) {
	aus := accessUnits(t)
	f := v4l2test.Camera(aus)
	c, err := v4l2.StartCapture(f, v4l2.Format{PixelFormat: v4l2.PixH264, Width: 640, Height: 480, FPS: 15}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Format(); got != (v4l2.Format{PixelFormat: v4l2.PixH264, Width: 640, Height: 480, FPS: 15}) {
		t.Fatalf("format %+v", got)
	}
	if f.Mapped() != v4l2.DefaultBuffers || !f.Streaming() {
		t.Fatalf("mapped %d streaming %v", f.Mapped(), f.Streaming())
	}
	var held []v4l2.Frame
	for i := range 3 * v4l2.DefaultBuffers {
		fr, err := c.Read(time.Second)
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if !bytes.Equal(fr.Data, aus[i%len(aus)]) || fr.Sequence != uint32(i) ||
			fr.Timestamp != 1000*time.Second+time.Duration(i)*33*time.Millisecond {
			t.Fatalf("frame %d: seq %d ts %v len %d", i, fr.Sequence, fr.Timestamp, len(fr.Data))
		}
		// Holding every buffer starves the driver: the next Read times out.
		held = append(held, fr)
		if len(held) == v4l2.DefaultBuffers {
			if _, err := c.Read(20 * time.Millisecond); !errors.Is(err, v4l2.ErrTimeout) {
				t.Fatalf("read with every buffer held: %v", err)
			}
			for _, h := range held {
				if err := c.Release(h); err != nil {
					t.Fatal(err)
				}
			}
			held = held[:0]
		}
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if f.Mapped() != 0 || f.Streaming() {
		t.Fatalf("after Close: mapped %d streaming %v", f.Mapped(), f.Streaming())
	}
}

func TestCaptureWrongFormat(t *testing.T) {
	f := v4l2test.Camera(nil)
	f.Formats = f.Formats[:1] // MJPEG only
	_, err := v4l2.StartCapture(f, v4l2.Format{PixelFormat: v4l2.PixH264}, 0)
	if !errors.Is(err, v4l2.ErrInvalid) {
		t.Fatalf("err = %v", err)
	}
}

func TestResolve(t *testing.T) {
	f := v4l2test.Camera(nil)
	for _, tc := range []struct {
		format string
		want   uint32
		err    bool
	}{
		{"", v4l2.PixH264, false},
		{"mjpeg", v4l2.PixMJPEG, false},
		{"yuyv", v4l2.PixYUYV, false},
		{"YUYV", v4l2.PixYUYV, false},
		{"nv12", 0, true},
	} {
		got, err := v4l2.Resolve(f, v4l2.Input{Device: "/dev/video0", Format: tc.format})
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("%q: %v %v", tc.format, v4l2.FourCCString(got), err)
		}
	}
	f.Formats = f.Formats[2:] // YUYV only
	if got, _ := v4l2.Resolve(f, v4l2.Input{}); got != v4l2.PixYUYV {
		t.Errorf("auto on a YUYV camera: %s", v4l2.FourCCString(got))
	}
}

type collect struct {
	frames []media.Frame
	stop   int
	cancel context.CancelFunc
}

func (c *collect) Write(f *media.Frame) error {
	g := *f
	g.Payload = append([]byte(nil), f.Payload...)
	c.frames = append(c.frames, g)
	if len(c.frames) == c.stop {
		c.cancel()
	}
	return nil
}

func TestSource(t *testing.T) {
	aus := accessUnits(t)
	for _, tc := range []struct {
		name  string
		zero  bool
		check func(t *testing.T, fr []media.Frame)
	}{
		{"driver clock", false, func(t *testing.T, fr []media.Frame) {
			for i, f := range fr[1:] {
				if want := time.Duration(i) * 33 * time.Millisecond; f.DTS != want || f.PTS != want {
					t.Fatalf("frame %d: dts %v, want %v", i, f.DTS, want)
				}
			}
		}},
		{"arrival time", true, func(t *testing.T, fr []media.Frame) {
			for i := 2; i < len(fr); i++ {
				if fr[i].DTS < fr[i-1].DTS {
					t.Fatalf("frame %d: dts %v after %v", i, fr[i].DTS, fr[i-1].DTS)
				}
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := v4l2test.Camera(aus)
			f.ZeroTimestamps = tc.zero
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			pub := &collect{stop: 1 + 2*len(aus), cancel: cancel}
			src := v4l2.NewSource(v4l2.Input{Device: "/dev/video0", Width: 640, Height: 480},
				v4l2.Config{Open: func(string) (v4l2.Device, error) { return f, nil }}, nil)
			if err := src.Run(ctx, pub); !errors.Is(err, context.Canceled) {
				t.Fatalf("Run = %v", err)
			}
			fr := pub.frames
			if len(fr) != pub.stop {
				t.Fatalf("%d frames", len(fr))
			}
			if !fr[0].IsConfig() || fr[0].Codec != media.CodecH264 {
				t.Fatalf("first frame %+v", fr[0])
			}
			v, ok := codec.VideoInfo(&fr[0])
			if !ok || v.Width != 160 || v.Height != 120 {
				t.Fatalf("video info %+v %v", v, ok)
			}
			keys := 0
			for _, f := range fr[1:] {
				if f.IsConfig() {
					t.Fatal("a second config frame for unchanged parameter sets")
				}
				if f.IsKey() {
					keys++
				}
			}
			if !fr[1].IsKey() || keys != 4 { // GOP of 5 in 10 frames, twice
				t.Fatalf("keyframes: first %v, %d in all", fr[1].IsKey(), keys)
			}
			tc.check(t, fr)
			if f.Mapped() != 0 || f.Streaming() {
				t.Fatal("capture not closed")
			}
		})
	}
}

func TestSourceUnplugged(t *testing.T) {
	f := v4l2test.Camera(accessUnits(t))
	f.Unplug = 3
	pub := &collect{stop: -1, cancel: func() {}}
	src := v4l2.NewSource(v4l2.Input{Device: "/dev/video0"},
		v4l2.Config{Open: func(string) (v4l2.Device, error) { return f, nil }}, nil)
	if err := src.Run(context.Background(), pub); !errors.Is(err, v4l2.ErrNoDevice) {
		t.Fatalf("Run = %v", err)
	}
	if len(pub.frames) != 4 { // config + 3 frames
		t.Fatalf("%d frames", len(pub.frames))
	}
}

func TestSourceSilent(t *testing.T) {
	f := v4l2test.Camera(nil)
	f.RealTime, f.Interval = true, time.Hour
	src := v4l2.NewSource(v4l2.Input{Device: "/dev/video0"},
		v4l2.Config{Open: func(string) (v4l2.Device, error) { return f, nil }, Timeout: 100 * time.Millisecond}, nil)
	// The first buffer comes at once; the next would come an hour later.
	err := src.Run(context.Background(), &collect{stop: -1, cancel: func() {}})
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte("no frame for")) {
		t.Fatalf("Run = %v", err)
	}
}
