package hls

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/srs-lite/srs-lite/internal/media"
)

func TestATCSlot(t *testing.T) {
	s := time.Second
	for _, tc := range []struct {
		dts, tol, frag time.Duration
		want           uint64
	}{
		{0, 0, 2 * s, 0},
		{-s, 100 * time.Millisecond, 2 * s, 0},
		{1999 * time.Millisecond, 0, 2 * s, 0},
		{1999 * time.Millisecond, 100 * time.Millisecond, 2 * s, 1}, // a keyframe a hair early counts
		{2 * s, 0, 2 * s, 1},
		{3600 * s, 0, 2 * s, 1800},
		{5 * s, 0, 0, 0},
	} {
		if got := atcSlot(tc.dts, tc.tol, tc.frag); got != tc.want {
			t.Errorf("atcSlot(%v, %v, %v) = %d, want %d", tc.dts, tc.tol, tc.frag, got, tc.want)
		}
	}
}

// feedRange writes what an encoder with absolute timestamps sends from
// from to to: the sequence headers, then video at 25 fps with a keyframe
// every gop frames counted from time 0, and AAC. A server that joins late
// gets the same frames from its first keyframe on.
func feedRange(st *media.Stream, from, to time.Duration, gop int) {
	write := func(f media.Frame) {
		f.Payload = []byte{1, 2, 3}
		f.Own()
		st.Write(&f)
	}
	write(media.Frame{Codec: media.CodecH264, Flags: media.FlagConfig})
	write(media.Frame{Codec: media.CodecAAC, Flags: media.FlagConfig})
	vstep := 40 * time.Millisecond
	astep := 1024 * time.Second / 44100
	n := int(from / vstep)
	for n%gop != 0 { // a joining server starts at a keyframe
		n++
	}
	vt := time.Duration(n) * vstep
	at := (vt/astep + 1) * astep
	for vt < to {
		if vt <= at {
			f := media.Frame{Codec: media.CodecH264, DTS: vt, PTS: vt}
			if n%gop == 0 {
				f.Flags = media.FlagKey
			}
			write(f)
			vt += vstep
			n++
			continue
		}
		write(media.Frame{Codec: media.CodecAAC, DTS: at, PTS: at})
		at += astep
	}
}

// segsOf lists a muxer's segments as "seq:name:duration".
func segsOf(mx *Muxer) []string {
	mx.mu.Lock()
	defer mx.mu.Unlock()
	var out []string
	for _, s := range mx.segs {
		out = append(out, strconv.FormatUint(s.seq, 10)+":"+mx.segName(s.seq)+":"+s.dur.String())
	}
	return out
}

// TestATCSegmentsMatchAcrossOrigins: two origins, one fed from the
// encoder's start at 100 s, the other joining at 105 s, cut and number the
// same segments from the first whole fragment the late one has.
func TestATCSegmentsMatchAcrossOrigins(t *testing.T) {
	useFake(t)
	cfg := Config{Fragment: 2 * time.Second, Window: time.Minute, Dispose: time.Minute, Container: ContainerTS, ATC: true}
	run := func(from time.Duration) []string {
		m := NewManager("", nil)
		defer m.Close()
		reg := testRegistry()
		st := publish(t, m, reg, cfg)
		feedRange(st, from, 121*time.Second, 25) // 1 s GOP
		st.Unpublish()
		return segsOf(waitIdle(t, m))
	}
	a, b := run(100*time.Second), run(105*time.Second)
	if len(a) == 0 || a[0] != "50:s-50.ts:2s" {
		t.Fatalf("origin A does not start at slot 50: %v", a)
	}
	// B joined at 105 s, mid-slot 52: its first segment is the partial
	// 105..106 s one; from slot 53 on both are the same.
	if len(b) == 0 || b[0] != "52:s-52.ts:1s" {
		t.Fatalf("origin B's first segment: %v", b)
	}
	ia := 0
	for ia < len(a) && !strings.HasPrefix(a[ia], "53:") {
		ia++
	}
	// The last segment ends with the publish, at the same time for both.
	if got, want := strings.Join(b[1:], " "), strings.Join(a[ia:], " "); got != want {
		t.Fatalf("segments differ:\nA %s\nB %s", want, got)
	}
	if len(b) < 7 {
		t.Fatalf("too few segments: %v", b)
	}
}

// TestATCLongGOPKeepsSequenceConsecutive: with a GOP longer than the
// fragment the slots skip, but sequence numbers must not (RFC 8216 §6.2.1).
func TestATCLongGOPKeepsSequenceConsecutive(t *testing.T) {
	useFake(t)
	m := NewManager("", nil)
	defer m.Close()
	reg := testRegistry()
	st := publish(t, m, reg, Config{Fragment: time.Second, Window: time.Minute, Dispose: time.Minute, Container: ContainerTS, ATC: true})
	feedRange(st, 30*time.Second, 40*time.Second, 75) // 3 s GOP
	st.Unpublish()
	segs := segsOf(waitIdle(t, m))
	want := []string{"30:s-30.ts:3s", "31:s-31.ts:3s", "32:s-32.ts:3s", "33:s-33.ts:1s"}
	if strings.Join(segs, " ") != strings.Join(want, " ") {
		t.Fatalf("segments %v, want %v", segs, want)
	}
}
