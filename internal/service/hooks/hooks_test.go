package hooks

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestAllowed(t *testing.T) {
	for _, tc := range []struct {
		body string
		ok   bool
	}{
		{"0", true}, {" 0\n", true}, {`{"code":0}`, true}, {`{"code": 0, "data": {}}`, true},
		{`{"code":0.0}`, true},
		{"", false}, {"1", false}, {"ok", false}, {`{"code":1}`, false}, {`{"code":403,"msg":"no"}`, false},
		{`{}`, false}, {`{"code":"0"`, false}, {`[0]`, false}, {strings.Repeat("x", 100), false},
	} {
		if err := Allowed([]byte(tc.body)); (err == nil) != tc.ok {
			t.Errorf("Allowed(%q) = %v", tc.body, err)
		}
	}
}

func FuzzAllowed(f *testing.F) {
	for _, s := range []string{"0", `{"code":0}`, `{"code":1,"msg":"x"}`, "", "{"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { _ = Allowed([]byte(s)) })
}

// hookServer records the events it gets and answers with answer(ev).
type hookServer struct {
	*httptest.Server
	mu     sync.Mutex
	events []Event
}

func newHookServer(t *testing.T, answer func(Event) (int, string)) *hookServer {
	h := &hookServer{}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev Event
		b, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(b, &ev)
		h.mu.Lock()
		h.events = append(h.events, ev)
		h.mu.Unlock()
		code, body := answer(ev)
		w.WriteHeader(code)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(h.Close)
	return h
}

func TestAskAllowsAndDenies(t *testing.T) {
	allow := newHookServer(t, func(Event) (int, string) { return 200, `{"code":0}` })
	deny := newHookServer(t, func(ev Event) (int, string) {
		if ev.Stream == "bad" {
			return 200, `{"code":403,"msg":"not you"}`
		}
		return 200, "0"
	})
	status := newHookServer(t, func(Event) (int, string) { return 500, "0" })
	c := New(time.Second, nil)
	ev := Event{Action: "on_publish", ClientID: "c1", IP: "127.0.0.1", Vhost: "__defaultVhost__",
		App: "live", Stream: "ok", Param: "?token=1", TcURL: "rtmp://h/live"}
	if err := c.Ask(context.Background(), []string{allow.URL, deny.URL}, ev); err != nil {
		t.Fatalf("allowed: %v", err)
	}
	ev.Stream = "bad"
	err := c.Ask(context.Background(), []string{allow.URL, deny.URL, allow.URL}, ev)
	if !errors.Is(err, ErrDenied) || !strings.Contains(err.Error(), "not you") {
		t.Fatalf("denied: %v", err)
	}
	if n := len(allow.events); n != 2 {
		t.Errorf("hooks after a refusal were called: %d calls", n)
	}
	if err := c.Ask(context.Background(), []string{status.URL}, ev); !errors.Is(err, ErrDenied) {
		t.Fatalf("status 500: %v", err)
	}
	got := deny.events[0]
	if got.Action != "on_publish" || got.ClientID != "c1" || got.Param != "?token=1" || got.TcURL != "rtmp://h/live" {
		t.Errorf("event %+v", got)
	}
	if err := c.Ask(context.Background(), []string{"http://127.0.0.1:1/none"}, ev); !errors.Is(err, ErrDenied) {
		t.Fatalf("no server: %v", err)
	}
}

func TestAskTimesOut(t *testing.T) {
	slow := newHookServer(t, func(Event) (int, string) { time.Sleep(2 * time.Second); return 200, "0" })
	c := New(200*time.Millisecond, nil)
	start := time.Now()
	if err := c.Ask(context.Background(), []string{slow.URL}, Event{Action: "on_play"}); !errors.Is(err, ErrDenied) {
		t.Fatalf("slow hook: %v", err)
	}
	if time.Since(start) > time.Second {
		t.Fatalf("Ask waited %s", time.Since(start))
	}
}

func TestTellRunsInBackground(t *testing.T) {
	got := make(chan Event, 4)
	h := newHookServer(t, func(ev Event) (int, string) { got <- ev; return 200, "0" })
	c := New(time.Second, nil)
	seq := uint64(7)
	c.Tell([]string{h.URL, h.URL}, Event{Action: "on_hls", File: "/tmp/x-7.ts", SeqNo: &seq, Duration: 2})
	for range 2 {
		select {
		case ev := <-got:
			if ev.Action != "on_hls" || ev.SeqNo == nil || *ev.SeqNo != 7 || ev.File != "/tmp/x-7.ts" {
				t.Fatalf("event %+v", ev)
			}
		case <-time.After(3 * time.Second):
			t.Fatal("notification not delivered")
		}
	}
	c.Wait(time.Second)
}

func TestTellDropsWhenFull(t *testing.T) {
	block := make(chan struct{})
	h := newHookServer(t, func(Event) (int, string) { <-block; return 200, "0" })
	c := New(5*time.Second, nil)
	for range MaxPending + 10 {
		c.Tell([]string{h.URL}, Event{Action: "on_stop"})
	}
	if n := len(c.sem); n != MaxPending {
		t.Fatalf("%d pending, want the cap %d", n, MaxPending)
	}
	close(block)
	c.Wait(5 * time.Second)
}
