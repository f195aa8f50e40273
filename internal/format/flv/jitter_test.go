package flv

import (
	"testing"
	"time"

	"github.com/srs-lite/srs-lite/internal/media"
)

// jf is a frame of a jitter test: kind v (video), k (keyframe), a (audio),
// V and A (sequence headers), d (metadata); ts in ms, as RTMP carries it.
type jf struct {
	kind byte
	ts   uint32
}

func (j jf) frame() media.Frame {
	f := media.Frame{DTS: time.Duration(j.ts) * time.Millisecond}
	switch j.kind {
	case 'v', 'k', 'V':
		f.Codec = media.CodecH264
	case 'a', 'A':
		f.Codec = media.CodecAAC
	case 'd':
		f.Codec = media.CodecData
	}
	switch j.kind {
	case 'k':
		f.Flags = media.FlagKey
	case 'V', 'A':
		f.Flags = media.FlagConfig
	}
	f.PTS = f.DTS
	return f
}

func TestJitter(t *testing.T) {
	const wrap = 1 << 32
	tests := []struct {
		name string
		mode media.TimeJitter
		in   []jf
		want []uint32
	}{
		{"full: start offset, headers at the first frame", media.JitterFull,
			[]jf{{'d', 0}, {'V', 0}, {'A', 0}, {'k', 4000}, {'a', 4005}, {'v', 4040}, {'a', 4028}},
			[]uint32{0, 0, 0, 0, 5, 40, 28}},
		{"zero: start offset", media.JitterZero,
			[]jf{{'d', 0}, {'V', 0}, {'k', 4000}, {'a', 4005}, {'v', 4040}},
			[]uint32{0, 0, 0, 5, 40}},
		{"off: headers at the first frame, frames as published", media.JitterOff,
			[]jf{{'d', 0}, {'V', 0}, {'A', 0}, {'k', 4000}, {'a', 4005}, {'v', 4040}, {'d', 0}},
			[]uint32{4000, 4000, 4000, 4000, 4005, 4040, 0}},
		{"full: backwards jump (a republish)", media.JitterFull,
			[]jf{{'k', 5000}, {'a', 5010}, {'v', 5040}, {'k', 0}, {'a', 10}, {'v', 40}},
			// video back: 40+10; audio back too: after everything (50)+10.
			[]uint32{0, 10, 40, 50, 60, 90}},
		{"full: big forward jump", media.JitterFull,
			[]jf{{'k', 0}, {'v', 40}, {'v', 3_600_040}, {'v', 3_600_080}},
			[]uint32{0, 40, 50, 90}},
		{"full: a gap within maxJump is kept (sparse video)", media.JitterFull,
			[]jf{{'k', 0}, {'v', 1000}, {'v', 2000}},
			[]uint32{0, 1000, 2000}},
		{"zero: jumps are kept, nothing before 0", media.JitterZero,
			[]jf{{'k', 1000}, {'v', 2000}, {'v', 500}, {'v', 90_000}},
			[]uint32{0, 1000, 0, 89_000}},
		{"full: 32-bit wrap", media.JitterFull,
			[]jf{{'k', wrap - 40}, {'a', wrap - 20}, {'v', 0}, {'a', 3}, {'v', 40}},
			[]uint32{0, 20, 40, 43, 80}},
		{"zero: 32-bit wrap", media.JitterZero,
			[]jf{{'k', wrap - 40}, {'v', 0}, {'v', 40}},
			[]uint32{0, 40, 80}},
		{"full: audio ahead of video (MPEG-TS interleave)", media.JitterFull,
			[]jf{{'k', 1000}, {'a', 1300}, {'a', 1323}, {'v', 1040}, {'a', 1346}, {'v', 1080}},
			[]uint32{0, 300, 323, 40, 346, 80}},
		{"full: audio behind the first frame: the timeline starts at the earliest", media.JitterFull,
			[]jf{{'d', 0}, {'V', 0}, {'k', 1000}, {'a', 900}, {'a', 950}, {'v', 1040}, {'a', 1000}, {'a', 1023}},
			[]uint32{0, 0, 100, 0, 50, 140, 100, 123}},
		{"off: audio behind the first frame: headers at the earliest", media.JitterOff,
			[]jf{{'d', 0}, {'V', 0}, {'k', 1000}, {'a', 900}},
			[]uint32{900, 900, 1000, 900}},
		{"full: audio far behind is not a start", media.JitterFull,
			[]jf{{'k', 5000}, {'a', 900}, {'a', 950}, {'v', 5040}},
			[]uint32{0, 0, 0, 40}},
		{"full: later sequence headers and metadata at their track's last time", media.JitterFull,
			[]jf{{'k', 100}, {'a', 150}, {'v', 140}, {'V', 0}, {'A', 0}, {'d', 0}, {'k', 180}},
			[]uint32{0, 50, 40, 40, 50, 40, 80}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := make([]media.Frame, len(tt.in))
			for i, j := range tt.in {
				fs[i] = j.frame()
			}
			jit := NewJitter(tt.mode)
			for i := range fs {
				if got := jit.Timestamp(&fs[i], fs[i+1:]); got != tt.want[i] {
					t.Errorf("frame %d (%c %d): %d, want %d", i, tt.in[i].kind, tt.in[i].ts, got, tt.want[i])
				}
			}
		})
	}
}

// TestJitterHeadersAlone: headers in a batch with no frame after them (a
// player that joined an audio-only stream at the live edge) go at 0 when the
// timeline starts at 0, and at their own time with time_jitter off.
func TestJitterHeadersAlone(t *testing.T) {
	fs := []media.Frame{jf{'d', 7}.frame(), jf{'A', 7}.frame()}
	for _, tc := range []struct {
		mode media.TimeJitter
		want uint32
	}{{media.JitterFull, 0}, {media.JitterZero, 0}, {media.JitterOff, 7}} {
		jit := NewJitter(tc.mode)
		for i := range fs {
			if got := jit.Timestamp(&fs[i], fs[i+1:]); got != tc.want {
				t.Errorf("%v: frame %d at %d, want %d", tc.mode, i, got, tc.want)
			}
		}
	}
}

// TestJitterAllocs: correcting a timestamp allocates nothing.
func TestJitterAllocs(t *testing.T) {
	fs := []media.Frame{jf{'k', 0}.frame(), jf{'a', 5}.frame()}
	jit := NewJitter(media.JitterFull)
	if n := testing.AllocsPerRun(100, func() {
		for i := range fs {
			fs[i].DTS += 40 * time.Millisecond
			jit.Timestamp(&fs[i], fs[i+1:])
		}
	}); n != 0 {
		t.Errorf("%v allocs, want 0", n)
	}
}
