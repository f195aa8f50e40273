package rtp

import (
	"time"
)

// Timeline bounds: a timestamp further than maxJump from the previous one
// of its track, or a track further than maxSkew from the arrival clock, is
// re-based on the arrival time (cameras that reset or jump their RTP clock).
const (
	maxJump = 10 * time.Second
	maxSkew = 30 * time.Second
)

// Timeline maps the 32-bit RTP timestamps of a session's tracks onto the one
// clock of media.Frame, starting near zero at the first packet.
//
// Each track starts at its first packet's arrival time (first-packet
// alignment). Once every track has had an RTCP sender report, the tracks
// are aligned once by the NTP times the reports pair with RTP timestamps
// (RFC 3550 §6.4.1), unless that moves a track by more than maxJump.
// Timestamps are unwrapped across 2^32 (RFC 3550 §5.1).
type Timeline struct {
	start   time.Time
	started bool
	synced  bool
	tracks  []*TrackClock
	// Warn, when not nil, hears about timestamps the timeline had to fix;
	// key names the kind, so that a caller can log each kind once.
	Warn func(key, msg string, args ...any)
}

// TrackClock is one track's RTP clock on a Timeline.
type TrackClock struct {
	tl      *Timeline
	rate    int64
	started bool
	last    uint32
	full    int64         // unwrapped ticks since the first packet
	base    time.Duration // session time of the first packet
	srNTP   time.Duration // NTP time of the last sender report, since 1900
	srTS    uint32
	hasSR   bool
}

// NewTimeline returns an empty timeline.
func NewTimeline() *Timeline { return &Timeline{} }

// Track adds a track whose RTP clock runs at rate Hz (90000 for video, the
// sample rate for most audio). The first track added is the reference the
// others are aligned to.
func (t *Timeline) Track(rate int) *TrackClock {
	c := &TrackClock{tl: t, rate: int64(max(rate, 1))}
	t.tracks = append(t.tracks, c)
	return c
}

func (t *Timeline) warn(key, msg string, args ...any) {
	if t.Warn != nil {
		t.Warn(key, msg, args...)
	}
}

func (c *TrackClock) ticks(d int64) time.Duration {
	// Split so that days of ticks do not overflow int64 nanoseconds.
	return time.Duration(d/c.rate)*time.Second + time.Duration(d%c.rate*int64(time.Second)/c.rate)
}

// Time returns the session time of RTP timestamp ts of a packet that arrived
// at now.
func (c *TrackClock) Time(ts uint32, now time.Time) time.Duration {
	t := c.tl
	if !t.started {
		t.started, t.start = true, now
	}
	elapsed := now.Sub(t.start)
	if !c.started {
		c.started, c.last, c.full, c.base = true, ts, 0, elapsed
		return elapsed
	}
	delta := int64(int32(ts - c.last))
	c.full += delta
	c.last = ts
	d := c.base + c.ticks(c.full)
	switch {
	case c.ticks(delta) > maxJump || c.ticks(delta) < -maxJump:
		t.warn("rtp-jump", "RTP timestamps jumped: re-based on arrival time", "jump", c.ticks(delta).String())
	case d-elapsed > maxSkew || elapsed-d > maxSkew:
		t.warn("rtp-skew", "RTP clock drifts from the arrival clock: re-based", "skew", (d - elapsed).String())
	default:
		return d
	}
	c.base = elapsed - c.ticks(c.full)
	return elapsed
}

// ntpDuration converts a 64-bit NTP timestamp (RFC 3550 §4) to a duration
// since 1900.
func ntpDuration(ntp uint64) time.Duration {
	sec, frac := int64(ntp>>32), ntp&0xffffffff
	return time.Duration(sec)*time.Second + time.Duration(frac*uint64(time.Second)>>32)
}

// SenderReport records an RTCP sender report's pairing of an NTP time with
// an RTP timestamp (RFC 3550 §6.4.1) and aligns the tracks the first time
// every started track has one.
func (c *TrackClock) SenderReport(ntp uint64, ts uint32) {
	if ntp == 0 {
		return
	}
	c.srNTP, c.srTS, c.hasSR = ntpDuration(ntp), ts, true
	t := c.tl
	if t.synced || len(t.tracks) < 2 {
		return
	}
	for _, tc := range t.tracks {
		if !tc.started || !tc.hasSR {
			return
		}
	}
	t.synced = true
	ref := t.tracks[0]
	refNTP := ref.firstNTP()
	for _, tc := range t.tracks[1:] {
		want := ref.base + tc.firstNTP() - refNTP
		if move := want - tc.base; move > maxJump || move < -maxJump {
			t.warn("rtcp-sr", "RTCP sender reports disagree with arrival times: tracks left aligned by arrival",
				"offset", move.String())
			continue
		}
		tc.base = want
	}
}

// firstNTP is the NTP time of the track's first packet, by its latest
// sender report.
func (c *TrackClock) firstNTP() time.Duration {
	srFull := c.full + int64(int32(c.srTS-c.last))
	return c.srNTP - c.ticks(srFull)
}
