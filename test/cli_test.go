package test

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestConfigCheck: srs-lite -t names the file, line and key of each problem.
func TestConfigCheck(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.toml")
	os.WriteFile(bad, []byte("[rtmp]\nchunk_size = 60000\nbogus = 1\n\n[[vhost]]\nname = \"x\"\nqueue_length = \"ten\"\n"), 0o644)
	out, err := exec.Command(binPath, "-t", "-c", bad).CombinedOutput()
	if err == nil {
		t.Fatalf("-t accepted a bad config: %s", out)
	}
	for _, want := range []string{bad + ":3: rtmp.bogus", bad + ":7: vhost"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("-t output lacks %q:\n%s", want, out)
		}
	}
	out, err = exec.Command(binPath, "-t", "-c", "../conf/srs-lite.toml").CombinedOutput()
	if err != nil {
		t.Errorf("-t on conf/srs-lite.toml: %v: %s", err, out)
	}
	out, err = exec.Command(binPath, "-v").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "srs-lite") {
		t.Errorf("-v: %v: %s", err, out)
	}
}

// TestPortInUse: a taken port is a one-line fatal error.
func TestPortInUse(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	conf := filepath.Join(t.TempDir(), "c.toml")
	os.WriteFile(conf, []byte("[rtmp]\nlisten = \""+ln.Addr().String()+"\"\n[http_api]\nlisten = \"127.0.0.1:0\"\n[http_server]\nlisten = \"127.0.0.1:0\"\n[srt]\nlisten = \"127.0.0.1:0\"\n[rtc]\nlisten = \"127.0.0.1:0\"\n[rtsp]\nlisten = \"127.0.0.1:0\"\n"), 0o644)
	cmd := exec.Command(binPath, "-c", conf)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("server started on a port in use")
		}
	case <-time.After(5 * time.Second):
		cmd.Process.Kill()
		t.Fatal("server did not exit on a port in use")
	}
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], ln.Addr().String()) || !strings.Contains(lines[0], "in use") {
		t.Errorf("want one line naming the address: %q", stderr.String())
	}
}
