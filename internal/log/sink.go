package log

import (
	"fmt"
	"io"
	"log/syslog"
	"os"
	"sync"
)

// openSyslog connects to the local syslog daemon; each record is one
// message of facility daemon, tagged srs-lite.
func openSyslog() (io.WriteCloser, error) {
	return syslog.New(syslog.LOG_INFO|syslog.LOG_DAEMON, "srs-lite")
}

// cappedFile is a log file that starts over past max bytes: FILE is
// renamed FILE.1 (replacing the previous one) and a new FILE is opened, so
// the log never holds more than about twice max. Records are whole lines
// (one Write each), so no line is split across the two files.
type cappedFile struct {
	mu   sync.Mutex
	path string
	max  int64
	f    *os.File
	size int64
}

func openCapped(path string, max int64) (io.WriteCloser, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if max <= 0 {
		return f, nil
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	return &cappedFile{path: path, max: max, f: f, size: fi.Size()}, nil
}

func (c *cappedFile) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.f == nil {
		return 0, os.ErrClosed
	}
	if c.size > 0 && c.size+int64(len(p)) > c.max {
		if err := c.rotate(); err != nil {
			// Keep writing to the old file rather than lose records.
			fmt.Fprintf(os.Stderr, "srs-lite: log: cannot start a new log file: %v\n", err)
		}
	}
	n, err := c.f.Write(p)
	c.size += int64(n)
	return n, err
}

func (c *cappedFile) rotate() error {
	if err := os.Rename(c.path, c.path+".1"); err != nil {
		return err
	}
	f, err := os.OpenFile(c.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	c.f.Close()
	c.f, c.size = f, 0
	return nil
}

func (c *cappedFile) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.f == nil {
		return nil
	}
	err := c.f.Close()
	c.f = nil
	return err
}
