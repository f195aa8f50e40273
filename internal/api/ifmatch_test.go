//go:build !tiny

package api

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/srs-lite/srs-lite/internal/config"
)

// TestIfMatch: GET /api/v1/config names the config in force with an ETag;
// a change sent with that ETag as If-Match applies while the config is
// the same, and is refused with 412 (nothing applied) once someone else
// changed it. Without If-Match a change applies as before.
func TestIfMatch(t *testing.T) {
	cur := config.Default()
	puts, edits := 0, 0
	f := newFixture(t, func(d *Deps) {
		d.Config = func() *config.Config { return cur }
		d.PutConfig = func(_ context.Context, data []byte, _ string) error {
			c, err := config.Parse("c.toml", data)
			if err == nil {
				puts++
				cur = c
			}
			return err
		}
		d.EditIngest = func(context.Context, string, *IngestEdit, bool, string) error {
			edits++
			c := *cur
			c.RTMP.ChunkSize++ // any change
			cur = &c
			return nil
		}
	})
	h := f.api.Handler()
	do := func(method, path, etag, body string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, path, strings.NewReader(body))
		r.RemoteAddr = "127.0.0.1:1"
		if etag != "" {
			r.Header.Set("If-Match", etag)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	e1 := do("GET", "/api/v1/config", "", "").Header().Get("ETag")
	if len(e1) != 26 || do("GET", "/api/v1/config?format=toml", "", "").Header().Get("ETag") != e1 {
		t.Fatalf("ETag %q, or another for the TOML form", e1)
	}
	if w := do("PUT", "/api/v1/config", e1, "[log]\nlevel = \"debug\"\n"); w.Code != 200 || puts != 1 {
		t.Fatalf("PUT with the current ETag: %d %s", w.Code, w.Body)
	}
	// A second client that read e1 before that change.
	w := do("PUT", "/api/v1/config", e1, "[log]\nlevel = \"warn\"\n")
	if w.Code != 412 || puts != 1 || cur.Log.Level != "debug" || !strings.Contains(w.Body.String(), "changed since it was read") {
		t.Fatalf("PUT with a stale ETag: %d %s (puts %d, level %s)", w.Code, w.Body, puts, cur.Log.Level)
	}
	e2 := w.Header().Get("ETag")
	if e2 == e1 || do("GET", "/api/v1/config", "", "").Header().Get("ETag") != e2 {
		t.Fatal("the 412 does not name the config in force")
	}
	body := `{"input":"rtsp://cam/1"}`
	if w := do("PUT", "/api/v1/ingests/cam", e1, body); w.Code != 412 || edits != 0 {
		t.Fatalf("ingest edit with a stale ETag: %d %s", w.Code, w.Body)
	}
	if w := do("DELETE", "/api/v1/ingests/cam", e1, ""); w.Code != 412 || edits != 0 {
		t.Fatalf("ingest delete with a stale ETag: %d %s", w.Code, w.Body)
	}
	if w := do("PUT", "/api/v1/ingests/cam", e2, body); w.Code != 200 || edits != 1 {
		t.Fatalf("ingest edit with the current ETag: %d %s", w.Code, w.Body)
	}
	if w := do("PUT", "/api/v1/ingests/cam", "", body); w.Code != 200 || edits != 2 {
		t.Fatalf("ingest edit without If-Match: %d %s", w.Code, w.Body)
	}
	if w := do(http.MethodPut, "/api/v1/config", "*", "[log]\nlevel = \"warn\"\n"); w.Code != 200 {
		t.Fatalf("If-Match: *: %d", w.Code)
	}
}
