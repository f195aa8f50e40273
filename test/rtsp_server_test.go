package test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func (s *srv) rtspURL(stream string) string { return "rtsp://" + s.rtsp + "/live/" + stream }

// checkAV checks that a probe found the fixture's H.264 640x360 and AAC
// 44.1 kHz, with at least minFrames decoded frames of each (when counted).
func checkAV(t *testing.T, what string, p probe, minFrames int) {
	t.Helper()
	var video, audio bool
	for _, st := range p.Streams {
		n, _ := strconv.Atoi(st.NbReadFrames)
		switch st.CodecType {
		case "video":
			video = st.CodecName == "h264" && st.Width == 640 && st.Height == 360 &&
				(st.NbReadFrames == "" || n >= minFrames)
		case "audio":
			audio = st.CodecName == "aac" && st.SampleRate == "44100" && (st.NbReadFrames == "" || n >= minFrames)
		}
	}
	if !video || !audio {
		t.Errorf("%s: want h264 640x360 and aac 44100 with >= %d frames each: %+v", what, minFrames, p.Streams)
	}
}

// TestRTSPPlayFFmpeg: ffprobe plays an RTMP-published H.264+AAC stream over
// RTSP, TCP interleaved and UDP, and decodes three seconds of it.
func TestRTSPPlayFFmpeg(t *testing.T) {
	needTools(t, "ffmpeg", "ffprobe")
	t.Parallel()
	s, name := liveServer(t)
	for _, tr := range []string{"tcp", "udp"} {
		t.Run(tr, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			p := ffprobe(t, ctx, s.rtspURL(name), "-rtsp_transport", tr, "-count_frames", "-read_intervals", "%+3")
			checkAV(t, "rtsp/"+tr, p, 30)
		})
	}
	s.waitLog(t, "rtsp: play end", 5*time.Second)
	// The bench tool's lean RTSP player.
	if r := runBench(t, 5, 4*time.Second, s.rtspURL(name)); r.Connected != 5 || r.Failed != 0 || r.Frames < 5*60 {
		t.Errorf("bench play rtsp://: %+v", r)
	}
	// A stream nobody publishes: 404.
	out, err := exec.Command("ffprobe", "-v", "error", "-rtsp_transport", "tcp", s.rtspURL("nobody")).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "404") {
		t.Errorf("a stream nobody publishes: %v %s", err, out)
	}
}

// TestRTSPPlayGStreamer: GStreamer's rtspsrc plays and decodes the video,
// over TCP and UDP.
func TestRTSPPlayGStreamer(t *testing.T) {
	needTools(t, "ffmpeg", "gst-launch-1.0")
	if exec.Command("gst-inspect-1.0", "avdec_h264").Run() != nil || exec.Command("gst-inspect-1.0", "rtspsrc").Run() != nil {
		t.Skip("SKIP: GStreamer without rtspsrc or avdec_h264 (gstreamer1.0-plugins-good, gstreamer1.0-libav)")
	}
	t.Parallel()
	s, name := liveServer(t)
	for _, tr := range []string{"tcp", "udp"} {
		t.Run(tr, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			out, err := exec.CommandContext(ctx, "gst-launch-1.0", "rtspsrc", "location="+s.rtspURL(name),
				"protocols="+tr, "name=src", "src.", "!", "rtph264depay", "!", "h264parse", "!", "avdec_h264",
				"!", "fakesink", "num-buffers=90", "sync=false").CombinedOutput()
			if err != nil || !strings.Contains(string(out), "Execution ended") {
				t.Fatalf("gst-launch rtspsrc over %s: %v\n%s", tr, err, tail(string(out), 20))
			}
		})
	}
}

// TestRTSPPlayVLC: VLC's command-line player records five seconds of the
// stream to a TS file, which ffprobe reads. Debian's VLC has no live555
// module (its RTSP client): the test skips there, saying so.
func TestRTSPPlayVLC(t *testing.T) {
	needTools(t, "ffmpeg", "ffprobe", "cvlc")
	if !vlcPlugin("liblive555_plugin.so") {
		t.Skip("SKIP: this VLC has no live555 module (Debian builds VLC without it): it cannot play rtsp://")
	}
	t.Parallel()
	s, name := liveServer(t)
	out := runVLC(t, s.rtspURL(name))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	checkAV(t, "vlc", ffprobe(t, ctx, out, "-count_frames"), 60)
}

// TestRTSPPublish: ffmpeg publishes over RTSP (TCP and UDP); the stream
// plays back over RTMP and HTTP-FLV.
func TestRTSPPublish(t *testing.T) {
	needTools(t, "ffmpeg", "ffprobe")
	t.Parallel()
	s := startServer(t, "")
	for _, tr := range []string{"tcp", "udp"} {
		t.Run(tr, func(t *testing.T) {
			name := streamName()
			cmd := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-stream_loop", "-1",
				"-i", fixture, "-c", "copy", "-rtsp_transport", tr, "-f", "rtsp", s.rtspURL(name))
			stop := startProcess(t, cmd)
			s.waitPublishing(t, name)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			checkAV(t, "rtmp", ffprobe(t, ctx, s.rtmpURL(name), "-count_frames", "-read_intervals", "%+2"), 20)
			checkAV(t, "flv", ffprobe(t, ctx, s.flvURL(name), "-count_frames", "-read_intervals", "%+2"), 20)
			// And back out over RTSP.
			checkAV(t, "rtsp", ffprobe(t, ctx, s.rtspURL(name), "-rtsp_transport", "tcp", "-count_frames", "-read_intervals", "%+2"), 20)
			var publisher bool
			for _, c := range s.clients(t) {
				publisher = publisher || c.Type == "rtsp-publish"
			}
			if !publisher {
				t.Errorf("no rtsp-publish client in /api/v1/clients: %+v", s.clients(t))
			}
			// A second publisher of the live stream: 403.
			out, err := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-i", fixture, "-t", "1",
				"-c", "copy", "-rtsp_transport", tr, "-f", "rtsp", s.rtspURL(name)).CombinedOutput()
			if err == nil || !strings.Contains(string(out), "403") {
				t.Errorf("a second publisher: %v %s", err, out)
			}
			stop()
			s.waitLog(t, "rtsp: unpublish", 5*time.Second)
		})
	}
}

// TestRTSPAuthHooks: the hooks decide; a hook that answers rtsp_password
// makes the server ask for Digest credentials; the hooks fire, the session
// shows in /api/v1/clients and is kickable.
func TestRTSPAuthHooks(t *testing.T) {
	needTools(t, "ffmpeg", "ffprobe")
	t.Parallel()
	rec, hook := startHookServer(t, func(e hookEvent) string {
		if e.Action == "on_play" && strings.Contains(e.Param, "token=bad") {
			return `{"code":403}`
		}
		if e.Action == "on_play" && strings.Contains(e.Param, "secret=1") {
			return `{"code":0,"data":{"rtsp_password":"s3cret"}}`
		}
		return `{"code":0}`
	})
	s := startServer(t, fmt.Sprintf(`[[vhost]]
name = "__defaultVhost__"
[vhost.hooks]
on_connect = %s
on_play = %s
on_stop = %s
on_close = %s
`, hook, hook, hook, hook))
	name := streamName()
	s.publish(t, name, true)
	s.waitPublishing(t, name)
	probe := func(u string) (string, error) {
		out, err := exec.Command("ffprobe", "-v", "error", "-rtsp_transport", "tcp", "-read_intervals", "%+#3", u).CombinedOutput()
		return string(out), err
	}
	host := s.rtsp
	if out, err := probe("rtsp://" + host + "/live/" + name + "?token=bad"); err == nil || !strings.Contains(out, "401") {
		t.Errorf("token=bad: want 401: %v %s", err, out)
	}
	if out, err := probe("rtsp://" + host + "/live/" + name + "?secret=1"); err == nil || !strings.Contains(out, "401") {
		t.Errorf("no credentials: want 401: %v %s", err, out)
	}
	if out, err := probe("rtsp://admin:wrong@" + host + "/live/" + name + "?secret=1"); err == nil || !strings.Contains(out, "401") {
		t.Errorf("bad password: want 401: %v %s", err, out)
	}
	if out, err := probe("rtsp://admin:s3cret@" + host + "/live/" + name + "?secret=1"); err != nil {
		t.Errorf("Digest with the hook's password: %v %s", err, out)
	}
	rec.mu.Lock()
	var user bool
	for _, e := range rec.events {
		user = user || e.Action == "on_play" && strings.Contains(e.Param, "user=admin") && !strings.Contains(e.Param, "s3cret")
	}
	rec.mu.Unlock()
	if !user {
		t.Errorf("no on_play with user=admin (and without the Digest password) in the param")
	}

	// A viewer that stays: in the client list as rtsp-play, kickable, with
	// on_stop and on_close.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ffmpeg", "-hide_banner", "-loglevel", "error", "-rtsp_transport", "tcp",
		"-i", s.rtspURL(name)+"?token=good", "-c", "copy", "-f", "null", "-")
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	var id string
	for deadline := time.Now().Add(10 * time.Second); id == "" && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		for _, c := range s.clients(t) {
			if c.Type == "rtsp-play" {
				id = c.ID
			}
		}
	}
	if id == "" {
		t.Fatalf("no rtsp-play client: %+v", s.clients(t))
	}
	req, _ := http.NewRequest(http.MethodDelete, "http://"+s.api+"/api/v1/clients/"+id, nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("kick: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		t.Errorf("the kicked viewer still plays")
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		rec.mu.Lock()
		var connect, stopped, closed bool
		for _, e := range rec.events {
			connect = connect || e.Action == "on_connect" && e.ClientID == id
			stopped = stopped || e.Action == "on_stop" && e.ClientID == id
			closed = closed || e.Action == "on_close" && e.ClientID == id && e.SendBytes != nil && *e.SendBytes > 0
		}
		rec.mu.Unlock()
		if connect && stopped && closed {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("hooks of the kicked viewer %s: on_connect %v on_stop %v on_close %v", id, connect, stopped, closed)
		}
	}
}

// TestRTSPGarbage: bytes that are not RTSP get a 400 and the connection
// closed; another viewer plays on.
func TestRTSPGarbage(t *testing.T) {
	needTools(t, "ffmpeg", "ffprobe")
	t.Parallel()
	s, name := liveServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	viewer := exec.CommandContext(ctx, "ffprobe", "-v", "error", "-rtsp_transport", "tcp", "-count_frames",
		"-show_streams", "-of", "json", "-read_intervals", "%+4", s.rtspURL(name))
	var vout strings.Builder
	viewer.Stdout = &vout
	if err := viewer.Start(); err != nil {
		t.Fatal(err)
	}
	for _, junk := range []string{"GET / HTTP/1.1\r\nHost: x\r\n\r\n", "\x16\x03\x01\x02\x00garbage\r\n\r\n",
		"DESCRIBE rtsp://" + s.rtsp + "/live/" + name + " RTSP/1.0\r\nCSeq 1\r\n\r\n",
		"OPTIONS * RTSP/1.0\r\nContent-Length: 99999999\r\n\r\n"} {
		c, err := net.Dial("tcp", s.rtsp)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		fmt.Fprint(c, junk)
		line, _ := bufio.NewReader(c).ReadString('\n')
		c.Close()
		if !strings.HasPrefix(line, "RTSP/1.0 400") {
			t.Errorf("%q: answered %q, want RTSP/1.0 400", junk, line)
		}
	}
	if err := viewer.Wait(); err != nil {
		t.Fatalf("the other viewer: %v", err)
	}
	if !strings.Contains(vout.String(), `"codec_name": "h264"`) {
		t.Errorf("the other viewer: %s", vout.String())
	}
}

// TestRTSPCodecs: H.265 with Opus and H.264 with G.711 A-law, published over
// RTSP by ffmpeg, play back over RTSP (TCP and UDP): the H.265 (AP, FU),
// Opus and PCMA packetizers and SDP against ffmpeg's depacketizers.
func TestRTSPCodecs(t *testing.T) {
	needTools(t, "ffmpeg", "ffprobe")
	encoders, _ := exec.Command("ffmpeg", "-hide_banner", "-encoders").Output()
	if !strings.Contains(string(encoders), "libx265") || !strings.Contains(string(encoders), "libopus") {
		t.Skip("SKIP: this ffmpeg has no libx265 or libopus encoder")
	}
	t.Parallel()
	s := startServer(t, "")
	dir := t.TempDir()
	for _, c := range []struct {
		name, video, audio string
		args               []string
	}{
		{"hevc-opus", "hevc", "opus", []string{"-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error:keyint=30",
			"-b:v", "800k", "-c:a", "libopus", "-b:a", "64k", "-ar", "48000"}},
		{"h264-alaw", "h264", "pcm_alaw", []string{"-c:v", "libx264", "-preset", "ultrafast", "-g", "30",
			"-c:a", "pcm_alaw", "-ar", "8000", "-ac", "1"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			file := filepath.Join(dir, c.name+".mkv")
			args := append([]string{"-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30",
				"-f", "lavfi", "-i", "sine=sample_rate=48000", "-t", "6"}, c.args...)
			if out, err := exec.Command("ffmpeg", append(args, file)...).CombinedOutput(); err != nil {
				t.Fatalf("making %s: %v %s", file, err, out)
			}
			name := streamName()
			startProcess(t, exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-stream_loop", "-1",
				"-i", file, "-c", "copy", "-f", "rtsp", s.rtspURL(name)))
			s.waitPublishing(t, name)
			for _, tr := range []string{"tcp", "udp"} {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				p := ffprobe(t, ctx, s.rtspURL(name), "-rtsp_transport", tr, "-count_frames", "-read_intervals", "%+2")
				cancel()
				var video, audio bool
				for _, st := range p.Streams {
					n, _ := strconv.Atoi(st.NbReadFrames)
					video = video || st.CodecName == c.video && st.Width == 640 && n >= 20
					audio = audio || st.CodecName == c.audio && n >= 5
				}
				if !video || !audio {
					t.Errorf("%s over %s: want %s 640x360 and %s: %+v", c.name, tr, c.video, c.audio, p.Streams)
				}
			}
		})
	}
}

// TestRTSPSecurity: [vhost.security] rules refuse an RTSP viewer with 403.
func TestRTSPSecurity(t *testing.T) {
	needTools(t, "ffmpeg", "ffprobe")
	t.Parallel()
	s := startServer(t, `[[vhost]]
name = "__defaultVhost__"
[vhost.security]
enabled = true
rules = ["allow publish all", "deny play 127.0.0.1"]
`)
	name := streamName()
	s.publish(t, name, true)
	s.waitPublishing(t, name)
	out, err := exec.Command("ffprobe", "-v", "error", "-rtsp_transport", "tcp", s.rtspURL(name)).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "403") {
		t.Errorf("a viewer the rules deny: %v %s", err, out)
	}
	s.waitLog(t, "security: ", 5*time.Second)
}

// TestRTSPLimit: server.max_connections counts RTSP clients: over it, 503.
func TestRTSPLimit(t *testing.T) {
	needTools(t, "ffmpeg", "ffprobe")
	t.Parallel()
	s := startServer(t, "[server]\nmax_connections = 1\n")
	name := streamName()
	s.publish(t, name, true) // the one connection
	s.waitPublishing(t, name)
	out, err := exec.Command("ffprobe", "-v", "error", "-rtsp_transport", "tcp", s.rtspURL(name)).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "503") {
		t.Errorf("a viewer over max_connections: %v %s", err, out)
	}
}
