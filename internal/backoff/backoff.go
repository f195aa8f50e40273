// Package backoff paces the restarts of supervised work (ingests,
// transcoders): exponential backoff with equal jitter, reset after a run
// that lasted.
package backoff

import (
	"math/rand/v2"
	"time"
)

// Backoff is the restart delay of one supervised job. The zero value is not
// useful: set Min and Max.
type Backoff struct {
	Min, Max time.Duration
	cur      time.Duration
}

// Reset starts over from Min (the job ended for a reason that is not a
// failure).
func (b *Backoff) Reset() { b.cur = 0 }

// Next returns how long to wait before the next attempt, after a failure of
// an attempt that ran for ran: between 3/4 and 5/4 of the current backoff
// (equal jitter, so that ten cameras behind one dead switch do not come back
// in lockstep), which then doubles up to Max. An attempt that ran longer
// than 2*Max counts as a fresh failure and waits about Min.
func (b *Backoff) Next(ran time.Duration) time.Duration {
	if b.cur == 0 || ran > 2*b.Max {
		b.cur = b.Min
	}
	d := b.cur*3/4 + time.Duration(rand.Int64N(int64(b.cur/2)+1))
	b.cur = min(b.cur*2, b.Max)
	return d
}
