package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/srs-lite/srs-lite/internal/media"
	"github.com/srs-lite/srs-lite/internal/session"
)

// fixture is a registry with one publishing stream and one player, and the
// matching client table.
type fixture struct {
	api     *API
	reg     *media.Registry
	tab     *session.Table
	stream  *media.Stream
	reader  *media.Reader
	pub     *session.Session
	player  *session.Session
	kicked  []string
	reloads int
}

func newFixture(t *testing.T, mod func(*Deps)) *fixture {
	t.Helper()
	f := &fixture{reg: media.NewRegistry(nil), tab: session.NewTable()}
	s, err := f.reg.Publish(media.Key{Vhost: defaultVhost, App: "live", Stream: "livestream"})
	if err != nil {
		t.Fatal(err)
	}
	f.stream = s
	f.reader = f.reg.Subscribe(media.Key{Vhost: defaultVhost, App: "live", Stream: "livestream"}, nil)
	t.Cleanup(func() {
		f.reader.Close()
		s.Unpublish()
	})
	s.SetVideoInfo(media.VideoInfo{Codec: media.CodecH264, Profile: "High", Level: "3.1", Width: 1280, Height: 720})
	s.SetAudioInfo(media.AudioInfo{Codec: media.CodecAAC, Profile: "LC", SampleRate: 44100, Channels: 2})
	for i, fr := range []struct {
		c  media.Codec
		fl media.Flags
	}{
		{media.CodecH264, media.FlagConfig | media.FlagKey},
		{media.CodecAAC, media.FlagConfig},
		{media.CodecH264, media.FlagKey},
		{media.CodecAAC, 0},
		{media.CodecH264, 0},
	} {
		b := media.GetBuf(10)
		m := media.Frame{DTS: time.Duration(i) * 20 * time.Millisecond, Codec: fr.c, Flags: fr.fl}
		m.PTS = m.DTS
		m.SetBuf(b, 0, 10)
		s.Write(&m)
	}

	f.pub = testSession("pub1", "10.0.0.1", "rtmp", "rtmp://host/live", -3*time.Second, "livestream", s.ID, session.Publisher)
	f.pub.BytesIn.Add(1000)
	f.pub.BytesOut.Add(10)
	f.pub.SetKick(func() { f.kicked = append(f.kicked, "pub1") })
	f.tab.Add(f.pub)
	f.player = testSession("play1", "10.0.0.2", "flv", "http://host/live/livestream.flv", -time.Second, "livestream", s.ID, session.Player)
	f.player.BytesIn.Add(5)
	f.player.BytesOut.Add(500)
	f.player.SetKick(func() { f.kicked = append(f.kicked, "play1") })
	f.tab.Add(f.player)

	d := Deps{Registry: f.reg, Clients: f.tab, Version: "v1.2.3", ServerID: "vid-test",
		Vhosts: func() any {
			return []map[string]any{{"id": defaultVhost, "name": defaultVhost, "enabled": true}}
		},
		Reload: func() error { f.reloads++; return nil },
	}
	if mod != nil {
		mod(&d)
	}
	a, err := New(d)
	if err != nil {
		t.Fatal(err)
	}
	f.api = a
	return f
}

// do serves one request and decodes the JSON answer.
func do(t *testing.T, h http.Handler, method, target string) (*httptest.ResponseRecorder, map[string]any) {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(method, target, nil))
	var m map[string]any
	if method != http.MethodOptions && method != http.MethodHead {
		if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil {
			t.Fatalf("%s %s: not JSON (%v): %q", method, target, err, w.Body.String())
		}
	}
	return w, m
}

// get walks a decoded JSON value: "a.b.0.c".
func get(t *testing.T, v any, path string) any {
	t.Helper()
	for _, k := range strings.Split(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = x[k]; !ok {
				t.Fatalf("%s: no key %q in %v", path, k, x)
			}
		case []any:
			i := 0
			for _, c := range k {
				i = i*10 + int(c-'0')
			}
			if i >= len(x) {
				t.Fatalf("%s: index %d of %d", path, i, len(x))
			}
			v = x[i]
		default:
			t.Fatalf("%s: cannot index %T with %q", path, v, k)
		}
	}
	return v
}

// check compares fields of a decoded answer; numbers are float64.
func check(t *testing.T, m map[string]any, want map[string]any) {
	t.Helper()
	for k, w := range want {
		if g := get(t, m, k); g != w {
			t.Errorf("%s = %#v, want %#v", k, g, w)
		}
	}
}

func TestNew(t *testing.T) {
	reg, tab := media.NewRegistry(nil), session.NewTable()
	tests := []struct {
		name string
		deps Deps
		err  error
	}{
		{"no registry", Deps{Clients: tab}, ErrNoRegistry},
		{"no clients", Deps{Registry: reg}, ErrNoClients},
		{"minimal", Deps{Registry: reg, Clients: tab}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := New(tt.deps)
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if err == nil && (!strings.HasPrefix(a.deps.ServerID, "vid-") || len(a.service) != 8) {
				t.Fatalf("server %q service %q", a.deps.ServerID, a.service)
			}
		})
	}
}

func TestEnvelope(t *testing.T) {
	f := newFixture(t, nil)
	h := f.api.Handler()
	for _, p := range []string{"/api/", "/api/v1", "/api/v1/", "/api/v1/versions", "/api/v1/summaries",
		"/api/v1/streams", "/api/v1/streams/", "/api/v1/clients", "/api/v1/clients/", "/api/v1/vhosts",
		"/api/v1/streams/" + f.stream.ID, "/api/v1/clients/pub1"} {
		t.Run(p, func(t *testing.T) {
			w, m := do(t, h, http.MethodGet, p)
			if w.Code != http.StatusOK {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("content type %q", ct)
			}
			check(t, m, map[string]any{"code": 0.0, "server": "vid-test", "service": f.api.service, "pid": f.api.pid})
		})
	}
}

func TestVersions(t *testing.T) {
	tests := []struct {
		in   string
		want versionData
	}{
		{"1.2.3", versionData{1, 2, 3, "1.2.3"}},
		{"v6.0.36", versionData{6, 0, 36, "6.0.36"}},
		{"0.1.0-dev+abc", versionData{0, 1, 0, "0.1.0-dev+abc"}},
		{"2.5", versionData{2, 5, 0, "2.5"}},
		{"dev", versionData{0, 0, 0, "dev"}},
		{"", versionData{}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if g := parseVersion(tt.in); g != tt.want {
				t.Fatalf("got %+v, want %+v", g, tt.want)
			}
		})
	}
	f := newFixture(t, nil)
	_, m := do(t, f.api.Handler(), http.MethodGet, "/api/v1/versions")
	check(t, m, map[string]any{"data.major": 1.0, "data.minor": 2.0, "data.revision": 3.0, "data.version": "1.2.3"})
}

func TestStreams(t *testing.T) {
	f := newFixture(t, nil)
	h := f.api.Handler()
	want := map[string]any{
		"id": f.stream.ID, "name": "livestream", "vhost": defaultVhost, "app": "live",
		"tcUrl": "rtmp://host/live", "url": "/live/livestream",
		"clients": 2.0, "frames": 5.0, "video_frames": 2.0, "audio_frames": 1.0,
		"recv_bytes": 1000.0, "send_bytes": 510.0,
		"kbps.recv_30s": 0.0, "kbps.send_30s": 0.0,
		"publish.active": true, "publish.cid": "pub1",
		"video.codec": "H264", "video.profile": "High", "video.level": "3.1",
		"video.width": 1280.0, "video.height": 720.0,
		"audio.codec": "AAC", "audio.sample_rate": 44100.0, "audio.channel": 2.0, "audio.profile": "LC",
	}
	t.Run("list", func(t *testing.T) {
		_, m := do(t, h, http.MethodGet, "/api/v1/streams")
		check(t, m, map[string]any{"total": 1.0})
		s := get(t, m, "streams.0").(map[string]any)
		check(t, s, want)
		if ms := get(t, s, "live_ms").(float64); ms < float64(time.Now().Add(-time.Minute).UnixMilli()) {
			t.Errorf("live_ms %v", ms)
		}
	})
	t.Run("one", func(t *testing.T) {
		_, m := do(t, h, http.MethodGet, "/api/v1/streams/"+f.stream.ID)
		check(t, get(t, m, "stream").(map[string]any), want)
	})
	t.Run("unknown", func(t *testing.T) {
		w, m := do(t, h, http.MethodGet, "/api/v1/streams/vid-nope")
		if w.Code != http.StatusNotFound {
			t.Fatalf("status %d", w.Code)
		}
		check(t, m, map[string]any{"code": float64(CodeStreamNotFound), "server": "vid-test"})
	})
	t.Run("no codecs, no publisher", func(t *testing.T) {
		rd := f.reg.Subscribe(media.Key{Vhost: "example.com", App: "app", Stream: "waiting"}, nil)
		defer rd.Close()
		s := f.reg.Lookup(media.Key{Vhost: "example.com", App: "app", Stream: "waiting"})
		_, m := do(t, h, http.MethodGet, "/api/v1/streams/"+s.ID)
		st := get(t, m, "stream").(map[string]any)
		check(t, st, map[string]any{"video": nil, "audio": nil, "publish.active": false,
			"clients": 1.0, "url": "example.com/app/waiting", "tcUrl": "", "recv_bytes": 0.0})
		if _, ok := get(t, st, "publish").(map[string]any)["cid"]; ok {
			t.Error("cid present without a publisher")
		}
	})
}

func TestStreamH265NoProfile(t *testing.T) {
	f := newFixture(t, nil)
	f.stream.SetVideoInfo(media.VideoInfo{Codec: media.CodecH265, Width: 640, Height: 360})
	_, m := do(t, f.api.Handler(), http.MethodGet, "/api/v1/streams/"+f.stream.ID)
	check(t, m, map[string]any{"stream.video.codec": "HEVC", "stream.video.profile": nil, "stream.video.level": nil})
}

func TestPaging(t *testing.T) {
	f := newFixture(t, nil)
	for _, n := range []string{"a", "b", "c"} {
		s, err := f.reg.Publish(media.Key{Vhost: defaultVhost, App: "page", Stream: n})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Unpublish()
	}
	h := f.api.Handler()
	tests := []struct {
		query  string
		status int
		names  []string
	}{
		{"", 200, []string{"livestream", "a", "b", "c"}},
		{"?start=1&count=2", 200, []string{"a", "b"}},
		{"?start=3", 200, []string{"c"}},
		{"?count=1", 200, []string{"livestream"}},
		{"?start=9", 200, []string{}},
		{"?count=0", 200, []string{"livestream", "a", "b", "c"}},
		{"?start=-1", 400, nil},
		{"?count=x", 400, nil},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			w, m := do(t, h, http.MethodGet, "/api/v1/streams"+tt.query)
			if w.Code != tt.status {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
			if tt.status != 200 {
				check(t, m, map[string]any{"code": float64(CodeBadRequest)})
				return
			}
			check(t, m, map[string]any{"total": 4.0})
			// Streams are ordered by key: live/livestream, then page/a, b, c.
			names := []string{}
			for _, s := range get(t, m, "streams").([]any) {
				names = append(names, s.(map[string]any)["name"].(string))
			}
			if g, w := strings.Join(names, ","), strings.Join(tt.names, ","); g != w {
				t.Fatalf("names %q, want %q", g, w)
			}
		})
	}
}

func TestClients(t *testing.T) {
	f := newFixture(t, nil)
	h := f.api.Handler()
	t.Run("list", func(t *testing.T) {
		_, m := do(t, h, http.MethodGet, "/api/v1/clients")
		check(t, m, map[string]any{"total": 2.0,
			"clients.0.id": "pub1", "clients.0.type": "fmle-publish", "clients.0.publish": true,
			"clients.0.ip": "10.0.0.1", "clients.0.vhost": defaultVhost, "clients.0.stream": f.stream.ID,
			"clients.0.name": "livestream", "clients.0.url": "/live/livestream", "clients.0.tcUrl": "rtmp://host/live",
			"clients.0.pageUrl": "", "clients.0.swfUrl": "",
			"clients.0.recv_bytes": 1000.0, "clients.0.send_bytes": 10.0,
			"clients.1.id": "play1", "clients.1.type": "flv-play", "clients.1.publish": false,
			"clients.1.send_bytes": 500.0, "clients.1.kbps.send_30s": 0.0, "clients.1.kbps.recv_30s": 0.0,
		})
		if a := get(t, m, "clients.0.alive").(float64); a < 2.9 || a > 60 {
			t.Errorf("alive %v", a)
		}
	})
	t.Run("page", func(t *testing.T) {
		_, m := do(t, h, http.MethodGet, "/api/v1/clients?start=1&count=1")
		check(t, m, map[string]any{"total": 2.0, "clients.0.id": "play1"})
		if n := len(get(t, m, "clients").([]any)); n != 1 {
			t.Fatalf("%d clients", n)
		}
	})
	t.Run("one", func(t *testing.T) {
		_, m := do(t, h, http.MethodGet, "/api/v1/clients/play1")
		check(t, m, map[string]any{"client.id": "play1", "client.ip": "10.0.0.2"})
	})
	t.Run("unknown", func(t *testing.T) {
		w, m := do(t, h, http.MethodGet, "/api/v1/clients/nope")
		if w.Code != http.StatusNotFound {
			t.Fatalf("status %d", w.Code)
		}
		check(t, m, map[string]any{"code": float64(CodeClientNotFound)})
	})
	t.Run("kick", func(t *testing.T) {
		w, m := do(t, h, http.MethodDelete, "/api/v1/clients/play1")
		if w.Code != http.StatusOK || len(f.kicked) != 1 || f.kicked[0] != "play1" {
			t.Fatalf("status %d kicked %v", w.Code, f.kicked)
		}
		check(t, m, map[string]any{"code": 0.0})
	})
	t.Run("kick unknown", func(t *testing.T) {
		w, m := do(t, h, http.MethodDelete, "/api/v1/clients/nope")
		if w.Code != http.StatusNotFound {
			t.Fatalf("status %d", w.Code)
		}
		check(t, m, map[string]any{"code": float64(CodeClientNotFound)})
	})
}

func TestClientType(t *testing.T) {
	tests := []struct {
		proto string
		pub   bool
		want  string
	}{
		{"rtmp", true, "fmle-publish"},
		{"rtmp", false, "rtmp-play"},
		{"flv", false, "flv-play"},
		{"hls", false, "hls-play"},
		{"rtc", true, "rtc-publish"},
		{"rtc", false, "rtc-play"},
		{"SRT", true, "srt-publish"},
		{"", false, "Unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if g := clientType(tt.proto, tt.pub); g != tt.want {
				t.Fatalf("got %q", g)
			}
		})
	}
}

func TestVhosts(t *testing.T) {
	f := newFixture(t, nil)
	_, m := do(t, f.api.Handler(), http.MethodGet, "/api/v1/vhosts")
	check(t, m, map[string]any{"vhosts.0.name": defaultVhost, "vhosts.0.enabled": true})

	f = newFixture(t, func(d *Deps) { d.Vhosts = nil })
	_, m = do(t, f.api.Handler(), http.MethodGet, "/api/v1/vhosts")
	if v := get(t, m, "vhosts").([]any); len(v) != 0 {
		t.Fatalf("vhosts %v", v)
	}
}

func TestReload(t *testing.T) {
	tests := []struct {
		name   string
		reload func() error
		method string
		query  string
		status int
		code   int
		msg    string
	}{
		{"post", func() error { return nil }, http.MethodPost, "?rpc=reload", 200, 0, ""},
		{"get", func() error { return nil }, http.MethodGet, "?rpc=reload", 200, 0, ""},
		{"failure", func() error { return errors.New("config: c.toml:3: bad value") }, http.MethodPost, "?rpc=reload",
			500, CodeRaw, "config: c.toml:3: bad value"},
		{"disabled", nil, http.MethodPost, "?rpc=reload", 403, CodeRawDisabled, "reload is disabled"},
		{"no rpc", func() error { return nil }, http.MethodPost, "", 400, CodeRaw, ""},
		{"other rpc", func() error { return nil }, http.MethodGet, "?rpc=update", 400, CodeRaw, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			f := newFixture(t, func(d *Deps) {
				d.Reload = nil
				if tt.reload != nil {
					d.Reload = func() error { calls++; return tt.reload() }
				}
			})
			w, m := do(t, f.api.Handler(), tt.method, "/api/v1/raw"+tt.query)
			if w.Code != tt.status {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
			check(t, m, map[string]any{"code": float64(tt.code)})
			if tt.msg != "" {
				check(t, m, map[string]any{"msg": tt.msg})
			}
			if wantCalls := map[bool]int{true: 1, false: 0}[tt.query == "?rpc=reload" && tt.reload != nil]; calls != wantCalls {
				t.Fatalf("reload called %d times", calls)
			}
		})
	}
}

func TestNotFoundAndMethods(t *testing.T) {
	f := newFixture(t, nil)
	h := f.api.Handler()
	tests := []struct {
		method, path string
		status, code int
		allow        string
	}{
		{http.MethodGet, "/api/v1/nope", 404, CodeNotFound, ""},
		{http.MethodGet, "/api/v2/streams", 404, CodeNotFound, ""},
		{http.MethodGet, "/api/v1/streams/a/b", 404, CodeNotFound, ""},
		{http.MethodPost, "/api/v1/versions", 405, CodeNotAllowed, "GET, OPTIONS"},
		{http.MethodPut, "/api/v1/clients/x", 405, CodeNotAllowed, "GET, DELETE, OPTIONS"},
		{http.MethodDelete, "/api/v1/streams/x", 405, CodeNotAllowed, "GET, OPTIONS"},
		{http.MethodDelete, "/api/v1/raw", 405, CodeNotAllowed, "GET, POST, OPTIONS"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			w, m := do(t, h, tt.method, tt.path)
			if w.Code != tt.status {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
			check(t, m, map[string]any{"code": float64(tt.code), "server": "vid-test"})
			if g := w.Header().Get("Allow"); g != tt.allow {
				t.Errorf("Allow %q, want %q", g, tt.allow)
			}
			if w.Header().Get("Access-Control-Allow-Origin") != "*" {
				t.Error("no CORS header on an error")
			}
		})
	}
}

func TestCORS(t *testing.T) {
	f := newFixture(t, func(d *Deps) { d.Auth = func(r *http.Request) bool { return r.Header.Get("Authorization") == "ok" } })
	srv := httptest.NewServer(f.api.Handler())
	defer srv.Close()

	req, _ := http.NewRequest(http.MethodOptions, srv.URL+"/api/v1/clients/pub1", nil)
	req.Header.Set("Origin", "http://console.example")
	req.Header.Set("Access-Control-Request-Method", "DELETE")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("preflight status %d", res.StatusCode)
	}
	for k, want := range map[string]string{
		"Access-Control-Allow-Origin":  "*",
		"Access-Control-Allow-Methods": corsMethods,
		"Access-Control-Allow-Headers": corsHeaders,
	} {
		if g := res.Header.Get(k); g != want {
			t.Errorf("%s = %q", k, g)
		}
	}

	t.Run("unauthorized", func(t *testing.T) {
		res, err := http.Get(srv.URL + "/api/v1/versions")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusUnauthorized || !strings.Contains(string(b), `"code":401`) ||
			res.Header.Get("Access-Control-Allow-Origin") != "*" {
			t.Fatalf("status %d body %s", res.StatusCode, b)
		}
	})
	t.Run("authorized", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/v1/versions", nil)
		req.Header.Set("Authorization", "ok")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK || res.Header.Get("Access-Control-Allow-Origin") != "*" {
			t.Fatalf("status %d", res.StatusCode)
		}
	})
}

func TestJSONP(t *testing.T) {
	f := newFixture(t, nil)
	h := f.api.Handler()
	tests := []struct {
		query, prefix, ct string
	}{
		{"?callback=jQuery_123", "jQuery_123({", "text/javascript"},
		{"?callback=alert(1)", "{", "application/json"},
		{"?callback=", "{", "application/json"},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/api/v1/versions"+tt.query, nil))
			if b := w.Body.String(); !strings.HasPrefix(b, tt.prefix) || w.Header().Get("Content-Type") != tt.ct {
				t.Fatalf("body %q type %q", b, w.Header().Get("Content-Type"))
			}
		})
	}
}

func TestSummaries(t *testing.T) {
	f := newFixture(t, nil)
	_, m := do(t, f.api.Handler(), http.MethodGet, "/api/v1/summaries")
	check(t, m, map[string]any{
		"data.self.version": "1.2.3", "data.self.pid": float64(os.Getpid()),
		"data.system.conn_srs": 2.0, "data.system.srs_recv_bytes": 1005.0, "data.system.srs_send_bytes": 510.0,
		"data.system.net_recv_bytes": 1005.0, "data.system.net_send_bytes": 510.0,
		"data.system.cpus": float64(runtime.NumCPU()),
	})
	for _, k := range []string{"data.ok", "data.now_ms", "data.self.ppid", "data.self.argv", "data.self.cwd",
		"data.self.mem_kbyte", "data.self.mem_percent", "data.self.cpu_percent", "data.self.srs_uptime",
		"data.system.cpu_percent", "data.system.disk_read_KBps", "data.system.disk_write_KBps",
		"data.system.disk_busy_percent", "data.system.mem_ram_kbyte", "data.system.mem_ram_percent",
		"data.system.load_1m", "data.system.load_5m", "data.system.load_15m", "data.system.uptime",
		"data.system.conn_sys"} {
		get(t, m, k)
	}
	if runtime.GOOS == "linux" {
		if get(t, m, "data.self.mem_kbyte").(float64) <= 0 || get(t, m, "data.system.mem_ram_kbyte").(float64) <= 0 {
			t.Errorf("no memory figures on linux: %v", m["data"])
		}
	}
}

// writeProc writes a fake procfs.
func writeProc(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestSummariesFakeProc(t *testing.T) {
	f := newFixture(t, func(d *Deps) { d.Start = time.Now().Add(-90 * time.Second) })
	dir := t.TempDir()
	f.api.proc = proc{root: dir}
	files := map[string]string{
		"self/stat":    "42 (srs lite) S 7 42 42 0 -1 4194560 100 0 0 0 100 50 0 0 20 0 8 0 1 1000 200\n",
		"self/status":  "Name:\tsrs-lite\nVmRSS:\t   10240 kB\n",
		"stat":         "cpu  1000 0 500 8000 500 0 0 0 0 0\ncpu0 1000 0 500 8000 500 0 0 0 0 0\n",
		"meminfo":      "MemTotal:  102400 kB\nMemFree: 20000 kB\nMemAvailable: 51200 kB\nSwapTotal: 1000 kB\nSwapFree: 750 kB\n",
		"loadavg":      "0.50 0.25 0.10 1/100 1234\n",
		"uptime":       "3600.50 7000.25\n",
		"net/sockstat": "sockets: used 10\nTCP: inuse 5 orphan 0 tw 2 alloc 7 mem 1\nUDP: inuse 3 mem 0\n",
		"diskstats":    "   8       0 sda 10 0 2000 5 20 0 4000 5 0 100 10\n   8       1 sda1 10 0 2000 5 20 0 4000 5 0 100 10\n   7       0 loop0 1 0 8 0 0 0 0 0 0 0 0\n",
	}
	writeProc(t, dir, files)
	t0 := time.Unix(1000, 0)
	f.api.sample(t0)
	// 10 s later: 250 more ticks of ours (25%), 2000 host ticks of which 1000 idle.
	files["self/stat"] = "42 (srs lite) S 7 42 42 0 -1 4194560 100 0 0 0 300 100 0 0 20 0 8 0 1 1000 200\n"
	files["stat"] = "cpu  1800 0 700 8800 700 0 0 0 0 0\n"
	files["diskstats"] = "   8       0 sda 10 0 4048 5 20 0 14240 5 0 5100 10\n   8       1 sda1 10 0 4048 5 20 0 14240 5 0 5100 10\n"
	writeProc(t, dir, files)
	f.api.sample(t0.Add(10 * time.Second))

	d := f.api.summary(time.Now())
	if !d.OK {
		t.Fatalf("not ok: %+v", d)
	}
	tests := []struct {
		name      string
		got, want any
	}{
		{"self cpu", d.Self.CPUPercent, 0.25},
		{"ppid", d.Self.PPID, 7},
		{"rss", d.Self.MemKbyte, uint64(10240)},
		{"mem percent", d.Self.MemPercent, 0.1},
		{"system cpu", d.System.CPUPercent, 0.5},
		{"ram", d.System.MemRAMKbyte, uint64(102400)},
		{"ram percent", d.System.MemRAMPercent, 0.5},
		{"swap percent", d.System.MemSwapPercent, 0.25},
		{"load", [3]float64{d.System.Load1m, d.System.Load5m, d.System.Load15m}, [3]float64{0.5, 0.25, 0.1}},
		{"uptime", d.System.Uptime, 3600.5},
		{"idle", d.System.IdleTime, 7000.25},
		{"sockets", [4]uint64{d.System.ConnSys, d.System.ConnSysET, d.System.ConnSysTW, d.System.ConnSysUDP}, [4]uint64{7, 5, 2, 3}},
		{"disk read", d.System.DiskReadKBps, int64(102)},   // 2048 sectors = 1024 KB in 10 s
		{"disk write", d.System.DiskWriteKBps, int64(512)}, // 10240 sectors
		{"disk busy", d.System.DiskBusyPercent, 0.5},       // 5000 ms of 10 s
		{"srs uptime", d.Self.SrsUptime >= 90, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Fatalf("got %v, want %v", tt.got, tt.want)
			}
		})
	}
}

func TestSummariesNoProc(t *testing.T) {
	f := newFixture(t, nil)
	f.api.proc = proc{root: filepath.Join(t.TempDir(), "missing")}
	f.api.sample(time.Now())
	f.api.sample(time.Now().Add(5 * time.Second))
	_, m := do(t, f.api.Handler(), http.MethodGet, "/api/v1/summaries")
	check(t, m, map[string]any{"data.ok": false, "data.self.cpu_percent": 0.0, "data.system.mem_ram_kbyte": 0.0,
		"data.system.conn_srs": 2.0, "data.self.version": "1.2.3"})
}

func TestSamplerKbps(t *testing.T) {
	f := newFixture(t, nil)
	h := f.api.Handler()
	t0 := time.Unix(5000, 0)
	f.api.sample(t0)
	// 5 s: the publisher sends 125000 bytes (200 kbps), the player gets 250000 (400 kbps).
	f.pub.BytesIn.Add(125000)
	f.player.BytesOut.Add(250000)
	f.api.sample(t0.Add(5 * time.Second))

	_, m := do(t, h, http.MethodGet, "/api/v1/clients")
	check(t, m, map[string]any{"clients.0.kbps.recv_30s": 200.0, "clients.1.kbps.send_30s": 400.0})
	_, m = do(t, h, http.MethodGet, "/api/v1/streams/"+f.stream.ID)
	check(t, m, map[string]any{"stream.kbps.recv_30s": 200.0, "stream.kbps.send_30s": 400.0,
		"stream.recv_bytes": 126000.0, "stream.send_bytes": 250510.0})

	// The player leaves: its bytes stay with the stream, so the counters
	// never go back and the rate does not drop to zero.
	f.tab.Remove(f.player)
	f.api.sample(t0.Add(10 * time.Second))
	_, m = do(t, h, http.MethodGet, "/api/v1/streams/"+f.stream.ID)
	check(t, m, map[string]any{"stream.send_bytes": 250510.0, "stream.kbps.send_30s": 200.0})

	// Samples older than the window roll out: 7 more idle periods leave no rate.
	for i := 3; i < 10; i++ {
		f.api.sample(t0.Add(time.Duration(i) * sampleEvery))
	}
	_, m = do(t, h, http.MethodGet, "/api/v1/streams/"+f.stream.ID)
	check(t, m, map[string]any{"stream.kbps.recv_30s": 0.0, "stream.kbps.send_30s": 0.0})
	f.api.mu.Lock()
	n := len(f.api.clientMeters)
	f.api.mu.Unlock()
	if n != 1 {
		t.Fatalf("%d client meters, want 1", n)
	}
}

func TestSamplerDropsStreams(t *testing.T) {
	f := newFixture(t, nil)
	s, err := f.reg.Publish(media.Key{Vhost: defaultVhost, App: "live", Stream: "gone"})
	if err != nil {
		t.Fatal(err)
	}
	c := testSession("c9", "", "rtmp", "", 0, "gone", s.ID, session.Publisher)
	c.BytesIn.Add(99)
	f.tab.Add(c)
	f.api.sample(time.Unix(1, 0))
	f.tab.Remove(c)
	f.api.sample(time.Unix(6, 0))
	f.api.mu.Lock()
	if f.api.closedIn[s.ID] != 99 {
		t.Errorf("closed in %d", f.api.closedIn[s.ID])
	}
	f.api.mu.Unlock()
	s.Unpublish() // no readers: the registry frees it
	f.api.sample(time.Unix(11, 0))
	f.api.mu.Lock()
	defer f.api.mu.Unlock()
	if _, ok := f.api.streamMeters[s.ID]; ok || len(f.api.closedIn) != 0 {
		t.Fatalf("stale entries: meters %v closed %v", f.api.streamMeters, f.api.closedIn)
	}
}

func TestMeter(t *testing.T) {
	var m meter
	t0 := time.Unix(0, 0)
	if r, s := m.kbps(); r != 0 || s != 0 {
		t.Fatal("empty meter has a rate")
	}
	m.add(t0, 100, 100)
	m.add(t0.Add(time.Second), 50, 1100) // in went back: a reset
	if r, s := m.kbps(); r != 0 || s != 8 {
		t.Fatalf("rates %d %d", r, s)
	}
	var nilm *meter
	if r, s := nilm.kbps(); r != 0 || s != 0 {
		t.Fatal("nil meter has a rate")
	}
}

func TestRun(t *testing.T) {
	f := newFixture(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.api.Run(ctx) }()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Run did not return")
	}
}

// testSession is a session of defaultVhost/live/name that started ago.
func testSession(id, ip, proto, url string, ago time.Duration, name, streamID string, role session.Role) *session.Session {
	c := session.New(id, proto, ip)
	c.Start = time.Now().Add(ago)
	c.SetURL(url, "")
	c.SetStream(media.Key{Vhost: defaultVhost, App: "live", Stream: name}, role)
	c.SetStreamID(streamID)
	return c
}
