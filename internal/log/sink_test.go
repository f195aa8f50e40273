package log

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMaxSizeStartsANewFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "srs-lite.log")
	l, err := New(Options{File: path, MaxSize: 2000, Recent: -1})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 200 {
		l.Slog().Info("a line of about fifty bytes", "i", i)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	cur, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	old, err := os.ReadFile(path + ".1")
	if err != nil {
		t.Fatalf("no FILE.1: %v", err)
	}
	if len(cur) > 2000 || len(old) > 2000 || len(old) < 1500 {
		t.Fatalf("sizes %d and %d for a cap of 2000", len(cur), len(old))
	}
	if !strings.Contains(string(cur), "i=199") || !strings.HasSuffix(string(old), "\n") || !strings.HasPrefix(string(cur), "time=") {
		t.Fatalf("the newest records are not whole lines in FILE:\n%s", cur)
	}
	if m, _ := filepath.Glob(path + "*"); len(m) != 2 {
		t.Fatalf("files %v: want FILE and FILE.1 only", m)
	}
}

func TestMaxSizeKeepsAppending(t *testing.T) {
	path := filepath.Join(t.TempDir(), "srs-lite.log")
	if err := os.WriteFile(path, []byte("old line\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := New(Options{File: path, MaxSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	l.Slog().Info("new line")
	l.Close()
	b, _ := os.ReadFile(path)
	if !strings.HasPrefix(string(b), "old line\n") || !strings.Contains(string(b), "new line") {
		t.Fatalf("%q", b)
	}
	if _, err := New(Options{File: path, MaxSize: -1}); err == nil {
		t.Fatal("a negative max_size is accepted")
	}
}

func TestSyslog(t *testing.T) {
	l, err := New(Options{File: Syslog})
	if _, statErr := os.Stat("/dev/log"); statErr != nil {
		// No syslog daemon here (a container): the error must say what to do.
		if err == nil || !strings.Contains(err.Error(), "syslog") || !strings.Contains(err.Error(), "standard error") {
			t.Fatalf("without /dev/log: %v", err)
		}
		t.Log("no /dev/log on this machine: only the error path is tested")
		return
	}
	if err != nil {
		t.Fatalf("syslog: %v", err)
	}
	l.Slog().Info("srs-lite log test")
	l.Close()
}
