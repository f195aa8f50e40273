package media

import (
	"sync"
	"sync/atomic"
	"time"
)

// Ring is the frame ring of one publish session: a fixed number of slots that
// the publisher fills in order and every reader walks with its own cursor.
// It is also the GOP cache: it remembers where the newest keyframe is, and a
// new reader starts there.
//
// The writer never blocks on readers and never copies per reader; a reader
// that falls a whole ring behind has been lapped and skips ahead.
type Ring struct {
	mu    sync.RWMutex
	slots []slot
	mask  uint64
	next  uint64 // sequence number of the next frame written; the first is 1

	lastKey   uint64 // seq of the newest video keyframe, 0 if none in the ring
	hasVideo  bool
	tracks    uint8 // bit t: an audio frame of track t > 0 was written
	closed    bool
	lastDTS   time.Duration
	keyFrames int // frames written since lastKey

	users atomic.Int32 // the publisher and the readers bound to the ring
	gen   uint64       // the stream's publish generation
}

type slot struct {
	seq uint64
	f   Frame
}

// NewRing returns a ring of at least n slots (rounded up to a power of two,
// at least 16).
func NewRing(n int) *Ring {
	size := 16
	for size < n {
		size <<= 1
	}
	r := &Ring{slots: make([]slot, size), mask: uint64(size - 1), next: 1}
	r.users.Store(1)
	return r
}

func (r *Ring) ref() { r.users.Add(1) }

// unref drops one use; the last releases the frames the ring holds.
func (r *Ring) unref() {
	if r.users.Add(-1) == 0 {
		r.release()
	}
}

// Cap returns the number of slots.
func (r *Ring) Cap() int { return len(r.slots) }

// write stores f, taking over the caller's reference, and returns its seq.
func (r *Ring) write(f *Frame) uint64 {
	r.mu.Lock()
	seq := r.next
	s := &r.slots[seq&r.mask]
	if s.seq != 0 {
		if s.seq == r.lastKey {
			// The GOP outgrew the ring: there is no keyframe left to join at.
			r.lastKey = 0
		}
		s.f.Release()
	}
	s.seq = seq
	s.f = *f
	r.next = seq + 1
	r.lastDTS = f.DTS
	if f.Track != TrackMain && f.Codec.IsAudio() {
		r.tracks |= 1 << (f.Track & 7)
	}
	if f.Codec.IsVideo() && f.Flags&FlagConfig == 0 {
		r.hasVideo = true
		if f.Flags&FlagKey != 0 {
			r.lastKey = seq
			r.keyFrames = 0
		}
	}
	r.keyFrames++
	r.mu.Unlock()
	return seq
}

// close marks the end of the publish session and releases nothing: readers
// drain what is left, and the ring's frames are released by release.
func (r *Ring) close() {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
}

// release drops the ring's references on every frame it holds.
func (r *Ring) release() {
	r.mu.Lock()
	for i := range r.slots {
		if r.slots[i].seq != 0 {
			r.slots[i].f.Release()
			r.slots[i].seq = 0
		}
	}
	r.mu.Unlock()
}

// firstSeq returns the oldest frame still held, for a reader that was
// waiting for this publish session: it gets the session from its start.
func (r *Ring) firstSeq() uint64 {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.next <= uint64(len(r.slots)) {
		return 1
	}
	if r.lastKey != 0 {
		return r.lastKey
	}
	return r.next
}

// joinSeq returns where a new reader starts: the newest keyframe when the
// GOP cache is on and that keyframe is still held and not too old, else the
// live edge. Pure audio streams start at the live edge.
func (r *Ring) joinSeq(gopCache bool, maxFrames int) uint64 {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if gopCache && r.lastKey != 0 && (maxFrames <= 0 || r.keyFrames <= maxFrames) {
		return r.lastKey
	}
	return r.next
}
