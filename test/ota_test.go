package test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// apiDo sends a request to the server's API and decodes the JSON answer.
func (s *srv) apiDo(t *testing.T, method, path, authz, body string) (int, map[string]any, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+s.api+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s %s: %d, not JSON: %s", method, path, res.StatusCode, b)
	}
	return res.StatusCode, m, res.Header
}

// defaultVhostSetting returns a setting of __defaultVhost__ from GET /api/v1/vhosts.
func (s *srv) defaultVhostSetting(t *testing.T, key string) any {
	t.Helper()
	var out struct {
		Vhosts []map[string]any `json:"vhosts"`
	}
	s.getJSON(t, "/api/v1/vhosts", &out)
	for _, v := range out.Vhosts {
		if v["name"] == "__defaultVhost__" {
			return v[key]
		}
	}
	t.Fatalf("no default vhost in %v", out.Vhosts)
	return nil
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		return "(" + err.Error() + ")"
	}
	return string(b)
}

// waitLog waits for a line of the server's log containing want.
func (s *srv) waitLog(t *testing.T, want string, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if strings.Contains(s.logs(), want) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no %q in the log within %s", want, d)
}

const mwVhost = "\n[[vhost]]\nname = \"__defaultVhost__\"\nmw_latency = \"120ms\"\n"

// TestConfigPut: PUT /api/v1/config applies a good config, refuses a bad
// one with 400 and changes nothing, and rolls back (file and running state)
// one that fails to apply or leaves the server unhealthy.
func TestConfigPut(t *testing.T) {
	t.Parallel()
	s := startServer(t, "[ota]\nhealth_grace = \"2s\"\n")
	orig := readFile(t, s.conf)
	s.waitLog(t, "ota: config kept as the last good one", 10*time.Second)
	if got := readFile(t, s.conf+".last-good"); got != orig {
		t.Fatalf("last good at start = %q", got)
	}
	if v := s.defaultVhostSetting(t, "mw_latency"); v != "350ms" {
		t.Fatalf("mw_latency = %v", v)
	}

	// Good: applied, written, kept as the last good one.
	good := orig + mwVhost
	status, m, _ := s.apiDo(t, http.MethodPut, "/api/v1/config", "", good)
	sum := sha256.Sum256([]byte(good))
	if status != 200 || m["code"] != 0.0 || m["data"].(map[string]any)["sha256"] != hex.EncodeToString(sum[:]) {
		t.Fatalf("PUT good: %d %v\n%s", status, m, tail(s.logs(), 20))
	}
	if v := s.defaultVhostSetting(t, "mw_latency"); v != "120ms" {
		t.Fatalf("after PUT: mw_latency = %v", v)
	}
	if readFile(t, s.conf) != good || readFile(t, s.conf+".last-good") != good {
		t.Fatal("the file or the last good copy is not the new config")
	}

	// Bad: 400 with the problems, nothing changed.
	bad := good + "[[vhost]]\nname = \"bad.example\"\nmw_msgs = 1000\n"
	status, m, _ = s.apiDo(t, http.MethodPut, "/api/v1/config", "", bad)
	if status != 400 || m["code"] != 1023.0 || !strings.Contains(m["msg"].(string), "vhost.mw_msgs") {
		t.Fatalf("PUT bad: %d %v", status, m)
	}
	if ps, _ := m["problems"].([]any); len(ps) != 1 {
		t.Errorf("problems: %v", m["problems"])
	}
	if readFile(t, s.conf) != good || s.defaultVhostSetting(t, "mw_latency") != "120ms" {
		t.Fatal("a refused config changed something")
	}

	// Validates but fails to apply (the log file cannot be opened): rolled back.
	noApply := orig + "[log]\nfile = \"/nonexistent-srs-lite-dir/x.log\"\n[[vhost]]\nname = \"__defaultVhost__\"\nmw_latency = \"200ms\"\n"
	noApply = strings.Replace(noApply, "[log]\nlevel = \"info\"\n", "", 1)
	status, m, _ = s.apiDo(t, http.MethodPut, "/api/v1/config", "", noApply)
	if status != 500 || m["code"] != 1060.0 || !strings.Contains(m["msg"].(string), "rolled back") {
		t.Fatalf("PUT unappliable: %d %v\n%s", status, m, tail(s.logs(), 20))
	}
	if readFile(t, s.conf) != good || readFile(t, s.conf+".rejected") != noApply {
		t.Fatalf("after a failed apply: file %q", readFile(t, s.conf))
	}
	if v := s.defaultVhostSetting(t, "mw_latency"); v != "120ms" {
		t.Fatalf("after a failed apply: mw_latency = %v", v)
	}

	// Applies, but the server is not healthy within the grace period (its
	// health_url does not answer): rolled back, file and running state.
	sick := good + "[ota]\nhealth_grace = \"600ms\"\nhealth_url = \"http://127.0.0.1:1/\"\n" +
		"[[vhost]]\nname = \"other.example\"\n"
	sick = strings.Replace(sick, "[ota]\nhealth_grace = \"2s\"\n", "", 1)
	start := time.Now()
	status, m, _ = s.apiDo(t, http.MethodPut, "/api/v1/config", "", sick)
	if status != 500 || !strings.Contains(m["msg"].(string), "health") {
		t.Fatalf("PUT unhealthy: %d %v\n%s", status, m, tail(s.logs(), 20))
	}
	if took := time.Since(start); took < 500*time.Millisecond {
		t.Errorf("rolled back after %s, before the grace period", took)
	}
	if readFile(t, s.conf) != good {
		t.Fatalf("after an unhealthy config: file %q", readFile(t, s.conf))
	}
	var vh struct {
		Vhosts []map[string]any `json:"vhosts"`
	}
	s.getJSON(t, "/api/v1/vhosts", &vh)
	if len(vh.Vhosts) != 1 {
		t.Fatalf("the unhealthy config's vhost is still running: %v", vh.Vhosts)
	}
	for _, want := range []string{"ota: new config: checking", "ota: new config written; applying",
		"ota: new config applied; checking health", "reload failed, rolled back to the last good config"} {
		if !strings.Contains(s.logs(), want) {
			t.Errorf("no %q in the log", want)
		}
	}
}

// TestConfigGet: GET /api/v1/config shows the running config with its
// secrets redacted; a PUT of the placeholder is refused.
func TestConfigGet(t *testing.T) {
	t.Parallel()
	s := startServer(t, "[srt]\nlisten = \"127.0.0.1:0\"\npassphrase = \"0123456789abc\"\n")
	status, m, _ := s.apiDo(t, http.MethodGet, "/api/v1/config", "", "")
	if status != 200 {
		t.Fatalf("%d %v", status, m)
	}
	c := m["data"].(map[string]any)["config"].(map[string]any)
	if c["srt"].(map[string]any)["passphrase"] != "(redacted)" || m["data"].(map[string]any)["file"] != s.conf {
		t.Fatalf("config %v", m["data"])
	}
	res, err := http.Get("http://" + s.api + "/api/v1/config?format=toml")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !bytes.Contains(b, []byte(`passphrase = "(redacted)"`)) || bytes.Contains(b, []byte("0123456789abc")) {
		t.Fatalf("toml:\n%s", b)
	}
	// Sending the redacted text back is refused: the secret is not known.
	status, m, _ = s.apiDo(t, http.MethodPut, "/api/v1/config", "", string(b))
	if status != 400 || !strings.Contains(m["msg"].(string), "placeholder") {
		t.Fatalf("PUT redacted: %d %v", status, m)
	}
}

// TestReloadDroppedFile: a file dropped in place and reloaded with SIGHUP
// gets the same transaction: a bad one is replaced by the last good config.
func TestReloadDroppedFile(t *testing.T) {
	t.Parallel()
	s := startServer(t, "[ota]\nhealth_grace = \"2s\"\n")
	orig := readFile(t, s.conf)
	s.waitLog(t, "ota: config kept as the last good one", 10*time.Second)

	good := orig + mwVhost
	os.WriteFile(s.conf, []byte(good), 0o644)
	s.cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, 10*time.Second, "the dropped config applied", func() bool {
		return s.defaultVhostSetting(t, "mw_latency") == "120ms" && readFile(t, s.conf+".last-good") == good
	})

	for _, tt := range []struct{ name, data string }{
		{"invalid", good + "[[vhost]]\nname = \"bad.example\"\nmw_msgs = 1000\n"},
		{"unhealthy", strings.Replace(good, "health_grace = \"2s\"", "health_grace = \"300ms\"\nhealth_url = \"http://127.0.0.1:1/\"", 1) +
			"[[vhost]]\nname = \"__defaultVhost__\"\nmw_latency = \"90ms\"\n"},
	} {
		os.WriteFile(s.conf, []byte(tt.data), 0o644)
		s.cmd.Process.Signal(syscall.SIGHUP)
		waitFor(t, 10*time.Second, tt.name+": the last good config back in place", func() bool {
			return readFile(t, s.conf) == good && readFile(t, s.conf+".rejected") == tt.data
		})
		if v := s.defaultVhostSetting(t, "mw_latency"); v != "120ms" {
			t.Errorf("%s: mw_latency = %v", tt.name, v)
		}
	}
	s.waitLog(t, "reload failed, rolled back to the last good config", 5*time.Second)
}

// TestConfigPull: [ota] url is fetched (with its digest checked) and
// applied; a config whose digest does not match is never applied.
func TestConfigPull(t *testing.T) {
	t.Parallel()
	var mu = make(chan struct{}, 1)
	mu <- struct{}{}
	var body, digest string
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-mu
		b, d := body, digest
		mu <- struct{}{}
		sum := sha256.Sum256([]byte(b))
		etag := `"` + hex.EncodeToString(sum[:8]) + `"`
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", etag)
		if d == "" {
			d = hex.EncodeToString(sum[:])
		}
		w.Header().Set("X-Checksum-Sha256", d)
		io.WriteString(w, b)
	}))
	defer origin.Close()
	set := func(b, d string) {
		<-mu
		body, digest = b, d
		mu <- struct{}{}
	}
	// Until the origin has something, it serves a config that fails its digest.
	set("# nothing yet\n", strings.Repeat("0", 64))
	s := startServer(t, "[ota]\nurl = \""+origin.URL+"/srs-lite.toml\"\ninterval = \"10s\"\nhealth_grace = \"2s\"\n")
	orig := readFile(t, s.conf)
	s.waitLog(t, "ota: pull failed", 10*time.Second)
	if !strings.Contains(s.logs(), "checksum") || readFile(t, s.conf) != orig {
		t.Fatalf("a config with a wrong digest was applied:\n%s", tail(s.logs(), 20))
	}
	set(orig+mwVhost, "")
	// Pull at once: SIGHUP reloads the same file, and the next interval pulls;
	// 10 s is the shortest interval, so wait for it.
	waitFor(t, 25*time.Second, "the pulled config applied", func() bool {
		return s.defaultVhostSetting(t, "mw_latency") == "120ms"
	})
	if readFile(t, s.conf) != orig+mwVhost {
		t.Fatal("the pulled config is not the file")
	}
}

// TestConfigPullSigned: with [ota] public_key (openssl's PEM), a pulled
// config is applied only once it comes with an Ed25519 signature made by
// openssl with the private key; unsigned, it is refused and nothing
// changes. This is how a tiny build, which has no https, takes configs
// over plain HTTP safely.
func TestConfigPullSigned(t *testing.T) {
	needTools(t, "openssl")
	t.Parallel()
	dir := t.TempDir()
	key, pub := filepath.Join(dir, "key.pem"), filepath.Join(dir, "pub.pem")
	for _, args := range [][]string{{"genpkey", "-algorithm", "ed25519", "-out", key}, {"pkey", "-in", key, "-pubout", "-out", pub}} {
		if out, err := exec.Command("openssl", args...).CombinedOutput(); err != nil {
			t.Skipf("SKIP: openssl %s: %v: %s (an OpenSSL with Ed25519, 1.1.1 or later, is needed)", args[0], err, out)
		}
	}
	sign := func(body string) string {
		f := filepath.Join(dir, "body.toml")
		if err := os.WriteFile(f, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		sig, err := exec.Command("openssl", "pkeyutl", "-sign", "-inkey", key, "-rawin", "-in", f).Output()
		if err != nil {
			t.Fatalf("openssl pkeyutl -sign: %v", err)
		}
		return base64.StdEncoding.EncodeToString(sig)
	}
	var mu sync.Mutex
	var body, sig string
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		b, s := body, sig
		mu.Unlock()
		if s != "" {
			w.Header().Set("X-Signature-Ed25519", s)
		}
		io.WriteString(w, b)
	}))
	defer origin.Close()
	set := func(b, s string) {
		mu.Lock()
		body, sig = b, s
		mu.Unlock()
	}
	set("# nothing yet\n", "")
	s := startServer(t, "[ota]\nurl = \""+origin.URL+"/srs-lite.toml\"\ninterval = \"10s\"\nhealth_grace = \"2s\"\npublic_key = '''\n"+
		readFile(t, pub)+"'''\n")
	orig := readFile(t, s.conf)
	// Unsigned: refused, whatever it holds.
	set(orig+mwVhost, "")
	s.waitLog(t, "ota: pull failed", 10*time.Second)
	if !strings.Contains(s.logs(), "without a signature") || readFile(t, s.conf) != orig {
		t.Fatalf("an unsigned config was applied:\n%s", tail(s.logs(), 20))
	}
	set(orig+mwVhost, sign(orig+mwVhost))
	waitFor(t, 25*time.Second, "the signed config applied", func() bool {
		return s.defaultVhostSetting(t, "mw_latency") == "120ms"
	})
	if readFile(t, s.conf) != orig+mwVhost {
		t.Fatal("the pulled config is not the file")
	}
}

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s: not within %s", what, d)
}
