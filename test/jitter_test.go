package test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// liveEncode publishes a live test picture and tone, encoded now (timestamps
// from 0 at publish), with a 4 s GOP: -g 100 at 25 fps. format is flv (to
// an rtmp:// URL) or mpegts (to an srt:// URL).
func liveEncode(t *testing.T, format, url string) (stop func()) {
	t.Helper()
	return startProcess(t, exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-re",
		"-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25", "-f", "lavfi", "-i", "sine",
		"-c:v", "libx264", "-preset", "ultrafast", "-g", "100", "-c:a", "aac", "-f", format, url))
}

// framesInOneSecond reads one second of the stream by time, as a player
// that reads by timestamps does, and returns the video frames decoded. All
// streams are read: the RTMP metadata is a data stream of its own to ffprobe,
// and its timestamp counts.
func framesInOneSecond(t *testing.T, url string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ffprobe", "-v", "error", "-read_intervals", "%+1", "-count_frames",
		"-show_entries", "stream=codec_type,codec_name,nb_read_frames", "-of", "json", url).Output()
	if err != nil {
		t.Errorf("ffprobe %s: %v", url, err)
		return 0
	}
	var p struct {
		Streams []struct {
			CodecType    string `json:"codec_type"`
			NbReadFrames string `json:"nb_read_frames"`
		} `json:"streams"`
	}
	if err := json.Unmarshal(out, &p); err != nil {
		t.Errorf("ffprobe %s: %v: %s", url, err, out)
		return 0
	}
	for _, st := range p.Streams {
		if st.CodecType == "video" {
			n, _ := strconv.Atoi(st.NbReadFrames) // N/A: none
			return n
		}
	}
	t.Errorf("ffprobe %s: no video stream: %s", url, out)
	return 0
}

// firstVideoPTS returns the pts of the first video packets a player gets, in
// seconds.
func firstVideoPTS(t *testing.T, url string) float64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ffprobe", "-v", "error", "-read_intervals", "%+#3", "-select_streams", "v",
		"-show_entries", "packet=pts_time", "-of", "csv=p=0", url).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", url, err)
	}
	line := strings.TrimSpace(strings.SplitN(strings.TrimSpace(string(out)), "\n", 2)[0])
	v, err := strconv.ParseFloat(strings.TrimSuffix(line, ","), 64)
	if err != nil {
		t.Fatalf("ffprobe %s: first pts %q: %v", url, out, err)
	}
	return v
}

// TestTimeJitterJoin: a player joining a live stream mid-GOP (4 s GOP,
// joined about 6 s in, so the GOP cache starts at 4 s) reads one second of
// it by time and decodes frames, over RTMP and HTTP-FLV, for an RTMP and an
// SRT (MPEG-TS) publisher. Before time_jitter the RTMP player got
// onMetaData at 0 and then the GOP at 4 s, and a time-based read stopped at
// the jump.
func TestTimeJitterJoin(t *testing.T) {
	needTools(t, "ffmpeg", "ffprobe")
	t.Parallel()
	s := startServer(t, srtConf)
	addr := srtAddr(t, s)
	for _, pub := range []struct {
		name, format string
		url          func(stream string) string
	}{
		{"rtmp", "flv", s.rtmpURL},
		{"srt", "mpegts", func(stream string) string { return srtURL(addr, stream, "publish", "") }},
	} {
		t.Run(pub.name, func(t *testing.T) {
			name := streamName()
			stop := liveEncode(t, pub.format, pub.url(name))
			defer stop()
			s.waitPublishing(t, name)
			time.Sleep(6 * time.Second)
			for _, url := range []string{s.rtmpURL(name), s.flvURL(name)} {
				n := framesInOneSecond(t, url)
				t.Logf("publisher %s, player %s: %d video frames in 1 s", pub.name, url, n)
				if n < 20 {
					t.Errorf("%s: %d video frames decoded in one second read by time, want >= 20", url, n)
				}
			}
		})
	}
}

// TestTimeJitterModes: with time_jitter = "off" a player joining at the 4 s
// GOP gets the publisher's timestamps (first video pts about 4 s); after a
// reload to "zero" a new player's timeline starts at 0.
func TestTimeJitterModes(t *testing.T) {
	needTools(t, "ffmpeg", "ffprobe")
	t.Parallel()
	const vhost = "\n[[vhost]]\nname = \"__defaultVhost__\"\ntime_jitter = \"%s\"\n"
	s := startServer(t, strings.Replace(vhost, "%s", "off", 1))
	name := streamName()
	liveEncode(t, "flv", s.rtmpURL(name))
	s.waitPublishing(t, name)
	time.Sleep(5500 * time.Millisecond)
	for _, url := range []string{s.rtmpURL(name), s.flvURL(name)} {
		if pts := firstVideoPTS(t, url); pts < 3.9 || pts > 4.3 {
			t.Errorf("off: %s: first video pts %.3f, want the GOP's, about 4", url, pts)
		}
	}

	conf, err := os.ReadFile(s.conf)
	if err != nil {
		t.Fatal(err)
	}
	conf = []byte(strings.Replace(string(conf), `time_jitter = "off"`, `time_jitter = "zero"`, 1))
	if err := os.WriteFile(s.conf, conf, 0o644); err != nil {
		t.Fatal(err)
	}
	_ = s.cmd.Process.Signal(syscall.SIGHUP)
	s.waitLog(t, "config reloaded", 5*time.Second)
	for _, url := range []string{s.rtmpURL(name), s.flvURL(name)} {
		if pts := firstVideoPTS(t, url); pts < 0 || pts > 0.1 {
			t.Errorf("zero: %s: first video pts %.3f, want 0", url, pts)
		}
	}
}
