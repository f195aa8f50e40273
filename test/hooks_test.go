package test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// hookEvent is the part of a hook body the test checks.
type hookEvent struct {
	Action   string  `json:"action"`
	ClientID string  `json:"client_id"`
	IP       string  `json:"ip"`
	Vhost    string  `json:"vhost"`
	App      string  `json:"app"`
	Stream   string  `json:"stream"`
	Param    string  `json:"param"`
	TcURL    string  `json:"tcUrl"`
	File     string  `json:"file"`
	URL      string  `json:"url"`
	SeqNo    *int    `json:"seq_no"`
	Duration float64 `json:"duration"`
	// on_close.
	SendBytes *uint64 `json:"send_bytes"`
	RecvBytes *uint64 `json:"recv_bytes"`
}

type hookRecorder struct {
	mu     sync.Mutex
	events []hookEvent
}

func (h *hookRecorder) find(action, stream string) (hookEvent, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, e := range h.events {
		if e.Action == action && e.Stream == stream {
			return e, true
		}
	}
	return hookEvent{}, false
}

func (h *hookRecorder) wait(t *testing.T, action, stream string) hookEvent {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if e, ok := h.find(action, stream); ok {
			return e
		}
		time.Sleep(50 * time.Millisecond)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	t.Fatalf("no %s hook for %s; got %+v", action, stream, h.events)
	return hookEvent{}
}

// startHookServer runs an HTTP hook server on loopback that records every
// event and answers each with answer(event); it returns the recorder and
// the hook list to put in a config, ["http://ADDR/hook"].
func startHookServer(t *testing.T, answer func(hookEvent) string) (*hookRecorder, string) {
	t.Helper()
	rec := &hookRecorder{}
	mux := http.NewServeMux()
	mux.HandleFunc("/hook", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var e hookEvent
		if err := json.Unmarshal(b, &e); err != nil {
			http.Error(w, "bad json", 400)
			return
		}
		rec.mu.Lock()
		rec.events = append(rec.events, e)
		rec.mu.Unlock()
		fmt.Fprint(w, answer(e))
	})
	return rec, fmt.Sprintf("[%q]", "http://"+serveLoopback(t, mux)+"/hook")
}

// serveLoopback serves h on a loopback port until the test ends and
// returns its address.
func serveLoopback(t *testing.T, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: h}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })
	return ln.Addr().String()
}

// denyBad refuses publishers of streams named denied* and players with
// token=bad, and allows the rest.
func denyBad(e hookEvent) string {
	if e.Action == "on_publish" && strings.HasPrefix(e.Stream, "denied") ||
		e.Action == "on_play" && strings.Contains(e.Param, "token=bad") {
		return `{"code":403,"msg":"go away"}`
	}
	return `{"code":0}`
}

// TestHooks: SRS's HTTP callbacks, against the real binary: on_connect,
// on_publish, on_play, on_stop, on_unpublish, on_hls and on_dvr arrive with
// SRS's fields; a hook that answers a non-zero code refuses a publisher and
// a player.
func TestHooks(t *testing.T) {
	needTools(t, "ffmpeg", "ffprobe")
	t.Parallel()
	rec, hook := startHookServer(t, denyBad)
	dir := t.TempDir()
	s := startServer(t, fmt.Sprintf(`[[vhost]]
name = "__defaultVhost__"
[vhost.hls]
fragment = "1s"
[vhost.dvr]
enabled = true
path = %q
[vhost.hooks]
on_connect = %s
on_publish = %s
on_unpublish = %s
on_play = %s
on_stop = %s
on_hls = %s
on_dvr = %s
`, dir+"/[stream].flv", hook, hook, hook, hook, hook, hook, hook))

	name := streamName()
	_, stop := s.publish(t, name, true)
	s.waitPublishing(t, name)
	pub := rec.wait(t, "on_publish", name)
	if pub.Vhost != "__defaultVhost__" || pub.App != "live" || pub.IP != "127.0.0.1" || pub.ClientID == "" ||
		!strings.HasPrefix(pub.TcURL, "rtmp://") {
		t.Errorf("on_publish %+v", pub)
	}
	rec.mu.Lock()
	var connect bool
	for _, e := range rec.events {
		connect = connect || e.Action == "on_connect" && e.App == "live"
	}
	rec.mu.Unlock()
	if !connect {
		t.Errorf("no on_connect")
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ffprobe(t, ctx, s.rtmpURL(name)+"?token=good", "-read_intervals", "%+#5")
	play := rec.wait(t, "on_play", name)
	if play.Param != "?token=good" {
		t.Errorf("on_play param %q", play.Param)
	}
	rec.wait(t, "on_stop", name)
	// A player the hook refuses.
	out, err := exec.CommandContext(ctx, "ffprobe", "-v", "error", "-rw_timeout", "5000000",
		s.flvURL(name)+"?token=bad").CombinedOutput()
	if err == nil {
		t.Errorf("a player refused by on_play still played: %s", out)
	}

	seg := rec.wait(t, "on_hls", name)
	if seg.SeqNo == nil || !strings.HasSuffix(seg.URL, ".ts") || seg.Duration <= 0 {
		t.Errorf("on_hls %+v", seg)
	}

	stop()
	rec.wait(t, "on_unpublish", name)
	d := rec.wait(t, "on_dvr", name)
	if !strings.HasSuffix(d.File, name+".flv") {
		t.Errorf("on_dvr file %q", d.File)
	}

	// A publisher the hook refuses.
	denied := "denied" + streamName()
	cmd := exec.CommandContext(ctx, "ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-i", fixture,
		"-t", "3", "-c", "copy", "-f", "flv", s.rtmpURL(denied))
	if out, err := cmd.CombinedOutput(); err == nil {
		t.Errorf("a publisher refused by on_publish published: %s", out)
	}
	s.waitLog(t, "go away", 5*time.Second)
}

// TestSessionHooks: on_connect and on_close fire for every protocol with a
// connection (RTMP, HTTP-FLV, SRT), from one session record: the same
// client_id in both, and on_close carries the bytes as SRS sends them.
func TestSessionHooks(t *testing.T) {
	needTools(t, "ffmpeg", "ffprobe")
	t.Parallel()
	rec, hook := startHookServer(t, func(hookEvent) string { return `{"code":0}` })
	s := startServer(t, srtConf+fmt.Sprintf(`[[vhost]]
name = "__defaultVhost__"
[vhost.hooks]
on_connect = %s
on_close = %s
`, hook, hook))
	name := streamName()
	_, stop := s.publish(t, name, true)
	defer stop()
	s.waitPublishing(t, name)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	addr := srtAddr(t, s)
	for _, url := range []string{s.flvURL(name), srtURL(addr, name, "request", "")} {
		ffprobe(t, ctx, url, "-read_intervals", "%+#5")
	}
	// Each player: on_connect, then on_close with the same client id and
	// the bytes it was sent.
	for _, proto := range []string{"flv", "srt"} {
		deadline := time.Now().Add(20 * time.Second)
		for {
			rec.mu.Lock()
			var conn, closed *hookEvent
			for i, e := range rec.events {
				if e.Stream != name || !strings.HasPrefix(e.TcURL, map[string]string{"flv": "http://", "srt": "srt://"}[proto]) {
					continue
				}
				switch e.Action {
				case "on_connect":
					conn = &rec.events[i]
				case "on_close":
					closed = &rec.events[i]
				}
			}
			ok := conn != nil && closed != nil
			if ok && (closed.ClientID != conn.ClientID || closed.SendBytes == nil || *closed.SendBytes == 0 || closed.RecvBytes == nil) {
				t.Errorf("%s: on_connect %+v, on_close %+v", proto, *conn, *closed)
			}
			rec.mu.Unlock()
			if ok {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: no on_connect and on_close pair; got %+v", proto, rec.events)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	stop()
	// The RTMP publisher: on_close after its connect, with what it sent.
	deadline := time.Now().Add(20 * time.Second)
	for {
		rec.mu.Lock()
		var got bool
		for _, e := range rec.events {
			if e.Action == "on_close" && strings.HasPrefix(e.TcURL, "rtmp://") && e.RecvBytes != nil && *e.RecvBytes > 100000 {
				got = true
			}
		}
		rec.mu.Unlock()
		if got {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no on_close for the RTMP publisher with its bytes; got %+v", rec.events)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestMaxConnectionsEveryProtocol: server.max_connections counts the
// sessions of every protocol, SRT included; the API port does not count,
// so an operator can still look and kick on a full server.
func TestMaxConnectionsEveryProtocol(t *testing.T) {
	needTools(t, "ffmpeg", "ffprobe")
	t.Parallel()
	s := startServer(t, srtConf+"[server]\nmax_connections = 1\n")
	name := streamName()
	_, stop := s.publish(t, name, true)
	defer stop()
	s.waitPublishing(t, name) // the one session allowed
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ffprobe", "-v", "error", "-show_streams",
		srtURL(srtAddr(t, s), name, "request", "")).CombinedOutput()
	if err == nil {
		t.Errorf("an SRT player beyond max_connections played: %s", out)
	}
	s.waitLog(t, "SRT_REJ_RESOURCE", 5*time.Second)
	if cs := s.clients(t); len(cs) != 1 { // the API answers on a full server
		t.Errorf("clients %+v", cs)
	}
}

// TestHLSSessions: HLS viewers are sessions as in SRS. ffmpeg plays the
// playlist (following the 302 to ?hls_ctx=ID); the viewer is an hls-play
// client in the API and counts among its stream's clients; on_connect,
// on_play, on_stop and on_close carry one client id; the stream's HLS state
// is in /api/v1/streams; on_hls_notify GETs its template per segment; a
// kick ends the viewer; a hook refusing on_play gets the playlist a 403.
func TestHLSSessions(t *testing.T) {
	needTools(t, "ffmpeg", "ffprobe")
	t.Parallel()
	rec, hook := startHookServer(t, denyBad)
	// on_hls_notify: a GET of a template per segment.
	var notMu sync.Mutex
	var notified []string
	mux := http.NewServeMux()
	mux.HandleFunc("/warm/", func(w http.ResponseWriter, r *http.Request) {
		notMu.Lock()
		notified = append(notified, r.URL.Path)
		notMu.Unlock()
	})
	warm := serveLoopback(t, mux)
	s := startServer(t, hlsVhost(`fragment = "1s"
[vhost.hooks]
on_connect = `+hook+`
on_play = `+hook+`
on_stop = `+hook+`
on_close = `+hook+`
on_hls_notify = ["http://`+warm+`/warm/[app]/[stream]/[seq]/[ts_url]"]
`))
	name := streamName()
	stop := livePublish(t, s.rtmpURL(name), 25, false)
	defer stop()
	s.waitPublishing(t, name)
	url := "http://" + s.http + "/live/" + name + ".m3u8"

	// The first playlist request: 302 to ?hls_ctx=ID.
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Get(url + "?token=good")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound || !strings.Contains(loc, "hls_ctx=") || !strings.Contains(loc, "token=good") {
		t.Fatalf("first playlist: %d Location %q", resp.StatusCode, loc)
	}
	// Refused by on_play: 403.
	if resp, err := noRedirect.Get(url + "?token=bad"); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("a viewer refused by on_play: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}

	// A real player: ffmpeg reads the live HLS for a while.
	player := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-i", url, "-c", "copy", "-f", "null", "-")
	if err := player.Start(); err != nil {
		t.Fatal(err)
	}
	defer player.Process.Kill()
	var id string
	deadline := time.Now().Add(15 * time.Second)
	for id == "" && time.Now().Before(deadline) {
		for _, c := range s.clients(t) {
			if c.Type == "hls-play" && c.Send > 0 {
				id = c.ID
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	if id == "" {
		t.Fatalf("no hls-play client with bytes in %+v", s.clients(t))
	}
	var st struct {
		Streams []struct {
			Name    string `json:"name"`
			Clients int    `json:"clients"`
			HLS     *struct {
				Segments int `json:"segments"`
				Viewers  int `json:"viewers"`
			} `json:"hls"`
		} `json:"streams"`
	}
	s.getJSON(t, "/api/v1/streams", &st)
	for _, x := range st.Streams {
		if x.Name == name && (x.HLS == nil || x.HLS.Viewers < 1 || x.HLS.Segments < 1 || x.Clients < 2) {
			t.Errorf("stream %s: clients %d, hls %+v", name, x.Clients, x.HLS)
		}
	}
	play := rec.wait(t, "on_play", name)
	rec.mu.Lock()
	var conn bool
	for _, e := range rec.events {
		conn = conn || e.Action == "on_connect" && e.ClientID == id
	}
	rec.mu.Unlock()
	if !conn {
		t.Errorf("no on_connect for the HLS viewer %s (on_play %+v)", id, play)
	}

	// Kick: the session ends with on_stop and on_close (with its bytes).
	req, _ := http.NewRequest(http.MethodDelete, "http://"+s.api+"/api/v1/clients/"+id, nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("kick: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	deadline = time.Now().Add(10 * time.Second)
	for {
		rec.mu.Lock()
		var stopped, closed bool
		for _, e := range rec.events {
			stopped = stopped || e.Action == "on_stop" && e.ClientID == id
			closed = closed || e.Action == "on_close" && e.ClientID == id && e.SendBytes != nil && *e.SendBytes > 0
		}
		rec.mu.Unlock()
		if stopped && closed {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no on_stop/on_close for the kicked viewer %s", id)
		}
		time.Sleep(100 * time.Millisecond)
	}
	notMu.Lock()
	defer notMu.Unlock()
	if len(notified) == 0 || !strings.HasPrefix(notified[0], "/warm/live/"+name+"/") || !strings.HasSuffix(notified[0], ".ts") {
		t.Errorf("on_hls_notify GETs: %q", notified)
	}
}
