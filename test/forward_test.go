package test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// nginxRTMP runs nginx with the RTMP module (Debian's libnginx-mod-rtmp) on
// a free loopback port, one application "live", and returns its address.
func nginxRTMP(t *testing.T) string {
	t.Helper()
	needTools(t, "nginx")
	const module = "/usr/lib/nginx/modules/ngx_rtmp_module.so"
	if _, err := os.Stat(module); err != nil {
		t.Skipf("SKIPPED: nginx-rtmp module %s missing (apt-get install libnginx-mod-rtmp): %v", module, err)
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
rtmp { server { listen %s; chunk_size 4096; application live { live on; } application dyn { live on; } } }
`, dir, dir, module, addr)
	if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("nginx", "-c", conf, "-p", dir)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt) // nginx: SIGINT is a fast shutdown
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			return addr
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Fatalf("nginx did not listen on %s: %v\n%s\n%s", addr, err, out.String(), b)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// freeAddr returns a loopback address with a TCP port nobody listens on
// now, for a server that must come back on the same address.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// blackHole accepts TCP connections and never reads from them.
func blackHole(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	return ln.Addr().String()
}

// stallProxy relays TCP to target until stall is set: from then on it stops
// reading from its clients (a destination that accepted the publish and
// then stopped taking data).
type stallProxy struct {
	addr  string
	stall atomic.Bool
}

func startStallProxy(t *testing.T, target string) *stallProxy {
	t.Helper()
	// A small receive buffer, set on the listener so that the accepted
	// connections advertise a small window: a stall fills it at once.
	lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 16<<10)
		})
		if err != nil {
			return err
		}
		return serr
	}}
	ln, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &stallProxy{addr: ln.Addr().String()}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			mu.Lock()
			conns = append(conns, c, u)
			mu.Unlock()
			wg.Add(2)
			go func() { defer wg.Done(); io.Copy(c, u) }()
			go func() {
				defer wg.Done()
				buf := make([]byte, 32<<10)
				for {
					for p.stall.Load() {
						time.Sleep(100 * time.Millisecond)
					}
					n, err := c.Read(buf)
					if n > 0 {
						if _, werr := u.Write(buf[:n]); werr != nil {
							return
						}
					}
					if err != nil {
						return
					}
				}
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		p.stall.Store(false)
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return p
}

type apiForward struct {
	ID       string `json:"id"`
	Kind     string `json:"kind"`
	Stream   string `json:"stream"`
	URL      string `json:"url"`
	State    string `json:"state"`
	Error    string `json:"error"`
	Restarts int    `json:"restarts"`
	Bytes    uint64 `json:"bytes"`
	Kbps     uint64 `json:"kbps"`
	PeerID   string `json:"peer_id"`
}

func (s *srv) forwards(t *testing.T) []apiForward {
	var out struct {
		Code     int          `json:"code"`
		Forwards []apiForward `json:"forwards"`
	}
	s.getJSON(t, "/api/v1/forwards", &out)
	return out.Forwards
}

// waitForward polls /api/v1/forwards until ok holds for the forward whose
// URL contains dest.
func (s *srv) waitForward(t *testing.T, dest string, d time.Duration, ok func(apiForward) bool) apiForward {
	t.Helper()
	deadline := time.Now().Add(d)
	var last []apiForward
	for time.Now().Before(deadline) {
		last = s.forwards(t)
		for _, f := range last {
			if strings.Contains(f.URL, dest) && ok(f) {
				return f
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("forward to %s not as expected within %s: %+v", dest, d, last)
	return apiForward{}
}

// waitRTMP waits until an RTMP URL plays (ffprobe finds H.264 and AAC in it)
// and returns the probe.
func waitRTMP(t *testing.T, url string, d time.Duration) probe {
	t.Helper()
	deadline := time.Now().Add(d)
	var lastErr string
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		out, err := exec.CommandContext(ctx, "ffprobe", "-v", "error", "-show_streams", "-show_format", "-of", "json",
			"-count_packets", "-read_intervals", "%+2", "-rw_timeout", "3000000", url).Output()
		cancel()
		if err == nil {
			var p probe
			if json.Unmarshal(out, &p) == nil && hasAV(p) {
				return p
			}
			lastErr = string(out)
		} else {
			lastErr = err.Error()
		}
		time.Sleep(300 * time.Millisecond)
	}
	t.Fatalf("%s did not play H.264+AAC within %s: %s", url, d, lastErr)
	return probe{}
}

func hasAV(p probe) bool {
	var v, a bool
	for _, s := range p.Streams {
		n, _ := strconv.Atoi(s.NbReadPackets)
		v = v || s.CodecName == "h264" && s.Width == 640 && n > 10
		a = a || s.CodecName == "aac" && n > 10
	}
	return v && a
}

// TestForward: a stream published to srs-lite is pushed to an nginx-rtmp
// server and to a second srs-lite; ffprobe plays it from both. The forwards
// show in /api/v1/forwards (forwarding, bytes, the destination's srs_id)
// and /api/v1/clients, and the log links the destination's connection id.
func TestForward(t *testing.T) {
	needTools(t, "ffmpeg", "ffprobe")
	ngx := nginxRTMP(t)
	dst := startServer(t, "")
	s := startServer(t, fmt.Sprintf(`[[vhost]]
name = "__defaultVhost__"
[vhost.forward]
destinations = [%q, %q]
`, ngx, dst.rtmp))
	name := streamName()
	s.publish(t, name, true)
	s.waitPublishing(t, name)

	for _, u := range []string{"rtmp://" + ngx + "/live/" + name, dst.rtmpURL(name)} {
		p := waitRTMP(t, u, 20*time.Second)
		t.Logf("%s: %d streams", u, len(p.Streams))
	}
	f := s.waitForward(t, dst.rtmp, 10*time.Second, func(f apiForward) bool {
		return f.State == "forwarding" && f.Bytes > 0 && f.PeerID != ""
	})
	if f.Kind != "forward" || f.Stream != "live/"+name || f.URL != dst.rtmpURL(name) {
		t.Fatalf("forward %+v", f)
	}
	s.waitForward(t, ngx, 10*time.Second, func(f apiForward) bool { return f.State == "forwarding" && f.Bytes > 0 })
	s.waitForward(t, dst.rtmp, 10*time.Second, func(f apiForward) bool { return f.Kbps > 100 })
	// The forward is a client (a publisher to its destination), listed with
	// its bytes.
	var fw int
	var sid string
	for _, st := range s.streams(t) {
		if st.Name == name {
			sid = st.ID
		}
	}
	for _, c := range s.clients(t) {
		if c.Type == "forward-publish" && c.Stream == sid && c.Send > 0 {
			fw++
		}
	}
	if fw != 2 {
		t.Fatalf("%d forward clients, want 2: %+v", fw, s.clients(t))
	}
	// Traceable: the origin's log names the destination's connection id,
	// which the destination's log has.
	if !strings.Contains(s.logs(), "origin_cid="+f.PeerID) || !strings.Contains(dst.logs(), f.PeerID) {
		t.Fatalf("origin_cid %s not in both logs", f.PeerID)
	}
}

// TestForwardLateDestination: a destination down at first gets the stream
// within the backoff once it comes up.
func TestForwardLateDestination(t *testing.T) {
	needTools(t, "ffmpeg", "ffprobe")
	addr := freeAddr(t)
	s := startServer(t, fmt.Sprintf(`[[vhost]]
name = "__defaultVhost__"
[vhost.forward]
destinations = [%q]
`, addr))
	name := streamName()
	s.publish(t, name, true)
	s.waitPublishing(t, name)
	s.waitForward(t, addr, 10*time.Second, func(f apiForward) bool {
		return f.State == "retrying" && f.Restarts >= 1 && f.Error != ""
	})
	time.Sleep(3 * time.Second) // the backoff grows
	body := fmt.Sprintf("[log]\nlevel = \"info\"\n[rtmp]\nlisten = %q\n[http_api]\nlisten = \"127.0.0.1:0\"\n[http_server]\nlisten = \"127.0.0.1:0\"\n[srt]\nlisten = \"127.0.0.1:0\"\n[rtc]\nlisten = \"127.0.0.1:0\"\n[rtsp]\nlisten = \"127.0.0.1:0\"\n", addr)
	conf := filepath.Join(t.TempDir(), "dst.toml")
	if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	up := time.Now()
	dst := launch(t, exec.Command(binPath, "-c", conf), conf, "destination", 10*time.Second)
	dst.waitPublishing(t, name) // within the 10 s backoff cap
	t.Logf("destination got the stream %s after it came up", time.Since(up).Round(100*time.Millisecond))
	waitRTMP(t, dst.rtmpURL(name), 15*time.Second)
}

// TestForwardDeadDestination: destinations that never read (a black hole
// that accepts and never answers, and a proxy that stops reading once the
// publish is going) slow neither the publisher nor a player on the origin.
func TestForwardDeadDestination(t *testing.T) {
	needTools(t, "ffmpeg", "ffprobe")
	hole := blackHole(t)
	dst := startServer(t, "")
	proxy := startStallProxy(t, dst.rtmp)
	s := startServer(t, fmt.Sprintf(`[[vhost]]
name = "__defaultVhost__"
[vhost.forward]
destinations = [%q, %q]
`, hole, proxy.addr))
	name := streamName()
	s.publish(t, name, true)
	s.waitPublishing(t, name)
	s.waitForward(t, proxy.addr, 15*time.Second, func(f apiForward) bool { return f.State == "forwarding" })
	proxy.stall.Store(true)

	frames := func() uint64 {
		for _, st := range s.streams(t) {
			if st.Name == name {
				return st.Frames
			}
		}
		return 0
	}
	wait := startBench(t, 1, 12*time.Second, s.rtmpURL(name))
	f0, t0 := frames(), time.Now()
	r := wait()
	f1, el := frames(), time.Since(t0)
	// The fixture is 30 fps video and 44.1 kHz AAC (43 frames/s): about
	// 73 frames/s in.
	rate := float64(f1-f0) / el.Seconds()
	t.Logf("publisher: %.1f frames/s in; player: %+v", rate, r)
	if rate < 60 {
		t.Errorf("publisher slowed down: %.1f frames/s", rate)
	}
	if r.Connected != 1 || r.Stalls > 0 || float64(r.Frames) < 0.85*12*73 {
		t.Errorf("player on the origin slowed down: %+v", r)
	}
	// The stalled destination was given up (write timeout) and is retried.
	s.waitForward(t, proxy.addr, 20*time.Second, func(f apiForward) bool { return f.Restarts >= 1 })
	s.waitForward(t, hole, time.Second, func(f apiForward) bool { return f.State != "forwarding" })
	proxy.stall.Store(false)
}

// TestOnForward: the on_forward hook's answer adds a destination for the
// stream (SRS 5's dynamic forward).
func TestOnForward(t *testing.T) {
	needTools(t, "ffmpeg", "ffprobe")
	dst := startServer(t, "")
	rec, hook := startHookServer(t, func(e hookEvent) string {
		if e.Action == "on_forward" {
			return `{"code":0,"data":{"urls":["rtmp://` + dst.rtmp + `/dyn/[stream]"]}}`
		}
		return `{"code":0}`
	})
	s := startServer(t, fmt.Sprintf(`[[vhost]]
name = "__defaultVhost__"
[vhost.hooks]
on_forward = %s
`, hook))
	name := streamName()
	s.publish(t, name, true)
	e := rec.wait(t, "on_forward", name)
	if e.App != "live" || e.ClientID == "" || !strings.HasPrefix(e.TcURL, "rtmp://") {
		t.Errorf("on_forward event %+v", e)
	}
	waitRTMP(t, "rtmp://"+dst.rtmp+"/dyn/"+name, 20*time.Second)
	s.waitForward(t, dst.rtmp, 5*time.Second, func(f apiForward) bool { return f.Kind == "on_forward" && f.State == "forwarding" })
}

// TestPublishEdge: a publisher on an edge ([vhost.cluster] mode = "remote")
// is forwarded to the origin: the first origin refuses (nothing listens),
// the edge fails over to the next, a srs-lite or an nginx-rtmp origin, and
// ffprobe plays the stream there.
func TestPublishEdge(t *testing.T) {
	needTools(t, "ffmpeg", "ffprobe")
	for _, origin := range []string{"srs-lite", "nginx-rtmp"} {
		t.Run(origin, func(t *testing.T) {
			var addr string
			if origin == "nginx-rtmp" {
				addr = nginxRTMP(t)
			} else {
				addr = startServer(t, "").rtmp
			}
			dead := freeAddr(t)
			edge := startServer(t, fmt.Sprintf(`[[vhost]]
name = "__defaultVhost__"
[vhost.cluster]
mode = "remote"
origins = [%q, %q]
`, dead, addr))
			name := streamName()
			edge.publish(t, name, true)
			waitRTMP(t, "rtmp://"+addr+"/live/"+name, 20*time.Second)
			f := edge.waitForward(t, addr, 5*time.Second, func(f apiForward) bool { return f.State == "forwarding" })
			if f.Kind != "edge" {
				t.Fatalf("forward %+v", f)
			}
		})
	}
}
