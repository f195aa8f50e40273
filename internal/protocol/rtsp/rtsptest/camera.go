// Package rtsptest runs a real RTSP camera for tests: GStreamer's RTSP
// server (test/rtspserver/server.py) on 127.0.0.1. Tests skip, loudly, when
// GStreamer or its Python bindings are missing.
package rtsptest

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// Python is Debian's interpreter, for which python3-gi is installed.
const Python = "/usr/bin/python3"

// Install says what to install for the camera.
const Install = "Debian: apt-get install python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base " +
	"gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly gstreamer1.0-libav"

// Script returns the path of server.py.
func Script() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "..", "test", "rtspserver", "server.py")
}

// Need skips the test when the camera cannot run (or in -short mode).
func Need(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("SKIPPED in -short: needs GStreamer's RTSP server")
	}
	if _, err := os.Stat(Python); err != nil {
		t.Skipf("SKIPPED: %s is missing (%s)", Python, Install)
	}
	out, err := exec.Command(Python, "-c",
		"import gi; gi.require_version('GstRtspServer','1.0'); from gi.repository import GstRtspServer").CombinedOutput()
	if err != nil {
		t.Skipf("SKIPPED: GStreamer's RTSP server is not installed (%s): %s", Install, out)
	}
}

// Camera is a running RTSP server.
type Camera struct {
	Port int
	Args []string
	cmd  *exec.Cmd
}

// Start runs the server with args (see server.py) on port, 0 for a free
// one, and stops it when the test ends. A port that is still held by a
// camera that just stopped is retried for a few seconds.
func Start(t testing.TB, port int, args ...string) *Camera {
	t.Helper()
	Need(t)
	a := append([]string{Script(), "--port", fmt.Sprint(port)}, args...)
	for try := 0; ; try++ {
		cmd := exec.Command(Python, a...)
		cmd.Stderr = os.Stderr
		dieWithParent(cmd)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		line, err := bufio.NewReader(stdout).ReadString('\n')
		var p int
		if _, serr := fmt.Sscanf(line, "PORT %d", &p); err != nil || serr != nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			if try < 20 && port != 0 {
				time.Sleep(250 * time.Millisecond)
				continue
			}
			t.Fatalf("RTSP server did not start: %q %v", line, err)
		}
		c := &Camera{Port: p, Args: args, cmd: cmd}
		t.Cleanup(c.Stop)
		return c
	}
}

// Stop stops the camera (idempotent).
func (c *Camera) Stop() {
	if c.cmd.ProcessState != nil {
		return
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = c.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = c.cmd.Process.Kill()
		<-done
	}
}

// URL returns the URL of a mount ("h264aac", ...).
func (c *Camera) URL(mount string) string {
	return fmt.Sprintf("rtsp://127.0.0.1:%d/%s", c.Port, mount)
}

// UserURL returns the URL of a mount with credentials.
func (c *Camera) UserURL(user, pass, mount string) string {
	return fmt.Sprintf("rtsp://%s:%s@127.0.0.1:%d/%s", user, pass, c.Port, mount)
}
