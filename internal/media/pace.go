package media

import (
	"context"
	"time"
)

// Catch-up pacing, for players over UDP (WebRTC, SRT): a new player starts
// at the GOP cache's keyframe, up to a GOP behind the live edge. Sent at
// once, that GOP is a burst of hundreds of datagrams per player (a 2 s GOP
// of 3 Mbps: ~570 SRT packets, 750 KB), which overflows a receiver's socket
// buffer (Linux's default cap is 208 KB: 100 SRT players joining together
// lost 1-3% of their packets and dropped 0.5-1.3% as too late), and when
// many players join together the bursts queue up in front of every live
// player's packets on the server's core. The cached frames go out at
// CatchUpSpeed times real time instead (the keyframe at once), so a player
// reaches the live edge within GOP/(CatchUpSpeed-1) and then sends as the
// frames come; SRS paces its sends too.
const (
	// CatchUpSpeed is how many times real time a player's catch-up goes.
	CatchUpSpeed = 4
	// paceReset: a frame due further ahead than this is a timestamp jump
	// (a new publish, a wrapped clock): the pacing starts again from it.
	paceReset = time.Second
	// paceSlack: frames due within this are sent at once.
	paceSlack = 2 * time.Millisecond
)

// Pacer schedules a player's frames at CatchUpSpeed times real time at
// most, from the first frame's DTS.
type Pacer struct {
	start time.Time
	base  time.Duration // DTS of the first frame
	timer *time.Timer
}

// Wait returns how long frame time dts must wait at now (0: send it), and
// restarts the schedule on a timestamp jump either way.
func (pc *Pacer) Wait(dts time.Duration, now time.Time) time.Duration {
	if pc.start.IsZero() || dts < pc.base {
		pc.start, pc.base = now, dts
		return 0
	}
	d := pc.start.Add((dts - pc.base) / CatchUpSpeed).Sub(now)
	if d > paceReset {
		pc.start, pc.base = now, dts
		return 0
	}
	if d < paceSlack {
		return 0
	}
	return d
}

// Frame returns how long f must wait at now. Sequence headers and script
// data go at once and do not set the schedule (the GOP cache hands out the
// stream's sequence headers first, with the DTS of the publish's start,
// which may be a second or two before the keyframe); a discontinuity
// starts it again.
func (pc *Pacer) Frame(f *Frame, now time.Time) time.Duration {
	if f.IsConfig() || !f.Codec.IsVideo() && !f.Codec.IsAudio() {
		return 0
	}
	if f.Flags&FlagDiscontinuity != 0 {
		pc.start = time.Time{}
	}
	return pc.Wait(f.DTS, now)
}

// Sleep waits d or until ctx ends.
func (pc *Pacer) Sleep(ctx context.Context, d time.Duration) error {
	if pc.timer == nil {
		pc.timer = time.NewTimer(d)
	} else {
		pc.timer.Reset(d)
	}
	select {
	case <-pc.timer.C:
		return nil
	case <-ctx.Done():
		pc.timer.Stop()
		return context.Cause(ctx)
	}
}
