package ingest

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/srs-lite/srs-lite/internal/device/v4l2"
	"github.com/srs-lite/srs-lite/internal/device/v4l2/v4l2test"
	"github.com/srs-lite/srs-lite/internal/ffmpeg"
	"github.com/srs-lite/srs-lite/internal/media"
)

func needFFmpeg(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("SKIPPED: ffmpeg is not installed (Debian/Ubuntu: apt-get install ffmpeg)")
	}
}

// managerWith returns a manager with the default sources and fast retries.
func managerWith(t *testing.T, sources map[string]NewSource) (*Manager, *media.Registry) {
	t.Helper()
	reg := media.NewRegistry(nil)
	m, err := New(Deps{Registry: reg, Log: slog.New(slog.DiscardHandler), Sources: sources,
		MinBackoff: 20 * time.Millisecond, MaxBackoff: 80 * time.Millisecond, Poll: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	return m, reg
}

// readStream reads frames of a stream until it has a video config frame
// and n coded video frames, the first a keyframe; it fails after 20 s.
func readStream(t *testing.T, reg *media.Registry, app, name string, n int) media.VideoInfo {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	rd := reg.Subscribe(media.Key{Vhost: "__defaultVhost__", App: app, Stream: name}, nil)
	defer rd.Close()
	var frames [16]media.Frame
	got, cfg := 0, false
	for got < n {
		k, err := rd.Read(ctx, frames[:])
		if err != nil {
			t.Fatalf("read %s after %d frames: %v", name, got, err)
		}
		for i := range frames[:k] {
			f := &frames[i]
			switch {
			case f.Codec.IsVideo() && f.IsConfig():
				cfg = true
			case f.Codec.IsVideo():
				if got == 0 && (!cfg || !f.IsKey()) {
					t.Fatalf("the stream starts with %+v", f)
				}
				got++
			}
			f.Release()
		}
	}
	return reg.Lookup(media.Key{Vhost: "__defaultVhost__", App: app, Stream: name}).Stats().Video
}

// fixture writes a 2 s H.264 + AAC FLV file.
func fixture(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "clip.flv")
	out, err := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=192x108:rate=25",
		"-f", "lavfi", "-i", "sine=sample_rate=44100", "-t", "2", "-c:v", "libx264", "-preset", "ultrafast", "-g", "25",
		"-c:a", "aac", "-f", "flv", p).CombinedOutput()
	if err != nil {
		t.Fatalf("making the fixture: %v %s", err, out)
	}
	return p
}

func TestFFmpegFile(t *testing.T) {
	needFFmpeg(t)
	m, reg := managerWith(t, nil)
	c := cfg("clip")
	c.Input = fixture(t)
	m.Apply([]Config{c})
	// 60 frames of a 50-frame file: it loops.
	if v := readStream(t, reg, "live", "clip", 60); v.Width != 192 || v.Height != 108 {
		t.Fatalf("video %+v", v)
	}
	st := state(m, "clip")
	if st.State != StateRunning || st.Source != "ffmpeg" || st.Restarts != 0 {
		t.Fatalf("status %+v", st)
	}
	if a := reg.Lookup(media.Key{Vhost: "__defaultVhost__", App: "live", Stream: "clip"}).Stats(); !a.HasAudio || a.Audio.Codec != media.CodecAAC {
		t.Fatalf("audio %+v", a.Audio)
	}
}

func TestFFmpegBadInput(t *testing.T) {
	needFFmpeg(t)
	m, _ := managerWith(t, nil)
	c := cfg("gone")
	c.Input = "/nonexistent/clip.mp4"
	m.Apply([]Config{c})
	waitFor(t, "retrying", func() bool { return state(m, "gone").Restarts >= 2 })
	if e := state(m, "gone").Error; !strings.Contains(e, "No such file or directory") {
		t.Fatalf("error %q should quote ffmpeg", e)
	}
}

// TestFFmpegMissing: without ffmpeg the entry fails once, with the
// reason; a reload after installing ffmpeg starts it.
func TestFFmpegMissing(t *testing.T) {
	m, _ := managerWith(t, nil)
	c := cfg("clip")
	c.Input = "udp://239.0.0.1:1234"
	path := os.Getenv("PATH")
	t.Setenv("PATH", t.TempDir())
	m.Apply([]Config{c})
	waitFor(t, "failed", func() bool { return state(m, "clip").State == StateFailed })
	st := state(m, "clip")
	if !strings.Contains(st.Error, "ffmpeg not found") || st.Restarts != 0 {
		t.Fatalf("status %+v", st)
	}
	time.Sleep(100 * time.Millisecond)
	if st := state(m, "clip"); st.State != StateFailed || st.Restarts != 0 {
		t.Fatalf("a failed entry retried: %+v", st)
	}
	// A fake ffmpeg on the PATH, then a reload of the same config.
	dir := t.TempDir()
	script := "#!/bin/sh\necho \"$@\" > " + dir + "/args\necho 'udp://239.0.0.1:1234: Immediate exit requested' >&2\nexit 1\n"
	if err := os.WriteFile(filepath.Join(dir, "ffmpeg"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	os.Setenv("PATH", dir+":"+path)
	m.Apply([]Config{c})
	waitFor(t, "retrying", func() bool { return state(m, "clip").State == StateRetrying })
	if e := state(m, "clip").Error; !strings.Contains(e, "exit status 1: udp://239.0.0.1:1234: Immediate exit requested") {
		t.Fatalf("error %q", e)
	}
}

// fakeFFmpeg puts a script named ffmpeg first on the PATH that records its
// arguments and fails; it returns the file with the arguments.
func fakeFFmpeg(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	script := "#!/bin/sh\necho \"$@\" > " + dir + "/args\necho 'fake: cannot open' >&2\nexit 1\n"
	if err := os.WriteFile(filepath.Join(dir, "ffmpeg"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+":"+os.Getenv("PATH"))
	return filepath.Join(dir, "args")
}

func TestV4L2H264(t *testing.T) {
	aus := v4l2AUs(t)
	cam := v4l2test.Camera(aus)
	cam.RealTime = true
	m, reg := managerWith(t, map[string]NewSource{"v4l2": NewV4L2Source(func(string) (v4l2.Device, error) {
		cam.Reopen()
		return cam, nil
	})})
	c := cfg("usb")
	c.Input = "v4l2:///dev/video0?size=640x480&fps=30"
	m.Apply([]Config{c})
	if v := readStream(t, reg, "live", "usb", 12); v.Codec != media.CodecH264 || v.Width != 160 {
		t.Fatalf("video %+v", v)
	}
	if st := state(m, "usb"); st.Source != "v4l2 H264" || st.State != StateRunning {
		t.Fatalf("status %+v", st)
	}
}

// TestV4L2Encoder: an MJPEG camera goes through ffmpeg with the entry's
// encoder; a fake ffmpeg records the command line.
func TestV4L2Encoder(t *testing.T) {
	args := fakeFFmpeg(t)
	cam := v4l2test.Camera(nil)
	m, _ := managerWith(t, map[string]NewSource{"v4l2": NewV4L2Source(func(string) (v4l2.Device, error) {
		cam.Reopen()
		return cam, nil
	})})
	c := cfg("usb")
	c.Input = "v4l2:///dev/video0?format=mjpeg&size=640x480&fps=15"
	c.Encoder = "h264_v4l2m2m"
	m.Apply([]Config{c})
	waitFor(t, "retrying", func() bool { return state(m, "usb").State == StateRetrying })
	st := state(m, "usb")
	if st.Source != "v4l2 MJPG, ffmpeg h264_v4l2m2m" || !strings.Contains(st.Error, "fake: cannot open") {
		t.Fatalf("status %+v", st)
	}
	b, err := os.ReadFile(args)
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Join(ffmpeg.BaseArgs, " ") + " -f v4l2 -input_format mjpeg -video_size 640x480 -framerate 15 -i /dev/video0" +
		" -map 0:v:0? -map 0:a:0? -c:v h264_v4l2m2m -pix_fmt yuv420p -g 30 -b:v 2000k -maxrate 2000k -bufsize 4000k -an -f flv pipe:1"
	if got := strings.TrimSpace(string(b)); got != want {
		t.Fatalf("ffmpeg args:\n got %s\nwant %s", got, want)
	}
}

func TestV4L2BadInput(t *testing.T) {
	m, _ := managerWith(t, nil)
	c := cfg("usb")
	c.Input = "v4l2:///dev/video0?size=big"
	m.Apply([]Config{c})
	waitFor(t, "failed", func() bool { return state(m, "usb").State == StateFailed })
	if e := state(m, "usb").Error; !strings.Contains(e, "size \"big\"") {
		t.Fatalf("error %q", e)
	}
}

// v4l2AUs returns the access units of the v4l2 package's test clip.
func v4l2AUs(t *testing.T) [][]byte {
	b, err := os.ReadFile("../../device/v4l2/testdata/cam.h264")
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	aud := "\x00\x00\x00\x01\x09"
	for s := string(b); len(s) > 0; {
		i := strings.Index(s[1:], aud)
		if i < 0 {
			out = append(out, []byte(s))
			break
		}
		out = append(out, []byte(s[:i+1]))
		s = s[i+1:]
	}
	return out
}
