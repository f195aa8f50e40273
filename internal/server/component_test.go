package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/srs-lite/srs-lite/internal/config"
	"github.com/srs-lite/srs-lite/internal/log"
	"github.com/srs-lite/srs-lite/internal/media"
)

// dummy is what a new protocol adds to this package: one component in one
// file (here, this test). A real one registers itself with
// `func init() { register(orderX, newX) }`; the test passes it to
// newServer instead so that other tests do not see it. Its package would
// be internal/protocol/NAME, and its keys a section of internal/config:
// that is every file a new protocol touches.
type dummy struct {
	mu        sync.Mutex
	calls     []string
	failNext  bool // the next reload fails
	published []string
}

func (d *dummy) record(s string) {
	d.mu.Lock()
	d.calls = append(d.calls, s)
	d.mu.Unlock()
}

func (d *dummy) name() string { return "dummy" }

func (d *dummy) start(context.Context, *config.Config) error {
	d.record("start")
	return nil
}

func (d *dummy) reload(old, next *config.Config, ch config.Sections) error {
	d.mu.Lock()
	fail := d.failNext
	d.mu.Unlock()
	d.record(fmt.Sprintf("reload %d->%d %s", old.RTMP.ChunkSize, next.RTMP.ChunkSize, ch))
	if fail {
		return errors.New("forced to fail")
	}
	return nil
}

func (d *dummy) close(context.Context) error {
	d.record("close")
	return nil
}

func (d *dummy) routes(r *routes) {
	r.http.HandleFunc("GET /dummy/{name}", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "dummy "+r.PathValue("name"))
	})
	r.api.HandleFunc("GET /dummy-api", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "api") })
}

func (d *dummy) onPublish(st *media.Stream) {
	d.mu.Lock()
	d.published = append(d.published, st.Key().String())
	d.mu.Unlock()
}

func (d *dummy) snapshot() ([]string, []string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.calls...), append([]string(nil), d.published...)
}

// testServer starts a server on 127.0.0.1 ports from a config file with
// extra components; it is shut down at the end of the test.
func testServer(t *testing.T, toml string, extra ...component) (*Server, string) {
	t.Helper()
	dir := t.TempDir()
	file := filepath.Join(dir, "srs-lite.toml")
	if err := os.WriteFile(file, []byte(toml), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	l, err := log.New(log.Options{Level: "error", File: filepath.Join(dir, "log")})
	if err != nil {
		t.Fatal(err)
	}
	s, err := newServer(file, cfg, l, extra)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	if err := s.ota.Start(context.Background()); err != nil { // the last good config
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Shutdown(time.Second) })
	return s, file
}

var testConfig = `
[rtmp]
listen = "127.0.0.1:0"
[http_api]
listen = "127.0.0.1:0"
[http_server]
listen = "127.0.0.1:0"
[srt]
enabled = false
[ota]
health_grace = "100ms"
` + rtcTestConfig()

// rtcTestConfig puts WebRTC and the RTSP server on free ports, in builds
// that have them (the others refuse their keys).
func rtcTestConfig() string {
	s := ""
	if config.RTCBuilt {
		s += "[rtc]\nlisten = \"127.0.0.1:0\"\n"
	}
	if config.RTSPBuilt {
		s += "[rtsp]\nlisten = \"127.0.0.1:0\"\n"
	}
	return s
}

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func TestDummyComponent(t *testing.T) {
	d := &dummy{}
	s, _ := testServer(t, testConfig, d)
	if code, body := httpGet(t, "http://"+s.Addr("http_server")+"/dummy/x"); code != 200 || body != "dummy x" {
		t.Errorf("http route: %d %q", code, body)
	}
	if code, body := httpGet(t, "http://"+s.Addr("http_api")+"/dummy-api"); code != 200 || body != "api" {
		t.Errorf("api route: %d %q", code, body)
	}
	// Stream paths still go to the stream handlers and static files.
	if code, _ := httpGet(t, "http://"+s.Addr("http_server")+"/live/none.m3u8"); code != 404 {
		t.Errorf("a missing playlist: %d", code)
	}
	st, err := s.reg.Publish(media.Key{Vhost: media.DefaultVhost, App: "live", Stream: "d"})
	if err != nil {
		t.Fatal(err)
	}
	st.Unpublish()
	if err := s.applyFile(); err != nil {
		t.Fatal(err)
	}
	_ = s.Shutdown(time.Second)
	calls, pubs := d.snapshot()
	want := []string{"start", "reload 60000->60000 none", "close"}
	if strings.Join(calls, ",") != strings.Join(want, ",") {
		t.Errorf("calls %q, want %q", calls, want)
	}
	if len(pubs) != 1 || pubs[0] != media.DefaultVhost+"/live/d" {
		t.Errorf("onPublish %q", pubs)
	}
}

// TestReloadRollback: a component that fails its reload makes the whole
// reload fail; the components before it go back to the old config, the
// config in force stays the old one, and the transaction puts the old
// file back.
func TestReloadRollback(t *testing.T) {
	d := &dummy{failNext: true}
	s, file := testServer(t, testConfig, d)
	rtmpAddr := s.Addr("rtmp")
	oldFile, _ := os.ReadFile(file)

	// A new RTMP address and chunk size: the RTMP component (before the
	// dummy in order) binds and applies them, then must undo both.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	newAddr := ln.Addr().String()
	ln.Close()
	next := strings.Replace(testConfig, "[rtmp]\nlisten = \"127.0.0.1:0\"",
		"[rtmp]\nlisten = \""+newAddr+"\"\nchunk_size = 4096", 1)
	if err := os.WriteFile(file, []byte(next), 0o644); err != nil {
		t.Fatal(err)
	}
	err = s.Reload()
	if err == nil || !strings.Contains(err.Error(), "forced to fail") {
		t.Fatalf("reload: %v", err)
	}
	if c := s.Config(); c.RTMP.ChunkSize != 60000 || c.RTMP.Listen[0] != "127.0.0.1:0" {
		t.Errorf("config in force after the failed reload: %v %v", c.RTMP.ChunkSize, c.RTMP.Listen)
	}
	if got, _ := os.ReadFile(file); string(got) != string(oldFile) {
		t.Errorf("the file was not rolled back:\n%s", got)
	}
	if c, err := net.Dial("tcp", newAddr); err == nil {
		c.Close()
		t.Errorf("the new RTMP address %s still accepts", newAddr)
	}
	if s.Addr("rtmp") == newAddr {
		t.Errorf("rtmp address %s after the rollback", s.Addr("rtmp"))
	}
	if c, err := net.Dial("tcp", s.Addr("rtmp")); err != nil {
		t.Errorf("rtmp does not accept after the rollback: %v (was %s)", err, rtmpAddr)
	} else {
		c.Close()
	}
	calls, _ := d.snapshot()
	if !strings.Contains(strings.Join(calls, ","), "reload 60000->4096 rtmp") {
		t.Errorf("dummy calls %q", calls)
	}
}

// TestReloadRebinds: a new listen address is bound before the old one
// closes, and a connection accepted on the old one keeps going.
func TestReloadRebinds(t *testing.T) {
	s, file := testServer(t, testConfig)
	oldAddr := s.Addr("http_server")
	// A connection on the old address, kept alive across the reload.
	conn, err := net.Dial("tcp", oldAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	buf := make([]byte, 4096)
	ask := func(when string) {
		t.Helper()
		fmt.Fprintf(conn, "GET /nothing HTTP/1.1\r\nHost: x\r\n\r\n")
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := conn.Read(buf)
		if err != nil || !strings.HasPrefix(string(buf[:n]), "HTTP/1.1 404") {
			t.Errorf("old connection %s: %q %v", when, buf[:n], err)
		}
	}
	ask("before the reload")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	newAddr := ln.Addr().String()
	ln.Close()
	next := strings.Replace(testConfig, "[http_server]\nlisten = \"127.0.0.1:0\"",
		"[http_server]\nlisten = \""+newAddr+"\"", 1)
	if err := os.WriteFile(file, []byte(next), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	if s.Addr("http_server") != newAddr {
		t.Errorf("http_server at %s, want %s", s.Addr("http_server"), newAddr)
	}
	if code, _ := httpGet(t, "http://"+newAddr+"/nothing"); code != 404 {
		t.Errorf("new address: %d", code)
	}
	if c, err := net.DialTimeout("tcp", oldAddr, time.Second); err == nil {
		c.Close()
		t.Errorf("the old address %s still accepts", oldAddr)
	}
	ask("after the reload") // still served
}
