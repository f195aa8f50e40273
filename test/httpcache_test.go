package test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// nginxCacheConf is the nginx configuration of docs/http-cache.md, with
// paths in dir, listening on listen and fetching from origin.
func nginxCacheConf(dir, listen, origin string) string {
	return fmt.Sprintf(`daemon off;
master_process off;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
events { worker_connections 2048; }
http {
    access_log off;
    client_body_temp_path %[1]s/body;
    proxy_temp_path %[1]s/proxy;
    fastcgi_temp_path %[1]s/fastcgi;
    uwsgi_temp_path %[1]s/uwsgi;
    scgi_temp_path %[1]s/scgi;

    proxy_cache_path %[1]s/cache levels=1:2 keys_zone=hls:10m max_size=1g inactive=10m use_temp_path=off;

    server {
        listen %[2]s;

        location ~ \.(m3u8|ts|m4s|mp4)$ {
            proxy_pass http://%[3]s;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_cache hls;
            proxy_cache_key $scheme$proxy_host$uri$is_args$args;
            proxy_cache_lock on;
            proxy_cache_lock_timeout 10s;
            proxy_cache_lock_age 10s;
            proxy_cache_use_stale updating error timeout;
            proxy_cache_valid 200 1s;
            proxy_cache_valid 404 1s;
            add_header X-Cache-Status $upstream_cache_status;
        }
        location ~ \.flv$ {
            proxy_pass http://%[3]s;
            proxy_buffering off;
            proxy_cache off;
        }
    }
}
`, dir, listen, origin)
}

// counter is a reverse proxy that counts the requests reaching the origin.
type counter struct {
	mu        sync.Mutex
	playlists int
	segments  map[string]int
}

func (c *counter) total() (playlists, segments, distinct int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, n := range c.segments {
		segments += n
	}
	return c.playlists, segments, len(c.segments)
}

// TestHLSThroughNginxCache: 200 HLS players (the bench tool's HLS player)
// through nginx proxy_cache with proxy_cache_lock cost the origin about one
// request per segment and about one playlist request per second, with
// hls_ctx = false.
func TestHLSThroughNginxCache(t *testing.T) {
	needTools(t, "ffmpeg", "nginx")
	if testing.Short() {
		t.Skip("SKIPPED: -short (200 players for 20 s)")
	}
	t.Parallel()
	s := startServer(t, "\n[[vhost]]\nname = \"__defaultVhost__\"\n[vhost.hls]\nhls_ctx = false\n")
	name := streamName()
	s.publish(t, name, true)
	s.waitPublishing(t, name)

	// Count what reaches the origin through a proxy in front of it.
	cnt := &counter{segments: map[string]int{}}
	target, _ := url.Parse("http://" + s.http)
	rp := httputil.NewSingleHostReverseProxy(target)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ps := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cnt.mu.Lock()
		switch {
		case strings.HasSuffix(r.URL.Path, ".m3u8"):
			cnt.playlists++
		case strings.HasSuffix(r.URL.Path, ".ts"):
			cnt.segments[r.URL.Path]++
		}
		cnt.mu.Unlock()
		rp.ServeHTTP(w, r)
	})}
	go ps.Serve(ln)
	defer ps.Close()

	dir := t.TempDir()
	listen := freeAddr(t)
	conf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(conf, []byte(nginxCacheConf(dir, listen, ln.Addr().String())), 0o644); err != nil {
		t.Fatal(err)
	}
	ng := exec.Command("nginx", "-p", dir, "-c", conf, "-e", filepath.Join(dir, "error.log"))
	stopNginx := startProcess(t, ng)
	defer stopNginx()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if c, err := net.Dial("tcp", listen); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Fatalf("nginx did not listen on %s:\n%s", listen, b)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// A few segments in the playlist first: players start 3 from the end.
	playlist := "http://" + listen + "/live/" + name + ".m3u8"
	time.Sleep(7 * time.Second)
	resp, err := http.Get(playlist)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("playlist through nginx: %v %v", resp, err)
	}
	resp.Body.Close()
	if cc := resp.Header.Get("Cache-Control"); !strings.HasPrefix(cc, "public, max-age=") {
		t.Errorf("playlist Cache-Control %q", cc)
	}
	p0, s0, _ := cnt.total()

	const players, dur = 200, 20 * time.Second
	r := runBench(t, players, dur, playlist)
	p1, s1, distinct := cnt.total()
	pl, segs := p1-p0, s1-s0
	t.Logf("%d HLS players through nginx for %s: %d connected, %d failed, %d frames, %.0f kbps each, stalls %d",
		players, dur, r.Connected, r.Failed, r.Frames, r.BitrateKbps/float64(max(r.Connected, 1)), r.Stalls)
	t.Logf("origin: %d segment requests for %d distinct segments (%.2f per segment), %d playlist requests in %s",
		segs, distinct, float64(segs)/float64(max(distinct, 1)), pl, dur)
	if r.Connected < players*95/100 || r.Frames == 0 {
		t.Errorf("players: %+v", r)
	}
	if distinct == 0 || segs > 2*distinct {
		t.Errorf("origin segment requests %d for %d segments: want at most 2 per segment", segs, distinct)
	}
	// max-age 1 s: about one playlist request a second, a few more at most.
	if limit := int(dur/time.Second)*2 + 10; pl > limit {
		t.Errorf("origin playlist requests %d in %s: want at most %d", pl, dur, limit)
	}

	// Segments: a conditional request is answered 304 (through nginx too).
	seg := ""
	if code, r := secGet(t, "http://"+s.http+"/live/"+name+".m3u8"); code == 200 {
		b, _ := io.ReadAll(r.Body)
		r.Body.Close()
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasSuffix(l, ".ts") {
				seg = "/live/" + l
			}
		}
	}
	resp, err = http.Get("http://" + s.http + seg)
	if err == nil {
		resp.Body.Close()
		etag := resp.Header.Get("ETag")
		req, _ := http.NewRequest("GET", "http://"+s.http+seg, nil)
		req.Header.Set("If-None-Match", etag)
		if r2, err := http.DefaultClient.Do(req); err != nil || r2.StatusCode != http.StatusNotModified {
			t.Errorf("conditional GET of %s (%s): %v %v", seg, etag, r2, err)
		} else {
			r2.Body.Close()
		}
		if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "immutable") {
			t.Errorf("segment Cache-Control %q", cc)
		}
	}
}
