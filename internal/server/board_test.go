package server

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/srs-lite/srs-lite/internal/config"
	"github.com/srs-lite/srs-lite/internal/device/board"
	"github.com/srs-lite/srs-lite/internal/device/ptz"
	"github.com/srs-lite/srs-lite/internal/media"
)

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

// TestWithBoard: keys the file sets win over the profile, which wins over
// the built-in defaults.
func TestWithBoard(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "srs-lite.toml")
	s := &Server{log: quiet()}
	tests := []struct {
		name  string
		file  string
		check func(t *testing.T, c *config.Config, bi *boardInfo)
	}{
		{"profile fills what the file leaves out", `[server]
board = "router-64m-mips"
[[vhost]]
name = "a.example"
ring_frames = 1024
`, func(t *testing.T, c *config.Config, bi *boardInfo) {
			if c.Server.MaxConnections != 24 || c.Server.GCPercent != 50 || c.Server.MemoryLimit != 20<<20 {
				t.Errorf("server %+v", c.Server)
			}
			a, d := c.Vhost("a.example"), c.Vhost(media.DefaultVhost)
			if a.RingFrames != 1024 || a.GOPCacheMaxFrames != 200 || d.RingFrames != 256 || d.GOPCacheMaxFrames != 200 {
				t.Errorf("vhosts %d/%d %d/%d", a.RingFrames, a.GOPCacheMaxFrames, d.RingFrames, d.GOPCacheMaxFrames)
			}
			if strings.Join(bi.kept, ",") != "vhost[0].ring_frames" || bi.profile.Detected {
				t.Errorf("kept %v", bi.kept)
			}
			if len(c.Serials) != 0 {
				t.Errorf("serials %v", c.Serials)
			}
		}},
		{"the file wins", `[server]
board = "router-128m"
max_connections = 7
memory_limit = "1GiB"
gc_percent = 200
[log]
level = "debug"
[[serial]]
name = "ptz"
device = "/dev/ttyS3"
address = 9
`, func(t *testing.T, c *config.Config, bi *boardInfo) {
			if c.Server.MaxConnections != 7 || c.Server.GCPercent != 200 || c.Server.MemoryLimit != 1<<30 {
				t.Errorf("server %+v", c.Server)
			}
			if len(c.Serials) != 1 || c.Serials[0].Device != "/dev/ttyS3" {
				t.Errorf("serials %+v", c.Serials)
			}
			if !strings.Contains(strings.Join(bi.kept, ","), "serial ptz") {
				t.Errorf("kept %v", bi.kept)
			}
		}},
		{"board serial ports join the file's", `[server]
board = "rpi"
[[serial]]
name = "other"
device = "/dev/ttyS3"
address = 9
`, func(t *testing.T, c *config.Config, bi *boardInfo) {
			if len(c.Serials) != 2 || c.Serials[1].Name != "ptz" || c.Serials[1].Device != "/dev/serial0" {
				t.Errorf("serials %+v", c.Serials)
			}
		}},
		{"detected: sizes only", `[log]
level = "info"
`, func(t *testing.T, c *config.Config, bi *boardInfo) {
			if !bi.profile.Detected || len(c.Serials) != 0 {
				t.Errorf("detected %v serials %v", bi.profile.Detected, c.Serials)
			}
			want := board.Detect(bi.memory.Total, runtime.GOARCH)
			if c.Server.MaxConnections != want.MaxConnections {
				t.Errorf("max_connections %d, want %d", c.Server.MaxConnections, want.MaxConnections)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := config.Parse(path, []byte(tt.file))
			if err != nil {
				t.Fatal(err)
			}
			n, bi, err := s.withBoard(c)
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, n, bi)
			if c.Server.MaxConnections != config.Default().Server.MaxConnections && !c.Defined("server.max_connections") {
				t.Error("withBoard changed its input")
			}
		})
	}

	// A profile beside the config file; an unknown one; one that makes the
	// config invalid.
	os.MkdirAll(filepath.Join(dir, "board"), 0o755)
	data, _ := os.ReadFile("../../board/rpi.toml")
	os.WriteFile(filepath.Join(dir, "board", "mine.toml"), []byte(strings.Replace(string(data), `name = "rpi"`, `name = "mine"`, 1)), 0o644)
	bad := strings.Replace(string(data), `device = "/dev/serial0"`, `device = "/dev/serial0"`+"\nbaud = 1234", 1)
	os.WriteFile(filepath.Join(dir, "board", "bad.toml"), []byte(bad), 0o644)
	for _, tt := range []struct{ name, err string }{{"mine", ""}, {"nope", "no such profile"}, {"bad", "serial.baud"}} {
		c, err := config.Parse(path, []byte("[server]\nboard = \""+tt.name+"\"\n"))
		if err != nil {
			t.Fatal(err)
		}
		_, bi, err := s.withBoard(c)
		if tt.err == "" {
			if err != nil || bi.profile.Name != "mine" {
				t.Errorf("%s: %v", tt.name, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.err) || !errors.Is(err, config.ErrInvalid) {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
}

func TestCheckBoard(t *testing.T) {
	for in, ok := range map[string]bool{"": true, "[server]\nboard = \"rpi\"\n": true, "[server]\nboard = \"nope\"\n": false} {
		c, err := config.Parse("c.toml", []byte(in))
		if err != nil {
			t.Fatal(err)
		}
		if err := CheckBoard(c); (err == nil) != ok {
			t.Errorf("%q: %v", in, err)
		}
	}
}

func TestBoardAppliedAndView(t *testing.T) {
	oldLimit, oldGC := debug.SetMemoryLimit(-1), debug.SetGCPercent(100)
	defer func() { debug.SetMemoryLimit(oldLimit); debug.SetGCPercent(oldGC) }()
	t.Setenv("GOMEMLIMIT", "")
	t.Setenv("GOGC", "")
	s := &Server{log: quiet()}
	if s.boardView() != nil {
		t.Fatal("a view before any board")
	}
	c, _ := config.Parse("c.toml", []byte("[server]\nboard = \"router-128m\"\nmemory_limit = \"96MiB\"\n"))
	n, bi, err := s.withBoard(c)
	if err != nil {
		t.Fatal(err)
	}
	s.cfg.Store(n)
	s.boardApplied(n, bi)
	if debug.SetMemoryLimit(-1) != 96<<20 || debug.SetGCPercent(75) != 75 {
		t.Error("memory limit or GC percent not applied")
	}
	v := s.boardView().(map[string]any)
	if v["name"] != "router-128m" || v["memory_limit"] != int64(96<<20) || v["gc_percent"] != 75 ||
		v["max_connections"] != 100 || v["ring_frames"] != 512 || v["memory_limit_profile"] != "40%" {
		t.Fatalf("view %v", v)
	}
	if a := s.apiAccess(); a.Username != "" || a.Read {
		t.Errorf("access %+v", a)
	}
}

func TestPTZReload(t *testing.T) {
	var none *ptzComponent
	if err := none.command(context.Background(), "x", ptz.Command{Action: ptz.Stop}); !errors.Is(err, ptz.ErrNoDevice) {
		t.Fatalf("no component: %v", err)
	}
	comp, _ := newPTZ(&Server{log: quiet()})
	c := comp.(*ptzComponent)
	defer c.close(context.Background())
	cfg := config.Default()
	cfg.Serials = []config.Serial{{Name: "p", Device: "/nonexistent/tty", Address: 1}}
	if err := c.start(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	err := c.command(context.Background(), "p", ptz.Command{Action: ptz.Stop})
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/tty") {
		t.Fatalf("missing port: %v", err)
	}
	if err := c.reload(cfg, config.Default(), config.SectionSerial); err != nil {
		t.Fatal(err)
	}
	if err := c.command(context.Background(), "p", ptz.Command{Action: ptz.Stop}); !errors.Is(err, ptz.ErrNoDevice) {
		t.Fatalf("removed port: %v", err)
	}
}

func TestSelfCheck(t *testing.T) {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer 0123456789" {
			w.WriteHeader(401)
			return
		}
		w.Write([]byte(`{"code":0}`))
	}))
	defer api.Close()
	health := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/ok" {
			http.NotFound(w, r)
		}
	}))
	defer health.Close()
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	rtmpAddr := ln.Addr().String()
	ln.Close() // nothing listens there any more

	s := &Server{log: quiet(), addrs: map[string]string{"http_api": strings.TrimPrefix(api.URL, "http://")}}
	c := config.Default()
	c.HTTPAPI.Auth.Token = "0123456789"
	s.cfg.Store(c)
	ctx := context.Background()
	if err := s.selfCheck(ctx); err != nil {
		t.Fatalf("healthy: %v", err)
	}
	c2 := c.Clone()
	c2.HTTPAPI.Auth.Token = "wrong-token"
	s.cfg.Store(c2)
	if err := s.selfCheck(ctx); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("API refuses: %v", err)
	}
	c3 := c.Clone()
	c3.OTA.HealthURL = health.URL + "/missing"
	s.cfg.Store(c3)
	if err := s.selfCheck(ctx); err == nil || !strings.Contains(err.Error(), "health_url") {
		t.Errorf("health_url 404: %v", err)
	}
	c3.OTA.HealthURL = health.URL + "/ok"
	if err := s.selfCheck(ctx); err != nil {
		t.Errorf("health_url ok: %v", err)
	}
	s.addrs["rtmp"] = rtmpAddr
	if err := s.selfCheck(ctx); err == nil || !strings.Contains(err.Error(), "rtmp listener") {
		t.Errorf("closed listener: %v", err)
	}
	for in, want := range map[string]string{"0.0.0.0:1935": "127.0.0.1:1935", "[::]:1935": "[::1]:1935",
		":80": "127.0.0.1:80", "10.0.0.1:5": "10.0.0.1:5", "bad": "bad"} {
		if got := loopbackAddr(in); got != want {
			t.Errorf("loopbackAddr(%q) = %q", in, got)
		}
	}
}

func TestCheckConfig(t *testing.T) {
	s := &Server{log: quiet(), path: filepath.Join(t.TempDir(), "c.toml")}
	if err := s.checkConfig([]byte("[log]\nlevel = \"debug\"\n")); err != nil {
		t.Fatal(err)
	}
	for _, in := range []string{"[rtmp]\nchunk_size = 1\n", "[server]\nboard = \"nope\"\n"} {
		if err := s.checkConfig([]byte(in)); !errors.Is(err, config.ErrInvalid) {
			t.Errorf("%q: %v", in, err)
		}
	}
	if err := s.putConfig(context.Background(), nil, "x"); !errors.Is(err, errNoOTA) {
		t.Errorf("putConfig before setupOTA: %v", err)
	}
	if err := s.reloadChecked("x"); !errors.Is(err, errNoOTA) {
		t.Errorf("reloadChecked before setupOTA: %v", err)
	}
	if err := s.setupOTA(func() error { return nil }); err != nil {
		t.Fatal(err)
	}
	if err := s.putConfig(context.Background(), []byte("[rtmp]\nchunk_size = 1\n"), "x"); !errors.Is(err, config.ErrInvalid) {
		t.Errorf("invalid put: %v", err)
	}
}
