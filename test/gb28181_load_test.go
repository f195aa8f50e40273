package test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/srs-lite/srs-lite/internal/protocol/gb28181/gbsim"
	"github.com/srs-lite/srs-lite/internal/protocol/gb28181/manscdp"
)

// procStat returns the CPU time (user+system) and RSS of a process.
func procStat(t *testing.T, pid int) (time.Duration, int64) {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	rss, _ := strconv.ParseInt(f[21], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond, rss * int64(os.Getpagesize())
}

// TestGB28181Load (SRS_LITE_GB_LOAD=1; not in make test): 16 simulated
// cameras of ~2 Mbit/s each, always on (no players), for 20 s: the
// server's CPU and RSS.
func TestGB28181Load(t *testing.T) {
	if os.Getenv("SRS_LITE_GB_LOAD") == "" {
		t.Skip("load measurement: set SRS_LITE_GB_LOAD=1")
	}
	needTools(t, "gst-launch-1.0")
	const n = 16
	out := filepath.Join(t.TempDir(), "load.ps")
	cmd := exec.Command("gst-launch-1.0", "-q",
		"videotestsrc", "pattern=snow", "num-buffers=1000", "!", "video/x-raw,format=I420,width=640,height=360,framerate=25/1", "!",
		"x264enc", "key-int-max=50", "tune=zerolatency", "speed-preset=ultrafast", "bitrate=2000", "!", "video/x-h264,profile=baseline", "!", "h264parse", "!",
		"mpegpsmux", "name=m", "!", "filesink", "location="+out,
		"audiotestsrc", "num-buffers=1720", "!", "audio/x-raw,rate=44100,channels=1", "!", "avenc_aac", "!", "aacparse", "!", "m.")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Skipf("gst-launch: %v: %s", err, b)
	}
	data, _ := os.ReadFile(out)
	t.Logf("PS file: %d bytes for 40 s: %.2f Mbit/s", len(data), float64(len(data))*8/40/1e6)
	var chans strings.Builder
	dev := func(i int) string { return fmt.Sprintf("340200000013200%05d", i) }
	ch := func(i int) string { return fmt.Sprintf("340200000013100%05d", i) }
	for i := range n {
		fmt.Fprintf(&chans, "[[gb28181.channel]]\nid = \"%s_%s\"\nstream = \"cam%d\"\nalways_on = true\n", dev(i), ch(i), i)
	}
	s, addr := gbServer(t, chans.String()+os.Getenv("SRS_LITE_GB_LOAD_EXTRA"))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stream := gbStreamer(t, data)
	for i := range n {
		d, err := gbsim.Dial(gbsim.Config{Server: addr, Transport: "tcp", ServerID: gbServerID, Domain: gbDomain,
			DeviceID: dev(i), Password: "secret", Keepalive: 5 * time.Second, Media: stream,
			Channels: []manscdp.Item{{DeviceID: ch(i), Name: "cam", Status: "ON"}}})
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		if _, err := d.Register(ctx, "secret", 3600); err != nil {
			t.Fatal(err)
		}
		go d.Run(ctx)
	}
	for i := range n {
		s.waitPublishing(t, fmt.Sprintf("cam%d", i))
	}
	time.Sleep(3 * time.Second)
	pid := s.cmd.Process.Pid
	c0, _ := procStat(t, pid)
	start := time.Now()
	var maxRSS int64
	for time.Since(start) < 20*time.Second {
		time.Sleep(time.Second)
		if _, rss := procStat(t, pid); rss > maxRSS {
			maxRSS = rss
		}
	}
	c1, rss := procStat(t, pid)
	wall := time.Since(start)
	t.Logf("%d cameras: server CPU %.1f%% of one core, RSS %.1f MiB (max %.1f MiB)", n,
		100*float64(c1-c0)/float64(wall), float64(rss)/(1<<20), float64(maxRSS)/(1<<20))
}
