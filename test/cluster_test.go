package test

import (
	"context"
	"crypto/md5"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/srs-lite/srs-lite/internal/format/amf0"
	"github.com/srs-lite/srs-lite/internal/protocol/rtmp"
)

// clusterAnswer is SRS's GET /api/v1/clusters answer.
type clusterAnswer struct {
	Code int `json:"code"`
	Data struct {
		Query struct {
			IP, Vhost, App, Stream string
		} `json:"query"`
		Origin *struct {
			IP      string   `json:"ip"`
			Port    int      `json:"port"`
			Vhost   string   `json:"vhost"`
			API     string   `json:"api"`
			Routers []string `json:"routers"`
			HTTP    string   `json:"http"` // srs-lite's addition
		} `json:"origin"`
	} `json:"data"`
}

// play302 plays url as a Flash player or SRS's edge does, up to the play's
// first onStatus, and returns the URL of an RTMP 302 (empty when the play
// starts) and the status code.
func play302(t *testing.T, url string) (redirect, code string) {
	t.Helper()
	u := strings.TrimPrefix(url, "rtmp://")
	host, path, _ := strings.Cut(u, "/")
	app, stream, _ := strings.Cut(path, "/")
	nc, err := net.DialTimeout("tcp", host, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	if err := rtmp.ClientHandshake(nc, false); err != nil {
		t.Fatal(err)
	}
	cw := rtmp.NewChunkWriter(nc)
	cr := rtmp.NewChunkReader(nc, rtmp.ReaderOptions{})
	defer cr.Close()
	next := func() rtmp.Command {
		for {
			m, err := cr.ReadMessage()
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			if m.Type != rtmp.TypeCommandAMF0 {
				m.Release()
				continue
			}
			cmd, err := rtmp.ParseCommand(m.Payload, false)
			m.Release()
			if err != nil {
				t.Fatal(err)
			}
			if cmd.Name == "_result" || cmd.Name == "_error" || cmd.Name == "onStatus" {
				return cmd
			}
		}
	}
	cw.WriteCommand(3, 0, "connect", 1, amf0.Object{{Key: "app", Value: app}, {Key: "tcUrl", Value: "rtmp://" + host + "/" + app}})
	if c := next(); c.Name != "_result" {
		t.Fatalf("connect: %+v", c)
	}
	cw.WriteCommand(3, 0, "createStream", 2, nil)
	if c := next(); c.Name != "_result" {
		t.Fatalf("createStream: %+v", c)
	}
	cw.WriteCommand(8, 1, "play", 0, nil, stream)
	c := next()
	for _, a := range c.Args {
		info := amf0.Object(amf0.Properties(a))
		code, _ = info.String("code")
		if r := rtmp.RedirectURL(info); r != "" {
			cw.WriteCommand(3, 0, "closeStream", 0, nil) // the call SRS waits for
			return r, code
		}
	}
	return "", code
}

// TestOriginCluster: O2 has the stream, O1 is an origin of the same
// cluster without it. A player of O1 is redirected to O2 with an RTMP 302
// and plays there; /api/v1/clusters answers in SRS's shape on both.
func TestOriginCluster(t *testing.T) {
	needTools(t, "ffmpeg", "ffprobe")
	t.Parallel()
	o2 := startServer(t, "")
	o1 := startServer(t, `[[vhost]]
name = "__defaultVhost__"
  [vhost.cluster]
  origin_cluster = true
  coworkers = ["127.0.0.1:1", "`+o2.api+`"]
`)
	name := streamName()
	o2.publish(t, name, true)
	o2.waitPublishing(t, name)

	// The clusters API, as an origin asks it.
	var a clusterAnswer
	o2.getJSON(t, "/api/v1/clusters?vhost=__defaultVhost__&ip=127.0.0.1&app=live&stream="+name+"&coworker="+o2.api, &a)
	_, o2port, _ := net.SplitHostPort(o2.rtmp)
	if a.Code != 0 || a.Data.Query.Stream != name || a.Data.Query.App != "live" || a.Data.Origin == nil ||
		a.Data.Origin.IP != "127.0.0.1" || strconv.Itoa(a.Data.Origin.Port) != o2port ||
		a.Data.Origin.Vhost != "__defaultVhost__" || a.Data.Origin.API != o2.api || len(a.Data.Origin.Routers) != 1 {
		t.Fatalf("O2's answer: %+v %+v", a, a.Data.Origin)
	}
	var b clusterAnswer
	o1.getJSON(t, "/api/v1/clusters?vhost=__defaultVhost__&app=live&stream="+name+"&coworker="+o1.api, &b)
	if b.Code != 0 || b.Data.Origin != nil {
		t.Fatalf("O1 has no such stream, yet answers %+v", b)
	}
	var raw map[string]any
	o1.getJSON(t, "/api/v1/clusters?vhost=__defaultVhost__&app=live&stream="+name, &raw)
	if d, _ := raw["data"].(map[string]any); d == nil || d["origin"] != nil {
		t.Fatalf("origin not null: %v", raw)
	} else if _, ok := d["origin"]; !ok {
		t.Fatalf("no origin key: %v", raw)
	}

	// The 302: O1 asks its coworkers (the first is dead) and sends the
	// player to O2.
	redirect, code := play302(t, o1.rtmpURL(name))
	if want := o2.rtmpURL(name); redirect != want || code != "NetConnection.Connect.Rejected" {
		t.Fatalf("302 to %q (%s), want %q", redirect, code, want)
	}
	if n := framesInOneSecond(t, redirect); n < 10 {
		t.Errorf("the redirected player decoded %d frames in 1 s", n)
	}
	if r, code := play302(t, o2.rtmpURL(name)); r != "" || code != "NetStream.Play.Reset" {
		t.Errorf("O2 has the stream, yet: %q %q", r, code)
	}
	// A stream no origin has is refused at once, as SRS does.
	if r, code := play302(t, o1.rtmpURL("nobody")); r != "" || code != "NetStream.Play.StreamNotFound" {
		t.Errorf("a stream nobody has: %q %q", r, code)
	}

	// FFmpeg's own RTMP (libavformat/rtmpproto.c) does not follow RTMP
	// 302s: an error-level onStatus ends its play with "Server error".
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ffprobe", "-v", "error", o1.rtmpURL(name)).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "RTMP 302 Redirect") {
		t.Logf("ffprobe of O1: %v: %s", err, out)
	} else {
		t.Logf("ffprobe does not follow RTMP 302 (known FFmpeg limitation): %s", strings.TrimSpace(string(out)))
	}
	o1.waitLog(t, "rtmp: redirect in cluster", 5*time.Second)
}

// TestOriginClusterHTTP: the origin cluster for HTTP players. O2 has the
// stream; a player of O1's HTTP-FLV gets an HTTP 302 to the same path on
// O2, which ffprobe follows (it does not follow the RTMP 302). A stream no
// coworker has keeps the wait for a publisher (no 302 loop), and an SRS
// coworker, whose answer names no HTTP port, gets players sent to our own
// HTTP port on its IP.
func TestOriginClusterHTTP(t *testing.T) {
	needTools(t, "ffmpeg", "ffprobe")
	t.Parallel()
	o2 := startServer(t, "")
	o1 := startServer(t, `[[vhost]]
name = "__defaultVhost__"
  [vhost.cluster]
  origin_cluster = true
  coworkers = ["127.0.0.1:1", "`+o2.api+`"]
`)
	name := streamName()
	o2.publish(t, name, true)
	o2.waitPublishing(t, name)

	var a clusterAnswer
	o2.getJSON(t, "/api/v1/clusters?vhost=__defaultVhost__&ip=127.0.0.1&app=live&stream="+name+"&coworker="+o2.api, &a)
	if a.Data.Origin == nil || a.Data.Origin.HTTP != o2.http {
		t.Fatalf("O2's answer has no http %q: %+v", o2.http, a.Data.Origin)
	}

	noFollow := &http.Client{Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	location := func(method, url string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, url, nil)
		resp, err := noFollow.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, url, err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("Location")
	}
	base := "http://" + o1.http + "/live/" + name
	for _, tc := range []struct{ method, url, want string }{
		{"GET", base + ".flv", o2.flvURL(name)},
		{"GET", base + ".flv?token=abc", o2.flvURL(name) + "?token=abc"},
		{"HEAD", base + ".flv", o2.flvURL(name)},
		{"GET", base + ".aac", "http://" + o2.http + "/live/" + name + ".aac"},
		{"GET", base + ".m3u8", "http://" + o2.http + "/live/" + name + ".m3u8"},
	} {
		if code, loc := location(tc.method, tc.url); code != http.StatusFound || loc != tc.want {
			t.Errorf("%s %s: %d to %q, want 302 to %q", tc.method, tc.url, code, loc, tc.want)
		}
	}
	// O2 has it: it plays, no redirect.
	if code, loc := location("HEAD", o2.flvURL(name)); code != http.StatusOK || loc != "" {
		t.Errorf("O2's own stream: %d %q", code, loc)
	}

	// FFmpeg follows the HTTP 302 and decodes O2's stream.
	if n := framesInOneSecond(t, base+".flv"); n < 10 {
		t.Errorf("ffprobe of O1's HTTP-FLV (302 to O2) decoded %d frames in 1 s", n)
	}
	if l := o1.logs(); !strings.Contains(l, "http: redirect in cluster") || !strings.Contains(l, "hls: redirect in cluster") {
		t.Errorf("O1 did not log the HTTP-FLV and HLS redirects")
	}

	// A stream no coworker has: no 302; HEAD answers 404 and GET waits
	// for a publisher here, as without a cluster.
	if code, loc := location("HEAD", "http://"+o1.http+"/live/nobody.flv"); code != http.StatusNotFound || loc != "" {
		t.Errorf("HEAD of a stream nobody has: %d %q", code, loc)
	}
	late := streamName()
	got := make(chan int, 1)
	go func() {
		resp, err := http.Get("http://" + o1.http + "/live/" + late + ".flv")
		if err != nil {
			got <- 0
			return
		}
		resp.Body.Close()
		got <- resp.StatusCode
	}()
	time.Sleep(2 * time.Second) // past the coworker lookup, into the wait
	o1.publish(t, late, true)
	select {
	case code := <-got:
		if code != http.StatusOK {
			t.Errorf("a player waiting for a late publisher on O1 got %d", code)
		}
	case <-time.After(15 * time.Second):
		t.Errorf("a player waiting for a late publisher on O1 got no answer")
	}

	// An SRS coworker: its answer has no "http"; the player is sent to
	// its IP on O3's own HTTP port.
	_, o2port, _ := net.SplitHostPort(o2.rtmp)
	srs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"code":0,"data":{"query":{},"origin":{"ip":"127.0.0.1","port":%s,"vhost":"__defaultVhost__","api":"x","routers":["x"]}}}`, o2port)
	}))
	defer srs.Close()
	o3 := startServer(t, `[[vhost]]
name = "__defaultVhost__"
  [vhost.cluster]
  origin_cluster = true
  coworkers = ["`+strings.TrimPrefix(srs.URL, "http://")+`"]
`)
	if code, loc := location("GET", o3.flvURL(name)); code != http.StatusFound || loc != o3.flvURL(name) {
		t.Errorf("SRS coworker: %d to %q, want 302 to %q (our own HTTP port)", code, loc, o3.flvURL(name))
	}
}

// TestHeartbeat: the heartbeat reaches a collector every interval with
// srs-proxy's register fields, and a reload moves it to another URL.
func TestHeartbeat(t *testing.T) {
	t.Parallel()
	type beat struct {
		at   time.Time
		body map[string]any
	}
	var mu sync.Mutex
	beats := map[string][]beat{}
	collector := func(name string) *httptest.Server {
		return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			var m map[string]any
			if r.Method != http.MethodPost || r.URL.Path != "/api/v1/srs/register" || json.Unmarshal(b, &m) != nil {
				http.Error(w, "bad request", 400)
				return
			}
			mu.Lock()
			beats[name] = append(beats[name], beat{time.Now(), m})
			mu.Unlock()
			w.Write([]byte(`{"code":0,"pid":"1"}`))
		}))
	}
	c1, c2 := collector("c1"), collector("c2")
	defer c1.Close()
	defer c2.Close()
	s := startServer(t, `[heartbeat]
enabled = true
url = "`+c1.URL+`/api/v1/srs/register"
interval = "1s"
device_id = "origin1"
`)
	count := func(name string) int {
		mu.Lock()
		defer mu.Unlock()
		return len(beats[name])
	}
	deadline := time.Now().Add(8 * time.Second)
	for count("c1") < 4 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	mu.Lock()
	got := append([]beat(nil), beats["c1"]...)
	mu.Unlock()
	if len(got) < 4 {
		t.Fatalf("%d heartbeats in 8 s at 1 s", len(got))
	}
	for i := 1; i < len(got); i++ {
		if d := got[i].at.Sub(got[i-1].at); d < 700*time.Millisecond || d > 1500*time.Millisecond {
			t.Errorf("beat %d came %v after the previous one, want 1 s", i, d)
		}
	}
	m := got[0].body
	port := func(addr string) string { _, p, _ := net.SplitHostPort(addr); return p }
	list := func(k string) string {
		l, _ := m[k].([]any)
		if len(l) != 1 {
			return fmt.Sprint(m[k])
		}
		return fmt.Sprint(l[0])
	}
	if m["device_id"] != "origin1" || m["ip"] == "" || !strings.HasPrefix(fmt.Sprint(m["server"]), "vid-") ||
		m["service"] == "" || m["pid"] != strconv.Itoa(s.cmd.Process.Pid) ||
		list("rtmp") != port(s.rtmp) || list("api") != port(s.api) || list("http") != port(s.http) {
		t.Errorf("heartbeat body: %v", m)
	}

	conf, err := os.ReadFile(s.conf)
	if err != nil {
		t.Fatal(err)
	}
	conf = []byte(strings.Replace(string(conf), c1.URL, c2.URL, 1))
	if err := os.WriteFile(s.conf, conf, 0o644); err != nil {
		t.Fatal(err)
	}
	_ = s.cmd.Process.Signal(syscall.SIGHUP)
	s.waitLog(t, "config reloaded", 5*time.Second)
	n1 := count("c1")
	deadline = time.Now().Add(5 * time.Second)
	for count("c2") < 2 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if count("c2") < 2 || count("c1") > n1 {
		t.Errorf("after the reload: c2 got %d, c1 %d more", count("c2"), count("c1")-n1)
	}
}

// TestATC: two origins fed by one encoder (ffmpeg's tee muxer) with
// absolute timestamps from 100 s give the same HLS playlists: segment
// names, sequence numbers and durations. The segment bytes are only
// logged: the first and last segments may hold a frame more or less (what
// each connection got around the encoder's start and end), and the TS
// continuity counters carry that into the segments between.
func TestATC(t *testing.T) {
	needTools(t, "ffmpeg")
	t.Parallel()
	conf := `[[vhost]]
name = "__defaultVhost__"
atc = true
  [vhost.hls]
  fragment = "2s"
  window = "60s"
`
	o1, o2 := startServer(t, conf), startServer(t, conf)
	name := streamName()
	cmd := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-i", fixture, "-c", "copy", "-map", "0",
		"-output_ts_offset", "100", "-f", "tee", "[f=flv]"+o1.rtmpURL(name)+"|[f=flv]"+o2.rtmpURL(name))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v: %s", err, out)
	}
	get := func(s *srv, path string) []byte {
		resp, err := http.Get("http://" + s.http + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
		}
		return b
	}
	// The URIs carry each viewer's own ?hls_ctx= (HLS viewers are sessions):
	// compare without it.
	playlist := func(s *srv) string {
		lines := strings.Split(string(get(s, "/live/"+name+".m3u8")), "\n")
		for i, l := range lines {
			lines[i], _, _ = strings.Cut(l, "?")
		}
		return strings.Join(lines, "\n")
	}
	var p1, p2 string
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		p1, p2 = playlist(o1), playlist(o2)
		if strings.Count(p1, "#EXTINF") >= 5 && p1 == p2 {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if p1 != p2 {
		t.Fatalf("playlists differ:\nO1:\n%s\nO2:\n%s", p1, p2)
	}
	// 10 s from 100 s with a 2 s GOP: slots 50..54.
	if !strings.Contains(p1, "#EXT-X-MEDIA-SEQUENCE:50\n") || !strings.Contains(p1, name+"-50.ts") ||
		strings.Count(p1, "#EXTINF:2.0") < 4 {
		t.Fatalf("playlist not on absolute time:\n%s", p1)
	}
	t.Logf("both origins:\n%s", p1)
	for _, line := range strings.Split(p1, "\n") {
		if !strings.HasSuffix(line, ".ts") {
			continue
		}
		a, b := get(o1, "/live/"+line), get(o2, "/live/"+line)
		t.Logf("segment %s: %d and %d bytes, same bytes %v", line, len(a), len(b), md5.Sum(a) == md5.Sum(b))
	}
}
