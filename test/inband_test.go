package test

import (
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// teePublish runs the publisher users reported: ffmpeg's tee muxer, whose
// FLV slave gets no extradata, so it sends an empty AVC sequence header and
// Annex B keyframes with SPS/PPS in-band. It publishes 640x360 at 25 fps for
// d, then ends; done is closed when ffmpeg has exited.
func teePublish(t *testing.T, rtmpURL string, d time.Duration) (done chan struct{}) {
	t.Helper()
	cmd := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-re",
		"-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25", "-f", "lavfi", "-i", "sine",
		"-c:v", "libx264", "-preset", "ultrafast", "-g", "50", "-c:a", "aac", "-t", strconv.Itoa(int(d.Seconds())),
		"-f", "tee", "-map", "0:v", "-map", "1:a", "[f=flv]"+rtmpURL+"|[f=null]-")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done = make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGINT)
		<-done
	})
	return done
}

// videoProbe is what ffprobe decodes of a URL's video.
type videoProbe struct {
	codec         string
	width, height int
	frames        int
}

// probeVideo decodes the first seconds of url's video (all of it for a
// file: seconds 0) with ffprobe -count_frames.
func probeVideo(t *testing.T, url string, seconds int) videoProbe {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	args := []string{"-v", "error", "-select_streams", "v", "-count_frames", "-show_streams", "-of", "json"}
	if seconds > 0 {
		args = append(args, "-read_intervals", "%+"+strconv.Itoa(seconds))
	}
	out, err := exec.CommandContext(ctx, "ffprobe", append(args, url)...).Output()
	if err != nil {
		msg := ""
		if ee, ok := err.(*exec.ExitError); ok {
			msg = string(ee.Stderr)
		}
		t.Fatalf("ffprobe %s: %v %s", url, err, msg)
	}
	var p struct {
		Streams []struct {
			CodecName    string `json:"codec_name"`
			Width        int    `json:"width"`
			Height       int    `json:"height"`
			NbReadFrames string `json:"nb_read_frames"`
		} `json:"streams"`
	}
	if err := json.Unmarshal(out, &p); err != nil || len(p.Streams) == 0 {
		t.Fatalf("ffprobe %s: no video stream: %v %s", url, err, out)
	}
	st := p.Streams[0]
	n, _ := strconv.Atoi(st.NbReadFrames)
	return videoProbe{st.CodecName, st.Width, st.Height, n}
}

// needGStreamer skips the test, loudly, without GStreamer's HLS demuxer and
// H.264 decoder.
func needGStreamer(t *testing.T) {
	t.Helper()
	needTools(t, "gst-launch-1.0", "gst-inspect-1.0")
	for _, el := range []string{"hlsdemux", "tsdemux", "qtdemux", "avdec_h264", "fakesink"} {
		if exec.Command("gst-inspect-1.0", "--exists", el).Run() != nil {
			t.Skipf("SKIPPED: the GStreamer element %s is missing (Debian/Ubuntu: apt-get install gstreamer1.0-plugins-bad gstreamer1.0-libav)", el)
		}
	}
}

// gstFrames plays url with GStreamer's live HLS for d, with sync=true (a
// frame reaches the sink at its presentation time, as on a screen), and
// returns how many decoded video frames the sink rendered. The audio
// branch is there so that uridecodebin has a home for every pad.
func gstFrames(t *testing.T, url string, d time.Duration) int {
	t.Helper()
	cmd := exec.Command("gst-launch-1.0", "-v", "uridecodebin", "uri="+url, "name=d",
		"d.", "!", "video/x-raw", "!", "queue", "!", "fakesink", "name=v", "silent=false", "sync=true",
		"d.", "!", "audio/x-raw", "!", "queue", "!", "fakesink", "name=a", "sync=true")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(d)
	_ = cmd.Process.Signal(syscall.SIGINT)
	wait := make(chan struct{})
	go func() { _ = cmd.Wait(); close(wait) }()
	select {
	case <-wait:
	case <-time.After(5 * time.Second):
		_ = cmd.Process.Kill()
		<-wait
	}
	n := strings.Count(out.String(), "GstFakeSink:v: last-message = chain")
	if n == 0 {
		t.Logf("gst-launch output:\n%s", tail(out.String(), 30))
	}
	return n
}

// TestInBandParameterSets: the tee publisher (an empty AVC sequence header,
// SPS/PPS in-band in Annex B keyframes) plays everywhere, not only over RTMP
// and HTTP-FLV: the live HLS in both containers has 640x360 H.264 that
// ffprobe decodes and GStreamer renders, the API shows H.264 640x360, the
// DVR recording (FLV with TS HLS, MP4 with fMP4 HLS) has decodable video,
// and an SRT player decodes it.
func TestInBandParameterSets(t *testing.T) {
	needTools(t, "ffmpeg", "ffprobe")
	t.Parallel() // mostly waiting for its 30 s publish: not on the sequential path
	for _, tc := range []struct{ container, dvr string }{{"ts", "flv"}, {"fmp4", "mp4"}} {
		t.Run(tc.container, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			s := startServer(t, `[[vhost]]
name = "__defaultVhost__"
[vhost.hls]
enabled = true
fragment = "1s"
window = "10s"
container = "`+tc.container+`"
[vhost.dvr]
enabled = true
path = "`+filepath.Join(dir, "[stream]."+tc.dvr)+`"
`)
			name := streamName()
			const publishFor = 30 * time.Second
			done := teePublish(t, s.rtmpURL(name), publishFor)
			s.waitPublishing(t, name)

			deadline := time.Now().Add(10 * time.Second)
			for {
				var v string
				for _, st := range s.streams(t) {
					if st.Name == name && st.Video != nil {
						v = strings.ToLower(st.Video.Codec) + " " + strconv.Itoa(st.Video.Width) + "x" + strconv.Itoa(st.Video.Height)
					}
				}
				if v == "h264 640x360" {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("API video %q, want h264 640x360", v)
				}
				time.Sleep(100 * time.Millisecond)
			}

			if p := probeVideo(t, s.flvURL(name), 2); p.codec != "h264" || p.width != 640 || p.frames < 25 {
				t.Errorf("HTTP-FLV video %+v, want h264 640x360 with decoded frames", p)
			}
			url := "http://" + s.http + "/live/" + name + ".m3u8"
			p := probeVideo(t, url, 3)
			t.Logf("ffprobe of the live HLS (%s): %+v", tc.container, p)
			if p.codec != "h264" || p.width != 640 || p.height != 360 || p.frames < 25 {
				t.Errorf("live HLS video %+v, want h264 640x360 with decoded frames", p)
			}

			if tc.container == "ts" {
				p := probeVideo(t, srtURL(srtAddr(t, s), name, "request", ""), 3)
				t.Logf("ffprobe over SRT: %+v", p)
				if p.codec != "h264" || p.width != 640 || p.frames < 25 {
					t.Errorf("SRT video %+v, want h264 640x360 with decoded frames", p)
				}
			}

			t.Run("gstreamer", func(t *testing.T) {
				needGStreamer(t)
				const play = 10 * time.Second
				n := gstFrames(t, url, play)
				t.Logf("GStreamer live HLS (%s, sync=true): %d video frames rendered in %s", tc.container, n, play)
				// 25 fps; allow for the start (playlist, first segment, preroll).
				if n < 25*4 {
					t.Errorf("GStreamer rendered %d frames in %s, want at least 100", n, play)
				}
			})

			select {
			case <-done:
			case <-time.After(publishFor + 10*time.Second):
				t.Fatal("the publisher did not end")
			}
			var files []string
			for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(200 * time.Millisecond) {
				if files = recordings(t, dir, "."+tc.dvr); len(files) > 0 {
					break
				}
			}
			if len(files) != 1 {
				t.Fatalf("recordings %v, want one .%s", files, tc.dvr)
			}
			r := probeVideo(t, files[0], 0)
			t.Logf("ffprobe of the DVR %s: %+v", tc.dvr, r)
			if r.codec != "h264" || r.width != 640 || r.height != 360 || r.frames < 25*20 {
				t.Errorf("recording video %+v, want h264 640x360 and most of the %s", r, publishFor)
			}
		})
	}
}
