package test

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestPublishPlay publishes with ffmpeg and checks with ffprobe that RTMP and
// HTTP-FLV players see the right codecs and resolution, and the API too.
func TestPublishPlay(t *testing.T) {
	needTools(t, "ffmpeg", "ffprobe")
	t.Parallel()
	s, name := liveServer(t)

	for _, url := range []string{s.rtmpURL(name), s.flvURL(name)} {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		p := ffprobe(t, ctx, url)
		cancel()
		var video, audio bool
		for _, st := range p.Streams {
			switch st.CodecType {
			case "video":
				video = true
				if st.CodecName != "h264" || st.Width != 640 || st.Height != 360 {
					t.Errorf("%s: video %s %dx%d, want h264 640x360", url, st.CodecName, st.Width, st.Height)
				}
			case "audio":
				audio = true
				if st.CodecName != "aac" || st.SampleRate != "44100" {
					t.Errorf("%s: audio %s %s, want aac 44100", url, st.CodecName, st.SampleRate)
				}
			}
		}
		if !video || !audio {
			t.Errorf("%s: streams %+v, want video and audio", url, p.Streams)
		}
	}
	var st *apiStream
	for _, x := range s.streams(t) {
		if x.Name == name {
			st = &x
		}
	}
	if st == nil || st.Video == nil || st.Audio == nil {
		t.Fatalf("API stream: %+v", st)
	}
	if st.Video.Codec != "H264" || st.Video.Width != 640 || st.Video.Height != 360 || st.Audio.Codec != "AAC" {
		t.Errorf("API stream codecs: video %+v audio %+v", *st.Video, *st.Audio)
	}
}

// TestFrameCount plays a whole publish session and counts the frames: every
// video frame sent arrives, over RTMP and over HTTP-FLV.
func TestFrameCount(t *testing.T) {
	needTools(t, "ffmpeg", "ffprobe")
	t.Parallel()
	s := startServer(t, "")
	name := streamName()
	type result struct {
		url string
		n   int
		err error
	}
	results := make(chan result, 2)
	urls := []string{s.rtmpURL(name), s.flvURL(name)}
	for _, url := range urls {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			out, err := exec.CommandContext(ctx, "ffprobe", "-v", "error", "-select_streams", "v",
				"-count_packets", "-show_entries", "stream=nb_read_packets", "-of", "csv=p=0", url).Output()
			if err != nil {
				results <- result{url, 0, err}
				return
			}
			n, err := strconv.Atoi(strings.TrimSpace(strings.Split(string(out), "\n")[0]))
			results <- result{url, n, err}
		}()
	}
	// Both players wait for the stream; publish once they are attached.
	deadline := time.Now().Add(10 * time.Second)
	for {
		players := 0
		for _, c := range s.clients(t) { // each test has its own server
			if !c.Publish {
				players++
			}
		}
		if players == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("players did not attach: %+v", s.clients(t))
		}
		time.Sleep(50 * time.Millisecond)
	}
	pub, _ := s.publish(t, name, false)
	if err := pub.Wait(); err != nil {
		t.Fatalf("publisher: %v", err)
	}
	for range urls {
		r := <-results
		if r.err != nil {
			t.Errorf("%s: %v", r.url, r.err)
			continue
		}
		if r.n != fixtureN {
			t.Errorf("%s: %d video frames, want %d", r.url, r.n, fixtureN)
		}
	}
}

// TestJoinMidStream: a player joining a live stream gets its first picture
// at once from the GOP cache.
func TestJoinMidStream(t *testing.T) {
	needTools(t, "ffmpeg")
	t.Parallel()
	s, name := liveServer(t)
	time.Sleep(1500 * time.Millisecond) // mid-GOP

	for _, url := range []string{s.rtmpURL(name), s.flvURL(name)} {
		r := runBench(t, 1, 2*time.Second, url)
		if r.Connected != 1 || r.TTFF.Max <= 0 || r.TTFF.Max > 1000 {
			t.Errorf("%s: bench %+v: first video frame must arrive within 1 s", url, r)
		}
		// ffmpeg decodes its first frame quickly too.
		out := filepath.Join(t.TempDir(), "first.png")
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := exec.CommandContext(ctx, "ffmpeg", "-hide_banner", "-loglevel", "error",
			"-probesize", "32768", "-analyzeduration", "0", "-i", url,
			"-frames:v", "1", "-y", out).Run()
		cancel()
		took := time.Since(start)
		if err != nil {
			t.Errorf("%s: ffmpeg first frame: %v", url, err)
			continue
		}
		if fi, err := os.Stat(out); err != nil || fi.Size() == 0 {
			t.Errorf("%s: no decoded frame", url)
		}
		t.Logf("%s: ffmpeg decoded its first frame in %v (process start included)", url, took)
		if took > 2*time.Second {
			t.Errorf("%s: ffmpeg took %v to decode the first frame", url, took)
		}
	}
}

// TestSecondPublisherRefused: a second publisher to a live stream is
// refused and the first keeps publishing.
func TestSecondPublisherRefused(t *testing.T) {
	needTools(t, "ffmpeg")
	t.Parallel()
	s, name := liveServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-i", fixture,
		"-c", "copy", "-t", "3", "-f", "flv", s.rtmpURL(name)).CombinedOutput()
	if err == nil {
		t.Fatalf("second publisher was not refused: %s", out)
	}
	if !strings.Contains(s.logs(), "NetStream.Publish.BadName") && !strings.Contains(strings.ToLower(s.logs()), "already") {
		t.Errorf("server log does not say why the publisher was refused")
	}
	s.waitPublishing(t, name)
}

// TestKickPlayer: DELETE /api/v1/clients/{id} disconnects a player.
func TestKickPlayer(t *testing.T) {
	needTools(t, "ffmpeg")
	t.Parallel()
	s, name := liveServer(t)
	player := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-i", s.flvURL(name), "-c", "copy", "-f", "null", "-")
	if err := player.Start(); err != nil {
		t.Fatal(err)
	}
	defer player.Process.Kill()
	var id string
	deadline := time.Now().Add(10 * time.Second)
	for id == "" && time.Now().Before(deadline) {
		for _, c := range s.clients(t) {
			if !c.Publish {
				id = c.ID
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	if id == "" {
		t.Fatal("player not in /api/v1/clients")
	}
	req, _ := http.NewRequest(http.MethodDelete, "http://"+s.api+"/api/v1/clients/"+id, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("kick: HTTP %d", resp.StatusCode)
	}
	done := make(chan error, 1)
	go func() { done <- player.Wait() }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("kicked player still running after 10 s")
	}
	for _, c := range s.clients(t) {
		if c.ID == id {
			t.Errorf("kicked client %s still listed", id)
		}
	}
}

// TestBadInputDoesNotDisturb: garbage and truncated handshakes, a huge
// chunk size, a huge message and malformed AMF on the RTMP port neither crash
// the server nor disturb a healthy player beside them.
func TestBadInputDoesNotDisturb(t *testing.T) {
	needTools(t, "ffmpeg")
	t.Parallel()
	s, name := liveServer(t)
	player := startBench(t, 1, 6*time.Second, s.flvURL(name))
	time.Sleep(500 * time.Millisecond)

	attacks := map[string]func(c net.Conn){
		"garbage": func(c net.Conn) {
			b := make([]byte, 5000)
			_, _ = rand.Read(b)
			_, _ = c.Write(b)
		},
		"truncated handshake": func(c net.Conn) {
			_, _ = c.Write(append([]byte{3}, make([]byte, 700)...))
		},
		"wrong version": func(c net.Conn) {
			_, _ = c.Write(append([]byte{0x47, 0x45, 0x54, 0x20}, make([]byte, 1600)...))
		},
		"huge chunk size": func(c net.Conn) {
			handshake(c)
			// Set Chunk Size 0x7fffffff, then a message claiming 16 MiB.
			msg := []byte{0x02, 0, 0, 0, 0, 0, 4, 1, 0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff}
			msg = append(msg, 0x03, 0, 0, 0, 0xff, 0xff, 0xff, 20, 0, 0, 0, 0)
			_, _ = c.Write(msg)
			_, _ = c.Write(make([]byte, 100000))
		},
		"malformed amf": func(c net.Conn) {
			handshake(c)
			body := []byte{0x02, 0x00, 0x07, 'c', 'o', 'n', 'n', 'e', 'c', 't', 0x00, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0, 0x03, 0x00, 0x50, 'x'}
			h := []byte{0x03, 0, 0, 0, 0, 0, byte(len(body)), 20, 0, 0, 0, 0}
			_, _ = c.Write(append(h, body...))
		},
	}
	var wg sync.WaitGroup
	for label, attack := range attacks {
		for i := 0; i < 3; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c, err := net.DialTimeout("tcp", s.rtmp, 2*time.Second)
				if err != nil {
					t.Errorf("%s: dial: %v", label, err)
					return
				}
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(3 * time.Second))
				attack(c)
				_, _ = c.Read(make([]byte, 4096))
			}()
		}
	}
	wg.Wait()
	if healthy := player(); healthy.Connected != 1 || healthy.Failed != 0 || healthy.Stalls != 0 || healthy.Frames < 100 {
		t.Errorf("healthy player was disturbed: %+v", healthy)
	}
	// The server still accepts and serves.
	r := runBench(t, 1, time.Second, s.rtmpURL(name))
	if r.Connected != 1 || r.Frames == 0 {
		t.Errorf("after the attacks a new player got %+v", r)
	}
}

// handshake does a simple RTMP handshake as a client.
func handshake(c net.Conn) {
	c1 := make([]byte, 1537)
	c1[0] = 3
	binary.BigEndian.PutUint32(c1[1:], 0)
	_, _ = c.Write(c1)
	s := make([]byte, 3073)
	if _, err := ioReadFull(c, s); err != nil {
		return
	}
	_, _ = c.Write(s[1:1537])
}

func ioReadFull(c net.Conn, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := c.Read(b[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// TestManyPlayers: 200 concurrent players all receive without stalls.
func TestManyPlayers(t *testing.T) {
	needTools(t, "ffmpeg")
	t.Parallel()
	s, name := liveServer(t)
	for _, url := range []string{s.rtmpURL(name), s.flvURL(name)} {
		r := runBench(t, 200, 5*time.Second, url)
		if r.Connected != 200 || r.Failed != 0 || r.Stalls != 0 {
			t.Errorf("%s: %+v", url, r)
		}
		if r.BitrateKbps < 200*500 {
			t.Errorf("%s: total bitrate %.0f kbps, want about 200 x 1 Mbps", url, r.BitrateKbps)
		}
		t.Logf("%s: %d players, %.0f kbps, ttff p50 %.0f ms p95 %.0f ms", url, r.Connected, r.BitrateKbps, r.TTFF.P50, r.TTFF.P95)
	}
}

// TestReloadKeepsConnections: SIGHUP applies new vhost settings without
// dropping a player.
func TestReloadKeepsConnections(t *testing.T) {
	needTools(t, "ffmpeg")
	t.Parallel()
	s, name := liveServer(t)
	player := startBench(t, 1, 4*time.Second, s.rtmpURL(name))
	time.Sleep(time.Second)
	conf, _ := os.ReadFile(s.conf)
	conf = append(conf, []byte("\n[[vhost]]\nname = \"__defaultVhost__\"\nmw_latency = \"100ms\"\nqueue_length = \"5s\"\n")...)
	if err := os.WriteFile(s.conf, conf, 0o644); err != nil {
		t.Fatal(err)
	}
	_ = s.cmd.Process.Signal(syscall.SIGHUP)
	if r := player(); r.Connected != 1 || r.Failed != 0 || r.Stalls != 0 {
		t.Errorf("player across reload: %+v", r)
	}
	s.waitLog(t, "config reloaded", 5*time.Second)
	// A bad config is refused and the server keeps running.
	if err := os.WriteFile(s.conf, []byte("[rtmp]\nchunk_size = 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_ = s.cmd.Process.Signal(syscall.SIGHUP)
	time.Sleep(300 * time.Millisecond)
	s.waitLog(t, "reload failed", 5*time.Second)
	r := runBench(t, 1, time.Second, s.flvURL(name))
	if r.Connected != 1 {
		t.Errorf("after a failed reload: %+v", r)
	}
}
