package srt

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/srs-lite/srs-lite/internal/format/ts"
	"github.com/srs-lite/srs-lite/internal/media"
)

var (
	fixture      string // 6 s of H.264 640x360 30 fps (1 s GOP) and AAC 48 kHz in MPEG-TS, made by ffmpeg
	fixtureVideo int    // its video frames
	fixtureAudio int    // its audio frames
)

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	flag.Parse()
	if _, err := exec.LookPath("ffmpeg"); err == nil && !testing.Short() {
		dir, err := os.MkdirTemp("", "srt-test-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		fixture = filepath.Join(dir, "fixture.ts")
		cmd := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error",
			"-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30",
			"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
			"-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-profile:v", "high",
			"-g", "30", "-keyint_min", "30", "-sc_threshold", "0", "-b:v", "1M",
			"-c:a", "aac", "-b:a", "64k", "-t", "6", "-f", "mpegts", fixture)
		cmd.Stderr = os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "making the fixture with ffmpeg:", err)
			return 1
		}
		b, err := os.ReadFile(fixture)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fixtureVideo, fixtureAudio = countFrames(b)
	}
	return m.Run()
}

// countFrames demuxes a transport stream and counts its coded frames.
func countFrames(b []byte) (video, audio int) {
	d := ts.NewDemuxer(func(f *media.Frame) error {
		switch {
		case f.IsConfig():
		case f.Codec.IsVideo():
			video++
		case f.Codec.IsAudio():
			audio++
		}
		return nil
	})
	_, _ = d.Write(b)
	_ = d.Flush()
	return video, audio
}

func needFixture(t *testing.T) {
	t.Helper()
	needTool(t, "ffmpeg", "ffmpeg")
	if fixture == "" {
		t.Skip("SKIPPED: no fixture (-short)")
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent writers (the log).
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type testServer struct {
	*Server
	reg  *media.Registry
	addr string
	logs *syncBuffer
}

func startSRT(t *testing.T, cfg ServerConfig) *testServer {
	t.Helper()
	logs := &syncBuffer{}
	reg := media.NewRegistry(nil)
	s, err := NewServer(cfg, ServerDeps{Registry: reg, Log: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	a, err := s.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = s.Close()
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	return &testServer{Server: s, reg: reg, addr: a.String(), logs: logs}
}

func streamName() string { return fmt.Sprintf("s%06d", rand.IntN(1000000)) }

// ffmpegPublish runs ffmpeg publishing the fixture over SRT in real time.
func ffmpegPublish(t *testing.T, url string, loop bool) *exec.Cmd {
	t.Helper()
	args := []string{"-hide_banner", "-loglevel", "error", "-re"}
	if loop {
		args = append(args, "-stream_loop", "-1")
	}
	args = append(args, "-i", fixture, "-c", "copy", "-f", "mpegts", url)
	cmd := exec.Command("ffmpeg", args...)
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGINT)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("ffmpeg: %s", stderr.String())
		}
	})
	return cmd
}

func (s *testServer) waitPublishing(t *testing.T, name string) *media.Stream {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if st := s.reg.Lookup(media.Key{Vhost: "__defaultVhost__", App: "live", Stream: name}); st != nil && st.Publishing() {
			return st
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("live/%s was not published within 10 s", name)
	return nil
}

func publishURL(addr, name, extra string) string {
	return "srt://" + addr + "?streamid=#!::r=live/" + name + ",m=publish" + extra
}

func playURL(addr, name, extra string) string {
	return "srt://" + addr + "?streamid=#!::r=live/" + name + ",m=request" + extra
}

type probeOut struct {
	Streams []struct {
		CodecType     string `json:"codec_type"`
		CodecName     string `json:"codec_name"`
		Width         int    `json:"width"`
		Height        int    `json:"height"`
		SampleRate    string `json:"sample_rate"`
		NbReadPackets string `json:"nb_read_packets"`
	} `json:"streams"`
}

func ffprobe(t *testing.T, url string, extra ...string) (probeOut, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	args := append([]string{"-v", "error", "-show_streams", "-of", "json"}, extra...)
	args = append(args, url)
	out, err := exec.CommandContext(ctx, "ffprobe", args...).Output()
	var p probeOut
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return p, fmt.Errorf("ffprobe %s: %w: %s", url, err, ee.Stderr)
		}
		return p, err
	}
	return p, json.Unmarshal(out, &p)
}

// TestFFmpegPublishFFprobePlay publishes with ffmpeg (libsrt) and plays
// with ffprobe (libsrt), in the clear and encrypted: the player sees H.264
// 640x360 and AAC 48 kHz, and so does the stream's info.
func TestFFmpegPublishFFprobePlay(t *testing.T) {
	needFixture(t)
	needTool(t, "ffprobe", "ffmpeg")
	for _, tc := range []struct {
		name, pass, opt string
	}{
		{"plain", "", ""},
		{"aes128", "srs-lite-secret", "&passphrase=srs-lite-secret&pbkeylen=16"},
		{"aes256", "srs-lite-secret", "&passphrase=srs-lite-secret&pbkeylen=32"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startSRT(t, ServerConfig{Config: Config{Passphrase: tc.pass}})
			name := streamName()
			ffmpegPublish(t, publishURL(s.addr, name, tc.opt), true)
			st := s.waitPublishing(t, name)
			p, err := ffprobe(t, playURL(s.addr, name, tc.opt))
			if err != nil {
				t.Fatal(err)
			}
			var video, audio bool
			for _, x := range p.Streams {
				switch x.CodecType {
				case "video":
					video = x.CodecName == "h264" && x.Width == 640 && x.Height == 360
				case "audio":
					audio = x.CodecName == "aac" && x.SampleRate == "48000"
				}
			}
			if !video || !audio {
				t.Errorf("ffprobe streams %+v, want h264 640x360 and aac 48000", p.Streams)
			}
			info := st.Stats()
			if info.Video.Codec != media.CodecH264 || info.Video.Width != 640 || info.Audio.Codec != media.CodecAAC || info.Audio.SampleRate != 48000 {
				t.Errorf("stream info: video %+v audio %+v", info.Video, info.Audio)
			}
			// ffmpeg's PMT, before its first frame, declared both tracks.
			if v, a := st.ExpectedTracks(); !v || !a {
				t.Errorf("declared tracks: video %v audio %v, want both", v, a)
			}
		})
	}
}

// played is what a player got.
type played struct {
	video, audio int
	gap          time.Duration // the longest time without a frame
	holes        int           // video frames missing between the first and the last (by DTS)
	firstHole    int           // the video frames played before the first hole
}

// playFrames plays over a connection until the stream ends.
func playFrames(c *Conn, timeout time.Duration) (played, error) {
	var p played
	var last time.Time
	var lastDTS time.Duration
	const frame = time.Second / 30
	var gaps []time.Duration
	d := ts.NewDemuxer(func(f *media.Frame) error {
		now := time.Now()
		if !last.IsZero() {
			gaps = append(gaps, now.Sub(last))
		}
		last = now
		switch {
		case f.IsConfig():
		case f.Codec.IsVideo():
			if p.video > 0 {
				if d := f.DTS - lastDTS; d > frame*3/2 {
					if p.holes == 0 {
						p.firstHole = p.video
					}
					p.holes += int((d+frame/2)/frame) - 1
				}
			}
			lastDTS = f.DTS
			p.video++
		case f.Codec.IsAudio():
			p.audio++
		}
		return nil
	})
	buf := make([]byte, 1500)
	_ = c.SetReadDeadline(time.Now().Add(timeout))
	var err error
	for {
		n, rerr := c.Read(buf)
		if rerr != nil {
			if !errors.Is(rerr, io.EOF) {
				err = rerr
			}
			break
		}
		_, _ = d.Write(buf[:n])
	}
	_ = d.Flush()
	// The last frames come when the stream ends: a publisher whose one
	// shutdown was lost ends only at its idle timeout, and its last PES
	// comes out then. That is not a stall.
	for _, g := range gaps[:max(len(gaps)-3, 0)] {
		p.gap = max(p.gap, g)
	}
	return p, err
}

// dialPlayer dials a player in the background: its handshake waits for
// the publisher that the test starts next.
func dialPlayer(addr string, cfg Config) <-chan dialed {
	ch := make(chan dialed, 1)
	go func() {
		cfg.ConnectTimeout = 15 * time.Second
		c, err := Dial(context.Background(), addr, cfg)
		ch <- dialed{c, err}
	}()
	time.Sleep(200 * time.Millisecond)
	return ch
}

type dialed struct {
	c   *Conn
	err error
}

// goPublish publishes the fixture over a connection of ours, paced at the
// fixture's average rate, and closes it.
func goPublish(t *testing.T, addr, name string, cfg Config) error {
	b, err := os.ReadFile(fixture)
	if err != nil {
		return err
	}
	cfg.StreamID = "#!::r=live/" + name + ",m=publish"
	c, err := Dial(context.Background(), addr, cfg)
	if err != nil {
		return err
	}
	per := 6 * time.Second / time.Duration(len(b)/LivePayload+1)
	next := time.Now()
	for len(b) > 0 {
		n := min(LivePayload, len(b))
		if _, err := c.Write(b[:n]); err != nil {
			return err
		}
		b = b[n:]
		next = next.Add(per)
		time.Sleep(time.Until(next))
	}
	return c.Close()
}

// lossyLatency is the latency of the lossy link tests: 250 ms over a 10 ms
// RTT leaves room for several NAK rounds even when the race detector slows
// everything down.
const lossyLatency = 250 * time.Millisecond

// TestLossyLink runs libsrt's publisher (ffmpeg) and our player through
// links that drop 5% of the packets and reorder 3%: retransmission repairs
// every loss, so the player gets every frame the server got, with no hole.
func TestLossyLink(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("-short or -race: timing-sensitive (real-time loss and latency); runs in the native unit tests")
	}
	needFixture(t)
	s := startSRT(t, ServerConfig{Config: Config{Latency: lossyLatency, PeerLatency: lossyLatency}, WaitPublisher: 10 * time.Second})
	pubLink := newRelay(t, s.addr, 0.05, 0.03, 5*time.Millisecond)
	playLink := newRelay(t, s.addr, 0.05, 0.03, 5*time.Millisecond)
	name := streamName()
	ch := dialPlayer(playLink.addr(), Config{StreamID: "#!::r=live/" + name, Latency: lossyLatency})
	ffmpegPublish(t, publishURL(pubLink.addr(), name, "&latency=250000"), false)
	st := s.waitPublishing(t, name)
	r := <-ch
	if r.err != nil {
		t.Fatal(r.err)
	}
	defer r.c.Close()
	p, err := playFrames(r.c, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	tot := s.Totals()
	pst := r.c.Stats()
	in := st.Stats()
	t.Logf("player %+v of %d+%d; server got %d+%d; server %+v; player %+v; links dropped %d+%d reordered %d+%d",
		p, fixtureVideo, fixtureAudio, in.VideoFrames, in.AudioFrames, tot, pst,
		pubLink.dropped.Load(), playLink.dropped.Load(), pubLink.reordered.Load(), playLink.reordered.Load())
	// ffmpeg drops what it has not sent when it closes (libsrt live
	// mode lingers 0), and does not repair what the link lost just
	// before: the tail may miss (a hole among its last frames included),
	// the middle may not.
	if p.holes != 0 && p.firstHole < fixtureVideo-10 || p.video+p.holes < fixtureVideo-10 {
		t.Errorf("player got %d video frames with %d missing (the first after %d), want about %d with none missing before the last 10",
			p.video, p.holes, p.firstHole, fixtureVideo)
	}
	if uint64(p.video) != in.VideoFrames || uint64(p.audio) != in.AudioFrames {
		t.Errorf("player got %d+%d frames, the server %d+%d", p.video, p.audio, in.VideoFrames, in.AudioFrames)
	}
	if tot.PktLoss == 0 || tot.PktRecvRetrans == 0 || tot.PktRetrans == 0 || pst.PktRecvRetrans == 0 {
		t.Errorf("no loss repaired: server %+v, player %+v", tot, pst)
	}
	// When the link also lost ffmpeg's one shutdown packet, the server
	// learns that it left only at the idle timeout: a hole in its
	// unrepaired tail comes due first, and is given up as too late. That
	// drop is the tail's; any other is not.
	tailDrop := strings.Contains(s.logs.String(), `reason="srt: peer idle timeout"`) &&
		(p.holes == 0 || p.firstHole >= fixtureVideo-10)
	if tot.PktRecvDrop != 0 && !tailDrop || pst.PktRecvDrop != 0 {
		t.Errorf("too-late drops with %v latency over a 10 ms RTT: server %d, player %d", lossyLatency, tot.PktRecvDrop, pst.PktRecvDrop)
	}
}

// TestLossyLinkOurs is TestLossyLink with our caller publishing: it
// lingers on close until everything is acknowledged, so every frame of the
// fixture reaches the player.
func TestLossyLinkOurs(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("-short or -race: timing-sensitive (real-time loss and latency); runs in the native unit tests")
	}
	needFixture(t)
	s := startSRT(t, ServerConfig{Config: Config{Passphrase: "lossy-link-secret", Latency: lossyLatency, PeerLatency: lossyLatency},
		WaitPublisher: 10 * time.Second})
	pubLink := newRelay(t, s.addr, 0.05, 0.03, 5*time.Millisecond)
	playLink := newRelay(t, s.addr, 0.05, 0.03, 5*time.Millisecond)
	name := streamName()
	ch := dialPlayer(playLink.addr(), Config{StreamID: "#!::r=live/" + name, Passphrase: "lossy-link-secret"})
	errc := make(chan error, 1)
	go func() {
		errc <- goPublish(t, pubLink.addr(), name, Config{Passphrase: "lossy-link-secret", PBKeyLen: 32})
	}()
	r := <-ch
	if r.err != nil {
		t.Fatal(r.err)
	}
	defer r.c.Close()
	p, err := playFrames(r.c, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	tot := s.Totals()
	t.Logf("player %+v of %d+%d; server %+v; player %+v", p, fixtureVideo, fixtureAudio, tot, r.c.Stats())
	if p.video != fixtureVideo || p.audio != fixtureAudio || p.holes != 0 {
		t.Errorf("player got %d+%d frames (%d missing), want %d+%d", p.video, p.audio, p.holes, fixtureVideo, fixtureAudio)
	}
	if tot.PktRecvRetrans == 0 || tot.PktRetrans == 0 {
		t.Errorf("no loss repaired: %+v", tot)
	}
}

// TestTooLittleLatency: with 20 ms of latency over a 60 ms RTT,
// retransmissions come too late; the losses show as counted too-late drops
// while the stream goes on, neither stalling nor failing.
func TestTooLittleLatency(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("-short or -race: timing-sensitive (real-time loss and latency); runs in the native unit tests")
	}
	needFixture(t)
	lat := Config{Latency: 20 * time.Millisecond, PeerLatency: 20 * time.Millisecond}
	s := startSRT(t, ServerConfig{Config: lat, WaitPublisher: 10 * time.Second})
	pubLink := newRelay(t, s.addr, 0.05, 0.03, 30*time.Millisecond)
	playLink := newRelay(t, s.addr, 0.05, 0.03, 30*time.Millisecond)
	name := streamName()
	pcfg := lat
	pcfg.StreamID = "#!::r=live/" + name
	ch := dialPlayer(playLink.addr(), pcfg)
	ffmpegPublish(t, publishURL(pubLink.addr(), name, "&latency=20000"), false)
	r := <-ch
	if r.err != nil {
		t.Fatal(r.err)
	}
	defer r.c.Close()
	p, err := playFrames(r.c, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	tot := s.Totals()
	pst := r.c.Stats()
	t.Logf("player %+v of %d+%d; server %+v; player %+v", p, fixtureVideo, fixtureAudio, tot, pst)
	if tot.PktRecvDrop == 0 || pst.PktRecvDrop == 0 {
		t.Errorf("no too-late drops counted: server %d, player %d", tot.PktRecvDrop, pst.PktRecvDrop)
	}
	if p.video < fixtureVideo/2 || p.gap > time.Second {
		t.Errorf("the stream stalled: %d of %d video frames, longest gap %v", p.video, fixtureVideo, p.gap)
	}
}

// TestLiveTransmitPublishPlay: srt-live-transmit (libsrt) publishes the
// fixture's MPEG-TS and another plays it back; the player's TS holds H.264
// and AAC frames from a keyframe on.
func TestLiveTransmitPublishPlay(t *testing.T) {
	needFixture(t)
	needTool(t, "srt-live-transmit", "srt-tools")
	s := startSRT(t, ServerConfig{})
	name := streamName()
	pub := exec.Command("srt-live-transmit", "-q", "-a:no", "-chunk:1316", "file://con", publishURL(s.addr, name, ""))
	stdin, err := pub.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := pub.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = pub.Process.Kill(); _ = pub.Wait() }()
	data, err := os.ReadFile(fixture)
	if err != nil {
		t.Fatal(err)
	}
	go feed(stdin, data, 1316, len(data)/6, false)
	st := s.waitPublishing(t, name)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	play := exec.CommandContext(ctx, "srt-live-transmit", "-q", "-a:no", playURL(s.addr, name, ""), "file://con")
	var out bytes.Buffer
	play.Stdout = &out
	if err := play.Start(); err != nil {
		t.Fatal(err)
	}
	// The publisher ends when its input does; the player then.
	time.Sleep(7 * time.Second)
	_ = pub.Process.Kill()
	_ = play.Wait()
	video, audio := countFrames(out.Bytes())
	in := st.Stats()
	t.Logf("player got %d video and %d audio frames in %d bytes; the server got %d+%d", video, audio, out.Len(), in.VideoFrames, in.AudioFrames)
	if video < 60 || audio < 90 {
		t.Errorf("player got %d video and %d audio frames, want most of %d and %d", video, audio, fixtureVideo, fixtureAudio)
	}
	if in.Video.Codec != media.CodecH264 || in.Audio.Codec != media.CodecAAC {
		t.Errorf("stream info %+v", in)
	}
	first := true
	d := ts.NewDemuxer(func(f *media.Frame) error {
		if first && f.Codec.IsVideo() && !f.IsConfig() {
			first = false
			if !f.IsKey() {
				t.Error("the player's first video frame is not a keyframe")
			}
		}
		return nil
	})
	_, _ = d.Write(out.Bytes())
}
