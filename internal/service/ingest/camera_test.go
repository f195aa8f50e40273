package ingest

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/srs-lite/srs-lite/internal/media"
	"github.com/srs-lite/srs-lite/internal/protocol/rtsp/rtsptest"
	"github.com/srs-lite/srs-lite/internal/session"
)

// readUntil reads the stream until it has seen a keyframe and n frames, or
// the deadline passes, subscribing again after the end of a publish
// session. It reports the codecs seen.
func readUntil(t *testing.T, reg *media.Registry, n int, d time.Duration) map[media.Codec]int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	rd := reg.Subscribe(media.Key{Vhost: "__defaultVhost__", App: "live", Stream: "cam"}, nil)
	defer func() { rd.Close() }()
	seen := map[media.Codec]int{}
	total, key := 0, false
	var buf [32]media.Frame
	for total < n || !key {
		k, err := rd.Read(ctx, buf[:])
		for i := range k {
			if buf[i].IsKey() {
				key = true
			}
			if !buf[i].IsConfig() {
				seen[buf[i].Codec]++
				total++
			}
			buf[i].Release()
		}
		if errors.Is(err, io.EOF) {
			rd.Close()
			rd = reg.Subscribe(media.Key{Vhost: "__defaultVhost__", App: "live", Stream: "cam"}, nil)
			continue
		}
		if err != nil {
			t.Fatalf("read after %d frames (%v): %v", total, seen, err)
		}
	}
	return seen
}

// TestCameraRecovers pulls GStreamer's camera with a real ingest, stops the
// camera, and checks that the ingest retries and plays again once the camera
// is back on the same port.
func TestCameraRecovers(t *testing.T) {
	cam := rtsptest.Start(t, 0)
	reg := media.NewRegistry(nil)
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	m, err := New(Deps{Registry: reg, Clients: session.NewTable(), Log: logger,
		MinBackoff: 200 * time.Millisecond, MaxBackoff: time.Second, Poll: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	c := Config{Name: "cam", Enabled: true, Input: cam.URL("h264aac"), Vhost: "__defaultVhost__",
		App: "live", Stream: "cam", Transport: "tcp"}
	m.Apply([]Config{c})
	seen := readUntil(t, reg, 40, 15*time.Second)
	if seen[media.CodecH264] == 0 || seen[media.CodecAAC] == 0 {
		t.Fatalf("codecs %v, want H264 and AAC", seen)
	}
	st := reg.Lookup(media.Key{Vhost: "__defaultVhost__", App: "live", Stream: "cam"}).Stats()
	if st.Video.Width != 320 || st.Audio.Codec != media.CodecAAC || st.Audio.SampleRate != 44100 {
		t.Errorf("stream info %+v %+v", st.Video, st.Audio)
	}
	if s := m.Status()[0]; s.State != StateRunning || s.Transport != "tcp" {
		t.Errorf("status %+v", s)
	}

	port := cam.Port
	cam.Stop()
	waitFor(t, "retrying", func() bool { return m.Status()[0].State == StateRetrying })
	rtsptest.Start(t, port)
	waitFor(t, "running again", func() bool { return m.Status()[0].State == StateRunning })
	seen = readUntil(t, reg, 20, 15*time.Second)
	if seen[media.CodecH264] == 0 {
		t.Fatalf("after the restart: %v", seen)
	}
	if s := m.Status()[0]; s.Restarts == 0 || s.Error == "" {
		t.Errorf("status after a restart %+v", s)
	}
}

// TestCameraOnDemand: an on-demand ingest pulls only while someone reads.
func TestCameraOnDemand(t *testing.T) {
	cam := rtsptest.Start(t, 0)
	reg := media.NewRegistry(nil)
	m, err := New(Deps{Registry: reg, Poll: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	m.Apply([]Config{{Name: "cam", Enabled: true, Input: cam.URL("h264pcmu"), Vhost: "__defaultVhost__",
		App: "live", Stream: "cam", OnDemand: true, CloseAfter: 300 * time.Millisecond}})
	waitFor(t, "idle", func() bool { return m.Status()[0].State == StateIdle })
	seen := readUntil(t, reg, 10, 15*time.Second)
	if seen[media.CodecH264] == 0 {
		t.Fatalf("codecs %v", seen)
	}
	waitFor(t, "idle after the player left", func() bool { return m.Status()[0].State == StateIdle })
	if st := reg.Lookup(media.Key{Vhost: "__defaultVhost__", App: "live", Stream: "cam"}); st != nil && st.Publishing() {
		t.Fatal("still publishing")
	}
}
