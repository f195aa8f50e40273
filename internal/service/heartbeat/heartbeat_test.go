package heartbeat

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// TestBodyShape: the keys srs-proxy's /api/v1/srs/register reads.
func TestBodyShape(t *testing.T) {
	b, _ := json.Marshal(Body{DeviceID: "d", IP: "10.0.0.1", Server: "vid-1", Service: "s1", PID: "42",
		RTMP: []string{"1935"}, HTTP: []string{"8080"}, API: []string{"1985"}, SRT: []string{"10080"}})
	want := `{"device_id":"d","ip":"10.0.0.1","server":"vid-1","service":"s1","pid":"42","rtmp":["1935"],"http":["8080"],"api":["1985"],"srt":["10080"]}`
	if string(b) != want {
		t.Fatalf("got  %s\nwant %s", b, want)
	}
}

func TestReporter(t *testing.T) {
	var mu sync.Mutex
	var got []Body
	code := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b Body
		data, _ := io.ReadAll(r.Body)
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" || json.Unmarshal(data, &b) != nil {
			http.Error(w, "bad", 400)
			return
		}
		mu.Lock()
		got = append(got, b)
		c := code
		mu.Unlock()
		json.NewEncoder(w).Encode(map[string]any{"code": c, "pid": "1"})
	}))
	defer srv.Close()
	r := New(Config{URL: srv.URL + "/api/v1/srs/register", Interval: 50 * time.Millisecond},
		func() Body {
			return Body{DeviceID: "d", IP: "1.2.3.4", Server: "s", Service: "v", PID: "1", RTMP: []string{"1935"}}
		}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	// Beats every 50 ms: at least 3 within a generous deadline (a loaded
	// machine delays timers), and never a burst.
	start := time.Now()
	var n int
	var first Body
	for {
		mu.Lock()
		n = len(got)
		if n > 0 {
			first = got[0]
		}
		if n >= 3 {
			code = 1000 // refused from now on: counted as failures
		}
		mu.Unlock()
		if n >= 3 || time.Since(start) > 5*time.Second {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if el := time.Since(start); n < 3 || n > 3+int(el/(50*time.Millisecond)) || first.DeviceID != "d" || first.RTMP[0] != "1935" {
		t.Fatalf("%d beats in %v at 50 ms: %+v", n, el, first)
	}
	time.Sleep(120 * time.Millisecond)
	cancel()
	<-done
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.failing || r.failures < 1 {
		t.Fatalf("refusals not counted: failing %v failures %d", r.failing, r.failures)
	}
}
