package test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// rawGet sends a request line as is (no client-side cleaning of the path)
// and returns the status code and body.
func rawGet(t *testing.T, addr, target string) (int, string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", target, addr)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestStaticFilesTraversal: the file server of the real binary serves its
// folder and nothing outside it, whatever the request line says.
func TestStaticFilesTraversal(t *testing.T) {
	t.Parallel()
	s := startServer(t, "")
	dir := filepath.Dir(s.conf) // http_server.dir: holds srs-lite.toml
	if err := os.WriteFile(filepath.Join(dir, "index.html"), []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	outside := filepath.Join(filepath.Dir(dir), "secret-"+streamName()+".txt")
	if err := os.WriteFile(outside, []byte("TOPSECRET"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(outside) })
	if err := os.Symlink(outside, filepath.Join(dir, "link.txt")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc", filepath.Join(dir, "etc")); err != nil {
		t.Fatal(err)
	}
	secret := filepath.Base(outside)
	if code, body := rawGet(t, s.http, "/"); code != 200 || body != "hello" {
		t.Fatalf("index: %d %q", code, body)
	}
	for _, target := range []string{
		"/../" + secret,
		"/%2e%2e/" + secret,
		"/%2E%2E%2F" + secret,
		"/..%2f" + secret,
		"/..%5c" + secret,
		"/..\\" + secret,
		"/./../" + secret,
		"/live/../../" + secret,
		"/link.txt",
		"/etc/passwd",
		"/etc/hostname",
		"/../../../../../../etc/passwd",
		"/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
		"/srs-lite.toml/..",
		"/.hidden",
		"/" + secret + "%00.html",
		"//etc/passwd",
		"http://x/../" + secret,
	} {
		code, body := rawGet(t, s.http, target)
		if code == 200 || strings.Contains(body, "TOPSECRET") || strings.Contains(body, "root:") {
			t.Errorf("%s: %d %q", target, code, body)
		}
	}
}
