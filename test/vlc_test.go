package test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// vlcPlugin reports whether VLC has the access module file (a plugin's
// base name, say libaccess_srt_plugin.so).
func vlcPlugin(file string) bool {
	m, _ := filepath.Glob("/usr/lib/*/vlc/plugins/access/" + file)
	return len(m) > 0
}

// runVLC plays url in VLC's command-line player for five seconds,
// recording what it gets to a TS file, and returns the file's path.
func runVLC(t *testing.T, url string, args ...string) string {
	t.Helper()
	// A folder nobody may write to (VLC refuses to run as root, so it runs
	// as nobody): t.TempDir's parent is the test's own, closed to others.
	dir, err := os.MkdirTemp("", "srs-lite-vlc-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	_ = os.Chmod(dir, 0o777)
	out := filepath.Join(dir, "out.ts")
	args = append([]string{"--no-one-instance", "-I", "dummy", "--play-and-exit", "--run-time", "5", url}, args...)
	args = append(args, "--sout", "#std{access=file,mux=ts,dst="+out+"}")
	cmd := exec.Command("cvlc", args...)
	if os.Geteuid() == 0 {
		cmd = exec.Command("setpriv", append([]string{"--reuid=65534", "--regid=65534", "--clear-groups",
			"env", "HOME=" + dir, "cvlc"}, args...)...)
	}
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cvlc %s: %v\n%s", url, err, tail(string(b), 20))
	}
	return out
}

// TestVLCPlay: VLC's command-line player plays an RTMP-published H.264+AAC
// stream over RTMP, HTTP-FLV, HLS and SRT (its SRT input is libsrt: a
// player's audio packets wait for the next video frame's there), recording
// five seconds of each, which ffprobe decodes. RTSP: TestRTSPPlayVLC.
func TestVLCPlay(t *testing.T) {
	needTools(t, "ffmpeg", "ffprobe", "cvlc")
	t.Parallel()
	s := startServer(t, srtConf+hlsVhost("fragment = \"1s\"\nwindow = \"6s\"\n"))
	name := streamName()
	s.publish(t, name, true)
	s.waitPublishing(t, name)
	hls := "http://" + s.http + "/live/" + name + ".m3u8"
	waitPlaylist(t, hls, 20*time.Second, "3 segments", func(p playlist) bool { return len(p.segments) >= 3 })
	for _, c := range []struct {
		name, url, plugin string
		args              []string
	}{
		{"rtmp", s.rtmpURL(name), "", nil},
		{"http-flv", s.flvURL(name), "", nil},
		{"hls", hls, "", nil},
		{"srt", "srt://" + srtAddr(t, s), "libaccess_srt_plugin.so", []string{"--streamid", "#!::r=live/" + name + ",m=request"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.plugin != "" && !vlcPlugin(c.plugin) {
				t.Skipf("SKIP: this VLC has no %s (Debian: vlc-plugin-access-extra)", c.plugin)
			}
			t.Parallel()
			out := runVLC(t, c.url, c.args...)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			checkAV(t, "vlc "+c.name, ffprobe(t, ctx, out, "-count_frames"), 60)
		})
	}
}
