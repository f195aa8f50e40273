package test

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/srs-lite/srs-lite/internal/protocol/rtsp/rtsptest"
)

// decodeFrames runs ffprobe on a live URL for its first 3 s (read by time:
// players start their timeline at their first frame, time_jitter),
// decoding every frame, and returns the codec and decoded frame count of each
// stream ("video"/"audio").
func decodeFrames(t *testing.T, url string) map[string]struct {
	codec  string
	frames int
} {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ffprobe", "-v", "error", "-count_frames", "-read_intervals", "%+3",
		"-show_entries", "stream=codec_type,codec_name,nb_read_frames", "-of", "json", url).Output()
	if err != nil {
		msg := ""
		if ee, ok := err.(*exec.ExitError); ok {
			msg = string(ee.Stderr)
		}
		t.Fatalf("ffprobe %s: %v %s", url, err, msg)
	}
	var p struct {
		Streams []struct {
			CodecType    string `json:"codec_type"`
			CodecName    string `json:"codec_name"`
			NbReadFrames string `json:"nb_read_frames"`
		} `json:"streams"`
	}
	if err := json.Unmarshal(out, &p); err != nil {
		t.Fatalf("ffprobe output: %v: %s", err, out)
	}
	// Packets, not seconds: an RTMP player's data stream starts at 0 while
	// the media starts at the DTS of the GOP it joins.
	res := map[string]struct {
		codec  string
		frames int
	}{}
	for _, s := range p.Streams {
		n, _ := strconv.Atoi(s.NbReadFrames)
		res[s.CodecType] = struct {
			codec  string
			frames int
		}{s.CodecName, n}
	}
	return res
}

type apiIngest struct {
	Name      string `json:"name"`
	Input     string `json:"input"`
	Output    string `json:"output"`
	State     string `json:"state"`
	Error     string `json:"error"`
	Restarts  int    `json:"restarts"`
	Frames    uint64 `json:"frames"`
	Transport string `json:"transport"`
}

func (s *srv) ingests(t *testing.T) []apiIngest {
	var out struct {
		Code    int         `json:"code"`
		Ingests []apiIngest `json:"ingests"`
	}
	s.getJSON(t, "/api/v1/ingests", &out)
	if out.Code != 0 {
		t.Fatalf("GET /api/v1/ingests: code %d", out.Code)
	}
	return out.Ingests
}

func (s *srv) ingest(t *testing.T, name string) apiIngest {
	for _, in := range s.ingests(t) {
		if in.Name == name {
			return in
		}
	}
	t.Fatalf("ingest %s not listed by the API", name)
	return apiIngest{}
}

// waitUnpublished polls the API until the stream is not published.
func (s *srv) waitUnpublished(t *testing.T, stream string) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		live := false
		for _, st := range s.streams(t) {
			if st.Name == stream && st.Publish.Active {
				live = true
			}
		}
		if !live {
			return
		}
	}
	t.Fatalf("stream %s still published 15 s after its camera stopped", stream)
}

// TestRTSPIngest pulls GStreamer's RTSP server (H.264+AAC behind Digest
// auth over UDP, H.264+PCMU over TCP) with [[ingest]] entries, checks what
// ffprobe decodes from the RTMP and HTTP-FLV outputs, stops the camera and
// starts it again on the same port, and checks that the ingests recover by
// themselves.
func TestRTSPIngest(t *testing.T) {
	needTools(t, "ffprobe")
	rtsptest.Need(t)
	t.Parallel()
	cam := rtsptest.Start(t, 0, "--user", "admin", "--password", "pa55")
	// A second camera that refuses UDP: its ingest falls back to TCP.
	tcpCam := rtsptest.Start(t, 0, "--user", "admin", "--password", "pa55", "--protocols", "tcp")
	aacName, pcmuName := streamName(), streamName()
	s := startServer(t, fmt.Sprintf(`
[[ingest]]
name = "%s"
input = "%s"

[[ingest]]
name = "%s"
input = "%s"
output = "live/%s"
`, aacName, cam.UserURL("admin", "pa55", "h264aac"), "cam-pcmu", tcpCam.UserURL("admin", "pa55", "h264pcmu"), pcmuName))
	s.waitPublishing(t, aacName)
	s.waitPublishing(t, pcmuName)

	check := func(t *testing.T) {
		for _, tc := range []struct {
			stream, audio string
		}{{aacName, "aac"}, {pcmuName, "pcm_mulaw"}} {
			for _, url := range []string{s.rtmpURL(tc.stream), s.flvURL(tc.stream)} {
				got := decodeFrames(t, url)
				if v := got["video"]; v.codec != "h264" || v.frames < 10 {
					t.Errorf("%s: video %+v, want h264 with frames", url, v)
				}
				if a := got["audio"]; a.codec != tc.audio || a.frames < 5 {
					t.Errorf("%s: audio %+v, want %s with frames", url, a, tc.audio)
				}
			}
		}
	}
	check(t)

	in := s.ingest(t, aacName)
	if in.State != "running" || in.Output != "live/"+aacName || strings.Contains(in.Input, "pa55") || in.Frames == 0 {
		t.Errorf("API ingest %+v: want running, output live/%s, the password hidden, frames counted", in, aacName)
	}
	var found bool
	for _, c := range s.clients(t) {
		if c.Publish && c.Stream != "" && strings.HasPrefix(c.Type, "ingest") {
			found = true
		}
	}
	if !found {
		t.Errorf("no ingest publisher in /api/v1/clients: %+v", s.clients(t))
	}

	if in := s.ingest(t, "cam-pcmu"); in.Transport != "tcp" {
		t.Errorf("ingest of a TCP-only camera: %+v, want transport tcp", in)
	}

	// The cameras go away and come back on the same ports.
	cam.Stop()
	tcpCam.Stop()
	s.waitUnpublished(t, aacName)
	s.waitUnpublished(t, pcmuName)
	if in := s.ingest(t, aacName); in.State != "retrying" && in.State != "connecting" {
		t.Errorf("ingest without its camera: %+v", in)
	}
	rtsptest.Start(t, cam.Port, cam.Args...)
	rtsptest.Start(t, tcpCam.Port, tcpCam.Args...)
	s.waitPublishingWithin(t, aacName, 40*time.Second)
	s.waitPublishingWithin(t, pcmuName, 40*time.Second)
	check(t)
	if in := s.ingest(t, aacName); in.Restarts == 0 {
		t.Errorf("ingest after a camera restart: %+v", in)
	}
}

// TestRTSPIngestOnDemand: an on-demand ingest publishes nothing until a
// player asks for its stream, then serves that player.
func TestRTSPIngestOnDemand(t *testing.T) {
	needTools(t, "ffprobe")
	rtsptest.Need(t)
	t.Parallel()
	cam := rtsptest.Start(t, 0)
	name := streamName()
	s := startServer(t, fmt.Sprintf(`
[[ingest]]
name = "%s"
input = "%s"
on_demand = true
`, name, cam.URL("h264pcma")))
	time.Sleep(time.Second)
	for _, st := range s.streams(t) {
		if st.Name == name && st.Publish.Active {
			t.Fatal("an on-demand ingest published with no player")
		}
	}
	if in := s.ingest(t, name); in.State != "idle" {
		t.Errorf("on-demand ingest without players: %+v", in)
	}
	got := decodeFrames(t, s.flvURL(name)) // HTTP-FLV waits for the publisher
	if v := got["video"]; v.codec != "h264" || v.frames == 0 {
		t.Errorf("on-demand stream: %+v", got)
	}
	if a := got["audio"]; a.codec != "pcm_alaw" {
		t.Errorf("on-demand stream audio: %+v", got)
	}
}

// waitPublishingWithin polls the API until the stream is published.
func (s *srv) waitPublishingWithin(t *testing.T, stream string, d time.Duration) {
	t.Helper()
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		for _, st := range s.streams(t) {
			if st.Name == stream && st.Publish.Active {
				return
			}
		}
	}
	t.Fatalf("stream %s was not published within %s", stream, d)
}
