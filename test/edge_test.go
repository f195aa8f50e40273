package test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/srs-lite/srs-lite/internal/format/flv"
	"github.com/srs-lite/srs-lite/internal/protocol/rtmp"
)

// startOrigin runs an srs-lite origin whose RTMP port is rtmpAddr, with
// extra TOML appended.
func startOrigin(t *testing.T, rtmpAddr, extra string) *srv {
	t.Helper()
	dir := t.TempDir()
	conf := filepath.Join(dir, "origin.toml")
	body := fmt.Sprintf("[log]\nlevel = \"info\"\n[rtmp]\nlisten = %q\n[http_api]\nlisten = \"127.0.0.1:0\"\n"+
		"[http_server]\nlisten = \"127.0.0.1:0\"\ndir = %q\n[srt]\nlisten = \"127.0.0.1:0\"\n[rtc]\nlisten = \"127.0.0.1:0\"\n[rtsp]\nlisten = \"127.0.0.1:0\"\n%s", rtmpAddr, dir, extra)
	if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return launch(t, exec.Command(binPath, "-c", conf), conf, "origin "+rtmpAddr, 10*time.Second)
}

// edgeTOML is the default vhost as an edge of origins.
func edgeTOML(protocol string, tokenTraverse bool, origins ...string) string {
	q := make([]string, len(origins))
	for i, o := range origins {
		q[i] = strconv.Quote(o)
	}
	return fmt.Sprintf("[[vhost]]\nname = \"__defaultVhost__\"\n[vhost.hls]\nfragment = \"1s\"\nwindow = \"6s\"\n"+
		"[vhost.cluster]\nmode = \"remote\"\norigins = [%s]\nprotocol = %q\ntoken_traverse = %v\n",
		strings.Join(q, ", "), protocol, tokenTraverse)
}

// startNginxRTMP runs nginx with the RTMP module as an origin on a
// loopback port, or skips loudly.
func startNginxRTMP(t *testing.T) string {
	t.Helper()
	needTools(t, "nginx")
	const mod = "/usr/lib/nginx/modules/ngx_rtmp_module.so"
	if _, err := os.Stat(mod); err != nil {
		t.Skipf("SKIPPED: %s is missing (Debian/Ubuntu: apt-get install libnginx-mod-rtmp)", mod)
	}
	dir := t.TempDir()
	addr := freeAddr(t)
	conf := filepath.Join(dir, "nginx.conf")
	body := fmt.Sprintf(`worker_processes 1;
daemon off;
pid %s/nginx.pid;
error_log %s/error.log;
load_module %s;
events { worker_connections 256; }
rtmp { server { listen %s; chunk_size 60000; application live { live on; } } }
`, dir, dir, mod, addr)
	if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("nginx", "-p", dir, "-c", conf)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGQUIT)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return addr
		}
	}
	t.Fatalf("nginx did not listen on %s: %s", addr, stderr.String())
	return ""
}

// TestEdgeNginxOrigin: an srs-lite edge in front of nginx-rtmp; ffmpeg
// publishes to nginx, ffprobe plays from the edge over RTMP, HTTP-FLV and
// HLS, all from one pull.
func TestEdgeNginxOrigin(t *testing.T) {
	needTools(t, "ffmpeg", "ffprobe")
	t.Parallel()
	origin := startNginxRTMP(t)
	e := startServer(t, edgeTOML("rtmp", false, origin))
	name := streamName()
	startProcess(t, exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-stream_loop", "-1",
		"-i", fixture, "-c", "copy", "-f", "flv", "rtmp://"+origin+"/live/"+name))
	time.Sleep(time.Second) // nginx has the stream

	for _, u := range []string{e.rtmpURL(name), e.flvURL(name), "http://" + e.http + "/live/" + name + ".m3u8"} {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		var p probe
		if strings.HasSuffix(u, ".m3u8") {
			// nginx-rtmp has no GOP cache: the edge's stream starts
			// mid-GOP, its first segment is audio only, and ffprobe
			// takes the streams of the first segment it reads.
			waitPlaylist(t, u, 30*time.Second, "the first segment out", func(p playlist) bool { return p.mediaSeq >= 2 })
			p = ffprobe(t, ctx, u)
		} else {
			p = ffprobe(t, ctx, u, "-read_intervals", "%+2")
		}
		cancel()
		codecs := map[string]string{}
		for _, s := range p.Streams {
			codecs[s.CodecType] = s.CodecName
		}
		if codecs["video"] != "h264" || codecs["audio"] != "aac" {
			t.Errorf("%s: streams %+v", u, p.Streams)
		}
	}
	if n := strings.Count(e.logs(), "edge: pulling"); n != 1 {
		t.Errorf("%d pulls for three players in a row, want 1 (the idle time covers the gaps):\n%s", n, e.logs())
	}
}

// tagClock plays a URL with the Go RTMP client and keeps the arrival time
// of every video tag.
type tagClock struct {
	mu     sync.Mutex
	times  []time.Time
	cancel context.CancelFunc
	done   chan error
}

func startTagClock(url string) *tagClock {
	ctx, cancel := context.WithCancel(context.Background())
	c := &tagClock{cancel: cancel, done: make(chan error, 1)}
	go func() {
		c.done <- rtmp.PlayTags(ctx, url, func(typ uint8, _ uint32, body []byte) {
			if typ == flv.TagVideo {
				c.mu.Lock()
				c.times = append(c.times, time.Now())
				c.mu.Unlock()
			}
		})
	}()
	return c
}

func (c *tagClock) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.times)
}

// gapAfter returns the longest time between two video tags after from.
func (c *tagClock) gapAfter(from time.Time) time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	var gap time.Duration
	var prev time.Time
	for _, tm := range c.times {
		if tm.Before(from) {
			prev = tm
			continue
		}
		if !prev.IsZero() {
			gap = max(gap, tm.Sub(prev))
		}
		prev = tm
	}
	return gap
}

// TestEdgeFailover: an edge in front of two srs-lite origins. A player
// records the edge's stream; the origin serving it is killed and the stream
// republished to the other; the player gets it again within 5 s, on a
// monotonic timeline. Five rounds measure the gap; then the pull stops once
// the players left, and one cid greps the path through edge and origin.
func TestEdgeFailover(t *testing.T) {
	needTools(t, "ffmpeg", "ffprobe")
	if testing.Short() {
		t.Skip("long: five failovers")
	}
	addrs := []string{freeAddr(t), freeAddr(t)}
	origins := []*srv{startOrigin(t, addrs[0], ""), startOrigin(t, addrs[1], "")}
	e := startServer(t, edgeTOML("rtmp", false, addrs...))
	name := streamName()
	publish := func(i int) func() {
		return startProcess(t, exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-stream_loop", "-1",
			"-i", fixture, "-c", "copy", "-f", "flv", "rtmp://"+addrs[i]+"/live/"+name))
	}
	stopPub := publish(0)
	origins[0].waitPublishing(t, name)

	rec := filepath.Join(t.TempDir(), "rec.flv")
	stopRec := startProcess(t, exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-i", e.rtmpURL(name),
		"-c", "copy", "-f", "flv", rec))
	clock := startTagClock(e.rtmpURL(name))
	waitCount := func(n int, d time.Duration) bool {
		for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
			if clock.count() >= n {
				return true
			}
		}
		return false
	}
	if !waitCount(30, 10*time.Second) {
		t.Fatalf("no frames through the edge:\n%s", tail(e.logs(), 30))
	}

	// The traceable link: the edge's pull cid is in the origin's log and
	// the origin's connection cid in the edge's.
	m := regexp.MustCompile(`edge: pulling.* cid=(\S+).* peer_cid=(\S+)`).FindStringSubmatch(e.logs())
	if m == nil {
		t.Fatalf("no pull line in the edge log:\n%s", e.logs())
	}
	edgeCID, originCID := m[1], m[2]
	if !strings.Contains(origins[0].logs(), "peer_cid="+edgeCID) || !strings.Contains(origins[0].logs(), "cid="+originCID) {
		t.Errorf("the origin log does not name edge cid %s and its cid %s:\n%s", edgeCID, originCID, origins[0].logs())
	}
	t.Logf("one grep: edge pull cid=%s is the origin's peer_cid; the origin's cid=%s is the edge's peer_cid", edgeCID, originCID)

	cur := 0
	var gaps []time.Duration
	for round := range 5 {
		killed := time.Now()
		origins[cur].cmd.Process.Kill()
		origins[cur].cmd.Wait()
		stopPub()
		next := 1 - cur
		stopPub = publish(next)
		before := clock.count()
		if !waitCount(before+30, 15*time.Second) {
			t.Fatalf("round %d: no frames from origin %d within 15 s:\n%s", round, next, tail(e.logs(), 30))
		}
		gap := clock.gapAfter(killed.Add(-time.Second))
		gaps = append(gaps, gap)
		if gap > 5*time.Second {
			t.Errorf("round %d: failover gap %v, want < 5 s", round, gap)
		}
		// The killed origin comes back, empty, on its address.
		origins[cur] = startOrigin(t, addrs[cur], "")
		cur = next
		time.Sleep(time.Second)
	}
	sorted := append([]time.Duration(nil), gaps...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	t.Logf("failover gaps (last frame from the dead origin to the first from the other, at the player): %v; median %v",
		gaps, sorted[len(sorted)/2])

	stopRec()
	clock.cancel()
	<-clock.done
	checkMonotonic(t, rec)

	// The last player left: the pull stops after the idle time, and the
	// origin no longer lists the edge's play.
	deadline := time.Now().Add(10 * time.Second)
	for {
		players := 0
		for _, c := range origins[cur].clients(t) {
			if !c.Publish {
				players++
			}
		}
		if players == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the origin still has %d players 10 s after the edge's last player left", players)
		}
		time.Sleep(200 * time.Millisecond)
	}
	e.waitLog(t, "edge: no players: stopping the pull", 5*time.Second)
}

// checkMonotonic checks that every stream of a recording has increasing
// DTS and that it decodes.
func checkMonotonic(t *testing.T, file string) {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "packet=stream_index,dts",
		"-of", "csv=p=0", file).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", file, err)
	}
	last := map[string]int64{}
	n := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(line, ",")
		if len(f) < 2 {
			continue
		}
		dts, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			continue
		}
		if p, ok := last[f[0]]; ok && dts < p {
			t.Errorf("stream %s: dts %d after %d", f[0], dts, p)
		}
		last[f[0]] = dts
		n++
	}
	if n < 300 {
		t.Errorf("the recording has %d packets", n)
	}
	dec := exec.Command("ffmpeg", "-v", "error", "-i", file, "-f", "null", "-")
	var stderr bytes.Buffer
	dec.Stderr = &stderr
	if err := dec.Run(); err != nil {
		t.Errorf("the recording does not decode: %v %s", err, stderr.String())
	}
	if s := stderr.String(); strings.Count(s, "\n") > 5 {
		t.Logf("decode errors in the recording:\n%s", tail(s, 10))
	}
	t.Logf("recording: %d packets, monotonic", n)
}

// TestEdgeFLVPull: protocol = "flv" pulls over HTTP-FLV from the origin's
// HTTP port.
func TestEdgeFLVPull(t *testing.T) {
	needTools(t, "ffmpeg", "ffprobe")
	t.Parallel()
	o := startServer(t, "")
	e := startServer(t, edgeTOML("flv", false, o.http))
	name := streamName()
	o.publish(t, name, true)
	o.waitPublishing(t, name)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p := ffprobe(t, ctx, e.rtmpURL(name), "-read_intervals", "%+2")
	if len(p.Streams) < 2 {
		t.Errorf("streams %+v", p.Streams)
	}
	if st := edgeStatus(t, e); len(st) != 1 || st[0]["origin"] != o.http {
		t.Errorf("GET /api/v1/edges: %v", st)
	}
}

// TestEdgeTokenTraverse: with token_traverse the origin's on_connect
// decides: a bad token is refused at the edge (HTTP-FLV 403, RTMP
// refused), a good one plays.
func TestEdgeTokenTraverse(t *testing.T) {
	needTools(t, "ffmpeg", "ffprobe")
	t.Parallel()
	hooks, urls := startHookServer(t, func(e hookEvent) string {
		if e.Action == "on_connect" && strings.Contains(e.Param+e.TcURL, "token=bad") {
			return `{"code":403}`
		}
		return `{"code":0}`
	})
	oaddr := freeAddr(t)
	o := startOrigin(t, oaddr, "[[vhost]]\nname = \"__defaultVhost__\"\n[vhost.hooks]\non_connect = "+urls+"\n")
	e := startServer(t, edgeTOML("rtmp", true, oaddr))
	name := streamName()
	o.publish(t, name, true)
	o.waitPublishing(t, name)

	resp, err := http.Get(e.flvURL(name) + "?token=bad")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("HTTP-FLV with a bad token: %s, want 403", resp.Status)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := exec.CommandContext(ctx, "ffprobe", "-v", "error", "rtmp://"+e.rtmp+"/live?token=bad/"+name).Run(); err == nil {
		t.Errorf("RTMP with a bad token played")
	}
	hooks.mu.Lock()
	tokens := 0
	for _, ev := range hooks.events {
		if ev.Action == "on_connect" && strings.Contains(ev.Param+ev.TcURL, "token=bad") {
			tokens++
		}
	}
	hooks.mu.Unlock()
	if tokens < 2 {
		t.Errorf("the origin's on_connect saw %d connects with the bad token, want 2 (HTTP-FLV, RTMP)", tokens)
	}
	e.waitLog(t, "token traverse: the origin refuses", 5*time.Second)
	p := ffprobe(t, ctx, "rtmp://"+e.rtmp+"/live?token=good/"+name, "-read_intervals", "%+1")
	if len(p.Streams) < 2 {
		t.Errorf("good token: streams %+v", p.Streams)
	}
}

// edgeStatus reads GET /api/v1/edges.
func edgeStatus(t *testing.T, s *srv) []map[string]any {
	var out struct {
		Edges []map[string]any `json:"edges"`
	}
	s.getJSON(t, "/api/v1/edges", &out)
	return out.Edges
}
