package test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// TestIngestFile pulls a file with an ffmpeg-backed [[ingest]] (played in
// real time, looped, its FLV output published frame by frame) and checks
// what ffprobe decodes from the RTMP and HTTP-FLV outputs.
func TestIngestFile(t *testing.T) {
	needTools(t, "ffmpeg", "ffprobe")
	t.Parallel()
	name := streamName()
	s := startServer(t, fmt.Sprintf(`
[[ingest]]
name = "%s"
input = "%s"
`, name, fixture))
	s.waitPublishing(t, name)
	for _, url := range []string{s.rtmpURL(name), s.flvURL(name)} {
		got := decodeFrames(t, url)
		if v := got["video"]; v.codec != "h264" || v.frames < 30 {
			t.Errorf("%s: video %+v", url, v)
		}
		if a := got["audio"]; a.codec != "aac" || a.frames < 30 {
			t.Errorf("%s: audio %+v", url, a)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	p := ffprobe(t, ctx, s.flvURL(name))
	if len(p.Streams) != 2 || p.Format.ProbeScore < 90 {
		t.Errorf("ffprobe: %+v", p)
	}
	var out struct {
		Ingests []struct {
			Name, State, Source string
			Frames              uint64
		} `json:"ingests"`
	}
	s.getJSON(t, "/api/v1/ingests", &out)
	if len(out.Ingests) != 1 || out.Ingests[0].State != "running" || out.Ingests[0].Source != "ffmpeg" || out.Ingests[0].Frames == 0 {
		t.Fatalf("ingests %+v", out.Ingests)
	}
	if n := strings.Count(s.logs(), "ingest: ffmpeg started"); n != 1 {
		t.Errorf("ffmpeg started %d times (a looped file must not restart)", n)
	}
}

// TestIngestPush: an [[ingest]] whose output is an rtmp:// URL publishes
// its frames to another server, where players find the stream.
func TestIngestPush(t *testing.T) {
	needTools(t, "ffmpeg", "ffprobe")
	t.Parallel()
	target := startServer(t, "")
	name := streamName()
	s := startServer(t, fmt.Sprintf(`
[[ingest]]
name = "%s"
input = "%s"
output = "rtmp://%s/live/%s?from=gateway"
`, name, fixture, target.rtmp, name))
	target.waitPublishing(t, name)
	got := decodeFrames(t, target.flvURL(name))
	if v := got["video"]; v.codec != "h264" || v.frames < 30 {
		t.Errorf("pushed video %+v", v)
	}
	if a := got["audio"]; a.codec != "aac" || a.frames < 30 {
		t.Errorf("pushed audio %+v", a)
	}
	s.waitLog(t, "ingest: pushing", 5*time.Second)
}

// TestFFmpegMissing runs the server with a PATH without ffmpeg: the
// ffmpeg-backed ingest fails with one clear error, snapshots answer 503,
// and RTMP publishing and playing work as ever.
func TestFFmpegMissing(t *testing.T) {
	needTools(t, "ffmpeg", "ffprobe")
	empty := t.TempDir()
	path := os.Getenv("PATH")
	t.Setenv("PATH", empty) // for the server process only
	s := startServer(t, fmt.Sprintf(`
[[ingest]]
name = "file"
input = "%s"

[[transcode]]
name = "sd"
size = "320x180"
`, fixture))
	os.Setenv("PATH", path)
	deadline := time.Now().Add(10 * time.Second)
	for s.ingest(t, "file").State != "failed" {
		if time.Now().After(deadline) {
			t.Fatalf("ingest %+v", s.ingest(t, "file"))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if e := s.ingest(t, "file").Error; !strings.Contains(e, "ffmpeg not found on the PATH: install ffmpeg") {
		t.Fatalf("error %q", e)
	}
	name := streamName()
	s.publish(t, name, true)
	s.waitPublishing(t, name)
	got := decodeFrames(t, s.rtmpURL(name))
	if got["video"].codec != "h264" || got["video"].frames < 30 {
		t.Fatalf("RTMP without ffmpeg on the server's PATH: %+v", got)
	}
	resp, err := http.Get("http://" + s.api + "/api/v1/snapshot?app=live&stream=" + name)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("snapshot without ffmpeg: %d", resp.StatusCode)
	}
	var tr struct {
		Transcodes []struct{ Name, State, Error string } `json:"transcodes"`
	}
	s.getJSON(t, "/api/v1/transcodes", &tr)
	if len(tr.Transcodes) != 1 || tr.Transcodes[0].State != "failed" || !strings.Contains(tr.Transcodes[0].Error, "ffmpeg not found") {
		t.Fatalf("transcodes %+v", tr.Transcodes)
	}
	// Past a backoff: no retry, no second error; one line for the ingest
	// and one for the transcoder.
	time.Sleep(1500 * time.Millisecond)
	if n := strings.Count(s.logs(), "ffmpeg not found"); n != 2 {
		t.Errorf("%d error lines about ffmpeg, want one per entry:\n%s", n, s.logs())
	}
}
