package ffmpeg

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// Caps lists the coders an ffmpeg program was built with, as `ffmpeg
// -encoders` and `-decoders` print them.
type Caps struct {
	Path     string
	Encoders map[string]bool
	Decoders map[string]bool
}

// HasEncoder reports whether the program has the named encoder.
func (c *Caps) HasEncoder(name string) bool { return c != nil && c.Encoders[name] }

// HasDecoder reports whether the program has the named decoder.
func (c *Caps) HasDecoder(name string) bool { return c != nil && c.Decoders[name] }

var (
	capsMu    sync.Mutex
	capsCache = map[string]*Caps{}
)

// Probe runs the program at path (empty: Look) once to list its encoders
// and decoders, and caches the answer per path for the life of the process.
// It returns an error wrapping ErrNotFound when there is no program.
func Probe(path string) (*Caps, error) {
	if path == "" {
		var err error
		if path, err = Look(); err != nil {
			return nil, err
		}
	} else if p, err := exec.LookPath(path); err != nil {
		return nil, fmt.Errorf("%w (%v)", ErrNotFound, err)
	} else {
		path = p
	}
	capsMu.Lock()
	defer capsMu.Unlock()
	if c := capsCache[path]; c != nil {
		return c, nil
	}
	c := &Caps{Path: path}
	var err error
	if c.Encoders, err = listCoders(path, "-encoders"); err != nil {
		return nil, err
	}
	if c.Decoders, err = listCoders(path, "-decoders"); err != nil {
		return nil, err
	}
	capsCache[path] = c
	return c, nil
}

// listCoders parses the table `ffmpeg -encoders` prints: after the legend
// and the " ------" line, one coder per line, " A..... name  description".
func listCoders(path, flag string) (map[string]bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, "-hide_banner", flag).Output()
	if err != nil {
		return nil, fmt.Errorf("ffmpeg: %s %s: %w", path, flag, err)
	}
	m := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	table := false
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if !table {
			table = len(f) == 1 && strings.HasPrefix(f[0], "---")
			continue
		}
		if len(f) >= 2 {
			m[f[1]] = true
		}
	}
	return m, nil
}
