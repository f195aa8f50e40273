package test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// dvrTOML enables DVR on the default vhost, writing to dir/path.
func dvrTOML(dir, path, plan, duration string) string {
	return fmt.Sprintf(`
[[vhost]]
name = "__defaultVhost__"
[vhost.dvr]
enabled = true
path = %q
plan = %q
duration = %q
`, filepath.Join(dir, path), plan, duration)
}

// publishFor publishes the fixture twice over (20 s of media) in real
// time and waits for ffmpeg to finish.
func publishFor20s(t *testing.T, s *srv, stream string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ffmpeg", "-hide_banner", "-loglevel", "error", "-re",
		"-stream_loop", "1", "-i", fixture, "-c", "copy", "-f", "flv", s.rtmpURL(stream)).CombinedOutput()
	if err != nil {
		t.Fatalf("ffmpeg publish: %v\n%s", err, out)
	}
}

// fileProbe is what ffprobe says of a recording.
type fileProbe struct {
	Streams []struct {
		CodecType string `json:"codec_type"`
		CodecName string `json:"codec_name"`
	} `json:"streams"`
	Format struct {
		Duration string `json:"duration"`
	} `json:"format"`
}

func probeFile(t *testing.T, path string) (fileProbe, float64) {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-show_streams", "-show_format", "-of", "json", path).Output()
	if err != nil {
		var msg string
		if ee, ok := err.(*exec.ExitError); ok {
			msg = string(ee.Stderr)
		}
		t.Fatalf("ffprobe %s: %v %s", path, err, msg)
	}
	var p fileProbe
	if err := json.Unmarshal(out, &p); err != nil {
		t.Fatal(err)
	}
	d, _ := strconv.ParseFloat(p.Format.Duration, 64)
	return p, d
}

// checkCodecs fails unless the recording has H.264 video and AAC audio.
func checkCodecs(t *testing.T, path string, p fileProbe) {
	t.Helper()
	got := map[string]string{}
	for _, s := range p.Streams {
		got[s.CodecType] = s.CodecName
	}
	if got["video"] != "h264" || got["audio"] != "aac" || len(p.Streams) != 2 {
		t.Errorf("%s: streams %v, want h264 video and aac audio", filepath.Base(path), got)
	}
}

// recordings lists the completed files under dir, sorted.
func recordings(t *testing.T, dir, ext string) []string {
	t.Helper()
	var out []string
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ext) {
			out = append(out, p)
		}
		return nil
	})
	sort.Strings(out)
	return out
}

// TestDvrSession records a 20 s publish into one FLV and one MP4 file.
func TestDvrSession(t *testing.T) {
	needTools(t, "ffmpeg", "ffprobe")
	for _, ext := range []string{".flv", ".mp4", ".ts"} {
		t.Run(strings.TrimPrefix(ext, "."), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			s := startServer(t, dvrTOML(dir, "[app]/[stream].[timestamp]"+ext, "session", "30m"))
			name := streamName()
			publishFor20s(t, s, name)
			var files []string
			deadline := time.Now().Add(10 * time.Second)
			for len(files) == 0 && time.Now().Before(deadline) {
				time.Sleep(100 * time.Millisecond)
				files = recordings(t, filepath.Join(dir, "live"), ext)
			}
			if len(files) != 1 || !strings.HasPrefix(filepath.Base(files[0]), name+".") {
				t.Fatalf("recordings %v, want one %s%s file\n%s", files, name, ext, tail(s.logs(), 20))
			}
			p, d := probeFile(t, files[0])
			t.Logf("%s: %.2f s", filepath.Base(files[0]), d)
			checkCodecs(t, files[0], p)
			if d < 19 || d > 21 {
				t.Errorf("%s: duration %.2f s, want 20 ± 1", filepath.Base(files[0]), d)
			}
			s.waitLog(t, "dvr: recording complete", 5*time.Second)
		})
	}
}

// TestDvrSegment records a 20 s publish in 4 s files, each cut at a
// keyframe (the fixture has one every 2 s).
func TestDvrSegment(t *testing.T) {
	needTools(t, "ffmpeg", "ffprobe")
	t.Parallel()
	dir := t.TempDir()
	s := startServer(t, dvrTOML(dir, "[stream]-[seq].mp4", "segment", "4s"))
	name := streamName()
	publishFor20s(t, s, name)
	time.Sleep(500 * time.Millisecond) // the last file completes after the unpublish
	files := recordings(t, dir, ".mp4")
	if len(files) < 4 || len(files) > 6 {
		t.Fatalf("%d files, want about 5: %v\n%s", len(files), files, tail(s.logs(), 20))
	}
	total := 0.0
	for i, f := range files {
		p, d := probeFile(t, f)
		checkCodecs(t, f, p)
		total += d
		if i < len(files)-1 && (d < 3.5 || d > 4.5) {
			t.Errorf("%s: duration %.2f s, want 4", filepath.Base(f), d)
		}
	}
	if total < 19 || total > 21 {
		t.Errorf("files last %.2f s in all, want 20", total)
	}
}

// TestDvrCrashRepair kills the server mid-stream (SIGKILL) and restarts
// it: the recording it left is repaired and plays up to within a few
// seconds of the kill.
func TestDvrCrashRepair(t *testing.T) {
	needTools(t, "ffmpeg", "ffprobe")
	for _, ext := range []string{".flv", ".mp4"} {
		t.Run(strings.TrimPrefix(ext, "."), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			conf := dvrTOML(dir, "[app]/[stream]"+ext, "session", "30m")
			s := startServer(t, conf)
			name := streamName()
			_, stop := s.publish(t, name, true)
			s.waitPublishing(t, name)
			start := time.Now()
			time.Sleep(8 * time.Second)
			elapsed := time.Since(start).Seconds()
			_ = s.cmd.Process.Kill()
			_ = s.cmd.Wait()
			<-s.done
			stop()
			tmp := filepath.Join(dir, "live", name+ext+".tmp")
			if _, err := os.Stat(tmp); err != nil {
				t.Fatalf("no unfinished recording after the kill: %v", err)
			}

			s2 := startServer(t, conf)
			final := filepath.Join(dir, "live", name+ext)
			if _, err := os.Stat(final); err != nil {
				t.Fatalf("not repaired at restart: %v\n%s", err, tail(s2.logs(), 20))
			}
			if _, err := os.Stat(tmp); !os.IsNotExist(err) {
				t.Errorf("%s still there: %v", filepath.Base(tmp), err)
			}
			s2.waitLog(t, "repaired a recording left by a crash", 5*time.Second)
			p, d := probeFile(t, final)
			checkCodecs(t, final, p)
			t.Logf("killed %.2f s into the stream; the repaired file plays %.2f s", elapsed, d)
			if d < elapsed-4 || d > elapsed+1 {
				t.Errorf("repaired file plays %.2f s; killed %.2f s into the stream", d, elapsed)
			}
		})
	}
}

// TestDvrShutdown stops the server (SIGTERM) mid-stream: the recording is
// completed, not left unfinished.
func TestDvrShutdown(t *testing.T) {
	needTools(t, "ffmpeg", "ffprobe")
	t.Parallel()
	dir := t.TempDir()
	s := startServer(t, dvrTOML(dir, "[stream].mp4", "session", "30m"))
	name := streamName()
	_, stop := s.publish(t, name, true)
	defer stop()
	s.waitPublishing(t, name)
	time.Sleep(3 * time.Second)
	s.stop()
	if tmps := recordings(t, dir, ".tmp"); len(tmps) != 0 {
		t.Errorf("unfinished files after a clean shutdown: %v", tmps)
	}
	files := recordings(t, dir, ".mp4")
	if len(files) != 1 {
		t.Fatalf("recordings %v\n%s", files, tail(s.logs(), 20))
	}
	p, d := probeFile(t, files[0])
	checkCodecs(t, files[0], p)
	if d < 2 || d > 4.5 {
		t.Errorf("duration %.2f s, want about 3", d)
	}
}
