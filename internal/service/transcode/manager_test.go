package transcode

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/srs-lite/srs-lite/internal/ffmpeg"
	"github.com/srs-lite/srs-lite/internal/format/codec"
	"github.com/srs-lite/srs-lite/internal/media"
	"github.com/srs-lite/srs-lite/internal/session"
)

const vhost = "__defaultVhost__"

func needFFmpeg(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("SKIPPED: ffmpeg is not installed (Debian/Ubuntu: apt-get install ffmpeg)")
	}
}

var (
	clipOnce   sync.Once
	clipFrames []media.Frame
	clipErr    error
)

// clip returns the frames of a 2 s 320x240 H.264 + AAC clip made by ffmpeg.
func clip(t *testing.T) []media.Frame {
	t.Helper()
	needFFmpeg(t)
	clipOnce.Do(func() {
		cmd := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25",
			"-f", "lavfi", "-i", "sine=sample_rate=44100", "-t", "2", "-c:v", "libx264", "-preset", "ultrafast", "-g", "25",
			"-c:a", "aac", "-f", "flv", "pipe:1")
		out, err := cmd.StdoutPipe()
		if err != nil {
			clipErr = err
			return
		}
		if clipErr = cmd.Start(); clipErr != nil {
			return
		}
		clipErr = ffmpeg.ReadFrames(out, func(f *media.Frame) error {
			g := *f
			g.Payload = append([]byte(nil), f.Payload...)
			clipFrames = append(clipFrames, g)
			return nil
		})
		if err := cmd.Wait(); clipErr == nil {
			clipErr = err
		}
	})
	if clipErr != nil {
		t.Fatal(clipErr)
	}
	return clipFrames
}

// publishClip publishes the clip in a loop, in real time, until stop.
func publishClip(t *testing.T, reg *media.Registry, name string) (stop func()) {
	t.Helper()
	frames := clip(t)
	st, err := reg.Publish(media.Key{Vhost: vhost, App: "live", Stream: name})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer st.Unpublish()
		start := time.Now()
		var off time.Duration
		for loop := 0; ; loop++ {
			var last time.Duration
			for i := range frames {
				f := frames[i]
				if loop > 0 && (f.IsConfig() || f.Codec == media.CodecData) {
					continue
				}
				f.DTS += off
				f.PTS += off
				last = f.DTS
				if d := time.Until(start.Add(f.DTS)); d > 0 {
					select {
					case <-done:
						return
					case <-time.After(d):
					}
				}
				if f.IsConfig() {
					if v, ok := codec.VideoInfo(&f); ok {
						st.SetVideoInfo(v)
					}
				}
				f.Own()
				st.Write(&f)
			}
			off = last + 40*time.Millisecond
		}
	}()
	var once sync.Once
	return func() { once.Do(func() { close(done); wg.Wait() }) }
}

func newManager(t *testing.T, rules ...Rule) (*Manager, *media.Registry, *session.Table) {
	t.Helper()
	reg := media.NewRegistry(nil)
	clients := session.NewTable()
	m, err := New(Deps{Registry: reg, Clients: clients, Log: slog.New(slog.DiscardHandler),
		MinBackoff: 50 * time.Millisecond, MaxBackoff: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	reg.OnPublish(m.Publish)
	m.SetRules(rules)
	t.Cleanup(func() { _ = m.Close() })
	return m, reg, clients
}

// outputInfo waits for the output stream's video sequence header.
func outputInfo(t *testing.T, reg *media.Registry, name string) media.VideoInfo {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	rd := reg.Subscribe(media.Key{Vhost: vhost, App: "live", Stream: name}, nil)
	defer rd.Close()
	var frames [16]media.Frame
	var info media.VideoInfo
	coded := 0
	for coded < 10 {
		n, err := rd.Read(ctx, frames[:])
		if err != nil {
			t.Fatalf("reading %s: %v", name, err)
		}
		for i := range frames[:n] {
			f := &frames[i]
			if v, ok := codec.VideoInfo(f); ok && f.IsConfig() {
				info = v
			} else if f.Codec.IsVideo() {
				coded++
			}
			f.Release()
		}
	}
	return info
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

func TestTranscode(t *testing.T) {
	m, reg, clients := newManager(t, Rule{Name: "sd", Stream: "*", Width: 160, Height: 120, VBitrate: 200})
	stop := publishClip(t, reg, "cam")
	if v := outputInfo(t, reg, "cam_sd"); v.Width != 160 || v.Height != 120 || v.Codec != media.CodecH264 {
		t.Fatalf("output video %+v", v)
	}
	st := m.Status()
	if len(st) != 1 || st[0].State != StateRunning || st[0].Input != "live/cam" || st[0].Output != "live/cam_sd" || st[0].PID == 0 {
		t.Fatalf("status %+v", st)
	}
	// The output is not transcoded again, though "*" matches it.
	if reg.Lookup(media.Key{Vhost: vhost, App: "live", Stream: "cam_sd_sd"}) != nil {
		t.Fatal("the output was transcoded")
	}
	if a := reg.Lookup(media.Key{Vhost: vhost, App: "live", Stream: "cam_sd"}).Stats(); !a.HasAudio {
		t.Fatal("the output has no audio")
	}
	found := false
	for _, c := range clients.List() {
		found = found || c.Proto == "transcode" && c.Stream == "cam_sd" && c.Publisher()
	}
	if !found {
		t.Fatal("the output is not listed as a client")
	}
	// The source ends: so does the transcoder, and its output.
	stop()
	waitFor(t, "the end of the transcoder", func() bool { return len(m.Status()) == 0 })
	if s := reg.Lookup(media.Key{Vhost: vhost, App: "live", Stream: "cam_sd"}); s != nil && s.Publishing() {
		t.Fatal("the output is still published")
	}
}

// TestSetRules: a rule added on reload starts on a live stream; removed,
// it stops.
func TestSetRules(t *testing.T) {
	m, reg, _ := newManager(t)
	stop := publishClip(t, reg, "cam")
	defer stop()
	m.SetRules([]Rule{{Name: "audio", VCodec: ffmpeg.None, Output: "[stream]_audio"}})
	waitFor(t, "the audio output", func() bool {
		s := reg.Lookup(media.Key{Vhost: vhost, App: "live", Stream: "cam_audio"})
		return s != nil && s.Publishing() && s.Stats().AudioFrames > 10
	})
	if s := reg.Lookup(media.Key{Vhost: vhost, App: "live", Stream: "cam_audio"}).Stats(); s.HasVideo || s.VideoFrames > 0 {
		t.Fatalf("audio only output has video: %+v", s)
	}
	m.SetRules(nil)
	waitFor(t, "the output to end", func() bool {
		s := reg.Lookup(media.Key{Vhost: vhost, App: "live", Stream: "cam_audio"})
		return len(m.Status()) == 0 && (s == nil || !s.Publishing())
	})
}

func TestRestart(t *testing.T) {
	// A logo that does not exist: ffmpeg fails at once, and again.
	m, reg, _ := newManager(t, Rule{Name: "logo", Logo: "/nonexistent/logo.png"})
	stop := publishClip(t, reg, "cam")
	defer stop()
	waitFor(t, "restarts", func() bool { s := m.Status(); return len(s) == 1 && s[0].Restarts >= 2 })
	if e := m.Status()[0].Error; !strings.Contains(e, "No such file or directory") {
		t.Fatalf("error %q does not quote ffmpeg", e)
	}
}

func TestFFmpegMissing(t *testing.T) {
	clip(t) // before the PATH goes
	m, reg, _ := newManager(t, Rule{Name: "sd"})
	path := os.Getenv("PATH")
	t.Setenv("PATH", t.TempDir())
	stop := publishClip(t, reg, "cam")
	defer stop()
	waitFor(t, "failed", func() bool { s := m.Status(); return len(s) == 1 && s[0].State == StateFailed })
	if s := m.Status()[0]; !strings.Contains(s.Error, "ffmpeg not found") || s.Restarts != 0 {
		t.Fatalf("status %+v", s)
	}
	// ffmpeg is installed, the config reloaded: the same rule runs.
	os.Setenv("PATH", path)
	m.SetRules([]Rule{{Name: "sd"}})
	if v := outputInfo(t, reg, "cam_sd"); v.Width != 320 {
		t.Fatalf("output %+v", v)
	}
	waitFor(t, "running", func() bool { s := m.Status(); return len(s) == 1 && s[0].State == StateRunning })
	stop()
	waitFor(t, "the end", func() bool { return len(m.Status()) == 0 })
}

// TestBusyOutput: a client holds the output stream.
func TestBusyOutput(t *testing.T) {
	m, reg, _ := newManager(t, Rule{Name: "sd", Stream: "cam", VCodec: ffmpeg.Copy, ACodec: ffmpeg.Copy})
	other, err := reg.Publish(media.Key{Vhost: vhost, App: "live", Stream: "cam_sd"})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Unpublish()
	stop := publishClip(t, reg, "cam")
	defer stop()
	waitFor(t, "retrying", func() bool { s := m.Status(); return len(s) == 1 && s[0].Restarts >= 1 })
	if e := m.Status()[0].Error; !strings.Contains(e, "already published") {
		t.Fatalf("error %q", e)
	}
}

func TestLogoFile(t *testing.T) {
	needFFmpeg(t)
	logo := filepath.Join(t.TempDir(), "logo.png")
	if out, err := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "color=red:size=32x16",
		"-frames:v", "1", logo).CombinedOutput(); err != nil {
		t.Fatalf("logo: %v %s", err, out)
	}
	_, reg, _ := newManager(t, Rule{Name: "wm", Logo: logo, Width: 192, Height: 144, Filter: "drawbox=x=0:y=0:w=20:h=20:color=blue"})
	stop := publishClip(t, reg, "cam")
	defer stop()
	if v := outputInfo(t, reg, "cam_wm"); v.Width != 192 || v.Height != 144 {
		t.Fatalf("output %+v", v)
	}
	_ = os.Remove(logo)
}
