package media

import (
	"context"
	"io"
	"log/slog"
	"sync/atomic"
	"time"
)

// Slow reader policy: a reader lapped more than maxSkips times within
// skipWindow is closed with ErrSlowReader.
const (
	maxSkips   = 5
	skipWindow = 30 * time.Second
)

// Reader is one player's cursor on a stream. Its methods belong to one
// goroutine (the player's), except that the writer wakes it.
type Reader struct {
	s    *Stream
	ring *Ring
	log  *slog.Logger

	subGen   uint64 // the stream's publish generation when the reader subscribed
	cursor   uint64
	needKey  bool // skipped ahead to the live edge: wait for a keyframe
	pending  [3]Frame
	npending int
	started  bool // delivered a frame already: later reads merge
	closed   bool
	internal bool  // the server's own consumer, not a player
	track    uint8 // the audio track read (SubscribeOptions.Track)

	want  atomic.Uint64 // seq the reader waits for; 0 when not waiting
	wake  chan struct{} // cap 1
	timer *time.Timer

	skips      int
	skipsSince time.Time
	lastLog    time.Time

	delivered atomic.Uint64
	dropped   atomic.Uint64
}

// Stream returns the stream the reader plays.
func (rd *Reader) Stream() *Stream { return rd.s }

// Delivered returns how many frames Read has handed out.
func (rd *Reader) Delivered() uint64 { return rd.delivered.Load() }

// Dropped returns how many frames the reader skipped because it fell behind.
func (rd *Reader) Dropped() uint64 { return rd.dropped.Load() }

func (rd *Reader) notify(seq uint64) {
	w := rd.want.Load()
	if w != 0 && w <= seq && rd.want.CompareAndSwap(w, 0) {
		select {
		case rd.wake <- struct{}{}:
		default:
		}
	}
}

func (rd *Reader) kick() {
	rd.want.Store(0)
	select {
	case rd.wake <- struct{}{}:
	default:
	}
}

// Read fills dst with the next frames and returns how many it wrote. Each
// returned frame holds a reference that the caller must Release once the
// frame is written out. Read blocks until a frame is there; after the first
// frames it merges writes: it waits until the stream's MinFrames are there or
// MaxDelay has passed. It returns io.EOF when the publish session the reader
// was attached to has ended and every frame of it has been read, and
// ErrSlowReader when the reader keeps falling behind.
func (rd *Reader) Read(ctx context.Context, dst []Frame) (int, error) {
	if rd.closed {
		return 0, ErrClosed
	}
	if len(dst) == 0 {
		return 0, nil
	}
	n := 0
	expired := 0 // merge deadlines passed: MaxDelay, then 2*MaxDelay
	var start time.Time
	for {
		if rd.ring == nil {
			rd.ring = rd.s.attach(rd)
		}
		for rd.npending > 0 && n < len(dst) {
			dst[n] = rd.pending[0]
			copy(rd.pending[:], rd.pending[1:rd.npending])
			rd.npending--
			rd.pending[rd.npending] = Frame{}
			n++
		}
		if rd.ring != nil {
			m, err := rd.fill(dst[n:])
			n += m
			if err != nil {
				rd.delivered.Add(uint64(n))
				if n > 0 && err == io.EOF {
					return n, nil
				}
				return n, err
			}
		}
		o := rd.s.opts.Load()
		// Merged write, as SRS does it: a batch goes out once it holds at
		// least MinFrames frames and MaxDelay has passed since the reader
		// began it, or when dst is full. A slow stream (a stalled publisher,
		// sparse audio) does not hold frames back longer than 2*MaxDelay.
		// The first read goes at once.
		if n > 0 && (n == len(dst) || !rd.started || o.MaxDelay <= 0 ||
			expired == 1 && n >= o.MinFrames || expired == 2) {
			rd.started = true
			rd.delivered.Add(uint64(n))
			return n, nil
		}
		// Wait for the writer: for a first frame while we have none; for a
		// full batch while MaxDelay runs; for MinFrames once it has run.
		need := uint64(1)
		switch {
		case n > 0 && expired > 0:
			need = uint64(o.MinFrames - n)
		case n > 0:
			need = uint64(len(dst) - n)
		}
		want := rd.cursor + need - 1
		if want == 0 {
			want = 1
		}
		rd.want.Store(want)
		if rd.ready(want) {
			rd.want.Store(0)
			continue
		}
		var tc <-chan time.Time
		if n > 0 {
			if start.IsZero() {
				start = time.Now()
			}
			d := time.Until(start.Add(time.Duration(expired+1) * o.MaxDelay))
			if d <= 0 {
				rd.want.Store(0)
				expired++
				continue
			}
			if rd.timer == nil {
				rd.timer = time.NewTimer(d)
			} else {
				rd.timer.Reset(d)
			}
			tc = rd.timer.C
		}
		select {
		case <-ctx.Done():
			rd.want.Store(0)
			if rd.timer != nil {
				rd.timer.Stop()
			}
			if n > 0 {
				rd.delivered.Add(uint64(n))
				return n, nil
			}
			return 0, ctx.Err()
		case <-rd.wake:
			if tc != nil {
				rd.timer.Stop()
			}
		case <-tc:
			rd.want.Store(0)
			expired++
		}
	}
}

// ready reports whether the frame with seq want is written, or the reader has
// something else to act on (a new or ended publish session).
func (rd *Reader) ready(want uint64) bool {
	r := rd.ring
	if r == nil {
		rd.s.mu.Lock()
		ok := rd.s.ring != nil
		rd.s.mu.Unlock()
		return ok
	}
	r.mu.RLock()
	ok := r.closed || r.next > want
	r.mu.RUnlock()
	return ok
}

// fill copies the frames after the cursor into dst, taking a reference on
// each, and skips ahead when the reader has fallen behind.
func (rd *Reader) fill(dst []Frame) (int, error) {
	r := rd.ring
	r.mu.RLock()
	next := r.next
	if rd.cursor < next {
		lag := next - rd.cursor
		behind := lag > uint64(len(r.slots))
		if !behind {
			if ql := rd.s.opts.Load().QueueLength; ql > 0 {
				behind = r.lastDTS-r.slots[rd.cursor&r.mask].f.DTS > ql
			}
		}
		if behind {
			target := next
			if r.lastKey > rd.cursor {
				target = r.lastKey
			} else {
				rd.needKey = r.hasVideo
			}
			skipped := target - rd.cursor
			rd.dropped.Add(skipped)
			rd.s.dropped.Add(skipped)
			rd.cursor = target
			r.mu.RUnlock()
			if err := rd.skipped(skipped); err != nil {
				return 0, err
			}
			r.mu.RLock()
			next = r.next
		}
	}
	n := 0
	for rd.cursor < next && n < len(dst) {
		s := &r.slots[rd.cursor&r.mask]
		if s.seq != rd.cursor {
			if r.closed {
				rd.cursor = next // released: the session is over
			}
			break // overwritten: caught as a lap on the next fill
		}
		rd.cursor++
		if s.f.Track|rd.track != TrackMain && !rd.takes(&s.f, r.tracks) {
			continue // another track's audio: not this reader's
		}
		if rd.needKey && s.f.Codec.IsVideo() && s.f.Flags&(FlagKey|FlagConfig) == 0 {
			rd.dropped.Add(1)
			rd.s.dropped.Add(1)
			continue
		}
		if s.f.Flags&FlagKey != 0 {
			rd.needKey = false
		}
		dst[n] = s.f
		dst[n].Retain()
		n++
	}
	eof := r.closed && rd.cursor >= r.next
	r.mu.RUnlock()
	if eof {
		return n, io.EOF
	}
	return n, nil
}

// takes reports whether the reader gets f, a frame of another track than
// the main one or a frame for a reader of another track: its own track's
// frames, and the main track's but for its audio once the ring has audio
// of the reader's track.
func (rd *Reader) takes(f *Frame, tracks uint8) bool {
	if f.Track == rd.track {
		return true
	}
	return f.Track == TrackMain && !(f.Codec.IsAudio() && tracks&(1<<(rd.track&7)) != 0)
}

// skipped records a jump ahead, logs it at most once a second and decides
// whether the reader is too slow to keep.
func (rd *Reader) skipped(n uint64) error {
	now := time.Now()
	if now.Sub(rd.skipsSince) > skipWindow {
		rd.skips, rd.skipsSince = 0, now
	}
	rd.skips++
	rd.s.skips.Add(1)
	if rd.log != nil && now.Sub(rd.lastLog) >= time.Second {
		rd.lastLog = now
		// One line a second per stream too: on an overloaded box hundreds
		// of viewers fall behind at once (300 WHEP viewers wrote 1,100
		// lines in 20 s); stream_skips counts them all.
		last := rd.s.skipLogged.Load()
		if now.UnixNano()-last >= int64(time.Second) && rd.s.skipLogged.CompareAndSwap(last, now.UnixNano()) {
			rd.log.Warn("player fell behind, skipped ahead", "frames", n, "dropped", rd.dropped.Load(), "stream_skips", rd.s.skips.Load())
		}
	}
	if rd.skips > maxSkips {
		rd.s.slowClosed.Add(1)
		return ErrSlowReader
	}
	return nil
}

// Close detaches the reader from its stream and releases what it holds.
// Frames already returned by Read stay valid until released.
func (rd *Reader) Close() {
	if rd.closed {
		return
	}
	rd.closed = true
	for i := 0; i < rd.npending; i++ {
		rd.pending[i].Release()
	}
	rd.npending = 0
	if rd.ring != nil {
		rd.ring.unref()
		rd.ring = nil
	}
	if rd.timer != nil {
		rd.timer.Stop()
	}
	rd.s.removeReader(rd)
}
