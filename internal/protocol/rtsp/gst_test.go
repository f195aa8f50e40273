package rtsp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/srs-lite/srs-lite/internal/format/codec/aac"
	"github.com/srs-lite/srs-lite/internal/format/codec/h264"
	"github.com/srs-lite/srs-lite/internal/format/codec/h265"
	"github.com/srs-lite/srs-lite/internal/media"
	"github.com/srs-lite/srs-lite/internal/protocol/rtsp/rtsptest"
)

// collector is a Publisher that keeps what it is given.
type collector struct {
	mu      sync.Mutex
	frames  []media.Frame // payloads copied
	configs map[media.Codec][]byte
	counts  map[media.Codec]int
	keys    int
	lastDTS map[media.Codec]time.Duration
	backDTS int
	want    func(c *collector) bool
	done    chan struct{}
	once    sync.Once
}

func newCollector(want func(c *collector) bool) *collector {
	return &collector{configs: map[media.Codec][]byte{}, counts: map[media.Codec]int{},
		lastDTS: map[media.Codec]time.Duration{}, want: want, done: make(chan struct{})}
}

func (c *collector) Write(f *media.Frame) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if f.IsConfig() {
		c.configs[f.Codec] = append([]byte(nil), f.Payload...)
	} else {
		if f.DTS < c.lastDTS[f.Codec] {
			c.backDTS++
		}
		c.lastDTS[f.Codec] = f.DTS
		c.counts[f.Codec]++
		if f.IsKey() {
			c.keys++
		}
		g := *f
		g.Payload = append([]byte(nil), f.Payload...)
		if len(c.frames) < 2000 {
			c.frames = append(c.frames, g)
		}
	}
	if c.want(c) {
		c.once.Do(func() { close(c.done) })
	}
	return nil
}

func testLog(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// play runs src until the collector has what it wants or 20 s passed.
func play(t *testing.T, src *Source, c *collector) error {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- src.Run(ctx, c) }()
	select {
	case <-c.done:
		cancel()
		err := <-errc
		if errors.Is(err, context.Canceled) {
			return nil
		}
		return err
	case err := <-errc:
		return fmt.Errorf("session ended early: %w", err)
	case <-time.After(20 * time.Second):
		cancel()
		<-errc
		return fmt.Errorf("timed out: %v keys, counts %v", c.keys, c.counts)
	}
}

func TestCameraCodecs(t *testing.T) {
	cam := rtsptest.Start(t, 0)
	tests := []struct {
		path      string
		transport string
		video     media.Codec
		audio     media.Codec
	}{
		{"h264aac", TransportTCP, media.CodecH264, media.CodecAAC},
		{"h264aac", TransportUDP, media.CodecH264, media.CodecAAC},
		{"h264pcmu", TransportTCP, media.CodecH264, media.CodecPCMU},
		{"h264pcmu", TransportAuto, media.CodecH264, media.CodecPCMU},
		{"h264latm", TransportTCP, media.CodecH264, media.CodecAAC},
		{"h264pcma", TransportUDP, media.CodecH264, media.CodecPCMA},
		{"h264opus", TransportTCP, media.CodecH264, media.CodecOpus},
		{"h265", TransportTCP, media.CodecH265, media.CodecUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.path+"/"+tt.transport, func(t *testing.T) {
			src, err := NewSource(cam.URL(tt.path), Config{Transport: tt.transport}, testLog(t))
			if err != nil {
				t.Fatal(err)
			}
			c := newCollector(func(c *collector) bool {
				return c.keys >= 2 && c.counts[tt.video] >= 30 && (tt.audio == media.CodecUnknown || c.counts[tt.audio] >= 20)
			})
			if err := play(t, src, c); err != nil {
				t.Fatal(err)
			}
			checkFrames(t, c, tt.video, tt.audio)
		})
	}
}

// checkFrames checks configs, payload forms and the timeline.
func checkFrames(t *testing.T, c *collector, video, audio media.Codec) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	switch video {
	case media.CodecH264:
		cfg, err := h264.ParseConfig(c.configs[video])
		if err != nil || len(cfg.SPS) == 0 || len(cfg.PPS) == 0 {
			t.Fatalf("H.264 config: %v %+v", err, cfg)
		}
	case media.CodecH265:
		if _, err := h265.ParseConfig(c.configs[video]); err != nil {
			t.Fatalf("H.265 config: %v", err)
		}
	}
	if audio == media.CodecAAC {
		if _, err := aac.ParseASC(c.configs[audio]); err != nil {
			t.Fatalf("AAC config: %v", err)
		}
	}
	if c.backDTS > 0 {
		t.Errorf("%d frames went back in time", c.backDTS)
	}
	var first, last [16]time.Duration
	var seen [16]bool
	for _, f := range c.frames {
		if f.Codec == video {
			if err := h264.SplitAVCC(f.Payload, func([]byte) bool { return true }); err != nil {
				t.Fatalf("video payload is not AVCC: %v", err)
			}
		}
		if !seen[f.Codec] {
			first[f.Codec], seen[f.Codec] = f.DTS, true
		}
		last[f.Codec] = f.DTS
	}
	if d := first[video]; d < 0 || d > 3*time.Second {
		t.Errorf("video starts at %s, want near 0", d)
	}
	if audio != media.CodecUnknown {
		// Audio and video of a live camera cover about the same time.
		if d := last[video] - last[audio]; d > time.Second || d < -time.Second {
			t.Errorf("audio and video apart by %s at the end", d)
		}
	}
	t.Logf("frames %v keys %d video %s..%s", c.counts, c.keys, first[video], last[video])
}

func TestCameraDigest(t *testing.T) {
	cam := rtsptest.Start(t, 0, "--user", "admin", "--password", "s3cr3t")
	for _, tr := range []string{TransportTCP, TransportUDP} {
		t.Run(tr, func(t *testing.T) {
			u := strings.Replace(cam.URL("h264aac"), "rtsp://", "rtsp://admin:s3cr3t@", 1)
			src, _ := NewSource(u, Config{Transport: tr}, testLog(t))
			c := newCollector(func(c *collector) bool { return c.keys >= 1 && c.counts[media.CodecAAC] > 5 })
			if err := play(t, src, c); err != nil {
				t.Fatal(err)
			}
		})
	}
	t.Run("wrong password", func(t *testing.T) {
		u := strings.Replace(cam.URL("h264aac"), "rtsp://", "rtsp://admin:nope@", 1)
		src, _ := NewSource(u, Config{Transport: TransportTCP}, testLog(t))
		err := src.Run(context.Background(), newCollector(func(*collector) bool { return false }))
		if !errors.Is(err, ErrAuth) {
			t.Fatalf("err = %v, want ErrAuth", err)
		}
	})
	t.Run("no credentials", func(t *testing.T) {
		src, _ := NewSource(cam.URL("h264aac"), Config{Transport: TransportTCP}, testLog(t))
		err := src.Run(context.Background(), newCollector(func(*collector) bool { return false }))
		if !errors.Is(err, ErrAuth) || !strings.Contains(err.Error(), "user:password@") {
			t.Fatalf("err = %v, want ErrAuth asking for credentials", err)
		}
	})
}

// TestCameraTCPOnly: a camera that refuses UDP makes "auto" fall back.
func TestCameraTCPOnly(t *testing.T) {
	cam := rtsptest.Start(t, 0, "--protocols", "tcp")
	src, _ := NewSource(cam.URL("h264pcmu"), Config{}, testLog(t))
	c := newCollector(func(c *collector) bool { return c.keys >= 1 && c.counts[media.CodecPCMU] > 5 })
	if err := play(t, src, c); err != nil {
		t.Fatal(err)
	}
	if src.Transport() != TransportTCP {
		t.Fatalf("transport %s after fallback, want tcp", src.Transport())
	}
}
