package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/srs-lite/srs-lite/internal/ffmpeg"
	"github.com/srs-lite/srs-lite/internal/service/snapshot"
)

func TestSnapshot(t *testing.T) {
	var gotVhost, gotApp, gotStream string
	result := func() ([]byte, error) { return []byte{0xff, 0xd8, 0xff, 0xd9}, nil }
	f := newFixture(t, func(d *Deps) {
		d.Snapshot = func(_ context.Context, vhost, app, stream string) ([]byte, error) {
			gotVhost, gotApp, gotStream = vhost, app, stream
			return result()
		}
	})
	h := f.api.Handler()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/snapshot?app=live&stream=cam1&vhost=v", nil))
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "image/jpeg" || rec.Body.Len() != 4 ||
		rec.Header().Get("Content-Length") != "4" {
		t.Fatalf("status %d %v", rec.Code, rec.Header())
	}
	if gotVhost != "v" || gotApp != "live" || gotStream != "cam1" {
		t.Fatalf("asked %s %s %s", gotVhost, gotApp, gotStream)
	}
	for _, tc := range []struct {
		err    error
		status int
		code   float64
	}{
		{fmt.Errorf("%w: live/x", snapshot.ErrNotFound), 404, CodeStreamNotFound},
		{snapshot.ErrNoVideo, 404, CodeStreamNotFound},
		{snapshot.ErrCodec, 415, CodeUnsupported},
		{fmt.Errorf("%w (exec)", ffmpeg.ErrNotFound), 503, CodeNoFFmpeg},
		{snapshot.ErrTimeout, 504, CodeTimeout},
		{errors.New("boom"), 500, 500},
	} {
		result = func() ([]byte, error) { return nil, tc.err }
		rec, m := do(t, h, "GET", "/api/v1/snapshot?app=live&stream=x")
		if rec.Code != tc.status || m["code"] != tc.code || m["msg"] != tc.err.Error() {
			t.Errorf("%v: status %d, %v", tc.err, rec.Code, m)
		}
	}
	if rec, m := do(t, h, "GET", "/api/v1/snapshot?app=live"); rec.Code != 400 || m["code"] != float64(CodeBadRequest) {
		t.Errorf("no stream: %d %v", rec.Code, m)
	}
	g := newFixture(t, nil)
	if rec, _ := do(t, g.api.Handler(), "GET", "/api/v1/snapshot?app=live&stream=x"); rec.Code != 404 {
		t.Errorf("without Deps.Snapshot: %d", rec.Code)
	}
}

func TestCameraLists(t *testing.T) {
	f := newFixture(t, func(d *Deps) {
		d.Transcodes = func() any { return []map[string]any{{"name": "sd"}} }
		d.Devices = func() any { return []map[string]any{{"path": "/dev/video0"}} }
	})
	h := f.api.Handler()
	_, m := do(t, h, "GET", "/api/v1/transcodes")
	if get(t, m, "transcodes.0.name") != "sd" {
		t.Fatalf("transcodes %v", m)
	}
	_, m = do(t, h, "GET", "/api/v1/devices/")
	if get(t, m, "devices.0.path") != "/dev/video0" {
		t.Fatalf("devices %v", m)
	}
	g := newFixture(t, nil)
	_, m = do(t, g.api.Handler(), "GET", "/api/v1/devices")
	if l, ok := m["devices"].([]any); !ok || len(l) != 0 || m["code"] != float64(0) {
		t.Fatalf("no devices: %v", m)
	}
}
