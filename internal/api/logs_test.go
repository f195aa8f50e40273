package api

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/srs-lite/srs-lite/internal/config"
)

func TestLogs(t *testing.T) {
	lines := []LogLine{
		{1, `time=2024-01-01T00:00:00Z level=INFO msg="server: serving" addr=:1935`},
		{2, `time=2024-01-01T00:00:01Z level=INFO msg="rtmp: publish" cid=abc123 proto=rtmp stream=/live/a`},
		{3, `time=2024-01-01T00:00:02Z level=WARN msg="rtmp: slow reader cid=zzz" cid=abc123`},
		{4, `{"time":"2024-01-01T00:00:03Z","level":"ERROR","msg":"srt: refused","cid":"def456"}`},
		{5, `time=2024-01-01T00:00:04Z level=DEBUG msg=tick cid="q u"`},
	}
	var asked []uint64
	f := newFixture(t, func(d *Deps) {
		d.Logs = func(since uint64) []LogLine {
			asked = append(asked, since)
			var out []LogLine
			for _, l := range lines {
				if l.Seq > since {
					out = append(out, l)
				}
			}
			return out
		}
	})
	h := f.api.Handler()
	seqs := func(m map[string]any) []uint64 {
		var out []uint64
		for _, l := range get(t, m, "data.lines").([]any) {
			out = append(out, uint64(l.(map[string]any)["seq"].(float64)))
		}
		return out
	}
	tests := []struct {
		q    string
		want []uint64
		next float64
	}{
		{"", []uint64{1, 2, 3, 4, 5}, 5},
		{"?since=2", []uint64{3, 4, 5}, 5},
		{"?since=5", nil, 5},
		{"?level=warn", []uint64{3, 4}, 5},
		{"?level=ERROR", []uint64{4}, 5},
		{"?cid=abc123", []uint64{2, 3}, 5},
		{"?cid=def456", []uint64{4}, 5},
		{"?cid=q+u", []uint64{5}, 5},
		{"?cid=zzz", nil, 5},
		{"?cid=abc123&level=warn&since=1", []uint64{3}, 5},
		{"?count=2", []uint64{4, 5}, 5},
	}
	for _, tt := range tests {
		w, m := do(t, h, http.MethodGet, "/api/v1/logs"+tt.q)
		if w.Code != 200 || m["code"] != 0.0 {
			t.Fatalf("%s: %d %s", tt.q, w.Code, w.Body)
		}
		if got := seqs(m); len(got) != len(tt.want) || (len(got) > 0 && (got[0] != tt.want[0] || got[len(got)-1] != tt.want[len(tt.want)-1])) {
			t.Errorf("%s: lines %v, want %v", tt.q, got, tt.want)
		}
		if get(t, m, "data.next") != tt.next {
			t.Errorf("%s: next %v", tt.q, get(t, m, "data.next"))
		}
	}
	_, m := do(t, h, http.MethodGet, "/api/v1/logs?since=3")
	if get(t, m, "data.lines.0.level") != "ERROR" || get(t, m, "data.lines.0.cid") != "def456" {
		t.Errorf("fields of a JSON line: %v", m)
	}
	if _, m := do(t, h, http.MethodGet, "/api/v1/logs?count=1"); get(t, m, "data.dropped") != 4.0 {
		t.Errorf("dropped: %v", m)
	}
	for _, q := range []string{"?since=x", "?level=loud", "?count=0", "?count=-1"} {
		if w, m := do(t, h, http.MethodGet, "/api/v1/logs"+q); w.Code != 400 || m["code"] != float64(CodeBadRequest) {
			t.Errorf("%s: %d %s", q, w.Code, w.Body)
		}
	}
	if w, _ := do(t, newFixture(t, nil).api.Handler(), http.MethodGet, "/api/v1/logs"); w.Code != 404 {
		t.Errorf("without Deps.Logs: %d", w.Code)
	}
}

func TestLogField(t *testing.T) {
	for _, tt := range []struct{ line, key, want string }{
		{`level=INFO msg=x cid=a1`, "cid", "a1"},
		{`level=INFO msg=x xcid=b cid=a1 y=2`, "cid", "a1"},
		{`level=INFO msg=x`, "cid", ""},
		{`level=INFO msg=x cid="a \"b\""`, "cid", `a "b"`},
		{`level=INFO msg=x cid="broken`, "cid", ""},
		{`{"level":"WARN+2","cid":"z"}`, "level", "WARN+2"},
		{`{"level":"WARN"}`, "cid", ""},
	} {
		if got := logField(tt.line, tt.key); got != tt.want {
			t.Errorf("logField(%q, %q) = %q, want %q", tt.line, tt.key, got, tt.want)
		}
	}
	if levelRank("WARN+2") != 2 || levelRank("x") != -1 {
		t.Error("levelRank")
	}
}

func TestConfigCheckAndLastGood(t *testing.T) {
	var checked, put []byte
	var good []byte
	f := newFixture(t, func(d *Deps) {
		d.CheckConfig = func(data []byte) error {
			checked = data
			_, err := config.Parse("srs-lite.toml", data)
			return err
		}
		d.PutConfig = func(_ context.Context, data []byte, _ string) error { put = data; return nil }
		d.LastGood = func() []byte { return good }
	})
	h := f.api.Handler()

	w, m := request(t, h, http.MethodPost, "/api/v1/config/check", "127.0.0.1:1", "", "[rtmp]\nchunk_size = 1\n")
	if w.Code != 400 || m["code"] != float64(CodeConfigInvalid) || get(t, m, "problems.0.line") != 2.0 ||
		get(t, m, "problems.0.key") != "rtmp.chunk_size" || !strings.Contains(m["msg"].(string), "srs-lite.toml:2: rtmp.chunk_size") {
		t.Fatalf("check invalid: %d %s", w.Code, w.Body)
	}
	if put != nil {
		t.Error("a check applied the config")
	}
	w, m = request(t, h, http.MethodPost, "/api/v1/config/check", "127.0.0.1:1", "", "[log]\nlevel = \"debug\"\n")
	if w.Code != 200 || m["code"] != 0.0 || string(checked) != "[log]\nlevel = \"debug\"\n" || put != nil {
		t.Fatalf("check valid: %d %s", w.Code, w.Body)
	}
	// A check is a POST: without credentials only loopback may send one
	// when the policy is the default (see access_test.go); here the
	// fixture has no Access, so it is open.

	// No last good config yet.
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		if w, _ := request(t, h, method, "/api/v1/config/last-good", "127.0.0.1:1", "", ""); w.Code != 404 {
			t.Errorf("%s last-good without one: %d %s", method, w.Code, w.Body)
		}
	}
	good = []byte("[srt]\npassphrase = \"0123456789ab\"\n[log]\nlevel = \"warn\"\n")
	w, _ = request(t, h, http.MethodGet, "/api/v1/config/last-good", "127.0.0.1:1", "", "")
	if w.Code != 200 || w.Header().Get("Content-Type") != "application/toml" || strings.Contains(w.Body.String(), "0123456789ab") ||
		!strings.Contains(w.Body.String(), config.Redacted) || !strings.Contains(w.Body.String(), `level = "warn"`) {
		t.Fatalf("GET last-good: %d %s", w.Code, w.Body)
	}
	w, m = request(t, h, http.MethodPost, "/api/v1/config/last-good", "127.0.0.1:1", "", "")
	if w.Code != 200 || m["code"] != 0.0 || string(put) != string(good) {
		t.Fatalf("POST last-good: %d %s, put %q", w.Code, w.Body, put)
	}

	g := newFixture(t, nil)
	for _, c := range []struct{ method, path string }{
		{http.MethodPost, "/api/v1/config/check"}, {http.MethodGet, "/api/v1/config/last-good"}, {http.MethodPost, "/api/v1/config/last-good"},
	} {
		if w, m := request(t, g.api.Handler(), c.method, c.path, "127.0.0.1:1", "", "x"); w.Code != 403 || m["code"] != float64(CodeRawDisabled) {
			t.Errorf("%s %s without deps: %d %s", c.method, c.path, w.Code, w.Body)
		}
	}
}
