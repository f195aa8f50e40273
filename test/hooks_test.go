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
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: mux}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })
	return rec, fmt.Sprintf("[%q]", "http://"+ln.Addr().String()+"/hook")
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
	if !strings.Contains(s.logs(), "go away") {
		t.Errorf("the refusal is not logged with the hook's message:\n%s", tail(s.logs(), 20))
	}
}
