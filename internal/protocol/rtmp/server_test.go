package rtmp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/srs-lite/srs-lite/internal/format/amf0"
	"github.com/srs-lite/srs-lite/internal/format/codec/aac"
	"github.com/srs-lite/srs-lite/internal/format/codec/h264"
	"github.com/srs-lite/srs-lite/internal/media"
	"github.com/srs-lite/srs-lite/internal/session"
)

// testServer is a Server on 127.0.0.1:0 with a real Registry.
type testServer struct {
	srv     *Server
	reg     *media.Registry
	clients *session.Table
	addr    string
	done    chan error
}

func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("RTMP_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// publisherTime gives players the publisher's timestamps, by which the tests
// know the frames; TestPlayTimeJitter covers the corrections.
func publisherTime(string) media.Options {
	o := media.DefaultOptions()
	o.TimeJitter = media.JitterOff
	return o
}

func startServer(t testing.TB, cfg ServerConfig, mod func(*ServerDeps)) *testServer {
	t.Helper()
	ts := &testServer{reg: media.NewRegistry(publisherTime), clients: session.NewTable(), done: make(chan error, 1)}
	deps := ServerDeps{Registry: ts.reg, Events: session.Funcs{}, Log: testLogger(t)}
	if mod != nil {
		mod(&deps)
	}
	if f, ok := deps.Events.(session.Funcs); ok && f.Table == nil {
		f.Table = ts.clients
		deps.Events = f
	}
	srv, err := NewServer(cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts.srv, ts.addr = srv, ln.Addr().String()
	go func() { ts.done <- srv.Serve(context.Background(), ln) }()
	t.Cleanup(func() {
		srv.Close()
		select {
		case <-ts.done:
		case <-time.After(5 * time.Second):
			t.Error("Serve did not return after Close")
		}
	})
	return ts
}

func (ts *testServer) url(stream string) string { return "rtmp://" + ts.addr + "/live/" + stream }

// Test media: a real SPS/PPS (320x240 High) and AAC LC 44.1 kHz stereo.
var (
	testSPS = []byte{0x67, 0x64, 0x00, 0x0d, 0xac, 0xd9, 0x41, 0x41, 0xfb, 0x01, 0x10, 0x00,
		0x00, 0x03, 0x00, 0x10, 0x00, 0x00, 0x03, 0x03, 0xc0, 0xf1, 0x42, 0x99, 0x60}
	testPPS = []byte{0x68, 0xeb, 0xe3, 0xcb, 0x22, 0xc0}
)

func ownedFrame(codec media.Codec, flags media.Flags, dts time.Duration, payload []byte) media.Frame {
	f := media.Frame{DTS: dts, PTS: dts, Codec: codec, Flags: flags, Payload: payload}
	f.Own()
	return f
}

func metaBody() []byte {
	b := amf0.AppendString(nil, "onMetaData")
	b, _ = amf0.Append(b, amf0.ECMAArray{{Key: "width", Value: float64(320)}, {Key: "height", Value: float64(240)}})
	return b
}

// testFrames returns n media frames after metadata and both sequence
// headers: video at 30 fps with a keyframe every 30 frames, interleaved with
// AAC frames; every payload is distinct.
func testFrames(n int) []media.Frame {
	fs := []media.Frame{
		ownedFrame(media.CodecData, 0, 0, metaBody()),
		ownedFrame(media.CodecH264, media.FlagConfig, 0, h264.BuildConfig([][]byte{testSPS}, [][]byte{testPPS})),
		ownedFrame(media.CodecAAC, media.FlagConfig, 0, aac.BuildASC(2, 44100, 2)),
	}
	for i := 0; i < n; i++ {
		dts := frameDTS(i)
		var flags media.Flags
		nalType := byte(1)
		if i%30 == 0 {
			flags, nalType = media.FlagKey, 5
		}
		size := 200 + i%50*37
		if i%30 == 0 {
			size = 70000 // spans several chunks
		}
		nalu := make([]byte, size)
		nalu[0] = 0x60 | nalType
		for j := 1; j < size; j++ {
			nalu[j] = byte(i*7 + j)
		}
		payload := append([]byte{byte(size >> 24), byte(size >> 16), byte(size >> 8), byte(size)}, nalu...)
		v := ownedFrame(media.CodecH264, flags, dts, payload)
		v.PTS = dts + 66*time.Millisecond
		fs = append(fs, v)
		if i%2 == 0 {
			a := make([]byte, 100+i%20)
			for j := range a {
				a[j] = byte(i + j*3)
			}
			fs = append(fs, ownedFrame(media.CodecAAC, 0, dts, a))
		}
	}
	return fs
}

// frameDTS is the DTS of video frame i of testFrames: 33 ms apart, as RTMP
// carries milliseconds.
func frameDTS(i int) time.Duration { return time.Duration(i*33) * time.Millisecond }

func releaseAll(fs []media.Frame) {
	for i := range fs {
		fs[i].Release()
	}
}

func dialPublish(t testing.TB, url string) *Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := Dial(ctx, url, ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Publish(ctx); err != nil {
		c.Close()
		t.Fatal(err)
	}
	return c
}

func dialPlay(t testing.TB, url string) *Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := Dial(ctx, url, ClientOptions{ComplexHandshake: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Play(ctx); err != nil {
		c.Close()
		t.Fatal(err)
	}
	return c
}

// waitFor polls cond for up to 5 seconds.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timeout waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func waitReaders(t testing.TB, reg *media.Registry, key string, n int) {
	t.Helper()
	p := strings.SplitN(key, "/", 3)
	waitFor(t, fmt.Sprintf("%d readers of %s", n, key), func() bool {
		s := reg.Lookup(media.Key{Vhost: p[0], App: p[1], Stream: p[2]})
		return s != nil && s.Stats().Readers >= n
	})
}

type got struct {
	codec media.Codec
	flags media.Flags
	dts   time.Duration
	cts   time.Duration
	data  []byte
}

// readFrames reads until n media (non-data, non-config) frames have come, or
// an error.
func readFrames(c *Client, n int, deadline time.Duration) ([]got, error) {
	c.nc.SetReadDeadline(time.Now().Add(deadline))
	var out []got
	nmedia := 0
	for nmedia < n {
		var f media.Frame
		if err := c.ReadFrame(&f); err != nil {
			return out, err
		}
		out = append(out, got{f.Codec, f.Flags, f.DTS, f.CTS(), bytes.Clone(f.Payload)})
		if f.Codec != media.CodecData && !f.IsConfig() {
			nmedia++
		}
		f.Release()
	}
	return out, nil
}

func TestPublishPlay(t *testing.T) {
	ts := startServer(t, ServerConfig{}, nil)
	frames := testFrames(90)
	defer releaseAll(frames)

	pub := dialPublish(t, ts.url("x?token=1"))
	defer pub.Close()
	// The first GOP goes in before the players join: they must get it from
	// the ring.
	split := 3 + 45
	for i := range frames[:split] {
		if err := pub.WriteFrame(&frames[i]); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "publish", func() bool {
		s := ts.reg.Lookup(media.Key{Vhost: media.DefaultVhost, App: "live", Stream: "x"})
		return s != nil && s.Stats().FramesIn >= uint64(split)
	})
	s := ts.reg.Lookup(media.Key{Vhost: media.DefaultVhost, App: "live", Stream: "x"})
	st := s.Stats()
	if st.Video.Codec != media.CodecH264 || st.Video.Width != 320 || st.Video.Height != 240 || st.Video.Profile != "High" {
		t.Errorf("video info = %+v", st.Video)
	}
	if st.Audio.Codec != media.CodecAAC || st.Audio.SampleRate != 44100 || st.Audio.Channels != 2 {
		t.Errorf("audio info = %+v", st.Audio)
	}

	p1 := dialPlay(t, ts.url("x"))
	defer p1.Close()
	p2 := dialPlay(t, ts.url("x"))
	defer p2.Close()
	waitReaders(t, ts.reg, media.DefaultVhost+"/live/x", 2)
	for i := range frames[split:] {
		if err := pub.WriteFrame(&frames[split+i]); err != nil {
			t.Fatal(err)
		}
	}
	// Everything from the first keyframe on, in order, exact payloads.
	want := frames
	nmedia := 0
	for _, f := range want[3:] {
		if f.Flags&media.FlagConfig == 0 {
			nmedia++
		}
	}
	for i, p := range []*Client{p1, p2} {
		t.Run(fmt.Sprintf("player%d", i+1), func(t *testing.T) {
			g, err := readFrames(p, nmedia, 5*time.Second)
			if err != nil {
				t.Fatalf("after %d frames: %v", len(g), err)
			}
			if len(g) != len(want) {
				t.Fatalf("got %d frames, want %d", len(g), len(want))
			}
			for j := range want {
				w := &want[j]
				if g[j].codec != w.Codec || g[j].flags != w.Flags || g[j].dts != w.DTS ||
					g[j].cts != w.CTS() || !bytes.Equal(g[j].data, w.Payload) {
					t.Fatalf("frame %d: got %v %v dts %v cts %v len %d, want %v %v dts %v cts %v len %d", j,
						g[j].codec, g[j].flags, g[j].dts, g[j].cts, len(g[j].data),
						w.Codec, w.Flags, w.DTS, w.CTS(), len(w.Payload))
				}
			}
		})
	}
	// Clients table: one publisher, two players.
	var pubs, players int
	for _, c := range ts.clients.List() {
		if c.Proto != "rtmp" || c.Stream != "x" {
			t.Errorf("client %+v", c)
		}
		if c.Publisher() {
			pubs++
		} else {
			players++
		}
	}
	if pubs != 1 || players != 2 {
		t.Errorf("clients: %d publishers, %d players", pubs, players)
	}

	// The publisher leaves: players get the end of the stream.
	pub.Close()
	var f media.Frame
	p1.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if err := p1.ReadFrame(&f); !errors.Is(err, io.EOF) {
		t.Errorf("after unpublish: %v, want io.EOF", err)
	}
}

func TestPublishBusy(t *testing.T) {
	unpublished := make(chan session.Snapshot, 1)
	ts := startServer(t, ServerConfig{}, func(d *ServerDeps) {
		d.Events = session.Funcs{OnUnpublish: func(i *session.Session) { unpublished <- i.Snapshot() }}
	})
	pub := dialPublish(t, ts.url("busy"))
	defer pub.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := Dial(ctx, ts.url("busy"), ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	err = c.Publish(ctx)
	if !errors.Is(err, ErrRejected) || !strings.Contains(err.Error(), "NetStream.Publish.BadName") {
		t.Fatalf("second publish: %v", err)
	}
	// The second connection is closed, the first still publishes.
	var f media.Frame
	c.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if err := c.ReadFrame(&f); err == nil {
		t.Error("rejected connection still open")
	}
	if s := ts.reg.Lookup(media.Key{Vhost: media.DefaultVhost, App: "live", Stream: "busy"}); s == nil || !s.Publishing() {
		t.Error("first publisher lost the stream")
	}
	pub.Close()
	select {
	case i := <-unpublished:
		if i.Stream != "busy" {
			t.Errorf("OnUnpublish %+v", i)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no OnUnpublish")
	}
}

func TestLatePlayerStartsAtKeyframe(t *testing.T) {
	ts := startServer(t, ServerConfig{}, nil)
	frames := testFrames(75)
	defer releaseAll(frames)
	pub := dialPublish(t, ts.url("late"))
	defer pub.Close()
	for i := range frames {
		if err := pub.WriteFrame(&frames[i]); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "frames", func() bool {
		s := ts.reg.Lookup(media.Key{Vhost: media.DefaultVhost, App: "live", Stream: "late"})
		return s != nil && s.Stats().FramesIn == uint64(len(frames))
	})
	p := dialPlay(t, ts.url("late"))
	defer p.Close()
	g, err := readFrames(p, 5, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	// Metadata, sequence headers, then the GOP from the newest keyframe
	// (frame 60).
	if len(g) < 4 || g[0].codec != media.CodecData || g[1].flags != media.FlagConfig || g[2].flags != media.FlagConfig {
		t.Fatalf("start: %+v", g[:min(3, len(g))])
	}
	for _, f := range g[3:] {
		if f.codec.IsVideo() {
			if f.flags != media.FlagKey || f.dts != frameDTS(60) {
				t.Fatalf("first video frame: flags %v dts %v", f.flags, f.dts)
			}
			break
		}
	}
}

func TestPauseUnpause(t *testing.T) {
	ts := startServer(t, ServerConfig{}, nil)
	frames := testFrames(120)
	defer releaseAll(frames)
	pub := dialPublish(t, ts.url("pause"))
	defer pub.Close()
	for i := range frames[:3+10] {
		pub.WriteFrame(&frames[i])
	}
	p := dialPlay(t, ts.url("pause"))
	defer p.Close()
	if _, err := readFrames(p, 5, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := p.Pause(true); err != nil {
		t.Fatal(err)
	}
	// Frames written while paused are not sent: the first frame after
	// unpause is the keyframe at frame 30 or later.
	time.Sleep(200 * time.Millisecond)
	pos := 3 + 10
	for ; pos < len(frames) && frames[pos].DTS < frameDTS(45); pos++ {
		pub.WriteFrame(&frames[pos])
	}
	time.Sleep(500 * time.Millisecond)
	if err := p.Pause(false); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	for ; pos < len(frames); pos++ {
		pub.WriteFrame(&frames[pos])
	}
	g, err := readFrames(p, 10, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	// Skip the frames sent before the pause took effect.
	var first *got
	for i := range g {
		if g[i].dts >= frameDTS(10) && g[i].codec.IsVideo() {
			first = &g[i]
			break
		}
	}
	if first == nil || first.flags != media.FlagKey || first.dts != frameDTS(60) {
		t.Fatalf("first video frame after unpause: %+v", first)
	}
	for i := range g {
		if g[i].dts >= frameDTS(10) && g[i].dts < frameDTS(60) {
			t.Fatalf("frame at %v sent while paused", g[i].dts)
		}
	}
}

func TestKickPlayer(t *testing.T) {
	var stopped = make(chan session.Snapshot, 1)
	ts := startServer(t, ServerConfig{}, func(d *ServerDeps) {
		d.Events = session.Funcs{OnStop: func(i *session.Session) { stopped <- i.Snapshot() }}
	})
	p := dialPlay(t, ts.url("kick"))
	defer p.Close()
	var id string
	waitFor(t, "player in clients", func() bool {
		for _, c := range ts.clients.List() {
			if c.Stream == "kick" {
				id = c.ID
				return true
			}
		}
		return false
	})
	if !ts.clients.Kick(id) {
		t.Fatal("kick: no client")
	}
	var f media.Frame
	p.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if err := p.ReadFrame(&f); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("kicked player: %v", err)
	}
	select {
	case i := <-stopped:
		if i.Stream != "kick" || i.App != "live" || i.ID != id {
			t.Errorf("OnStop %+v", i)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no OnStop")
	}
	waitFor(t, "client removed", func() bool { return ts.clients.Get(id) == nil })
}

func TestHooksAndVhost(t *testing.T) {
	var mu sync.Mutex
	var infos []session.Snapshot
	ts := startServer(t, ServerConfig{}, func(d *ServerDeps) {
		d.Vhost = func(host, param string) (string, bool) {
			if param == "bad" {
				return "", false
			}
			if param != "" {
				return param, true
			}
			return media.DefaultVhost, true
		}
		d.Events = session.Funcs{OnPublish: func(_ context.Context, s *session.Session) error {
			i := s.Snapshot()
			mu.Lock()
			infos = append(infos, i)
			mu.Unlock()
			if strings.Contains(i.Param, "deny") {
				return errors.New("denied")
			}
			return nil
		}}
	})
	ctx := context.Background()
	if _, err := Dial(ctx, "rtmp://"+ts.addr+"/live...vhost...bad/x", ClientOptions{}); !errors.Is(err, ErrRejected) {
		t.Errorf("bad vhost: %v", err)
	}
	c, err := Dial(ctx, "rtmp://"+ts.addr+"/live/x?vhost=v1&deny=1", ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Publish(ctx); !errors.Is(err, ErrRejected) {
		t.Errorf("denied publish: %v", err)
	}
	c2 := dialPublish(t, "rtmp://"+ts.addr+"/live/y?vhost=v1&token=abc")
	defer c2.Close()
	if s := ts.reg.Lookup(media.Key{Vhost: "v1", App: "live", Stream: "y"}); s == nil || !s.Publishing() {
		t.Error("stream v1/live/y not published")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(infos) != 2 || infos[1].Param != "?vhost=v1&token=abc" || infos[1].Stream != "y" ||
		infos[1].Vhost != "v1" || infos[1].App != "live" || !strings.HasPrefix(infos[1].URL, "rtmp://") {
		t.Errorf("hook infos %+v", infos)
	}
}

func TestSplitParam(t *testing.T) {
	for _, tc := range []struct{ in, name, param string }{
		{"live", "live", ""},
		{"live?vhost=a", "live", "?vhost=a"},
		{"live...vhost...a.com", "live", "?vhost=a.com"},
		{"x?token=1&b=2", "x", "?token=1&b=2"},
		{"", "", ""},
	} {
		t.Run(tc.in, func(t *testing.T) {
			n, p := splitParam(tc.in)
			if n != tc.name || p != tc.param {
				t.Errorf("splitParam(%q) = %q, %q", tc.in, n, p)
			}
		})
	}
}

func TestTimestampUnwrap(t *testing.T) {
	var u tsUnwrap
	for _, tc := range []struct {
		in   uint32
		want int64
	}{
		{0xFFFFFF00, 0xFFFFFF00},
		{0xFFFFFFF0, 0xFFFFFFF0},
		{0x10, 1<<32 + 0x10},
		{0xFFFFFFF8, 0xFFFFFFF8}, // a late frame from before the wrap
		{0x20, 1<<32 + 0x20},
		{0x1000, 1<<32 + 0x1000},
	} {
		if got := u.unwrap(tc.in); got != tc.want {
			t.Errorf("unwrap(%#x) = %#x, want %#x", tc.in, got, tc.want)
		}
	}
}

// TestFFmpeg publishes a lavfi stream with ffmpeg and probes it back with
// ffprobe over RTMP.
func TestFFmpeg(t *testing.T) {
	ffmpeg, err1 := exec.LookPath("ffmpeg")
	ffprobe, err2 := exec.LookPath("ffprobe")
	if err1 != nil || err2 != nil {
		t.Skip("SKIPPED: ffmpeg/ffprobe not installed; the RTMP interop test did not run")
	}
	if testing.Short() {
		t.Skip("short mode")
	}
	ts := startServer(t, ServerConfig{}, nil)
	url := ts.url("ff")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	pub := exec.CommandContext(ctx, ffmpeg, "-hide_banner", "-loglevel", "error", "-re",
		"-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30", "-f", "lavfi", "-i", "sine",
		"-c:v", "libx264", "-preset", "ultrafast", "-g", "30", "-c:a", "aac", "-t", "4", "-f", "flv", url)
	var pubErr bytes.Buffer
	pub.Stderr = &pubErr
	if err := pub.Start(); err != nil {
		t.Fatal(err)
	}
	defer pub.Wait()
	waitFor(t, "ffmpeg publish", func() bool {
		s := ts.reg.Lookup(media.Key{Vhost: media.DefaultVhost, App: "live", Stream: "ff"})
		return s != nil && s.Stats().VideoFrames > 5
	})
	probe := exec.CommandContext(ctx, ffprobe, "-hide_banner", "-loglevel", "error",
		"-show_streams", "-of", "json", url)
	out, err := probe.Output()
	if err != nil {
		t.Fatalf("ffprobe: %v\n%s", err, out)
	}
	var res struct {
		Streams []struct {
			CodecType string `json:"codec_type"`
			CodecName string `json:"codec_name"`
			Width     int    `json:"width"`
			Height    int    `json:"height"`
		} `json:"streams"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("ffprobe output: %v\n%s", err, out)
	}
	var video, audio bool
	for _, s := range res.Streams {
		switch {
		case s.CodecType == "video" && s.CodecName == "h264" && s.Width == 320 && s.Height == 240:
			video = true
		case s.CodecType == "audio" && s.CodecName == "aac":
			audio = true
		}
	}
	if !video || !audio {
		t.Errorf("ffprobe streams: %s", out)
	}
	st := ts.reg.Lookup(media.Key{Vhost: media.DefaultVhost, App: "live", Stream: "ff"}).Stats()
	if st.Video.Width != 320 || st.Video.Height != 240 || st.Audio.Codec != media.CodecAAC {
		t.Errorf("stream info: %+v %+v", st.Video, st.Audio)
	}
	if err := pub.Wait(); err != nil {
		t.Errorf("ffmpeg: %v\n%s", err, pubErr.String())
	}
}

// goroutines returns the goroutine count once it settles at or below want.
func settleGoroutines(t *testing.T, want int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		n := runtime.NumGoroutine()
		if n <= want {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Fatalf("%d goroutines, want <= %d\n%s", n, want, buf)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestPublishDeclaresTracks: the tracks an onMetaData names before the
// first frame (FFmpeg's videocodecid and audiocodecid, or hasVideo and
// hasAudio) are declared to the stream, so that HLS and DVR wait for the
// video of a publisher whose audio comes first; metadata naming no codec,
// or coming after a frame, declares nothing.
func TestPublishDeclaresTracks(t *testing.T) {
	ts := startServer(t, ServerConfig{}, nil)
	aacFrame := func() media.Frame { return ownedFrame(media.CodecAAC, 0, 0, []byte{1, 2, 3}) }
	for i, c := range []struct {
		name         string
		meta         amf0.ECMAArray
		late         bool
		video, audio bool
	}{
		{"ffmpeg", amf0.ECMAArray{{Key: "videocodecid", Value: float64(7)}, {Key: "audiocodecid", Value: float64(10)}}, false, true, true},
		{"audio only", amf0.ECMAArray{{Key: "audiocodecid", Value: float64(10)}}, false, false, true},
		{"has flags", amf0.ECMAArray{{Key: "hasVideo", Value: true}, {Key: "hasAudio", Value: false}}, false, true, false},
		{"no codec named", amf0.ECMAArray{{Key: "width", Value: float64(320)}}, false, false, false},
		{"after a frame", amf0.ECMAArray{{Key: "videocodecid", Value: float64(7)}}, true, false, false},
	} {
		name := fmt.Sprintf("declare%d", i)
		pub := dialPublish(t, ts.url(name))
		b := amf0.AppendString(nil, "onMetaData")
		b, _ = amf0.Append(b, c.meta)
		frames := []media.Frame{ownedFrame(media.CodecData, 0, 0, b), aacFrame()}
		if c.late {
			frames[0], frames[1] = frames[1], frames[0]
		}
		for i := range frames {
			if err := pub.WriteFrame(&frames[i]); err != nil {
				t.Fatal(err)
			}
		}
		var st *media.Stream
		waitFor(t, c.name+": the frames", func() bool {
			st = ts.reg.Lookup(media.Key{Vhost: media.DefaultVhost, App: "live", Stream: name})
			return st != nil && st.Stats().FramesIn >= 2
		})
		if v, a := st.ExpectedTracks(); v != c.video || a != c.audio {
			t.Errorf("%s: declared video %v audio %v, want %v %v", c.name, v, a, c.video, c.audio)
		}
		pub.Close()
		releaseAll(frames)
	}
}
