package log

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func readLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	return lines
}

func TestNewOptions(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name    string
		o       Options
		wantErr string
	}{
		{"defaults", Options{File: filepath.Join(dir, "a.log")}, ""},
		{"json", Options{Level: "DEBUG", Format: "json", File: filepath.Join(dir, "b.log")}, ""},
		{"level", Options{Level: "loud"}, `log: invalid option: level "loud": want debug, info, warn or error`},
		{"format", Options{Format: "xml"}, `log: invalid option: format "xml": want text or json`},
		{"recent", Options{Recent: maxRecent + 1}, "log: invalid option: recent 1048577: at most 1048576"},
		{"file", Options{File: filepath.Join(dir, "missing", "a.log")}, "log: open: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := New(tc.o)
			if tc.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %s", err, tc.wantErr)
				}
				if strings.Contains(tc.wantErr, "invalid option") && !errors.Is(err, ErrInvalid) {
					t.Fatalf("err %v is not ErrInvalid", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			l.Slog().Info("hello", "k", 1)
			l.Slog().Debug("debug line")
			lines := readLines(t, tc.o.File)
			want := 1
			if l.Level() == slog.LevelDebug {
				want = 2
			}
			if len(lines) != want || !strings.Contains(lines[0], "hello") {
				t.Fatalf("lines = %q", lines)
			}
			if tc.o.Format == "json" && !json.Valid([]byte(lines[0])) {
				t.Fatalf("not JSON: %s", lines[0])
			}
		})
	}
}

func TestParseLevel(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want slog.Level
	}{{"", slog.LevelInfo}, {"debug", slog.LevelDebug}, {"Info", slog.LevelInfo}, {"warn", slog.LevelWarn}, {"ERROR", slog.LevelError}} {
		if got, err := ParseLevel(tc.in); err != nil || got != tc.want {
			t.Errorf("ParseLevel(%q) = %v, %v", tc.in, got, err)
		}
	}
	if _, err := ParseLevel("warning"); err == nil {
		t.Error("warning accepted")
	}
}

// TestReconfigure checks that loggers derived before a reconfigure keep their
// attributes and groups and follow the new level, format and file.
func TestReconfigure(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.log"), filepath.Join(dir, "b.log")
	l, err := New(Options{File: a})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	conn := l.Slog().With("cid", "abc12345").WithGroup("rtmp").With("stream", "live/x")
	conn.Info("one")
	conn.Debug("hidden")

	if err := l.Reconfigure(Options{File: b, Format: "json", Level: "debug"}); err != nil {
		t.Fatal(err)
	}
	conn.Debug("two", "n", 2)

	// A failed reconfigure changes nothing.
	if err := l.Reconfigure(Options{File: filepath.Join(dir, "no", "c.log"), Level: "error"}); err == nil {
		t.Fatal("bad file accepted")
	}
	if l.Level() != slog.LevelDebug {
		t.Fatalf("level changed by a failed reconfigure: %v", l.Level())
	}
	conn.Debug("three")

	la, lb := readLines(t, a), readLines(t, b)
	if len(la) != 1 || !strings.Contains(la[0], "cid=abc12345") || !strings.Contains(la[0], "rtmp.stream=live/x") || !strings.Contains(la[0], "msg=one") {
		t.Fatalf("a.log = %q", la)
	}
	if len(lb) != 2 {
		t.Fatalf("b.log = %q", lb)
	}
	var rec struct {
		Msg  string
		CID  string `json:"cid"`
		RTMP struct {
			Stream string
			N      int
		}
	}
	if err := json.Unmarshal([]byte(lb[0]), &rec); err != nil {
		t.Fatal(err)
	}
	if rec.Msg != "two" || rec.CID != "abc12345" || rec.RTMP.Stream != "live/x" || rec.RTMP.N != 2 {
		t.Fatalf("b.log[0] = %s", lb[0])
	}

	// Reopen after rotation: the same name, a new file.
	if err := os.Rename(b, b+".1"); err != nil {
		t.Fatal(err)
	}
	if err := l.Reconfigure(Options{File: b}); err != nil {
		t.Fatal(err)
	}
	conn.Info("four")
	if lb := readLines(t, b); len(lb) != 1 || !strings.Contains(lb[0], "four") {
		t.Fatalf("rotated b.log = %q", lb)
	}

	// Closed: records are dropped, reconfigure fails, close is idempotent.
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	conn.Info("five")
	if err := l.Reconfigure(Options{}); !errors.Is(err, os.ErrClosed) {
		t.Fatalf("reconfigure after close = %v", err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if lb := readLines(t, b); len(lb) != 1 {
		t.Fatalf("written after close: %q", lb)
	}
}

func TestRecent(t *testing.T) {
	l, err := New(Options{File: filepath.Join(t.TempDir(), "a.log"), Recent: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for i := range 5 {
		l.Slog().Info(fmt.Sprint("m", i))
	}
	got := l.Recent(0)
	if len(got) != 3 || !strings.HasSuffix(got[0], "msg=m2") || !strings.HasSuffix(got[2], "msg=m4") {
		t.Fatalf("Recent(0) = %q", got)
	}
	if got := l.Recent(1); len(got) != 1 || !strings.HasSuffix(got[0], "msg=m4") {
		t.Fatalf("Recent(1) = %q", got)
	}
	// Growing keeps the lines; shrinking keeps the newest.
	if err := l.Reconfigure(Options{Recent: 10, File: filepath.Join(t.TempDir(), "b.log")}); err != nil {
		t.Fatal(err)
	}
	l.Slog().Info("m5")
	if got := l.Recent(100); len(got) != 4 || !strings.HasSuffix(got[0], "msg=m2") || !strings.HasSuffix(got[3], "msg=m5") {
		t.Fatalf("after grow = %q", got)
	}
	if err := l.Reconfigure(Options{Recent: 2, File: filepath.Join(t.TempDir(), "c.log")}); err != nil {
		t.Fatal(err)
	}
	if got := l.Recent(0); len(got) != 2 || !strings.HasSuffix(got[1], "msg=m5") {
		t.Fatalf("after shrink = %q", got)
	}
	if err := l.Reconfigure(Options{Recent: -1, File: filepath.Join(t.TempDir(), "d.log")}); err != nil {
		t.Fatal(err)
	}
	l.Slog().Info("m6")
	if got := l.Recent(0); len(got) != 0 {
		t.Fatalf("disabled ring = %q", got)
	}
}

func TestDefaultRecent(t *testing.T) {
	l, err := New(Options{File: filepath.Join(t.TempDir(), "a.log")})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for i := range DefaultRecent + 10 {
		l.Slog().Info("x", "i", i)
	}
	if got := l.Recent(0); len(got) != DefaultRecent || !strings.HasSuffix(got[0], "i=10") {
		t.Fatalf("len %d, first %q", len(got), got[0])
	}
}

// TestConcurrent logs from many goroutines while the sink, level and format
// change; run with -race. Every record goes to exactly one file, whole.
func TestConcurrent(t *testing.T) {
	dir := t.TempDir()
	files := []string{filepath.Join(dir, "a.log"), filepath.Join(dir, "b.log")}
	l, err := New(Options{File: files[0], Recent: 50})
	if err != nil {
		t.Fatal(err)
	}
	const writers, perWriter = 8, 300
	var wg sync.WaitGroup
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		formats := []string{"text", "json"}
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if err := l.Reconfigure(Options{File: files[i%2], Format: formats[i/2%2], Recent: 50 + i%7}); err != nil {
				t.Error(err)
				return
			}
			_ = l.Recent(10)
		}
	}()
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lg := l.Slog().With("cid", NewTraceID(), "w", w)
			for i := range perWriter {
				lg.InfoContext(context.Background(), "frame", "i", i)
			}
		}()
	}
	wg.Wait()
	close(stop)
	<-done
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, f := range files {
		for _, line := range readLines(t, f) {
			total++
			if !strings.Contains(line, "frame") || !(strings.HasPrefix(line, "{") && json.Valid([]byte(line)) || strings.HasPrefix(line, "time=")) {
				t.Fatalf("torn line %q", line)
			}
		}
	}
	if total != writers*perWriter {
		t.Fatalf("%d lines, want %d", total, writers*perWriter)
	}
}

func TestNewTraceID(t *testing.T) {
	seen := make(map[string]bool)
	for range 10000 {
		id := NewTraceID()
		if len(id) != 8 || strings.Trim(id, base36) != "" {
			t.Fatalf("bad id %q", id)
		}
		if seen[id] {
			t.Fatalf("duplicate id %q", id)
		}
		seen[id] = true
	}
	if n := testing.AllocsPerRun(100, func() { _ = NewTraceID() }); n > 1 {
		t.Fatalf("NewTraceID allocs = %v", n)
	}
}

func BenchmarkNewTraceID(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = NewTraceID()
	}
}

func BenchmarkLog(b *testing.B) {
	l, err := New(Options{File: os.DevNull})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	lg := l.Slog().With("cid", NewTraceID())
	b.Run("enabled", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			lg.Info("stats", "kbps", 2500)
		}
	})
	b.Run("disabled", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			lg.Debug("frame", "dts", 1)
		}
	})
}

// TestSince: lines carry increasing sequence numbers; Since returns only
// the newer ones, and a ring that overran shows the gap.
func TestSince(t *testing.T) {
	l, err := New(Options{File: filepath.Join(t.TempDir(), "a.log"), Recent: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for i := range 2 {
		l.Slog().Info(fmt.Sprint("m", i))
	}
	all := l.Since(0)
	if len(all) != 2 || all[0].Seq != 1 || all[1].Seq != 2 || !strings.HasSuffix(all[1].Text, "msg=m1") {
		t.Fatalf("Since(0) = %+v", all)
	}
	if got := l.Since(2); len(got) != 0 {
		t.Fatalf("Since(2) = %+v", got)
	}
	for i := 2; i < 6; i++ {
		l.Slog().Info(fmt.Sprint("m", i))
	}
	got := l.Since(2)
	if len(got) != 3 || got[0].Seq != 4 || got[2].Seq != 6 || !strings.HasSuffix(got[2].Text, "msg=m5") {
		t.Fatalf("Since(2) after overrun = %+v", got)
	}
}
