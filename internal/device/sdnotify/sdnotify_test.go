package sdnotify

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// fakeManager is a service manager's notify socket: a unixgram socket in a
// temporary folder, named by NOTIFY_SOCKET.
type fakeManager struct {
	t    *testing.T
	conn *net.UnixConn
}

func newFakeManager(t *testing.T) *fakeManager {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	t.Setenv("NOTIFY_SOCKET", path)
	return &fakeManager{t: t, conn: conn}
}

// next returns the next message, or "" when none comes within d.
func (m *fakeManager) next(d time.Duration) string {
	m.t.Helper()
	buf := make([]byte, 4096)
	_ = m.conn.SetReadDeadline(time.Now().Add(d))
	n, err := m.conn.Read(buf)
	if err != nil {
		return ""
	}
	return string(buf[:n])
}

func TestNotify(t *testing.T) {
	tests := []struct {
		name string
		do   func(n *Notifier)
		want string // a regexp for the whole message
	}{
		{"ready", func(n *Notifier) { n.Ready("") }, `READY=1`},
		{"ready with status", func(n *Notifier) { n.Ready("rtmp=127.0.0.1:1935\nok") }, "READY=1\nSTATUS=rtmp=127.0.0.1:1935 ok"},
		{"reloading", func(n *Notifier) { n.Reloading() }, "RELOADING=1\nMONOTONIC_USEC=[1-9][0-9]*"},
		{"stopping", func(n *Notifier) { n.Stopping() }, `STOPPING=1`},
		{"status", func(n *Notifier) { n.Status("2 streams") }, `STATUS=2 streams`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newFakeManager(t)
			n := New(nil)
			if !n.Enabled() {
				t.Fatal("Enabled() = false with NOTIFY_SOCKET set")
			}
			tt.do(n)
			got := m.next(2 * time.Second)
			if !regexp.MustCompile(`^` + tt.want + `$`).MatchString(got) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestNotifyOff: without NOTIFY_SOCKET nothing is sent and nothing fails,
// and a nil *Notifier is as good.
func TestNotifyOff(t *testing.T) {
	m := newFakeManager(t)
	t.Setenv("NOTIFY_SOCKET", "")
	t.Setenv("WATCHDOG_USEC", "100000")
	for _, n := range []*Notifier{New(nil), nil, {}} {
		if n.Enabled() || n.WatchdogInterval() != 0 {
			t.Fatalf("enabled without NOTIFY_SOCKET: %+v", n)
		}
		n.Ready("x")
		n.Reloading()
		n.Stopping()
		n.Status("x")
		done := make(chan struct{})
		go func() { n.Watchdog(context.Background(), nil); close(done) }()
		select {
		case <-done:
		case <-time.After(time.Second):
			t.Fatal("Watchdog did not return at once with the watchdog off")
		}
	}
	if got := m.next(100 * time.Millisecond); got != "" {
		t.Errorf("sent %q without NOTIFY_SOCKET", got)
	}
}

// TestNotifyNoListener: a socket nobody reads any more is not an error the
// caller sees.
func TestNotifyNoListener(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", filepath.Join(t.TempDir(), "gone"))
	n := New(nil)
	n.Ready("")
	n.Stopping()
}

func TestWatchdogInterval(t *testing.T) {
	pid := strconv.Itoa(os.Getpid())
	tests := []struct {
		usec, pid string
		want      time.Duration
	}{
		{"", "", 0},
		{"30000000", "", 30 * time.Second},
		{"30000000", pid, 30 * time.Second},
		{"30000000", "1", 0}, // meant for another process
		{"abc", "", 0},
		{"-5", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.usec+"/"+tt.pid, func(t *testing.T) {
			newFakeManager(t)
			t.Setenv("WATCHDOG_USEC", tt.usec)
			t.Setenv("WATCHDOG_PID", tt.pid)
			if got := New(nil).WatchdogInterval(); got != tt.want {
				t.Errorf("WatchdogInterval() = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestWatchdog: pings at half WatchdogSec while healthy, none while
// unhealthy, none after ctx ends.
func TestWatchdog(t *testing.T) {
	m := newFakeManager(t)
	t.Setenv("WATCHDOG_USEC", "200000") // 200 ms: pings every 100 ms
	n := New(nil)
	var sick atomic.Bool
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		n.Watchdog(ctx, func() error {
			if sick.Load() {
				return errors.New("stuck")
			}
			return nil
		})
	}()
	start := time.Now()
	for i := 0; i < 3; i++ {
		if got := m.next(2 * time.Second); got != "WATCHDOG=1" {
			t.Fatalf("ping %d: got %q", i, got)
		}
	}
	if el := time.Since(start); el < 150*time.Millisecond {
		t.Errorf("3 pings in %v: want one at once, then one per 100 ms", el)
	}
	sick.Store(true)
	m.next(150 * time.Millisecond) // at most one ping was already under way
	if got := m.next(350 * time.Millisecond); got != "" {
		t.Errorf("pinged %q while unhealthy", got)
	}
	sick.Store(false)
	if got := m.next(2 * time.Second); got != "WATCHDOG=1" {
		t.Errorf("no ping after recovering: %q", got)
	}
	cancel()
	<-done
	m.next(50 * time.Millisecond)
	if got := m.next(300 * time.Millisecond); got != "" {
		t.Errorf("pinged %q after ctx ended", got)
	}
}
