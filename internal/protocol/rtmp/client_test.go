package rtmp

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/srs-lite/srs-lite/internal/format/flv"
	"github.com/srs-lite/srs-lite/internal/media"
)

func TestPlayTags(t *testing.T) {
	ts := startServer(t, ServerConfig{}, nil)
	frames := testFrames(60)
	defer releaseAll(frames)
	pub := dialPublish(t, ts.url("tags"))
	defer pub.Close()
	for i := range frames[:10] {
		pub.WriteFrame(&frames[i])
	}
	waitFor(t, "publish", func() bool {
		s := ts.reg.Lookup(media.Key{Vhost: media.DefaultVhost, App: "live", Stream: "tags"})
		return s != nil && s.Stats().FramesIn >= 10
	})

	t.Run("until ctx done", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		var types []uint8
		var lastTS uint32
		err := PlayTags(ctx, ts.url("tags"), func(typ uint8, ts uint32, body []byte) {
			types = append(types, typ)
			lastTS = ts
			if len(types) == 10 {
				cancel()
			}
		})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("PlayTags: %v", err)
		}
		if len(types) < 10 || types[0] != flv.TagScript || types[1] != flv.TagVideo || types[2] != flv.TagAudio {
			t.Errorf("tag types %v", types)
		}
		if lastTS != uint32(frameDTS(4)/time.Millisecond) {
			t.Errorf("last ts %d", lastTS)
		}
		waitFor(t, "player gone", func() bool {
			return ts.reg.Lookup(media.Key{Vhost: media.DefaultVhost, App: "live", Stream: "tags"}).Stats().Readers == 0
		})
	})
	t.Run("until unpublish", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		n := 0
		done := make(chan error, 1)
		go func() {
			done <- PlayTags(ctx, ts.url("tags"), func(uint8, uint32, []byte) { n++ })
		}()
		waitReaders(t, ts.reg, media.DefaultVhost+"/live/tags", 1)
		for i := range frames[10:] {
			pub.WriteFrame(&frames[10+i])
		}
		pub.Close()
		if err := <-done; !errors.Is(err, io.EOF) {
			t.Errorf("PlayTags: %v", err)
		}
		if n != len(frames) {
			t.Errorf("%d tags, want %d", n, len(frames))
		}
	})
	t.Run("bad url", func(t *testing.T) {
		if err := PlayTags(context.Background(), "http://x/y", nil); !errors.Is(err, ErrURL) {
			t.Errorf("PlayTags: %v", err)
		}
	})
}

func TestSetConfigChunkSize(t *testing.T) {
	ts := startServer(t, ServerConfig{}, nil)
	p1 := dialPlay(t, ts.url("cs"))
	defer p1.Close()
	ts.srv.SetConfig(ServerConfig{ChunkSize: 4096})
	p2 := dialPlay(t, ts.url("cs"))
	defer p2.Close()
	if p1.cr.ChunkSize() != DefaultOutChunkSize || p2.cr.ChunkSize() != 4096 {
		t.Errorf("chunk sizes %d, %d", p1.cr.ChunkSize(), p2.cr.ChunkSize())
	}
	// Both get the same frames, chunked differently. One GOP only: readers
	// that attach after the publisher wrote a later keyframe start there.
	frames := testFrames(30)
	defer releaseAll(frames)
	pub := dialPublish(t, ts.url("cs"))
	defer pub.Close()
	for i := range frames {
		pub.WriteFrame(&frames[i])
	}
	for _, p := range []*Client{p1, p2} {
		g, err := readFrames(p, 45, 5*time.Second)
		if err != nil || len(g) != len(frames) {
			t.Fatalf("got %d frames: %v", len(g), err)
		}
	}
}

func TestDialTimeout(t *testing.T) {
	ln := rawListener(t)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := Dial(ctx, "rtmp://"+ln+"/live/x", ClientOptions{}); err == nil {
		t.Fatal("Dial to a silent server succeeded")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Dial took %v", d)
	}
}

// TestClientServerInfo: the client keeps the server's connection id from the
// connect _result (srs_id), which links its logs to the server's.
func TestClientServerInfo(t *testing.T) {
	ts := startServer(t, ServerConfig{}, nil)
	frames := testFrames(5)
	defer releaseAll(frames)
	pub := dialPublish(t, ts.url("info"))
	defer pub.Close()
	si := pub.Server()
	if si.ID == "" || si.Version == "" {
		t.Fatalf("server info %+v: want srs_id and srs_server", si)
	}
	for i := range frames {
		if err := pub.WriteFrame(&frames[i]); err != nil {
			t.Fatal(err)
		}
	}
	if n := pub.BytesWritten(); n == 0 {
		t.Fatalf("bytes written %d", n)
	}
}
