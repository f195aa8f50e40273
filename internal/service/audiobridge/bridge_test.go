package audiobridge

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/srs-lite/srs-lite/internal/format/codec/aac"
	"github.com/srs-lite/srs-lite/internal/format/ogg"
	"github.com/srs-lite/srs-lite/internal/media"
)

func needFFmpeg(t testing.TB) {
	t.Helper()
	for _, p := range []string{"ffmpeg", "ffprobe"} {
		if _, err := exec.LookPath(p); err != nil {
			t.Skipf("SKIPPED: %s is not installed (Debian/Ubuntu: apt-get install ffmpeg)", p)
		}
	}
	out, _ := exec.Command("ffmpeg", "-hide_banner", "-encoders").Output()
	if !bytes.Contains(out, []byte("libopus")) {
		t.Skip("SKIPPED: ffmpeg has no libopus encoder (Debian's ffmpeg has it)")
	}
}

type tlog struct {
	t  testing.TB
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *tlog) Write(p []byte) (int, error) {
	w.mu.Lock()
	w.b.Write(p)
	w.mu.Unlock()
	w.t.Logf("%s", bytes.TrimRight(p, "\n"))
	return len(p), nil
}

func (w *tlog) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

func testLogger(t testing.TB) (*slog.Logger, *tlog) {
	w := &tlog{t: t}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug})), w
}

// aacClip returns the config and raw frames of a sine made by ffmpeg's AAC
// encoder, timestamped from 0.
func aacClip(t testing.TB, seconds float64, rate, channels, kbps int) (cfg media.Frame, frames []media.Frame) {
	t.Helper()
	cmd := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi",
		"-i", fmt.Sprintf("sine=frequency=440:sample_rate=%d", rate), "-t", fmt.Sprint(seconds),
		"-ac", strconv.Itoa(channels), "-c:a", "aac", "-b:a", strconv.Itoa(kbps)+"k", "-f", "adts", "pipe:1")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ffmpeg: %v", err)
	}
	r := aac.NewADTSReader(bytes.NewReader(out))
	for i := 0; ; i++ {
		h, p, err := r.ReadFrame()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			asc := aac.BuildASC(h.ObjectType, h.SampleRate, h.Channels)
			cfg = media.Frame{Codec: media.CodecAAC, Flags: media.FlagConfig, Payload: asc}
		}
		ts := time.Duration(i) * 1024 * time.Second / time.Duration(h.SampleRate)
		frames = append(frames, media.Frame{DTS: ts, PTS: ts, Codec: media.CodecAAC, Payload: append([]byte(nil), p...),
			SampleRate: uint32(h.SampleRate), Channels: uint8(h.Channels)})
	}
	return cfg, frames
}

// opusClip returns Opus packets of a sine made by libopus (20 ms each),
// timestamped from 0.
func opusClip(t testing.TB, seconds float64) []media.Frame {
	t.Helper()
	out, err := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi",
		"-i", "sine=frequency=440:sample_rate=48000", "-t", fmt.Sprint(seconds), "-ac", "2",
		"-c:a", "libopus", "-b:a", "64k", "-frame_duration", "20", "-f", "ogg", "pipe:1").Output()
	if err != nil {
		t.Fatalf("ffmpeg: %v", err)
	}
	r := ogg.NewReader(bytes.NewReader(out))
	var frames []media.Frame
	var pos int64
	for i := 0; ; i++ {
		p, _, _, err := r.ReadPacket()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if i < 2 {
			continue // OpusHead, OpusTags
		}
		ts := time.Duration(pos) * time.Second / rate48
		pos += int64(ogg.OpusSamples(p))
		frames = append(frames, media.Frame{DTS: ts, PTS: ts, Codec: media.CodecOpus, Payload: append([]byte(nil), p...)})
	}
	return frames
}

// publish writes the frames into st at their pace from now (realtime) or at
// once, shifted by base, and returns when they were written.
func publish(ctx context.Context, st *media.Stream, frames []media.Frame, base time.Duration, realtime bool, wall []time.Time) {
	start := time.Now()
	for i, f := range frames {
		if realtime {
			if d := time.Until(start.Add(f.DTS - frames[0].DTS)); d > 0 {
				select {
				case <-time.After(d):
				case <-ctx.Done():
					return
				}
			}
		}
		f.DTS += base
		f.PTS += base
		f.Own()
		if wall != nil {
			wall[i] = time.Now()
		}
		st.Write(&f)
	}
}

func writeConfig(st *media.Stream, cfg media.Frame) {
	c := cfg
	c.Own()
	st.Write(&c)
}

func ffprobe(t *testing.T, path string) (codec string, dur float64) {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "stream=codec_name:format=duration",
		"-of", "default=nw=1", path).CombinedOutput()
	if err != nil {
		t.Fatalf("ffprobe %s: %v: %s", path, err, out)
	}
	for _, l := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(l, "codec_name="); ok {
			codec = v
		}
		if v, ok := strings.CutPrefix(l, "duration="); ok {
			dur, _ = strconv.ParseFloat(v, 64)
		}
	}
	return codec, dur
}

// cpuTicks returns utime+stime of a process, in clock ticks.
func cpuTicks(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return -1
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	u, _ := strconv.ParseInt(f[11], 10, 64)
	k, _ := strconv.ParseInt(f[12], 10, 64)
	return u + k
}

func percentile(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, k int) bool { return s[i] < s[k] })
	return s[min(len(s)-1, len(s)*p/100)]
}

func TestAACToOpus(t *testing.T) {
	needFFmpeg(t)
	const secs = 4.0
	cfg, frames := aacClip(t, secs, 44100, 2, 128)
	reg := media.NewRegistry(nil)
	key := media.Key{Vhost: media.DefaultVhost, App: "live", Stream: "aac"}
	st, err := reg.Publish(key)
	if err != nil {
		t.Fatal(err)
	}
	st.SetAudioInfo(media.AudioInfo{Codec: media.CodecAAC, SampleRate: 44100, Channels: 2})
	writeConfig(st, cfg)
	l, logs := testLogger(t)
	b := New(reg, Options{Logger: l, Linger: 300 * time.Millisecond, OpusBitrate: 128})
	defer b.Close()
	rd, release, err := b.Opus(key)
	if err != nil {
		t.Fatal(err)
	}
	const base = 10 * time.Second // the source's timeline does not start at 0
	wall := make([]time.Time, len(frames))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	fed := make(chan struct{})
	var cpuStart int64
	var cpuPID int
	go func() {
		defer close(fed)
		publish(ctx, st, frames[:10], base, true, wall)
		if s := b.Stats(); len(s) == 1 && s[0].PID != 0 {
			cpuPID = s[0].PID
			cpuStart = cpuTicks(cpuPID)
		}
		start := time.Now()
		publish(ctx, st, frames[10:], base, true, wall[10:])
		if cpuPID != 0 {
			used := time.Duration(cpuTicks(cpuPID)-cpuStart) * 10 * time.Millisecond // USER_HZ 100
			t.Logf("CPU of the AAC->Opus child (AAC 128 kbps 44.1 kHz stereo in, Opus 128 kbps out): %.1f%% of a core (%v in %v)",
				100*used.Seconds()/time.Since(start).Seconds(), used, time.Since(start).Round(time.Millisecond))
		}
		st.Unpublish()
	}()
	var got []media.Frame
	var lat []time.Duration
	frameDur := 1024 * time.Second / 44100
	dst := make([]media.Frame, 16)
	for {
		n, err := rd.Read(ctx, dst)
		now := time.Now()
		for i := range dst[:n] {
			f := dst[i]
			if f.Codec != media.CodecOpus {
				t.Fatalf("codec %v", f.Codec)
			}
			// Added latency: from the source frame holding the Opus
			// frame's last sample being written to the Opus frame read.
			end := f.DTS + 20*time.Millisecond - base
			if k := int(end / frameDur); k >= 0 && k < len(wall) && !wall[k].IsZero() {
				lat = append(lat, now.Sub(wall[k]))
			}
			g := f
			g.Payload = append([]byte(nil), f.Payload...)
			got = append(got, media.Frame{DTS: g.DTS, Codec: g.Codec, Payload: g.Payload})
			f.Release()
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	<-fed
	release()
	if len(got) < int(secs*50)-5 {
		t.Fatalf("%d Opus frames for %.0f s", len(got), secs)
	}
	if d := got[0].DTS - base; d < -40*time.Millisecond || d > 40*time.Millisecond {
		t.Errorf("first Opus frame at %v, source starts at %v", got[0].DTS, base)
	}
	for i := 1; i < len(got); i++ {
		if d := got[i].DTS - got[i-1].DTS; d < 19*time.Millisecond || d > 21*time.Millisecond {
			t.Errorf("frame %d: spacing %v", i, d)
		}
	}
	last := got[len(got)-1].DTS + 20*time.Millisecond - base
	if srcEnd := frames[len(frames)-1].DTS + frameDur; last < srcEnd-40*time.Millisecond || last > srcEnd+60*time.Millisecond {
		t.Errorf("Opus ends at %v, source at %v", last, srcEnd)
	}
	// Steady state: past the child's start (the first 0.5 s) and before the
	// flush at the end of the source (the last 0.2 s).
	steady := lat[min(25, len(lat)):max(25, len(lat)-10)]
	t.Logf("first Opus frame at %v of the source timeline, %d frames", got[0].DTS-base, len(got))
	t.Logf("AAC->Opus: %d frames; first frame %v after the first source frame; added latency in steady state p10 %v p50 %v p90 %v max %v",
		len(got), lat[0].Round(time.Millisecond), percentile(steady, 10).Round(time.Millisecond), percentile(steady, 50).Round(time.Millisecond),
		percentile(steady, 90).Round(time.Millisecond), percentile(steady, 100).Round(time.Millisecond))
	path := filepath.Join(t.TempDir(), "out.ogg")
	writeOgg(t, path, got)
	if c, d := ffprobe(t, path); c != "opus" || d < secs-0.1 || d > secs+0.1 {
		t.Errorf("ffprobe: codec %q duration %.3f, fed %.1f s", c, d, secs)
	}
	// The source ended: the pipe is gone, and its child with it.
	waitFor(t, "the pipe to end", func() bool { return len(b.Stats()) == 0 })
	if !strings.Contains(logs.String(), "audiobridge: stopped") {
		t.Error("no stop logged")
	}
}

func writeOgg(t *testing.T, path string, frames []media.Frame) {
	w := ogg.Writer{Serial: 1}
	b, _ := w.AppendPage(nil, ogg.AppendOpusHead(nil, ogg.OpusHead{Channels: 2, InputRate: 48000}), 0, false)
	b, _ = w.AppendPage(b, ogg.AppendOpusTags(nil, "test"), 0, false)
	var g int64
	for i, f := range frames {
		g += int64(ogg.OpusSamples(f.Payload))
		b, _ = w.AppendPage(b, f.Payload, g, i == len(frames)-1)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !ok(); {
		if time.Now().After(deadline) {
			t.Fatalf("timeout waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
