// Package ffmpeg runs ffmpeg child processes for the features srs-lite
// leaves to ffmpeg: inputs only ffmpeg reads (files, HLS, RTMP pulls, UDP,
// SRT), encoding raw and MJPEG camera video, transcoding, and snapshots.
//
// A child writes FLV to its standard output (`-f flv pipe:1`), which
// ReadFrames turns into media frames that the caller publishes directly: no
// loopback RTMP hop. A transcoder also reads FLV on its standard input.
// Children run in their own process group, are killed with the whole group
// when their context ends (and by the kernel when srs-lite dies, on Linux),
// and their standard error goes to the caller's log, rate limited, with the
// last lines kept to explain an exit.
package ffmpeg

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/srs-lite/srs-lite/internal/format/codec"
	"github.com/srs-lite/srs-lite/internal/format/flv"
	"github.com/srs-lite/srs-lite/internal/media"
)

// ErrNotFound reports that no ffmpeg program is on the PATH.
var ErrNotFound = errors.New("ffmpeg not found on the PATH: install ffmpeg (Debian/Ubuntu: apt-get install ffmpeg; OpenWrt: opkg install ffmpeg) or add its folder to the PATH of srs-lite")

// Program is the name looked up on the PATH; an absolute path also works.
const Program = "ffmpeg"

// Look returns the path of the ffmpeg program, or an error that wraps
// ErrNotFound.
func Look() (string, error) {
	p, err := exec.LookPath(Program)
	if err != nil {
		return "", fmt.Errorf("%w (%v)", ErrNotFound, err)
	}
	return p, nil
}

// BaseArgs start every command line: no banner, no statistics, no
// interaction on the terminal, warnings and errors only.
var BaseArgs = []string{"-hide_banner", "-nostats", "-nostdin", "-loglevel", "warning"}

// Options configure a child.
type Options struct {
	// Path is the program; empty: Look.
	Path string
	// Log gets the child's standard error, one record per line at Warn
	// (nil: discarded, though the last lines still explain an exit).
	Log *slog.Logger
	// Stdin gives the child a pipe on its standard input (Process.Stdin);
	// otherwise it reads nothing.
	Stdin bool
	// LogBurst lines are logged at once, then one per LogEvery (defaults 10
	// and 10 s); the lines in between are counted and the count is logged.
	LogBurst int
	LogEvery time.Duration
}

// Process is a running child.
type Process struct {
	// Stdin is the pipe to the child's standard input when Options.Stdin
	// was set, else nil. Closing it ends the child's input.
	Stdin io.WriteCloser
	// Stdout is the child's standard output.
	Stdout io.ReadCloser

	cmd      *exec.Cmd
	stderr   *stderrLog
	closeOut sync.Once
	done     chan struct{}
	err      error
}

// Start runs ffmpeg with args (BaseArgs are not added). The child is killed,
// with its process group, when ctx ends. The caller reads Stdout until EOF
// and then calls Wait.
func Start(ctx context.Context, args []string, o Options) (*Process, error) {
	path := o.Path
	if path == "" {
		var err error
		if path, err = Look(); err != nil {
			return nil, err
		}
	}
	cmd := exec.CommandContext(ctx, path, args...)
	setGroup(cmd)
	// After the kill, the pipes get this long to drain before Wait gives up.
	cmd.WaitDelay = 3 * time.Second
	p := &Process{cmd: cmd, done: make(chan struct{})}
	p.stderr = newStderrLog(o.Log, o.LogBurst, o.LogEvery)
	cmd.Stderr = p.stderr
	var err error
	if o.Stdin {
		if p.Stdin, err = cmd.StdinPipe(); err != nil {
			return nil, fmt.Errorf("ffmpeg: %w", err)
		}
	}
	// Our own pipe, not StdoutPipe: exec closes the pipes it makes as soon
	// as the child exits, which would cut off a reader still draining the
	// last bytes ("file already closed"). This read end gets EOF instead,
	// and Wait closes it.
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("ffmpeg: %w", err)
	}
	cmd.Stdout = pw
	p.Stdout = pr
	err = cmd.Start()
	pw.Close() // the child has its copy
	if err != nil {
		pr.Close()
		if p.Stdin != nil {
			p.Stdin.Close()
		}
		if errors.Is(err, exec.ErrNotFound) {
			return nil, fmt.Errorf("%w (%v)", ErrNotFound, err)
		}
		return nil, fmt.Errorf("ffmpeg: start %s: %w", path, err)
	}
	go func() {
		p.err = cmd.Wait()
		p.stderr.flush()
		close(p.done)
	}()
	return p, nil
}

// Pid returns the child's process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Kill kills the child and its process group now.
func (p *Process) Kill() {
	select {
	case <-p.done:
	default:
		_ = killGroup(p.cmd)
	}
}

// Done is closed when the child has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Wait waits for the child to exit. A failure says how it ended and
// quotes the last line ffmpeg wrote to its standard error, which usually
// names the cause ("Connection refused", "No such file or directory").
func (p *Process) Wait() error {
	<-p.done
	p.closeOut.Do(func() { _ = p.Stdout.Close() })
	if p.err == nil {
		return nil
	}
	if last := p.stderr.last(); last != "" {
		return fmt.Errorf("ffmpeg: %v: %s", p.err, last)
	}
	return fmt.Errorf("ffmpeg: %v", p.err)
}

// LastLines returns up to the last few lines of the child's standard error.
func (p *Process) LastLines() []string { return p.stderr.lines() }

// stderrLog splits the child's standard error into lines, logs them with a
// token bucket, and keeps the last few.
type stderrLog struct {
	log   *slog.Logger
	burst int
	every time.Duration

	mu         sync.Mutex
	partial    []byte
	keep       [4]string
	nkeep      int
	tokens     int
	refill     time.Time
	suppressed int
}

func newStderrLog(l *slog.Logger, burst int, every time.Duration) *stderrLog {
	if burst <= 0 {
		burst = 10
	}
	if every <= 0 {
		every = 10 * time.Second
	}
	return &stderrLog{log: l, burst: burst, every: every, tokens: burst, refill: time.Now()}
}

// maxLine bounds a kept line: ffmpeg prints long lines for some errors.
const maxLine = 512

func (s *stderrLog) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(b)
	for len(b) > 0 {
		i := strings.IndexAny(string(b), "\r\n")
		if i < 0 {
			if len(s.partial) < maxLine {
				s.partial = append(s.partial, b[:min(len(b), maxLine-len(s.partial))]...)
			}
			break
		}
		if len(s.partial) < maxLine {
			s.partial = append(s.partial, b[:min(i, maxLine-len(s.partial))]...)
		}
		s.line(string(s.partial))
		s.partial = s.partial[:0]
		b = b[i+1:]
	}
	return n, nil
}

// line takes one complete line; s.mu is held.
func (s *stderrLog) line(l string) {
	l = strings.TrimSpace(l)
	if l == "" {
		return
	}
	s.keep[s.nkeep%len(s.keep)] = l
	s.nkeep++
	if s.log == nil {
		return
	}
	now := time.Now()
	if d := now.Sub(s.refill); d >= s.every {
		s.tokens = min(s.burst, s.tokens+int(d/s.every))
		s.refill = now
	}
	if s.tokens == 0 {
		s.suppressed++
		return
	}
	s.tokens--
	if s.suppressed > 0 {
		s.log.Warn("ffmpeg: lines not logged (rate limit)", "count", s.suppressed)
		s.suppressed = 0
	}
	s.log.Warn("ffmpeg: " + l)
}

// flush logs what is left when the child has exited.
func (s *stderrLog) flush() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.partial) > 0 {
		s.line(string(s.partial))
		s.partial = s.partial[:0]
	}
	if s.suppressed > 0 && s.log != nil {
		s.log.Warn("ffmpeg: lines not logged (rate limit)", "count", s.suppressed)
		s.suppressed = 0
	}
}

func (s *stderrLog) last() string {
	l := s.lines()
	if len(l) == 0 {
		return ""
	}
	return l[len(l)-1]
}

func (s *stderrLog) lines() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := min(s.nkeep, len(s.keep))
	out := make([]string, 0, n)
	for i := s.nkeep - n; i < s.nkeep; i++ {
		out = append(out, s.keep[i%len(s.keep)])
	}
	return out
}

// ReadFrames reads an FLV stream (ffmpeg's `-f flv pipe:1`) and calls fn
// with each frame: onMetaData as a CodecData frame, sequence headers as
// FlagConfig frames, then the audio and video frames. The payload is the
// reader's scratch memory, valid during the call only (Frame.Own keeps
// it), or a pooled buffer when an Annex B frame had to grow into AVCC
// (codec.InBand: video with in-band parameter sets also gets its sequence
// header derived from them). Tags without a frame and codecs srs-lite does
// not know are skipped. It returns nil at the end of the stream, a read error, or fn's error.
func ReadFrames(r io.Reader, fn func(f *media.Frame) error) error {
	fr := flv.NewReader(bufio.NewReaderSize(r, 64<<10))
	if _, _, err := fr.ReadHeader(); err != nil {
		if errors.Is(err, flv.ErrTruncated) {
			return io.ErrUnexpectedEOF
		}
		return err
	}
	var f media.Frame
	var inband codec.InBand
	for {
		t, err := fr.ReadTag()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		f = media.Frame{}
		if err := flv.FrameFromTag(t.Type, t.Timestamp, t.Body, &f); err != nil {
			if errors.Is(err, flv.ErrSkip) || errors.Is(err, flv.ErrUnsupported) {
				continue
			}
			return err
		}
		if cfg := inband.Fix(&f); cfg.Payload != nil {
			if err := fn(&cfg); err != nil {
				return err
			}
		}
		if err := fn(&f); err != nil {
			return err
		}
	}
}
