package audiobridge

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/srs-lite/srs-lite/internal/format/codec/aac"
	"github.com/srs-lite/srs-lite/internal/media"
)

func TestToAAC(t *testing.T) {
	needFFmpeg(t)
	const secs = 3.0
	frames := opusClip(t, secs)
	l, _ := testLogger(t)
	b := New(media.NewRegistry(nil), Options{Logger: l})
	defer b.Close()
	key := media.Key{Vhost: media.DefaultVhost, App: "live", Stream: "whip"}
	var mu sync.Mutex
	var got []media.Frame
	var recv []time.Time
	push, stop, err := b.ToAAC(key, func(f *media.Frame) {
		mu.Lock()
		got = append(got, media.Frame{DTS: f.DTS, Flags: f.Flags, Codec: f.Codec, Payload: append([]byte(nil), f.Payload...)})
		recv = append(recv, time.Now())
		mu.Unlock()
		f.Release()
	})
	if err != nil {
		t.Fatal(err)
	}
	const base = 5 * time.Second
	wall := make([]time.Time, len(frames))
	start := time.Now()
	for i, f := range frames {
		time.Sleep(time.Until(start.Add(f.DTS)))
		f.DTS += base
		f.PTS += base
		wall[i] = time.Now()
		push(&f) // the clip's frames are not pooled: push copies them
	}
	time.Sleep(500 * time.Millisecond)
	stop()
	mu.Lock()
	defer mu.Unlock()
	if len(got) < 2 || !got[0].IsConfig() {
		t.Fatalf("%d frames, the first not a config", len(got))
	}
	asc, err := aac.ParseASC(got[0].Payload)
	if err != nil || asc.SampleRate != 48000 || asc.Channels != 2 {
		t.Fatalf("config %+v %v", asc, err)
	}
	frameDur := 1024 * time.Second / 48000
	var lat []time.Duration
	var adts []byte
	for i, f := range got[1:] {
		if f.IsConfig() {
			t.Fatalf("frame %d: a second config", i)
		}
		if i > 0 {
			if d := f.DTS - got[i].DTS; d < frameDur-time.Millisecond || d > frameDur+time.Millisecond {
				t.Errorf("frame %d: spacing %v", i, d)
			}
		}
		end := f.DTS + frameDur - base
		if k := int(end / (20 * time.Millisecond)); k < len(wall) {
			lat = append(lat, recv[i+1].Sub(wall[k]))
		}
		adts = aac.AppendADTS(adts, asc, len(f.Payload))
		adts = append(adts, f.Payload...)
	}
	if d := got[1].DTS - base; d < -40*time.Millisecond || d > 40*time.Millisecond {
		t.Errorf("first AAC frame at %v of the publisher's timeline", d)
	}
	steady := lat[min(25, len(lat)):max(25, len(lat)-10)]
	t.Logf("Opus->AAC: %d frames, first at %v of the timeline, %v after the first Opus frame; added latency in steady state p10 %v p50 %v p90 %v max %v",
		len(got)-1, got[1].DTS-base, lat[0].Round(time.Millisecond), percentile(steady, 10).Round(time.Millisecond),
		percentile(steady, 50).Round(time.Millisecond), percentile(steady, 90).Round(time.Millisecond), percentile(steady, 100).Round(time.Millisecond))
	path := filepath.Join(t.TempDir(), "out.aac")
	if err := os.WriteFile(path, adts, 0o644); err != nil {
		t.Fatal(err)
	}
	// All but the last frames, which stop cut off before ffmpeg's flush.
	if c, d := ffprobe(t, path); c != "aac" || d < secs-0.2 || d > secs+0.1 {
		t.Errorf("ffprobe: codec %q duration %.3f, pushed %.1f s", c, d, secs)
	}
	if s := b.Stats(); len(s) != 0 {
		t.Errorf("stats after stop: %+v", s)
	}
}

// TestRestart kills the AAC->Opus child mid-stream: a new one takes over,
// the Opus frames go on with rising timestamps; the last release stops it
// after the linger.
func TestRestart(t *testing.T) {
	needFFmpeg(t)
	cfg, frames := aacClip(t, 10, 48000, 2, 96)
	reg := media.NewRegistry(nil)
	key := media.Key{Vhost: media.DefaultVhost, App: "live", Stream: "restart"}
	st, _ := reg.Publish(key)
	st.SetAudioInfo(media.AudioInfo{Codec: media.CodecAAC, SampleRate: 48000, Channels: 2})
	writeConfig(st, cfg)
	l, logs := testLogger(t)
	b := New(reg, Options{Logger: l, Linger: 500 * time.Millisecond, MinBackoff: 100 * time.Millisecond})
	defer b.Close()
	rd, release, err := b.Opus(key)
	if err != nil {
		t.Fatal(err)
	}
	// A second viewer shares the child.
	rd2, release2, err := b.Opus(key)
	if err != nil {
		t.Fatal(err)
	}
	release2()
	_ = rd2
	ctx := t.Context()
	go publish(ctx, st, frames, 0, true, nil)
	dst := make([]media.Frame, 16)
	var last time.Duration
	n, killed, pid := 0, false, 0
	for n < 200 {
		m, err := rd.Read(ctx, dst)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range dst[:m] {
			if n > 0 && f.DTS <= last {
				t.Errorf("frame %d: DTS %v after %v", n, f.DTS, last)
			}
			last = f.DTS
			f.Release()
			n++
		}
		if !killed && n >= 50 {
			s := b.Stats()
			if len(s) != 1 || s[0].PID == 0 || s[0].Readers != 1 {
				t.Fatalf("stats %+v", s)
			}
			pid = s[0].PID
			if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			killed = true
		}
	}
	s := b.Stats()
	if len(s) != 1 || s[0].Restarts != 1 || s[0].PID == pid || s[0].PID == 0 || s[0].LastError == "" {
		t.Fatalf("after the kill: %+v", s)
	}
	t.Logf("after the kill: %+v", s[0])
	release()
	// Within the linger, a new viewer gets the same child.
	rd, release, err = b.Opus(key)
	if err != nil {
		t.Fatal(err)
	}
	if s2 := b.Stats(); len(s2) != 1 || s2[0].PID != s[0].PID {
		t.Fatalf("a viewer back within the linger: %+v", s2)
	}
	release()
	_ = rd
	pid = s[0].PID
	waitFor(t, "the child to stop after the linger", func() bool { return len(b.Stats()) == 0 })
	waitFor(t, "the child to exit", func() bool { return syscall.Kill(pid, 0) != nil })
	if !strings.Contains(logs.String(), "ffmpeg failed, restarting") {
		t.Error("the failure was not logged")
	}
}

func TestUnavailable(t *testing.T) {
	reg := media.NewRegistry(nil)
	key := media.Key{Vhost: media.DefaultVhost, App: "live", Stream: "x"}
	l, logs := testLogger(t)
	b := New(reg, Options{FFmpeg: "/nonexistent/ffmpeg", Logger: l})
	defer b.Close()
	if _, _, err := b.Opus(key); !errors.Is(err, ErrNoFFmpeg) {
		t.Fatalf("Opus without ffmpeg: %v", err)
	}
	if _, _, err := b.ToAAC(key, func(*media.Frame) {}); !errors.Is(err, ErrNoFFmpeg) {
		t.Fatalf("ToAAC without ffmpeg: %v", err)
	}
	if u := b.Unavailable(); u != "video-only: ffmpeg missing" {
		t.Fatalf("Unavailable %q", u)
	}
	if n := strings.Count(logs.String(), "video-only"); n != 1 {
		t.Fatalf("logged %d times:\n%s", n, logs)
	}
	off := New(reg, Options{Mode: ModeOff})
	if _, _, err := off.Opus(key); !errors.Is(err, ErrOff) || off.Unavailable() != "video-only: aac_to_opus off" {
		t.Fatalf("off: %v %q", err, off.Unavailable())
	}
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		return
	}
	b2 := New(reg, Options{})
	defer b2.Close()
	// Not published, or not AAC.
	if _, _, err := b2.Opus(key); !errors.Is(err, ErrNoAAC) {
		t.Fatalf("not published: %v", err)
	}
	st, _ := reg.Publish(key)
	st.SetAudioInfo(media.AudioInfo{Codec: media.CodecOpus})
	if _, _, err := b2.Opus(key); !errors.Is(err, ErrNoAAC) {
		t.Fatalf("Opus source: %v", err)
	}
	st.Unpublish()
}

func TestTimeline(t *testing.T) {
	tl := newTimeline()
	ms := time.Millisecond
	// 44.1 kHz frames from 1 s, then a 2 s gap, then a small jitter.
	dts := time.Second
	for range 10 {
		tl.in(dts, 1024, 44100)
		dts += 1024 * time.Second / 44100
	}
	gapPos := tl.pos
	if !tl.in(dts+2*time.Second, 1024, 44100) {
		t.Fatal("a gap did not anchor")
	}
	if tl.in(dts+2*time.Second+1024*time.Second/44100+3*ms, 1024, 44100) {
		t.Fatal("3 ms of jitter anchored")
	}
	if ts, _ := tl.at(-120); ts != time.Second-2500*time.Microsecond {
		t.Errorf("pre-skip: %v", ts)
	}
	if ts, _ := tl.at(4800); ts != time.Second+100*ms {
		t.Errorf("at 4800: %v", ts)
	}
	if ts, _ := tl.at(gapPos + 480); ts != dts+2*time.Second+10*ms {
		t.Errorf("after the gap: %v, want %v", ts, dts+2*time.Second+10*ms)
	}
}

// TestStall runs a fake ffmpeg that takes input and writes nothing: the
// watchdog kills it, and it is restarted.
func TestStall(t *testing.T) {
	dir := t.TempDir()
	fake := filepath.Join(dir, "ffmpeg")
	script := `#!/bin/sh
case "$2" in
-encoders) printf ' ------\n A..... libopus x\n A..... aac x\n' ;;
-decoders) printf ' ------\n A..... opus x\n A..... aac x\n' ;;
*) cat >/dev/null ;;
esac
`
	if err := os.WriteFile(fake, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	defer func(d time.Duration) { stallAfter = d }(stallAfter)
	stallAfter = 500 * time.Millisecond
	l, logs := testLogger(t)
	b := New(media.NewRegistry(nil), Options{FFmpeg: fake, Logger: l, MinBackoff: 50 * time.Millisecond})
	defer b.Close()
	push, stop, err := b.ToAAC(media.Key{Vhost: media.DefaultVhost, App: "live", Stream: "stall"}, func(f *media.Frame) { f.Release() })
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	pkt := []byte{0xfc, 1, 2, 3}
	for i := 0; ; i++ {
		f := media.Frame{DTS: time.Duration(i) * 20 * time.Millisecond, Codec: media.CodecOpus, Payload: pkt}
		push(&f)
		if s := b.Stats(); len(s) == 1 && s[0].Restarts > 0 {
			if !strings.Contains(s[0].LastError, "stalled") {
				t.Fatalf("stats %+v", s[0])
			}
			break
		}
		if i > 250 {
			t.Fatalf("not killed: %+v\n%s", b.Stats(), logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
