package snapshot

import (
	"bytes"
	"context"
	"errors"
	"image/jpeg"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/srs-lite/srs-lite/internal/ffmpeg"
	"github.com/srs-lite/srs-lite/internal/format/codec/h264"
	"github.com/srs-lite/srs-lite/internal/media"
)

const vhost = "__defaultVhost__"

func needFFmpeg(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("SKIPPED: ffmpeg is not installed (Debian/Ubuntu: apt-get install ffmpeg)")
	}
}

// clip returns the frames of a 1 s 320x240 clip made by ffmpeg, with codec
// (libx264 or libx265).
func clip(t *testing.T, enc string) []media.Frame {
	t.Helper()
	needFFmpeg(t)
	format := "flv"
	if enc == "libx265" {
		format = "hevc"
	}
	out, err := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25",
		"-t", "1", "-c:v", enc, "-preset", "ultrafast", "-g", "10", "-f", format, "pipe:1").Output()
	if err != nil {
		t.Skipf("SKIPPED: ffmpeg cannot encode with %s: %v", enc, err)
	}
	if format == "hevc" {
		return hevcFrames(t, out)
	}
	var frames []media.Frame
	if err := ffmpeg.ReadFrames(bytes.NewReader(out), func(f *media.Frame) error {
		frames = append(frames, media.Frame{DTS: f.DTS, PTS: f.PTS, Codec: f.Codec, Flags: f.Flags, Payload: bytes.Clone(f.Payload)})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return frames
}

// publish writes frames into a new publish session of live/name and
// keeps it published until the test ends.
func publish(t *testing.T, reg *media.Registry, name string, frames []media.Frame) {
	t.Helper()
	st, err := reg.Publish(media.Key{Vhost: vhost, App: "live", Stream: name})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Unpublish)
	for i := range frames {
		f := frames[i]
		f.Payload = bytes.Clone(f.Payload)
		f.Own()
		st.Write(&f)
	}
}

func newTaker(t *testing.T) (*Taker, *media.Registry) {
	reg := media.NewRegistry(nil)
	tk, err := New(Deps{Registry: reg, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return tk, reg
}

func checkJPEG(t *testing.T, b []byte, w, h int) {
	t.Helper()
	img, err := jpeg.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("not a JPEG: %v", err)
	}
	if r := img.Bounds(); r.Dx() != w || r.Dy() != h {
		t.Fatalf("picture %v, want %dx%d", r, w, h)
	}
}

func TestJPEG(t *testing.T) {
	for _, enc := range []string{"libx264", "libx265"} {
		t.Run(enc, func(t *testing.T) {
			frames := clip(t, enc)
			tk, reg := newTaker(t)
			publish(t, reg, "cam", frames)
			b, err := tk.JPEG(context.Background(), vhost, "live", "cam")
			if err != nil {
				t.Fatal(err)
			}
			checkJPEG(t, b, 320, 240)
		})
	}
}

// TestShared: concurrent requests share one decode, and the picture is
// served again for the TTL.
func TestShared(t *testing.T) {
	frames := clip(t, "libx264")
	real, _ := exec.LookPath("ffmpeg")
	dir := t.TempDir()
	count := filepath.Join(dir, "count")
	script := "#!/bin/sh\necho run >> " + count + "\nexec " + real + " \"$@\"\n"
	if err := os.WriteFile(filepath.Join(dir, "ffmpeg"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+":"+os.Getenv("PATH"))
	tk, reg := newTaker(t)
	publish(t, reg, "cam", frames)
	var wg sync.WaitGroup
	results := make([][]byte, 50)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b, err := tk.JPEG(context.Background(), vhost, "live", "cam")
			if err != nil {
				t.Error(err)
			}
			results[i] = b
		}()
	}
	wg.Wait()
	b, _ := tk.JPEG(context.Background(), vhost, "live", "cam")
	for _, r := range append(results, b) {
		if !bytes.Equal(r, results[0]) {
			t.Fatal("different pictures")
		}
	}
	runs, _ := os.ReadFile(count)
	if n := strings.Count(string(runs), "run"); n != 1 {
		t.Fatalf("%d ffmpeg runs for 51 requests", n)
	}
	// After the TTL, a new picture.
	time.Sleep(1100 * time.Millisecond)
	if _, err := tk.JPEG(context.Background(), vhost, "live", "cam"); err != nil {
		t.Fatal(err)
	}
	runs, _ = os.ReadFile(count)
	if n := strings.Count(string(runs), "run"); n != 2 {
		t.Fatalf("%d ffmpeg runs after the TTL", n)
	}
}

func TestErrors(t *testing.T) {
	tk, reg := newTaker(t)
	if _, err := tk.JPEG(context.Background(), vhost, "live", "none"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown stream: %v", err)
	}
	// A stream with a player but no publisher.
	rd := reg.Subscribe(media.Key{Vhost: vhost, App: "live", Stream: "waiting"}, nil)
	defer rd.Close()
	if _, err := tk.JPEG(context.Background(), vhost, "live", "waiting"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unpublished stream: %v", err)
	}
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		return
	}
	// Audio only.
	var audio []media.Frame
	audio = append(audio, media.Frame{Codec: media.CodecAAC, Flags: media.FlagConfig, Payload: []byte{0x12, 0x10}})
	for i := range 60 {
		audio = append(audio, media.Frame{DTS: time.Duration(i) * 23 * time.Millisecond, Codec: media.CodecAAC, Payload: []byte{0x21, 0, 0}})
	}
	publish(t, reg, "radio", audio)
	tk2, _ := New(Deps{Registry: reg, Timeout: 300 * time.Millisecond})
	if _, err := tk2.JPEG(context.Background(), vhost, "live", "radio"); !errors.Is(err, ErrNoVideo) {
		t.Fatalf("audio only: %v", err)
	}
	// ffmpeg missing.
	publish(t, reg, "cam", clip(t, "libx264"))
	t.Setenv("PATH", t.TempDir())
	if _, err := tk.JPEG(context.Background(), vhost, "live", "cam"); !errors.Is(err, ffmpeg.ErrNotFound) {
		t.Fatalf("no ffmpeg: %v", err)
	}
}

func TestAnnexB(t *testing.T) {
	sps, pps := []byte{0x67, 0x42, 0xc0, 0x1e}, []byte{0x68, 0xce}
	cfg := media.Frame{Codec: media.CodecH264, Flags: media.FlagConfig, Payload: h264.BuildConfig([][]byte{sps}, [][]byte{pps})}
	key := media.Frame{Codec: media.CodecH264, Flags: media.FlagKey, Payload: []byte{0, 0, 0, 2, 0x65, 0x88, 0, 0, 0, 1, 0x06}}
	es, format, err := AnnexB(cfg, key)
	if err != nil || format != "h264" {
		t.Fatal(err, format)
	}
	want := []byte{0, 0, 0, 1, 0x67, 0x42, 0xc0, 0x1e, 0, 0, 0, 1, 0x68, 0xce, 0, 0, 0, 1, 0x65, 0x88, 0, 0, 0, 1, 0x06}
	if !bytes.Equal(es, want) {
		t.Fatalf("% x", es)
	}
	if _, _, err := AnnexB(media.Frame{Codec: media.CodecAV1}, key); !errors.Is(err, ErrCodec) {
		t.Fatalf("AV1: %v", err)
	}
	if _, _, err := AnnexB(media.Frame{Codec: media.CodecH264, Payload: []byte{1}}, key); err == nil {
		t.Fatal("a bad record")
	}
}

func FuzzAnnexB(f *testing.F) {
	f.Add(h264.BuildConfig([][]byte{{0x67, 0x42}}, [][]byte{{0x68}}), []byte{0, 0, 0, 1, 0x65}, false)
	f.Add([]byte{1, 1, 0x60, 0, 0, 0, 0x90, 0, 0, 0, 0, 0, 0x5d, 0xf0, 0, 0xfc, 0xfd, 0xf8, 0xf8, 0, 0, 0x0f, 1, 0x20, 0, 1, 0, 2, 0x40, 1},
		[]byte{0, 0, 0, 2, 0x26, 1}, true)
	f.Fuzz(func(t *testing.T, cfg, key []byte, hevc bool) {
		c := media.CodecH264
		if hevc {
			c = media.CodecH265
		}
		es, _, err := AnnexB(media.Frame{Codec: c, Payload: cfg}, media.Frame{Codec: c, Payload: key})
		if err == nil && len(es) == 0 && len(key) > 4 {
			t.Fatal("empty stream")
		}
	})
}
