package log

import (
	"bytes"
	"sync"
)

// ring keeps the last lines written, for the web console.
type ring struct {
	mu    sync.Mutex
	lines []string // capacity-sized once full
	next  int      // index of the oldest line once full
	size  int
}

// add keeps one formatted record (its trailing newline removed).
func (r *ring) add(p []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.size == 0 {
		return
	}
	s := string(bytes.TrimRight(p, "\n"))
	if len(r.lines) < r.size {
		r.lines = append(r.lines, s)
		return
	}
	r.lines[r.next] = s
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
	return append([]string(nil), all...)
}

// ordered returns the lines oldest first (a new slice when wrapped).
func (r *ring) ordered() []string {
	if r.next == 0 {
		return r.lines
	}
	out := make([]string, 0, len(r.lines))
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
	r.lines = append(make([]string, 0, min(n, 64)), all...)
	r.next = 0
	r.size = n
}
