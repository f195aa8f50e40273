package log

import (
	"bytes"
	"sync"
)

// Line is one line of the ring: its sequence number (1 for the first line
// the Logger wrote, never reused) and its formatted text without newline.
type Line struct {
	Seq  uint64
	Text string
}

// ring keeps the last lines written, for the web console.
type ring struct {
	mu    sync.Mutex
	lines []Line // capacity-sized once full
	next  int    // index of the oldest line once full
	size  int
	seq   uint64 // of the last line added
}

// add keeps one formatted record (its trailing newline removed).
func (r *ring) add(p []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.size == 0 {
		return
	}
	r.seq++
	l := Line{r.seq, string(bytes.TrimRight(p, "\n"))}
	if len(r.lines) < r.size {
		r.lines = append(r.lines, l)
		return
	}
	r.lines[r.next] = l
	r.next = (r.next + 1) % r.size
}

// last returns up to n lines, oldest first; n <= 0: all.
func (r *ring) last(n int) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	all := r.ordered()
	if n > 0 && n < len(all) {
		all = all[len(all)-n:]
	}
	out := make([]string, len(all))
	for i, l := range all {
		out[i] = l.Text
	}
	return out
}

// since returns the lines after sequence number seq, oldest first.
func (r *ring) since(seq uint64) []Line {
	r.mu.Lock()
	defer r.mu.Unlock()
	all := r.ordered()
	i := len(all)
	for i > 0 && all[i-1].Seq > seq {
		i--
	}
	return append([]Line(nil), all[i:]...)
}

// ordered returns the lines oldest first (a new slice when wrapped).
func (r *ring) ordered() []Line {
	if r.next == 0 {
		return r.lines
	}
	out := make([]Line, 0, len(r.lines))
	out = append(out, r.lines[r.next:]...)
	return append(out, r.lines[:r.next]...)
}

// resize changes the capacity, keeping the newest lines.
func (r *ring) resize(n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if n == r.size {
		return
	}
	all := r.ordered()
	if len(all) > n {
		all = all[len(all)-n:]
	}
	r.lines = append(make([]Line, 0, min(n, 64)), all...)
	r.next = 0
	r.size = n
}
