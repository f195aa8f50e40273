package httpflv

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/srs-lite/srs-lite/internal/format/flv"
	"github.com/srs-lite/srs-lite/internal/media"
)

// TestFFprobe plays a real H.264/AAC stream (made by ffmpeg) to ffprobe,
// which must find both streams and decode every frame of the GOP cache.
func TestFFprobe(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	ffmpeg, err1 := exec.LookPath("ffmpeg")
	ffprobe, err2 := exec.LookPath("ffprobe")
	if err1 != nil || err2 != nil {
		t.Skip("SKIPPED LOUDLY: ffmpeg/ffprobe not installed")
	}
	src := filepath.Join(t.TempDir(), "src.flv")
	out, err := exec.Command(ffmpeg, "-hide_banner", "-loglevel", "error",
		"-f", "lavfi", "-i", "testsrc=size=320x240:rate=25:duration=3",
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100:duration=3",
		"-c:v", "libx264", "-g", "50", "-bf", "2", "-pix_fmt", "yuv420p",
		"-c:a", "aac", "-f", "flv", src).CombinedOutput()
	if err != nil {
		t.Skipf("SKIPPED LOUDLY: ffmpeg cannot make the source: %v\n%s", err, out)
	}
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}

	e := newEnv(t, Config{}, Deps{})
	p := publish(t, e.reg, "__defaultVhost__", "live", "probe")
	fr := flv.NewReader(bytes.NewReader(data))
	if _, _, err := fr.ReadHeader(); err != nil {
		t.Fatal(err)
	}
	for {
		tag, err := fr.ReadTag()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		var f media.Frame
		if flv.FrameFromTag(tag.Type, tag.Timestamp, tag.Body, &f) != nil {
			continue
		}
		f.Own()
		p.s.Write(&f)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, ffprobe, "-hide_banner", "-v", "error", "-count_frames",
		"-show_entries", "stream=codec_name,nb_read_frames", "-of", "csv=p=0",
		e.srv.URL+"/live/probe.flv")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "ffprobe", func() bool { return len(e.clients.List()) == 1 })
	time.Sleep(200 * time.Millisecond)
	p.s.Unpublish()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("ffprobe: %v\n%s", err, stderr.String())
	}
	got := strings.Fields(stdout.String())
	t.Logf("ffprobe: %v %s", got, stderr.String())
	// The GOP from the keyframe at 2 s: 25 video frames, audio from 2 s on.
	var h264, aac bool
	for _, l := range got {
		h264 = h264 || strings.HasPrefix(l, "h264,25")
		aac = aac || strings.HasPrefix(l, "aac,")
	}
	if !h264 || !aac {
		t.Errorf("ffprobe streams %v, want h264 with 25 frames and aac", got)
	}
}
