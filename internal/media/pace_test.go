package media

import (
	"context"
	"testing"
	"time"
)

// A new player's cached GOP goes out at CatchUpSpeed times real time, the
// first frame at once; a caught-up player is not held back; timestamp
// jumps restart the schedule.
func TestPacerCatchUp(t *testing.T) {
	var pc Pacer
	t0 := time.Unix(1000, 0)
	base := 50 * time.Second
	if d := pc.Wait(base, t0); d != 0 {
		t.Fatalf("first frame waits %v", d)
	}
	// 2 s of cached GOP, all there at t0: frame at +400 ms is due at +100 ms.
	if d := pc.Wait(base+400*time.Millisecond, t0); d != 100*time.Millisecond {
		t.Fatalf("frame +400ms at t0 waits %v, want 100ms", d)
	}
	if d := pc.Wait(base+2*time.Second, t0); d != 500*time.Millisecond {
		t.Fatalf("frame +2s at t0 waits %v, want 500ms", d)
	}
	// Within the slack: at once.
	if d := pc.Wait(base+4*time.Millisecond, t0); d != 0 {
		t.Fatalf("frame due in 1ms waits %v", d)
	}
	// Caught up: live frames come at real time, which is never ahead.
	for i := 1; i <= 100; i++ {
		now := t0.Add(time.Second + time.Duration(i)*33*time.Millisecond)
		if d := pc.Wait(base+2*time.Second+time.Duration(i)*33*time.Millisecond, now); d != 0 {
			t.Fatalf("live frame %d waits %v", i, d)
		}
	}
	// A jump forward (a new publish): restart, no long wait.
	if d := pc.Wait(base+time.Hour, t0.Add(5*time.Second)); d != 0 {
		t.Fatalf("jump forward waits %v", d)
	}
	if d := pc.Wait(base+time.Hour+400*time.Millisecond, t0.Add(5*time.Second)); d != 100*time.Millisecond {
		t.Fatalf("after the jump, +400ms waits %v, want 100ms", d)
	}
	// Backwards (a restarted clock): restart.
	if d := pc.Wait(time.Second, t0.Add(6*time.Second)); d != 0 {
		t.Fatalf("jump back waits %v", d)
	}
	if d := pc.Wait(time.Second+800*time.Millisecond, t0.Add(6*time.Second)); d != 200*time.Millisecond {
		t.Fatalf("after the jump back, +800ms waits %v, want 200ms", d)
	}
}

// The GOP cache hands out the sequence headers first, with the DTS of the
// publish's start (here 2 s before the keyframe): they must not set the
// schedule, or the keyframe would wait 500 ms (it did: Chromium's first
// video packet came 500 ms late during a stream's first seconds).
func TestPacerConfigFirst(t *testing.T) {
	var pc Pacer
	t0 := time.Unix(1000, 0)
	frames := []Frame{
		{Codec: CodecH264, Flags: FlagConfig, DTS: 0},
		{Codec: CodecAAC, Flags: FlagConfig, DTS: 0},
		{Codec: CodecData, DTS: 0},
		{Codec: CodecH264, Flags: FlagKey, DTS: 2 * time.Second},
		{Codec: CodecAAC, DTS: 2*time.Second + 5*time.Millisecond},
	}
	for i := range frames {
		if d := pc.Frame(&frames[i], t0); d != 0 {
			t.Fatalf("frame %d waits %v", i, d)
		}
	}
	next := Frame{Codec: CodecH264, DTS: 2*time.Second + 400*time.Millisecond}
	if d := pc.Frame(&next, t0); d != 100*time.Millisecond {
		t.Fatalf("keyframe+400ms waits %v, want 100ms", d)
	}
	// A discontinuity restarts the schedule.
	disc := Frame{Codec: CodecH264, Flags: FlagDiscontinuity, DTS: 2*time.Second + 800*time.Millisecond}
	if d := pc.Frame(&disc, t0); d != 0 {
		t.Fatalf("discontinuity waits %v", d)
	}
}

func TestPacerSleepEndsWithContext(t *testing.T) {
	var pc Pacer
	if err := pc.Sleep(context.Background(), time.Millisecond); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	if err := pc.Sleep(ctx, time.Hour); err == nil || time.Since(start) > time.Second {
		t.Fatalf("sleep on a done context: %v after %v", err, time.Since(start))
	}
}

// BenchmarkPacerWait is the per-frame cost of the pacing decision.
func BenchmarkPacerWait(b *testing.B) {
	b.ReportAllocs()
	var pc Pacer
	now := time.Now()
	for i := range b.N {
		pc.Wait(time.Duration(i)*time.Millisecond, now.Add(time.Duration(i)*time.Millisecond))
	}
}
