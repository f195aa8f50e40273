// Package log builds the process logger on log/slog: a level that changes at
// run time, a sink (standard error or a file, text or JSON) that can be
// swapped or reopened on reload without replacing the *slog.Logger that
// components hold, an in-memory ring of recent lines for the web console, and
// short SRS-style trace ids. There is no global logger: pass Slog() down.
package log

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
)

// DefaultRecent is the number of recent lines kept in memory by default.
const DefaultRecent = 500

// maxRecent bounds Options.Recent.
const maxRecent = 1 << 20

// ErrInvalid is wrapped by the errors of New and Reconfigure for bad options.
var ErrInvalid = errors.New("log: invalid option")

// Options configures a Logger; it mirrors the [log] section of the config.
type Options struct {
	Level  string // debug | info | warn | error; empty: info
	File   string // empty: standard error
	Format string // text | json; empty: text
	Recent int    // lines kept for Recent; 0: DefaultRecent, negative: none
	// MaxSize caps the log file: past it the file is renamed FILE.1 and a
	// new FILE started. 0: no cap. Ignored for standard error and syslog.
	MaxSize int64
}

// Syslog is the Options.File value that sends the log to the local syslog
// daemon (/dev/log: logd on OpenWrt, journald or rsyslog elsewhere).
const Syslog = "syslog"

// Logger owns the sink and level behind one *slog.Logger. It is safe for
// concurrent use.
type Logger struct {
	level  slog.LevelVar
	ring   ring
	logger *slog.Logger

	mu     sync.RWMutex // held for reading while a record is written
	sink   *sink
	gen    uint64 // bumped on every sink swap
	closed bool
}

// sink is where formatted records go.
type sink struct {
	gen  uint64
	base slog.Handler // text or JSON handler writing to out
	file io.Closer    // owned; nil for standard error
}

// New returns a Logger configured by o.
func New(o Options) (*Logger, error) {
	l := &Logger{}
	if err := l.Reconfigure(o); err != nil {
		return nil, err
	}
	l.logger = slog.New(&handler{l: l})
	return l, nil
}

// Slog returns the logger to hand to components. It stays valid across
// Reconfigure; derive per-connection loggers from it with With.
func (l *Logger) Slog() *slog.Logger { return l.logger }

// Level returns the current level.
func (l *Logger) Level() slog.Level { return l.level.Level() }

// Reconfigure applies o: the level at once, and a new sink (the file is
// reopened even when its name is unchanged, so that SIGHUP after log rotation
// writes to the new file). On error nothing changes.
func (l *Logger) Reconfigure(o Options) error {
	lv, err := ParseLevel(o.Level)
	if err != nil {
		return err
	}
	format := strings.ToLower(o.Format)
	if format != "" && format != "text" && format != "json" {
		return fmt.Errorf("%w: format %q: want text or json", ErrInvalid, o.Format)
	}
	recent := o.Recent
	switch {
	case recent == 0:
		recent = DefaultRecent
	case recent < 0:
		recent = 0
	case recent > maxRecent:
		return fmt.Errorf("%w: recent %d: at most %d", ErrInvalid, o.Recent, maxRecent)
	}

	if o.MaxSize < 0 {
		return fmt.Errorf("%w: max_size %d is negative", ErrInvalid, o.MaxSize)
	}
	var out io.Writer = os.Stderr
	var file io.WriteCloser
	switch o.File {
	case "":
	case Syslog:
		file, err = openSyslog()
		if err != nil {
			return fmt.Errorf("log: syslog: %w (is a syslog daemon running? use file = \"\" for standard error)", err)
		}
		out = file
	default:
		file, err = openCapped(o.File, o.MaxSize)
		if err != nil {
			return fmt.Errorf("log: open: %w", err)
		}
		out = file
	}

	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		if file != nil {
			file.Close()
		}
		return fmt.Errorf("log: reconfigure: %w", os.ErrClosed)
	}
	l.ring.resize(recent)
	w := &lineWriter{out: out, ring: &l.ring}
	opts := &slog.HandlerOptions{Level: &l.level}
	var base slog.Handler = slog.NewTextHandler(w, opts)
	if format == "json" {
		base = slog.NewJSONHandler(w, opts)
	}
	old := l.sink
	l.gen++
	l.sink = &sink{gen: l.gen, base: base, file: file}
	l.level.Set(lv)
	l.mu.Unlock()

	if old != nil && old.file != nil {
		if err := old.file.Close(); err != nil {
			return fmt.Errorf("log: close old file: %w", err)
		}
	}
	return nil
}

// Close closes the log file; later records are dropped. It is idempotent.
func (l *Logger) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	old := l.sink
	l.gen++
	l.sink = &sink{gen: l.gen, base: discard{}}
	if old != nil && old.file != nil {
		if err := old.file.Close(); err != nil {
			return fmt.Errorf("log: close: %w", err)
		}
	}
	return nil
}

// Recent returns up to the last n formatted lines (without newlines), oldest
// first; n <= 0 returns every line kept.
func (l *Logger) Recent(n int) []string { return l.ring.last(n) }

// Since returns the lines kept whose sequence number is above seq, oldest
// first: Since(0) is every line kept; a poller passes the Seq of the last
// line it has, and sees a gap in the numbers when the ring overran.
func (l *Logger) Since(seq uint64) []Line { return l.ring.since(seq) }

// ParseLevel parses debug, info, warn or error (any case); empty is info.
func ParseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug, nil
	case "", "info":
		return slog.LevelInfo, nil
	case "warn":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("%w: level %q: want debug, info, warn or error", ErrInvalid, s)
}

// lineWriter receives one whole formatted record per Write (slog's text and
// JSON handlers write each record at once) and copies it into the ring.
type lineWriter struct {
	out  io.Writer
	ring *ring
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.ring.add(p)
	return w.out.Write(p)
}

// discard is the handler of a closed Logger.
type discard struct{}

func (discard) Enabled(_ context.Context, _ slog.Level) bool  { return false }
func (discard) Handle(_ context.Context, _ slog.Record) error { return nil }
func (d discard) WithAttrs(_ []slog.Attr) slog.Handler        { return d }
func (d discard) WithGroup(_ string) slog.Handler             { return d }
