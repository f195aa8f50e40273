package ffmpeg

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/srs-lite/srs-lite/internal/format/flv"
	"github.com/srs-lite/srs-lite/internal/media"
)

// lines collects log records.
type lines struct {
	mu  chan struct{}
	got []string
}

func newLines() *lines { return &lines{mu: make(chan struct{}, 1)} }

func (l *lines) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{ReplaceAttr: func(g []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey || a.Key == slog.LevelKey {
			return slog.Attr{}
		}
		return a
	}}))
}

func (l *lines) Write(b []byte) (int, error) {
	l.mu <- struct{}{}
	l.got = append(l.got, strings.TrimSpace(string(b)))
	<-l.mu
	return len(b), nil
}

func TestStderrLog(t *testing.T) {
	l := newLines()
	s := newStderrLog(l.logger(), 2, time.Hour)
	for _, chunk := range []string{"first li", "ne\nsecond\r\n\n", "third\nfourth", "\rfifth"} {
		s.Write([]byte(chunk))
	}
	s.flush()
	want := []string{`msg="ffmpeg: first line"`, `msg="ffmpeg: second"`,
		`msg="ffmpeg: lines not logged (rate limit)" count=3`}
	if !reflect.DeepEqual(l.got, want) {
		t.Fatalf("logged %q, want %q", l.got, want)
	}
	if got := s.lines(); !reflect.DeepEqual(got, []string{"second", "third", "fourth", "fifth"}) {
		t.Fatalf("kept %q", got)
	}
	// A long line is cut.
	s.Write([]byte(strings.Repeat("x", 3*maxLine) + "\n"))
	if got := s.last(); len(got) != maxLine {
		t.Fatalf("kept a line of %d bytes", len(got))
	}
}

func TestWaitQuotesStderr(t *testing.T) {
	p, err := Start(context.Background(), []string{"-c", "echo 'rtmp://x: Connection refused' >&2; exit 1"},
		Options{Path: "/bin/sh"})
	if err != nil {
		t.Fatal(err)
	}
	err = p.Wait()
	if err == nil || !strings.Contains(err.Error(), "exit status 1: rtmp://x: Connection refused") {
		t.Fatalf("Wait = %v", err)
	}
}

// TestKillGroup cancels a child that has a child of its own: both die.
func TestKillGroup(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	p, err := Start(ctx, []string{"-c", "sleep 30 & echo $!; wait"}, Options{Path: "/bin/sh"})
	if err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(p.Stdout).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	grandchild, _ := strconv.Atoi(strings.TrimSpace(line))
	start := time.Now()
	cancel()
	if err := p.Wait(); err == nil {
		t.Fatal("a killed child exited cleanly")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("kill took %v", d)
	}
	deadline := time.Now().Add(5 * time.Second)
	for alive(grandchild) {
		if time.Now().After(deadline) {
			t.Fatalf("the grandchild %d survived its group's kill", grandchild)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// alive reports whether pid runs (a zombie does not).
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(b, ')')
	return i < 0 || i+2 >= len(b) || b[i+2] != 'Z'
}

func TestNotFound(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	if _, err := Look(); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Look = %v", err)
	}
	if _, err := Start(context.Background(), nil, Options{}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Start = %v", err)
	}
	if !strings.Contains(ErrNotFound.Error(), "apt-get install ffmpeg") {
		t.Fatal("the error does not say what to do")
	}
}

// flvOf writes frames as an FLV stream.
func flvOf(t testing.TB, frames []media.Frame) []byte {
	var b bytes.Buffer
	w := flv.NewWriter(&b)
	if err := w.WriteHeader(true, true); err != nil {
		t.Fatal(err)
	}
	for i := range frames {
		if err := w.WriteFrame(&frames[i]); err != nil {
			t.Fatal(err)
		}
	}
	return b.Bytes()
}

var testFrames = []media.Frame{
	{Codec: media.CodecH264, Flags: media.FlagConfig, Payload: []byte{1, 0x42, 0xc0, 0x1e, 0xff, 0xe1, 0, 4, 0x67, 0x42, 0xc0, 0x1e, 1, 0, 2, 0x68, 0xce}},
	{Codec: media.CodecAAC, Flags: media.FlagConfig, Payload: []byte{0x12, 0x10}, SampleRate: 44100, Channels: 2},
	{DTS: 0, PTS: 40 * time.Millisecond, Codec: media.CodecH264, Flags: media.FlagKey, Payload: []byte{0, 0, 0, 2, 0x65, 0x88}},
	{DTS: 23 * time.Millisecond, PTS: 23 * time.Millisecond, Codec: media.CodecAAC, Payload: []byte{0x21, 0x10, 0x04}, SampleRate: 44100, Channels: 2},
	{DTS: 33 * time.Millisecond, PTS: 33 * time.Millisecond, Codec: media.CodecH264, Payload: []byte{0, 0, 0, 2, 0x41, 0x9a}},
}

func TestReadFrames(t *testing.T) {
	data := flvOf(t, testFrames)
	var got []media.Frame
	err := ReadFrames(bytes.NewReader(data), func(f *media.Frame) error {
		g := *f
		g.Payload = append([]byte(nil), f.Payload...)
		got = append(got, g)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(testFrames) {
		t.Fatalf("%d frames", len(got))
	}
	for i := range got {
		w := testFrames[i]
		g := got[i]
		if g.Codec != w.Codec || g.Flags != w.Flags || g.DTS != w.DTS || g.PTS != w.PTS || !bytes.Equal(g.Payload, w.Payload) {
			t.Fatalf("frame %d: got %+v, want %+v", i, g, w)
		}
	}
	// A stream cut inside a tag fails; an empty one too.
	if err := ReadFrames(bytes.NewReader(data[:len(data)-8]), func(*media.Frame) error { return nil }); err == nil {
		t.Fatal("truncated stream read")
	}
	if err := ReadFrames(bytes.NewReader(nil), func(*media.Frame) error { return nil }); err == nil {
		t.Fatal("empty stream read")
	}
	stop := errors.New("stop")
	if err := ReadFrames(bytes.NewReader(data), func(*media.Frame) error { return stop }); err != stop {
		t.Fatalf("fn's error: %v", err)
	}
}

// TestFFmpegFLV runs the real ffmpeg as an ingest does, on a test source.
func TestFFmpegFLV(t *testing.T) {
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("SKIPPED: ffmpeg is not installed (Debian/Ubuntu: apt-get install ffmpeg)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	args := append(append([]string(nil), BaseArgs...), "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25",
		"-f", "lavfi", "-i", "sine=sample_rate=44100", "-t", "1")
	args = append(args, VideoArgs(X264, 25, 300, true)...)
	args = append(args, "-c:a", "aac", "-f", "flv", "pipe:1")
	l := newLines()
	p, err := Start(ctx, args, Options{Log: l.logger()})
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	err = ReadFrames(p.Stdout, func(f *media.Frame) error {
		k := f.Codec.String()
		if f.IsConfig() {
			k += "-config"
		}
		if f.IsKey() {
			k += "-key"
		}
		counts[k]++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Wait(); err != nil {
		t.Fatal(err)
	}
	if counts["H264-config"] != 1 || counts["AAC-config"] != 1 || counts["H264-key"] != 1 ||
		counts["H264"] != 24 || counts["AAC"] < 40 || counts["data"] != 1 {
		t.Fatalf("frames %v", counts)
	}
}

func TestIngestArgs(t *testing.T) {
	for _, tc := range []struct {
		in   Ingest
		want string
	}{
		{Ingest{Input: "/media/a.mp4"}, "-re -stream_loop -1 -i /media/a.mp4 -map 0:v:0? -map 0:a:0? -c:v copy -c:a copy -f flv pipe:1"},
		{Ingest{Input: "file:///media/a.flv", ACodec: AAC}, "-re -stream_loop -1 -i /media/a.flv -map 0:v:0? -map 0:a:0? -c:v copy -c:a aac -b:a 128k -f flv pipe:1"},
		{Ingest{Input: "https://h/x.m3u8", ACodec: None}, "-rw_timeout 10000000 -i https://h/x.m3u8 -map 0:v:0? -map 0:a:0? -c:v copy -an -f flv pipe:1"},
		{Ingest{Input: "srt://h:9000?mode=caller", VCodec: X264, FPS: 30, VBitrate: 1000},
			"-i srt://h:9000?mode=caller -map 0:v:0? -map 0:a:0? -c:v libx264 -preset ultrafast -tune zerolatency -pix_fmt yuv420p -g 60 -b:v 1000k -maxrate 1000k -bufsize 2000k -c:a copy -f flv pipe:1"},
		{Ingest{Input: "/dev/video0", InputArgs: []string{"-f", "v4l2", "-input_format", "mjpeg"}, VCodec: "h264_v4l2m2m", ACodec: None},
			"-f v4l2 -input_format mjpeg -i /dev/video0 -map 0:v:0? -map 0:a:0? -c:v h264_v4l2m2m -pix_fmt yuv420p -g 50 -b:v 2000k -maxrate 2000k -bufsize 4000k -an -f flv pipe:1"},
	} {
		got := strings.Join(tc.in.Args()[len(BaseArgs):], " ")
		if got != tc.want {
			t.Errorf("%+v:\n got %s\nwant %s", tc.in, got, tc.want)
		}
	}
}

func TestIsFile(t *testing.T) {
	for in, want := range map[string]string{"/a/b.flv": "/a/b.flv", "b.mp4": "b.mp4", "./x y.ts": "./x y.ts",
		"file:///a.flv": "/a.flv", "rtmp://h/a/b": "", "udp://@:1234": "", "": ""} {
		got, ok := IsFile(in)
		if got != want || ok != (want != "") {
			t.Errorf("IsFile(%q) = %q %v", in, got, ok)
		}
	}
}

// FuzzReadFrames feeds arbitrary bytes as ffmpeg's output: no panic.
func FuzzReadFrames(f *testing.F) {
	f.Add(flvOf(f, testFrames))
	f.Add([]byte("FLV\x01\x05\x00\x00\x00\x09\x00\x00\x00\x00\x09\x00\x00\x05"))
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = ReadFrames(bytes.NewReader(b), func(f *media.Frame) error {
			if f.Codec == media.CodecUnknown {
				t.Fatal("a frame of no codec")
			}
			return nil
		})
	})
}

func BenchmarkReadFrames(b *testing.B) {
	frames := make([]media.Frame, 0, 1000)
	for i := range 1000 {
		frames = append(frames, media.Frame{DTS: time.Duration(i) * 40 * time.Millisecond, Codec: media.CodecH264,
			Payload: append([]byte{0, 0, 0x13, 0x88, 0x41}, make([]byte, 4999)...)})
	}
	data := flvOf(b, frames)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		n := 0
		_ = ReadFrames(bytes.NewReader(data), func(*media.Frame) error { n++; return nil })
		if n != 1000 {
			b.Fatal(n)
		}
	}
}

func TestProbe(t *testing.T) {
	if _, err := Look(); err != nil {
		t.Skip("SKIPPED: ffmpeg is not installed (Debian/Ubuntu: apt-get install ffmpeg)")
	}
	c, err := Probe("")
	if err != nil {
		t.Fatal(err)
	}
	if !c.HasEncoder("aac") || !c.HasDecoder("aac") || !c.HasDecoder("opus") {
		t.Fatalf("encoders %d decoders %d: aac or opus missing", len(c.Encoders), len(c.Decoders))
	}
	if _, err := Probe("/nonexistent/ffmpeg"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing program: %v", err)
	}
}
