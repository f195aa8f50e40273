package test

// Cross-built binaries proven under emulation (issue 4, part 2): each
// bin/srs-lite-linux-TARGET runs as `qemu-ARCH-static BIN -c CONF` (no
// binfmt: CI containers cannot register it), ffmpeg publishes to it over
// RTMP, and ffprobe plays it back over RTMP and HTTP-FLV. The test logs the
// time from start to serving and the idle RSS of the emulated server.

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// crossTargets are the binaries make test builds (scripts/cross.sh names)
// and the qemu-user-static emulator of each.
var crossTargets = []struct {
	target, qemu, goarch string
}{
	{"mipsle", "qemu-mipsel-static", "mipsle"},
	{"mips", "qemu-mips-static", "mips"},
	{"armv5", "qemu-arm-static", "arm"},
	{"armv7", "qemu-arm-static", "arm"},
	{"arm64", "qemu-aarch64-static", "arm64"},
}

func needQemu(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("SKIPPED: %s is not installed (Debian/Ubuntu: apt-get install qemu-user-static; `make test` installs it when run as root)", name)
	}
	return p
}

func crossDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("SRS_LITE_CROSS_DIR")
	if dir == "" {
		t.Skip("SKIPPED: SRS_LITE_CROSS_DIR is not set: `make test` (or make cross-test) builds bin/srs-lite-linux-* and points it there")
	}
	return dir
}

func crossBin(t *testing.T, dir, name string) string {
	t.Helper()
	bin := filepath.Join(dir, name)
	if _, err := os.Stat(bin); err != nil {
		t.Skipf("SKIPPED: %s is missing: build it with scripts/cross.sh (make cross-test does)", bin)
	}
	return bin
}

// crossResult is one line of the table TestCross logs.
type crossResult struct {
	target            string
	start             time.Duration
	rss, qemuRSS      int64 // KiB: the guest's pages; the whole qemu process
	rtmpPkts, flvPkts int
}

func TestCross(t *testing.T) {
	dir := crossDir(t)
	needTools(t, "ffmpeg", "ffprobe")
	var mu sync.Mutex
	var results []crossResult
	t.Cleanup(func() { // after the parallel subtests
		sort.Slice(results, func(i, j int) bool { return results[i].target < results[j].target })
		var b strings.Builder
		fmt.Fprintf(&b, "under qemu-user (%d targets; idle RSS: the guest's own pages, qemu's apart):\n", len(results))
		fmt.Fprintf(&b, "%-8s %16s %10s %10s %9s %9s\n", "target", "start to serving", "idle RSS", "qemu RSS", "rtmp pkts", "flv pkts")
		for _, r := range results {
			fmt.Fprintf(&b, "%-8s %15.2fs %6.1f MiB %6.1f MiB %9d %9d\n", r.target, r.start.Seconds(),
				float64(r.rss)/1024, float64(r.qemuRSS)/1024, r.rtmpPkts, r.flvPkts)
		}
		t.Log(b.String())
	})
	for _, tc := range crossTargets {
		t.Run(tc.target, func(t *testing.T) {
			t.Parallel()
			qemu := needQemu(t, tc.qemu)
			bin := crossBin(t, dir, "srs-lite-linux-"+tc.target)
			out, err := exec.Command(qemu, bin, "-v").CombinedOutput()
			if err != nil || !strings.Contains(string(out), "linux/"+tc.goarch+" ") || !strings.Contains(string(out), "(full)") {
				t.Fatalf("%s -v: %v:\n%s", bin, err, out)
			}
			s, started := startQemu(t, qemu, bin)
			r := crossResult{target: tc.target, start: started}
			time.Sleep(500 * time.Millisecond) // let the runtime settle: idle, no client yet
			r.qemuRSS, r.rss = rssKiB(s.cmd.Process.Pid), guestRSSKiB(s.cmd.Process.Pid)

			name := streamName()
			s.publish(t, name, true)
			s.waitPublishing(t, name)
			for _, url := range []string{s.rtmpURL(name), s.flvURL(name)} {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				p := ffprobe(t, ctx, url, "-count_packets", "-read_intervals", "%+2")
				cancel()
				video, audio := 0, 0
				for _, st := range p.Streams {
					n, _ := strconv.Atoi(st.NbReadPackets)
					switch {
					case st.CodecType == "video" && st.CodecName == "h264" && st.Width == 640 && st.Height == 360:
						video = n
					case st.CodecType == "audio" && st.CodecName == "aac" && st.SampleRate == "44100":
						audio = n
					}
				}
				// 2 s of a 30 fps stream, less what a slow emulated start costs.
				if video < 30 || audio < 30 {
					t.Errorf("%s: %d video and %d audio packets in 2 s, want 30+ of h264 640x360 and aac 44100: %+v",
						url, video, audio, p.Streams)
				}
				if strings.HasPrefix(url, "rtmp:") {
					r.rtmpPkts = video + audio
				} else {
					r.flvPkts = video + audio
				}
			}
			mu.Lock()
			results = append(results, r)
			mu.Unlock()
		})
	}
}

// TestCrossTiny: the tiny profile's binary says so and leaves out what the
// profile drops.
func TestCrossTiny(t *testing.T) {
	dir := crossDir(t)
	qemu := needQemu(t, "qemu-mipsel-static")
	bin := crossBin(t, dir, "srs-lite-linux-mipsle-tiny")
	out, err := exec.Command(qemu, bin, "-v").CombinedOutput()
	if err != nil {
		t.Fatalf("-v: %v: %s", err, out)
	}
	s := string(out)
	features := s[strings.Index(s, "features:"):] + " "
	if !strings.Contains(s, "(tiny)") || !strings.Contains(features, " rtmp ") ||
		strings.Contains(features, " http2 ") || strings.Contains(features, " bench ") || strings.Contains(features, " tls ") ||
		strings.Contains(features, " webrtc ") {
		t.Errorf("tiny -v: want (tiny), rtmp, and no http2, bench, tls or webrtc:\n%s", s)
	}
	// A key this build does not serve is refused at -t, never ignored.
	conf := filepath.Join(t.TempDir(), "tls.toml")
	if err := os.WriteFile(conf, []byte("[rtmp]\nrtmps_listen = \"127.0.0.1:1936\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(qemu, bin, "-t", "-c", conf).CombinedOutput(); err == nil ||
		!strings.Contains(string(out), "tls.toml:2: rtmp.rtmps_listen: not supported in the tiny build") {
		t.Errorf("tiny -t with rtmps_listen: %v: %s", err, out)
	}
	if err := os.WriteFile(conf, []byte("[rtc]\nlisten = \"127.0.0.1:9000\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(qemu, bin, "-t", "-c", conf).CombinedOutput(); err == nil ||
		!strings.Contains(string(out), "tls.toml:2: rtc.listen: not supported in this build") {
		t.Errorf("tiny -t with [rtc] listen: %v: %s", err, out)
	}
	// Nor does its HTTP client speak TLS: an https:// hook is refused.
	if err := os.WriteFile(conf, []byte("[[vhost]]\nname = \"a\"\nhooks.on_publish = [\"https://h/p\"]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(qemu, bin, "-t", "-c", conf).CombinedOutput(); err == nil ||
		!strings.Contains(string(out), `tls.toml:3: vhost.hooks.on_publish: "https://h/p": https is not supported in the tiny build`) {
		t.Errorf("tiny -t with an https hook: %v: %s", err, out)
	}
	// The shipped config turns WebRTC and RTSP on: refused here; the
	// package's tiny config (scripts/tiny-conf.sh) is taken.
	if out, err := exec.Command(qemu, bin, "-t", "-c", "../conf/srs-lite.toml").CombinedOutput(); err == nil ||
		!strings.Contains(string(out), "rtc.enabled: not supported in this build") || !strings.Contains(string(out), "rtsp.enabled: not supported in this build") {
		t.Errorf("tiny -t with the shipped config: %v: %s", err, out)
	}
	tinyConf, err := exec.Command("sh", "../scripts/tiny-conf.sh", "../conf/srs-lite.toml").Output()
	if err != nil {
		t.Fatalf("scripts/tiny-conf.sh: %v", err)
	}
	if err := os.WriteFile(conf, tinyConf, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(qemu, bin, "-t", "-c", conf).CombinedOutput(); err != nil {
		t.Errorf("tiny -t with scripts/tiny-conf.sh's config: %v: %s", err, out)
	}
	if out, err := exec.Command(qemu, bin, "bench", "play", "rtmp://127.0.0.1/live/x").CombinedOutput(); err == nil ||
		!strings.Contains(string(out), "not compiled into this build") {
		t.Errorf("tiny bench: %v: %s", err, out)
	}
}

// startQemu runs bin under qemu with every listener on 127.0.0.1:0, and
// returns it once its "srs-lite started" line names the bound addresses,
// with the time that took.
func startQemu(t *testing.T, qemu, bin string) (*srv, time.Duration) {
	t.Helper()
	dir := t.TempDir()
	conf := filepath.Join(dir, "srs-lite.toml")
	body := `[server]
grace = "1s"
[log]
level = "info"
[rtmp]
listen = "127.0.0.1:0"
[http_api]
listen = "127.0.0.1:0"
[srt]
listen = "127.0.0.1:0"
[rtc]
listen = "127.0.0.1:0"
[rtsp]
listen = "127.0.0.1:0"
[http_server]
listen = "127.0.0.1:0"
dir = "` + dir + `"
`
	if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	s := launch(t, exec.Command(qemu, bin, "-c", conf), conf, bin+" under "+qemu, 30*time.Second)
	return s, time.Since(t0)
}

// rssKiB is a process's resident set (VmRSS), 0 if unknown.
func rssKiB(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			n, _ := strconv.ParseInt(f[1], 10, 64)
			return n
		}
	}
	return 0
}

// guestRSSKiB estimates the resident memory of the emulated program alone:
// the resident pages of the mappings below the emulator's own (its heap and
// its static-pie image sit high in the host address space; the guest's
// binary, heap and mmaps sit below them, for 32- and 64-bit guests alike
// with Debian's qemu-user-static). 0 when the layout is not recognised.
func guestRSSKiB(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps", pid))
	if err != nil {
		return 0
	}
	type mapping struct {
		start uint64
		rss   int64
	}
	var maps []mapping
	hostLow := uint64(math.MaxUint64)
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) >= 5 && strings.Contains(f[0], "-") && len(f[1]) == 4:
			start, err := strconv.ParseUint(f[0][:strings.IndexByte(f[0], '-')], 16, 64)
			if err != nil {
				return 0
			}
			if len(f) >= 6 && (f[5] == "[heap]" || strings.Contains(f[5], "qemu-")) {
				hostLow = min(hostLow, start)
			}
			maps = append(maps, mapping{start: start})
		case len(f) >= 2 && f[0] == "Rss:" && len(maps) > 0:
			maps[len(maps)-1].rss, _ = strconv.ParseInt(f[1], 10, 64)
		}
	}
	if hostLow == math.MaxUint64 {
		return 0
	}
	var sum int64
	for _, m := range maps {
		if m.start < hostLow {
			sum += m.rss
		}
	}
	return sum
}

// TestCrossTinyServes: the tiny profile serves and calls HTTP with its own
// HTTP/1.1 (internal/http1, not net/http's server and client, which link
// TLS): under qemu, ffprobe plays HTTP-FLV and HLS from the mipsle tiny
// binary, the API answers, and the hooks reach a net/http server (one
// refusing a player), with SRS's fields.
func TestCrossTinyServes(t *testing.T) {
	needTools(t, "ffmpeg", "ffprobe")
	dir := crossDir(t)
	qemu := needQemu(t, "qemu-mipsel-static")
	bin := crossBin(t, dir, "srs-lite-linux-mipsle-tiny")
	rec, hook := startHookServer(t, denyBad)
	conf := filepath.Join(t.TempDir(), "srs-lite.toml")
	body := fmt.Sprintf(`[server]
grace = "1s"
[rtmp]
listen = "127.0.0.1:0"
[http_api]
listen = "127.0.0.1:0"
[http_server]
listen = "127.0.0.1:0"
[[vhost]]
name = "__defaultVhost__"
[vhost.hls]
fragment = "1s"
[vhost.hooks]
on_publish = %s
on_play = %s
on_hls = %s
`, hook, hook, hook)
	if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	s := launch(t, exec.Command(qemu, bin, "-c", conf), conf, bin+" under "+qemu, 30*time.Second)
	name := streamName()
	s.publish(t, name, true)
	s.waitPublishing(t, name)
	if e := rec.wait(t, "on_publish", name); e.App != "live" || e.IP != "127.0.0.1" || e.ClientID == "" {
		t.Errorf("on_publish %+v", e)
	}
	rec.wait(t, "on_hls", name)

	hls := "http://" + s.http + "/live/" + name + ".m3u8"
	for _, url := range []string{s.flvURL(name), hls} {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		p := ffprobe(t, ctx, url, "-count_packets", "-read_intervals", "%+2")
		cancel()
		video := 0
		for _, st := range p.Streams {
			if st.CodecType == "video" && st.CodecName == "h264" && st.Width == 640 {
				video, _ = strconv.Atoi(st.NbReadPackets)
			}
		}
		if video < 30 {
			t.Errorf("%s: %d video packets in 2 s, want 30+ of h264 640x360: %+v", url, video, p.Streams)
		}
	}
	if e := rec.wait(t, "on_play", name); e.App != "live" {
		t.Errorf("on_play %+v", e)
	}
	// A player the hook refuses gets no stream.
	res, err := http.Get(s.flvURL(name) + "?token=bad")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode == http.StatusOK {
		t.Errorf("a player refused by on_play: %s", res.Status)
	}
	// The API's reads and a write.
	var v struct {
		Code int `json:"code"`
	}
	s.getJSON(t, "/api/v1/versions", &v)
	if v.Code != 0 {
		t.Errorf("/api/v1/versions: code %d", v.Code)
	}
	res, err = http.Post("http://"+s.api+"/api/v1/raw?rpc=reload", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(b), `"code":0`) {
		t.Errorf("reload: %s %s", res.Status, b)
	}
}
