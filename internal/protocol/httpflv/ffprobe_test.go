package httpflv

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
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

	for _, tc := range []struct {
		ext  string
		want []string // ffprobe's lines start so
	}{
		// The GOP from the keyframe at 2 s: 25 video frames, audio from 2 s on.
		{".flv", []string{"h264,25", "aac,"}},
		{".ts", []string{"h264,25", "aac,"}},
		{".aac", []string{"aac,"}},
	} {
		t.Run(tc.ext, func(t *testing.T) {
			got := probeRemux(t, ffprobe, data, tc.ext)
			for _, w := range tc.want {
				found := false
				for _, l := range got {
					found = found || strings.HasPrefix(l, w)
				}
				if !found {
					t.Errorf("ffprobe streams %v, want %q", got, w)
				}
			}
			if len(got) != len(tc.want) {
				t.Errorf("ffprobe streams %v, want %d", got, len(tc.want))
			}
		})
	}
}

// probeRemux publishes an FLV file's frames, plays them to ffprobe as ext
// and returns its lines: codec,frames per stream.
func probeRemux(t *testing.T, ffprobe string, data []byte, ext string) []string {
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
		e.srv.URL+"/live/probe"+ext)
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
	// MPEG-TS streams are listed twice: in their program and alone.
	var got []string
	for _, l := range strings.Fields(stdout.String()) {
		if !slices.Contains(got, l) {
			got = append(got, l)
		}
	}
	t.Logf("ffprobe %s: %v %s", ext, got, stderr.String())
	return got
}
