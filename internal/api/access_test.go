package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/srs-lite/srs-lite/internal/config"
	"github.com/srs-lite/srs-lite/internal/config/txn"
	"github.com/srs-lite/srs-lite/internal/device/ptz"
	"github.com/srs-lite/srs-lite/internal/media"
	"github.com/srs-lite/srs-lite/internal/session"
)

// request serves one request from remote with an optional body and
// Authorization header.
func request(t *testing.T, h http.Handler, method, target, remote, authz, body string) (*httptest.ResponseRecorder, map[string]any) {
	t.Helper()
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	r.RemoteAddr = remote
	if authz != "" {
		r.Header.Set("Authorization", authz)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	var m map[string]any
	if strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil {
			t.Fatalf("%s %s: not JSON: %q", method, target, w.Body.String())
		}
	}
	return w, m
}

func basic(user, pass string) string {
	r, _ := http.NewRequest("GET", "/", nil)
	r.SetBasicAuth(user, pass)
	return r.Header.Get("Authorization")
}

// okDeps gives every write endpoint a working implementation.
func okDeps(d *Deps) {
	d.Config = config.Default
	d.PutConfig = func(context.Context, []byte, string) error { return nil }
	d.PTZ = func(context.Context, string, ptz.Command) error { return nil }
}

func TestAccess(t *testing.T) {
	const (
		remote = "192.0.2.7:5000"
		lo4    = "127.0.0.1:5000"
		lo6    = "[::1]:5000"
		mapped = "[::ffff:127.0.0.1]:5000"
	)
	creds := Access{Username: "admin", Password: "s3cret-pass", Token: "tok-0123456789"}
	type req struct {
		method, path, remote, authz string
		status                      int
	}
	writes := []struct{ method, path, body string }{
		{http.MethodDelete, "/api/v1/clients/play1", ""},
		{http.MethodPost, "/api/v1/raw?rpc=reload", ""},
		{http.MethodGet, "/api/v1/raw?rpc=reload", ""},
		{http.MethodPut, "/api/v1/config", "[log]\n"},
		{http.MethodGet, "/api/v1/config", ""},
		{http.MethodPost, "/api/v1/ptz/cam", `{"action":"stop"}`},
	}
	tests := []struct {
		name   string
		access *Access
		remote string
		authz  string
		write  int // status of every write endpoint
		read   int // status of GET /api/v1/streams
	}{
		{"no policy", nil, remote, "", 200, 200},
		{"no credentials, remote", &Access{}, remote, "", 401, 200},
		{"no credentials, loopback v4", &Access{}, lo4, "", 200, 200},
		{"no credentials, loopback v6", &Access{}, lo6, "", 200, 200},
		{"no credentials, loopback mapped", &Access{}, mapped, "", 200, 200},
		{"no credentials, 127.1.2.3", &Access{}, "127.1.2.3:1", "", 200, 200},
		{"credentials, none given, loopback", &creds, lo4, "", 401, 200},
		{"credentials, none given, remote", &creds, remote, "", 401, 200},
		{"basic ok", &creds, remote, basic("admin", "s3cret-pass"), 200, 200},
		{"basic wrong password", &creds, remote, basic("admin", "s3cret-pasS"), 401, 200},
		{"basic wrong user", &creds, remote, basic("root", "s3cret-pass"), 401, 200},
		{"basic password prefix", &creds, remote, basic("admin", "s3cret"), 401, 200},
		{"bearer ok", &creds, remote, "Bearer tok-0123456789", 200, 200},
		{"bearer lower-case scheme", &creds, remote, "bearer tok-0123456789", 200, 200},
		{"bearer wrong", &creds, remote, "Bearer tok-012345678", 401, 200},
		{"token as basic password", &creds, remote, basic("admin", "tok-0123456789"), 401, 200},
		{"read guarded", &Access{Token: "tok-0123456789", Read: true}, remote, "", 401, 401},
		{"read guarded, ok", &Access{Token: "tok-0123456789", Read: true}, remote, "Bearer tok-0123456789", 200, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, func(d *Deps) {
				okDeps(d)
				if tt.access != nil {
					a := *tt.access
					d.Access = func() Access { return a }
				}
			})
			h := f.api.Handler()
			for _, wr := range writes {
				w, m := request(t, h, wr.method, wr.path, tt.remote, tt.authz, wr.body)
				want := tt.write
				if wr.method == http.MethodDelete && want == 200 {
					f.tab.Add(f.player) // kicked: put it back
				}
				if w.Code != want {
					t.Errorf("%s %s: status %d, want %d: %s", wr.method, wr.path, w.Code, want, w.Body)
					continue
				}
				if want == 401 {
					checkUnauthorized(t, w, m, tt.access)
				}
			}
			w, _ := request(t, h, http.MethodGet, "/api/v1/streams", tt.remote, tt.authz, "")
			if w.Code != tt.read {
				t.Errorf("read: status %d, want %d", w.Code, tt.read)
			}
			// Preflights are never refused.
			if w, _ := request(t, h, http.MethodOptions, "/api/v1/config", tt.remote, "", ""); w.Code != 200 {
				t.Errorf("OPTIONS: %d", w.Code)
			}
		})
	}
}

func checkUnauthorized(t *testing.T, w *httptest.ResponseRecorder, m map[string]any, acc *Access) {
	t.Helper()
	if m["code"] != float64(CodeUnauthorized) || m["msg"] == "" {
		t.Errorf("401 body: %v", m)
	}
	ch := w.Header().Values("WWW-Authenticate")
	if len(ch) == 0 {
		t.Errorf("401 without WWW-Authenticate")
	}
	msg, _ := m["msg"].(string)
	if !acc.configured() && !strings.Contains(msg, "[http_api.auth]") {
		t.Errorf("message does not say what to set: %q", msg)
	}
	if acc.Token != "" && !strings.Contains(strings.Join(ch, ","), "Bearer") {
		t.Errorf("challenges %v lack Bearer", ch)
	}
}

func TestConfigEndpoints(t *testing.T) {
	var got []byte
	var origin string
	putErr := error(nil)
	f := newFixture(t, func(d *Deps) {
		d.Config = func() *config.Config {
			c := config.Default()
			c.HTTPAPI.Auth = config.Auth{Username: "admin", Password: "s3cret-pass", Token: "tok-0123456789"}
			c.SRT.Passphrase = "0123456789ab"
			return c
		}
		d.PutConfig = func(_ context.Context, data []byte, o string) error {
			got, origin = data, o
			return putErr
		}
	})
	h := f.api.Handler()

	w, m := request(t, h, http.MethodGet, "/api/v1/config", "127.0.0.1:1", "", "")
	if w.Code != 200 || get(t, m, "data.config.http_api.auth.password") != config.Redacted ||
		get(t, m, "data.config.http_api.auth.token") != config.Redacted ||
		get(t, m, "data.config.srt.passphrase") != config.Redacted ||
		get(t, m, "data.config.http_api.auth.username") != "admin" ||
		get(t, m, "data.config.rtmp.chunk_size") != 60000.0 {
		t.Fatalf("GET config: %d %s", w.Code, w.Body)
	}
	w, _ = request(t, h, http.MethodGet, "/api/v1/config?format=toml", "127.0.0.1:1", "", "")
	if w.Code != 200 || w.Header().Get("Content-Type") != "application/toml" ||
		!strings.Contains(w.Body.String(), `password = "(redacted)"`) || strings.Contains(w.Body.String(), "s3cret") {
		t.Fatalf("GET config toml: %d %s", w.Code, w.Body)
	}

	_, perr := config.Parse("c.toml", []byte("[rtmp]\nchunk_size = 1\n"))
	tests := []struct {
		name   string
		err    error
		body   string
		status int
		code   int
		msg    string
	}{
		{"ok", nil, "[log]\nlevel = \"debug\"\n", 200, 0, ""},
		{"invalid", perr, "[rtmp]\nchunk_size = 1\n", 400, CodeConfigInvalid, "rtmp.chunk_size"},
		{"invalid other", fmt.Errorf("%w: server.board: no profile", config.ErrInvalid), "x", 400, CodeConfigInvalid, "no profile"},
		{"rolled back", &txn.RollbackError{Stage: "health", Err: errors.New("api does not answer")}, "x", 500, CodeRaw, "rolled back"},
		{"busy", txn.ErrBusy, "x", 409, 409, "in progress"},
		{"no file", txn.ErrNoFile, "x", 409, CodeRawDisabled, "no -c FILE"},
		{"write", errors.New("disk full"), "x", 500, CodeRaw, "disk full"},
		{"too large", nil, strings.Repeat("#", config.MaxFileSize+1), 413, 413, "larger"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			putErr, got = tt.err, nil
			w, m := request(t, h, http.MethodPut, "/api/v1/config", "127.0.0.1:9", "", tt.body)
			if w.Code != tt.status || m["code"] != float64(tt.code) {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
			if tt.msg != "" && !strings.Contains(m["msg"].(string), tt.msg) {
				t.Errorf("msg %q lacks %q", m["msg"], tt.msg)
			}
			if tt.status == 413 {
				if got != nil {
					t.Error("an oversized body reached PutConfig")
				}
				return
			}
			if string(got) != tt.body || origin != "127.0.0.1:9" {
				t.Errorf("PutConfig got %q from %q", got, origin)
			}
			if tt.name == "ok" && len(get(t, m, "data.sha256").(string)) != 64 {
				t.Errorf("no sha256: %v", m)
			}
			if tt.name == "invalid" {
				if ps := get(t, m, "problems").([]any); len(ps) != 1 || get(t, m, "problems.0.key") != "rtmp.chunk_size" ||
					get(t, m, "problems.0.line") != 2.0 {
					t.Errorf("problems %v", ps)
				}
			}
		})
	}

	g := newFixture(t, nil)
	for _, method := range []string{http.MethodGet, http.MethodPut} {
		if w, m := request(t, g.api.Handler(), method, "/api/v1/config", "127.0.0.1:1", "", "x"); w.Code != 403 || m["code"] != float64(CodeRawDisabled) {
			t.Errorf("%s without deps: %d %s", method, w.Code, w.Body)
		}
	}
}

func TestPTZEndpoint(t *testing.T) {
	var calls []string
	f := newFixture(t, func(d *Deps) {
		d.PTZ = func(_ context.Context, name string, c ptz.Command) error {
			calls = append(calls, fmt.Sprintf("%s:%s:%d:%d", name, c.Action, c.Speed, c.Preset))
			switch name {
			case "missing":
				return fmt.Errorf("%w %q", ptz.ErrNoDevice, name)
			case "unplugged":
				return errors.New("ptz: unplugged: open /dev/ttyUSB0: no such file")
			}
			return nil
		}
	})
	h := f.api.Handler()
	tests := []struct {
		name, body string
		status     int
		call       string
	}{
		{"cam", `{"action":"pan_left","speed":20}`, 200, "cam:pan_left:20:0"},
		{"cam", `{"action":"preset_go","preset":3}`, 200, "cam:preset_go:0:3"},
		{"cam", `{"action":"fly"}`, 400, ""},
		{"cam", `{"action":"stop","x":1}`, 400, ""},
		{"cam", `not json`, 400, ""},
		{"cam", strings.Repeat(" ", ptz.MaxCommandSize+1), 400, ""},
		{"missing", `{"action":"stop"}`, 404, "missing:stop:0:0"},
		{"unplugged", `{"action":"stop"}`, 502, "unplugged:stop:0:0"},
	}
	for _, tt := range tests {
		calls = nil
		w, m := request(t, h, http.MethodPost, "/api/v1/ptz/"+tt.name, "127.0.0.1:1", "", tt.body)
		if w.Code != tt.status || (tt.status == 200) != (m["code"] == 0.0) {
			t.Errorf("%s %s: %d %s", tt.name, tt.body, w.Code, w.Body)
		}
		if strings.Join(calls, ",") != tt.call {
			t.Errorf("%s %s: calls %v", tt.name, tt.body, calls)
		}
	}
	if w, _ := request(t, h, http.MethodGet, "/api/v1/ptz/cam", "127.0.0.1:1", "", ""); w.Code != 405 {
		t.Errorf("GET ptz: %d", w.Code)
	}
	g := newFixture(t, nil)
	if w, _ := request(t, g.api.Handler(), http.MethodPost, "/api/v1/ptz/cam", "127.0.0.1:1", "", `{"action":"stop"}`); w.Code != 404 {
		t.Errorf("no PTZ: %d", w.Code)
	}
}

func TestSummariesBoard(t *testing.T) {
	f := newFixture(t, func(d *Deps) {
		d.Board = func() any { return map[string]any{"name": "rpi", "max_connections": 300} }
	})
	_, m := do(t, f.api.Handler(), http.MethodGet, "/api/v1/summaries")
	check(t, m, map[string]any{"data.board.name": "rpi", "data.board.max_connections": 300.0})
	g := newFixture(t, nil)
	_, m = do(t, g.api.Handler(), http.MethodGet, "/api/v1/summaries")
	if _, ok := m["data"].(map[string]any)["board"]; ok {
		t.Error("board without Deps.Board")
	}
}

// FuzzPTZRequest: any body POSTed to the PTZ endpoint gets a JSON answer,
// 200 only for a command that encodes, and never a panic.
func FuzzPTZRequest(f *testing.F) {
	f.Add([]byte(`{"action":"tilt_down","speed":63}`))
	a, err := New(Deps{Registry: media.NewRegistry(nil), Clients: session.NewTable(),
		PTZ: func(_ context.Context, _ string, c ptz.Command) error {
			_, err := ptz.EncodePelcoD(1, c)
			return err
		}})
	if err != nil {
		f.Fatal(err)
	}
	h := a.Handler()
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest(http.MethodPost, "/api/v1/ptz/cam", bytes.NewReader(body))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		var m map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil {
			t.Fatalf("not JSON: %q", w.Body)
		}
		if (w.Code == 200) != (m["code"] == 0.0) || w.Code == 500 {
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
	})
}
