package flv

import "github.com/srs-lite/srs-lite/internal/media"

// Jitter correction constants. SRS replaces a jump of more than 250 ms
// between any two messages; that also "corrects" sparse video (a 1 fps
// camera, a screen capture) into fast motion, so a forward jump here is one
// past everything seen so far by more than maxJump, and a backward jump is
// one within a track (audio and video interleave freely).
const (
	maxJump      = 1000 // ms
	defaultDelta = 10   // ms: what a jump becomes, as SRS (ossrs/srs#425)
)

// Jitter rewrites one player's RTMP or FLV timestamps (milliseconds) as
// SRS's time_jitter does (SrsRtmpJitter):
//
//   - media.JitterFull: the timeline starts at 0 (see start) and has no
//     jumps: a track going back in time, or a frame more than maxJump past
//     every earlier one (a republish, a lapped reader skipping ahead, an
//     encoder restart), continues defaultDelta after the last frame. Audio
//     and video keep their relative timing otherwise.
//   - media.JitterZero: the timeline starts at 0, nothing else changes
//     (but nothing goes before 0).
//   - media.JitterOff: the publisher's timestamps.
//
// In every mode the metadata and sequence headers a player gets before its
// first frame go out at the start of its timeline, not at their own time
// (the publisher's start, long before a GOP cache join). Later sequence headers
// and metadata go out at the last timestamp of their track, so that no
// track goes back in time. Timestamps are read modulo 2^32 ms (RTMP's) and
// unwrapped, and written modulo 2^32.
//
// The zero value is a full-correction Jitter.
type Jitter struct {
	mode    media.TimeJitter
	started bool   // the timeline has its start
	av      bool   // an audio or video frame went out
	head    uint32 // the timestamp of headers before the first frame
	ref     uint32 // the last audio or video input timestamp, for unwrapping
	in      int64  // ref unwrapped, relative to the first frame
	offset  int64  // output minus input (full, zero)
	inMax   int64  // the highest input since the last jump
	outMax  int64  // the highest output
	last    int64  // the last output of any frame
	tracks  [2]jitterTrack
}

type jitterTrack struct {
	seen bool
	in   int64
	out  int64
}

// NewJitter returns a Jitter for one player with the given algorithm.
func NewJitter(mode media.TimeJitter) Jitter { return Jitter{mode: mode} }

// Timestamp returns the timestamp f goes out with. Frames must be passed in
// the order they are sent, each once. rest holds the frames that follow f in
// the player's batch: before the first audio or video frame, a sequence
// header or metadata takes the timestamp of the first one in rest.
func (j *Jitter) Timestamp(f *media.Frame, rest []media.Frame) uint32 {
	ts := Timestamp(f)
	if !j.started {
		j.start(f, rest)
	}
	if !isAV(f) {
		switch {
		case !j.av:
			return j.head
		case j.mode == media.JitterOff:
			return ts
		case f.Codec.IsVideo() && j.tracks[0].seen:
			return uint32(j.tracks[0].out)
		case f.Codec.IsAudio() && j.tracks[1].seen:
			return uint32(j.tracks[1].out)
		}
		return uint32(j.last)
	}
	j.av = true
	if j.mode == media.JitterOff {
		return ts
	}
	// Unwrap: the step from the last frame read as a signed 32-bit delta.
	in := j.in + int64(int32(ts-j.ref))
	j.ref, j.in = ts, in
	t := &j.tracks[0]
	if f.Codec.IsAudio() {
		t = &j.tracks[1]
	}
	var out int64
	if j.mode == media.JitterZero {
		out = max(in+j.offset, 0)
	} else {
		if t.seen && in < t.in || in > j.inMax+maxJump {
			j.offset = j.outMax + defaultDelta - in
			j.inMax = in
		}
		// Never before the start, never back in time on a track: the other
		// track's frames between a jump and its own jump wait at its last.
		out = max(in+j.offset, t.out)
	}
	t.seen, t.in, t.out = true, in, out
	j.inMax = max(j.inMax, in)
	j.outMax = max(j.outMax, out)
	j.last = out
	return uint32(out)
}

// start begins the timeline at the first audio or video frame, f or the
// first in rest, or at the earliest first frame of the other track when that
// one is a little earlier: MPEG-TS publishers send audio up to hundreds of
// ms behind the video, and a GOP cache join starts at the video keyframe.
// Without any such frame, headers go at 0, or at their own time with
// JitterOff.
func (j *Jitter) start(f *media.Frame, rest []media.Frame) {
	first := f
	for i := 0; !isAV(first); i++ {
		if i == len(rest) {
			if j.mode == media.JitterOff {
				j.head = Timestamp(f)
			}
			return
		}
		first = &rest[i]
	}
	ref := Timestamp(first)
	base := int64(0)
	for i := range rest {
		if n := &rest[i]; isAV(n) && n.Codec.IsVideo() != first.Codec.IsVideo() {
			if d := int64(int32(Timestamp(n) - ref)); d < 0 && d >= -maxJump {
				base = d
			}
			break
		}
	}
	j.started, j.ref, j.in, j.offset = true, ref, 0, -base
	j.head = 0
	if j.mode == media.JitterOff {
		j.head = uint32(int64(ref) + base)
	}
}

// isAV reports whether f is an audio or video frame, not a sequence header.
func isAV(f *media.Frame) bool {
	return (f.Codec.IsVideo() || f.Codec.IsAudio()) && !f.IsConfig()
}
