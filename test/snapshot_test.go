package test

import (
	"bytes"
	"encoding/json"
	"image/jpeg"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"
)

// TestSnapshot: GET /api/v1/snapshot answers a JPEG of the stream's latest
// keyframe, 640x360 as the fixture; a hundred requests at once are served
// from one decode; an unknown stream is a 404 with a JSON error.
func TestSnapshot(t *testing.T) {
	needTools(t, "ffmpeg")
	t.Parallel()
	s, name := liveServer(t)
	get := func() (int, string, []byte) {
		resp, err := http.Get("http://" + s.api + "/api/v1/snapshot?app=live&stream=" + name)
		if err != nil {
			t.Error(err)
			return 0, "", nil
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Content-Type"), b
	}
	code, ctype, b := get()
	if code != http.StatusOK || ctype != "image/jpeg" {
		t.Fatalf("status %d %s: %s", code, ctype, b)
	}
	img, err := jpeg.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("not a JPEG: %v", err)
	}
	if r := img.Bounds(); r.Dx() != 640 || r.Dy() != 360 {
		t.Fatalf("picture %v", r)
	}
	start := time.Now()
	var wg sync.WaitGroup
	for range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if code, _, b := get(); code != http.StatusOK || len(b) < 1000 {
				t.Errorf("status %d, %d bytes", code, len(b))
			}
		}()
	}
	wg.Wait()
	t.Logf("100 snapshot requests in %v", time.Since(start))
	resp, err := http.Get("http://" + s.api + "/api/v1/snapshot?app=live&stream=nosuchstream")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var e struct {
		Code int    `json:"code"`
		Msg  string `json:"msg"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&e); err != nil || resp.StatusCode != 404 || e.Code != 2048 || e.Msg == "" {
		t.Fatalf("unknown stream: %d %+v %v", resp.StatusCode, e, err)
	}
}
