package audiobridge

import (
	"sync"
	"time"
)

// rate48 is the sample rate of Opus and of the positions a timeline maps.
const rate48 = 48000

// maxSegs bounds the anchors waiting for the child's output to reach them.
const maxSegs = 64

// seg anchors the input position pos (in 48 kHz samples since the child
// started) at the source's timestamp dts.
type seg struct {
	pos int64
	dts time.Duration
}

// timeline maps the sample positions of a child's output onto the source's
// clock. The child sees a gapless sequence of samples; the source's frames
// may have gaps, jumps and drift. Each input frame whose timestamp is off the
// expected one by more than a frame starts a new anchor, so that an output
// sample maps to the timestamp of the input sample it came from, within a
// frame.
//
// The feeder calls in and the reader calls at, from two goroutines.
type timeline struct {
	mu      sync.Mutex
	segs    [maxSegs]seg
	head, n int
	pos     int64 // position of the next input frame
	acc     int64 // remainder of samples*48000/rate
	next    time.Duration
	started bool
}

func newTimeline() *timeline { return &timeline{} }

// in records an input frame of samples at rate with timestamp dts, and
// reports whether it started a new anchor.
func (t *timeline) in(dts time.Duration, samples, rate int) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	frame := time.Duration(samples) * time.Second / time.Duration(rate)
	anchor := !t.started
	if t.started {
		d := dts - t.next
		anchor = d > frame || d < -frame
	}
	if anchor {
		t.push(seg{pos: t.pos, dts: dts})
		t.next = dts
	}
	t.started = true
	t.next += frame
	t.acc += int64(samples) * rate48
	t.pos += t.acc / int64(rate)
	t.acc %= int64(rate)
	return anchor
}

func (t *timeline) push(s seg) {
	if t.n == maxSegs {
		// The output is far behind: merge by dropping the oldest anchor
		// not yet reached.
		t.head = (t.head + 1) % maxSegs
		t.n--
	}
	t.segs[(t.head+t.n)%maxSegs] = s
	t.n++
}

// at returns the source timestamp of output position pos. Positions are
// asked in increasing order: anchors behind pos are dropped.
func (t *timeline) at(pos int64) (time.Duration, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.n == 0 {
		return 0, false
	}
	for t.n > 1 && t.segs[(t.head+1)%maxSegs].pos <= pos {
		t.head = (t.head + 1) % maxSegs
		t.n--
	}
	s := t.segs[t.head]
	return s.dts + time.Duration((pos-s.pos)*int64(time.Second)/rate48), true
}
