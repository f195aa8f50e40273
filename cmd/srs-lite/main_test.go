package main

import (
	"bufio"
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/srs-lite/srs-lite/internal/buildinfo"
)

// TestMain lets a test run this test binary as srs-lite itself: with
// SRS_LITE_TEST_RUN=1 it runs main with the arguments after "--".
func TestMain(m *testing.M) {
	if os.Getenv("SRS_LITE_TEST_RUN") == "1" {
		args := os.Args[1:]
		for i, a := range args {
			if a == "--" {
				args = args[i+1:]
				break
			}
		}
		os.Exit(run(args, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

func TestVersion(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"-v"}, &out, &errb); code != 0 {
		t.Fatalf("-v: exit %d: %s", code, errb.String())
	}
	s := out.String()
	for _, want := range []string{"srs-lite " + buildinfo.Version + " (" + buildinfo.Profile() + ")", "\ngo: go", "\nfeatures: ", " rtmp", " sd_notify"} {
		if !strings.Contains(s, want) {
			t.Errorf("-v output lacks %q:\n%s", want, s)
		}
	}
	if buildinfo.Profile() == "full" && !strings.Contains(s, " bench") {
		t.Errorf("a full build without the bench tool:\n%s", s)
	}
}

// TestSystemdNotify runs the server as systemd would (Type=notify,
// WatchdogSec) with a fake notify socket: READY=1 once it listens, watchdog
// pings, RELOADING=1 with MONOTONIC_USEC then READY=1 on SIGHUP, STOPPING=1
// on SIGTERM, and exit status 0.
func TestSystemdNotify(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a server for a few seconds")
	}
	dir := t.TempDir()
	sock := filepath.Join(dir, "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conf := filepath.Join(dir, "srs-lite.toml")
	if err := os.WriteFile(conf, []byte(`[rtmp]
listen = "127.0.0.1:0"
[http_api]
listen = "127.0.0.1:0"
[srt]
listen = "127.0.0.1:0"
[rtc]
listen = "127.0.0.1:0"
[rtsp]
listen = "127.0.0.1:0"
[http_server]
listen = "127.0.0.1:0"
dir = "`+dir+`"
`), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$", "--", "-c", conf)
	cmd.Env = append(os.Environ(), "SRS_LITE_TEST_RUN=1", "NOTIFY_SOCKET="+sock, "WATCHDOG_USEC=600000")
	var logs lockedBuffer
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()

	msgs := make(chan string, 64)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				close(msgs)
				return
			}
			msgs <- string(buf[:n])
		}
	}()
	// expect waits for a message matching re, passing over watchdog pings.
	expect := func(what, re string) {
		t.Helper()
		deadline := time.After(10 * time.Second)
		for {
			select {
			case m, ok := <-msgs:
				if !ok {
					t.Fatalf("socket closed waiting for %s", what)
				}
				if regexp.MustCompile(re).MatchString(m) {
					return
				}
				if m != "WATCHDOG=1" {
					t.Fatalf("waiting for %s, got %q; server log:\n%s", what, m, logs.String())
				}
			case <-deadline:
				t.Fatalf("no %s within 10 s; server log:\n%s", what, logs.String())
			}
		}
	}
	expect("READY", `^READY=1\nSTATUS=serving rtmp=127\.0\.0\.1:\d+ http_api=`)
	expect("a watchdog ping", `^WATCHDOG=1$`)
	expect("a second watchdog ping", `^WATCHDOG=1$`)
	cmd.Process.Signal(syscall.SIGHUP)
	expect("RELOADING", `^RELOADING=1\nMONOTONIC_USEC=\d+$`)
	expect("READY after reload", `^READY=1\nSTATUS=serving `)
	cmd.Process.Signal(syscall.SIGTERM)
	expect("STOPPING", `^STOPPING=1$`)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit: %v; server log:\n%s", err, logs.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("no exit within 15 s of SIGTERM")
	}
	sc := bufio.NewScanner(strings.NewReader(logs.String()))
	for sc.Scan() {
		if strings.Contains(sc.Text(), "panic") {
			t.Errorf("server log has a panic: %s", sc.Text())
		}
	}
}

// lockedBuffer collects a child's output while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
