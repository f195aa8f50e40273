package test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// remuxProbe is what ffprobe counts of each stream of a URL.
type remuxProbe struct {
	Streams []struct {
		CodecType     string `json:"codec_type"`
		CodecName     string `json:"codec_name"`
		NbReadFrames  string `json:"nb_read_frames"`
		NbReadPackets string `json:"nb_read_packets"`
	} `json:"streams"`
}

// probeCount runs ffprobe on a live URL for about two seconds of media and
// returns codec_type:codec_name -> frames decoded (or packets read, with
// packets set).
func probeCount(t *testing.T, url string, packets bool) map[string]int {
	t.Helper()
	count := "-count_frames"
	if packets {
		count = "-count_packets"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ffprobe", "-v", "error", count, "-read_intervals", "%+2",
		"-show_entries", "stream=codec_type,codec_name,nb_read_frames,nb_read_packets", "-of", "json", url).Output()
	if err != nil {
		msg := ""
		if ee, ok := err.(*exec.ExitError); ok {
			msg = string(ee.Stderr)
		}
		t.Fatalf("ffprobe %s: %v %s", url, err, msg)
	}
	var p remuxProbe
	if err := json.Unmarshal(out, &p); err != nil {
		t.Fatalf("ffprobe output: %v: %s", err, out)
	}
	got := map[string]int{}
	for _, s := range p.Streams {
		n, _ := strconv.Atoi(s.NbReadFrames)
		if packets {
			n, _ = strconv.Atoi(s.NbReadPackets)
		}
		got[s.CodecType+":"+s.CodecName] = n
	}
	return got
}

// wantStreams fails t unless got has exactly the streams of want, each with
// at least as many frames.
func wantStreams(t *testing.T, url string, got map[string]int, want map[string]int) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: streams %v, want %v", url, got, want)
	}
	for k, n := range want {
		if got[k] < n {
			t.Errorf("%s: %s has %d frames, want %d+ (all: %v)", url, k, got[k], n, got)
		}
	}
}

// TestHTTPRemux plays one H.264+AAC RTMP publish as HTTP-FLV, HTTP-TS and
// AAC on the default mount; .mp3 of that AAC stream is refused.
func TestHTTPRemux(t *testing.T) {
	needTools(t, "ffmpeg", "ffprobe")
	t.Parallel()
	s, name := liveServer(t)
	base := "http://" + s.http + "/live/" + name
	av := map[string]int{"video:h264": 20, "audio:aac": 20}
	wantStreams(t, base+".flv", probeCount(t, base+".flv", false), av)
	wantStreams(t, base+".ts", probeCount(t, base+".ts", false), av)
	wantStreams(t, base+".aac", probeCount(t, base+".aac", true), map[string]int{"audio:aac": 20})

	resp, err := http.Get(base + ".mp3")
	if err != nil {
		t.Fatal(err)
	}
	msg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Errorf(".mp3 of an AAC stream: %d %s, want 415", resp.StatusCode, msg)
	}
	// Types for the API: one player per format was listed while it played.
	if !strings.Contains(s.logs(), "proto=ts") || !strings.Contains(s.logs(), "proto=aac") {
		t.Errorf("no ts/aac play in the log")
	}
}

// TestHTTPRemuxMP3 publishes MP3 audio (ffmpeg's libmp3lame) and plays it
// as .mp3.
func TestHTTPRemuxMP3(t *testing.T) {
	needTools(t, "ffmpeg", "ffprobe")
	if out, _ := exec.Command("ffmpeg", "-hide_banner", "-encoders").Output(); !bytes.Contains(out, []byte("libmp3lame")) {
		t.Skip("SKIPPED: this ffmpeg has no libmp3lame encoder")
	}
	t.Parallel()
	s := startServer(t, "")
	name := streamName()
	cmd := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-stream_loop", "-1",
		"-i", fixture, "-c:v", "copy", "-c:a", "libmp3lame", "-ar", "44100", "-f", "flv", s.rtmpURL(name))
	startProcess(t, cmd)
	s.waitPublishing(t, name)
	url := "http://" + s.http + "/live/" + name + ".mp3"
	wantStreams(t, url, probeCount(t, url, true), map[string]int{"audio:mp3": 20})

	resp, err := http.Get("http://" + s.http + "/live/" + name + ".aac")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Errorf(".aac of an MP3 stream: %d, want 415", resp.StatusCode)
	}
}

// TestHTTPRemuxMount serves a custom mount: the stream is there (every
// format), the default path is not.
func TestHTTPRemuxMount(t *testing.T) {
	needTools(t, "ffmpeg", "ffprobe")
	t.Parallel()
	s := startServer(t, `[[vhost]]
name = "__defaultVhost__"
[vhost.http_remux]
mount = "/flv/[app]/[stream].flv"
`)
	name := streamName()
	s.publish(t, name, true)
	s.waitPublishing(t, name)
	url := "http://" + s.http + "/flv/live/" + name
	wantStreams(t, url+".flv", probeCount(t, url+".flv", false), map[string]int{"video:h264": 20, "audio:aac": 20})
	wantStreams(t, url+".ts", probeCount(t, url+".ts", true), map[string]int{"video:h264": 20, "audio:aac": 20})
	for _, p := range []string{"/live/" + name + ".flv", "/live/" + name + ".ts"} {
		resp, err := http.Get("http://" + s.http + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", p, resp.StatusCode)
		}
	}
}

// TestHTTPRemuxVhost plays a named vhost's stream by the Host header and by
// ?vhost=; the default vhost has no such stream.
func TestHTTPRemuxVhost(t *testing.T) {
	needTools(t, "ffmpeg", "ffprobe")
	t.Parallel()
	s := startServer(t, `[[vhost]]
name = "v.example.com"
`)
	name := streamName()
	cmd := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-stream_loop", "-1",
		"-i", fixture, "-c", "copy", "-f", "flv", s.rtmpURL(name)+"?vhost=v.example.com")
	startProcess(t, cmd)
	deadline := time.Now().Add(10 * time.Second)
	get := func(method, host, path string) (int, []byte) {
		req, _ := http.NewRequest(method, "http://"+s.http+path, nil)
		if host != "" {
			req.Host = host
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b := make([]byte, 3)
		n, _ := io.ReadFull(resp.Body, b)
		return resp.StatusCode, b[:n]
	}
	for {
		if code, _ := get("HEAD", "v.example.com", "/live/"+name+".flv"); code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the vhost's stream was not published within 10 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if code, b := get("GET", "v.example.com:80", "/live/"+name+".flv"); code != 200 || string(b) != "FLV" {
		t.Errorf("by Host: %d %q", code, b)
	}
	if code, b := get("GET", "", "/live/"+name+".ts?vhost=v.example.com"); code != 200 || len(b) == 0 || b[0] != 0x47 {
		t.Errorf("by ?vhost= as TS: %d % x", code, b)
	}
	if code, _ := get("HEAD", "", "/live/"+name+".flv"); code != 404 {
		t.Errorf("default vhost: %d, want 404", code)
	}
	url := "http://" + s.http + "/live/" + name + ".flv?vhost=v.example.com"
	wantStreams(t, url, probeCount(t, url, false), map[string]int{"video:h264": 20, "audio:aac": 20})
}
