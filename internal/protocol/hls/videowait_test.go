package hls

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/srs-lite/srs-lite/internal/format/codec/h264"
	"github.com/srs-lite/srs-lite/internal/media"
)

// audioFirst writes what a WHIP publisher's stream starts with: the audio
// config and audio up to until, before any video.
func audioFirst(st *media.Stream, until time.Duration, acfg, aac []byte) {
	write(st, media.Frame{Codec: media.CodecAAC, Flags: media.FlagConfig}, acfg)
	for d := time.Duration(0); d < until; d += 20 * time.Millisecond {
		write(st, media.Frame{Codec: media.CodecAAC, DTS: d}, aac)
	}
}

func firstSegment(t *testing.T, mx *Muxer) *segment {
	t.Helper()
	mx.mu.Lock()
	defer mx.mu.Unlock()
	if len(mx.segs) == 0 {
		t.Fatal("no segment")
	}
	return mx.segs[0]
}

// A stream that declares video and sends audio first: the first segment
// starts at the first keyframe, and the audio before it is left out; a
// stream that declares nothing starts with its audio, as before.
func TestFirstSegmentWaitsForDeclaredVideo(t *testing.T) {
	for _, declared := range []bool{true, false} {
		useFake(t)
		m := NewManager("", nil)
		reg := testRegistry()
		st := publish(t, m, reg, Config{Fragment: time.Second, Window: 20 * time.Second, Dispose: time.Minute, Container: ContainerTS})
		if declared {
			st.ExpectTracks(true, true)
		}
		audioFirst(st, 500*time.Millisecond, []byte{1}, []byte{2})
		write(st, media.Frame{Codec: media.CodecH264, Flags: media.FlagConfig}, []byte{1})
		feed(st, 500*time.Millisecond, 4*time.Second, 25)
		st.Unpublish()
		mx := waitIdle(t, m)
		body := serve(m, "GET", "/live/s-0.ts").Body.String()
		first := firstSegment(t, mx)
		if declared && (!strings.HasPrefix(body, "TK") || first.start != 500*time.Millisecond) {
			t.Errorf("declared video: first segment %q at %v, want it to start at the keyframe (500ms)", body, first.start)
		}
		if !declared && (!strings.HasPrefix(body, "TA") || first.start != 0) {
			t.Errorf("nothing declared: first segment %q at %v, want the audio from 0", body, first.start)
		}
		m.Close()
	}
}

// fMP4: the first init segment of a stream that declares video and sends
// audio first has both tracks, and it is the only one.
func TestFMP4InitWaitsForDeclaredVideo(t *testing.T) {
	reg := testRegistry()
	m := NewManager("", nil)
	defer m.Close()
	st := publish(t, m, reg, Config{Fragment: time.Second, Window: 20 * time.Second, Dispose: time.Minute, Container: ContainerFMP4})
	st.ExpectTracks(true, true)
	audioFirst(st, 500*time.Millisecond, []byte{0x11, 0x90}, []byte{0x21, 0x10})
	write(st, media.Frame{Codec: media.CodecH264, Flags: media.FlagConfig}, h264.BuildConfig([][]byte{opusSPS}, [][]byte{opusPPS}))
	for i := 0; i < 3000/20; i++ { // 3 s of a 1 s GOP from 500 ms
		d := 500*time.Millisecond + time.Duration(i)*20*time.Millisecond
		if i%2 == 0 {
			fl := media.Flags(0)
			if i%50 == 0 {
				fl = media.FlagKey
			}
			write(st, media.Frame{Codec: media.CodecH264, Flags: fl, DTS: d}, []byte{0, 0, 0, 2, 0x65, 0x88})
		}
		write(st, media.Frame{Codec: media.CodecAAC, DTS: d}, []byte{0x21, 0x10})
	}
	st.Unpublish()
	waitIdle(t, m)
	pl := serve(m, "GET", "/live/s.m3u8").Body.String()
	maps := regexp.MustCompile(`#EXT-X-MAP:URI="([^"]+)"`).FindAllStringSubmatch(pl, -1)
	if len(maps) != 1 {
		t.Fatalf("want one init segment for the whole session:\n%s", pl)
	}
	init := serve(m, "GET", "/live/"+maps[0][1]).Body.Bytes()
	if !bytes.Contains(init, []byte("avc1")) || !bytes.Contains(init, []byte("mp4a")) {
		t.Fatalf("init segment without both tracks: %q", init)
	}
	seg := regexp.MustCompile(`(?m)^[^#].*\.m4s`).FindString(pl)
	body := serve(m, "GET", "/live/"+seg).Body.Bytes()
	if !bytes.Contains(body, []byte{0x65, 0x88}) || bytes.Count(body, []byte("traf")) != 2 {
		t.Fatalf("first segment %s without the video", seg)
	}
}

// A stream that declares video that never comes: after media.MaxVideoWait of audio,
// audio-only segments are made.
func TestDeclaredVideoThatNeverComes(t *testing.T) {
	useFake(t)
	m := NewManager("", nil)
	defer m.Close()
	reg := testRegistry()
	st := publish(t, m, reg, Config{Fragment: time.Second, Window: 20 * time.Second, Dispose: time.Minute, Container: ContainerTS})
	st.ExpectTracks(true, true)
	feed(st, 0, 5*time.Second, 0)
	st.Unpublish()
	mx := waitIdle(t, m)
	pl := serve(m, "GET", "/live/s.m3u8").Body.String()
	if n := strings.Count(pl, "#EXTINF:"); n < 2 || n > 4 {
		t.Fatalf("3 s of audio after the wait, 1 s fragments: %d segments:\n%s", n, pl)
	}
	body := serve(m, "GET", "/live/s-0.ts").Body.String()
	if !strings.HasPrefix(body, "TA") || strings.ContainsAny(body, "KV") {
		t.Fatalf("audio segment %q", body)
	}
	if first := firstSegment(t, mx); first.start < media.MaxVideoWait || first.start > media.MaxVideoWait+30*time.Millisecond {
		t.Fatalf("first segment at %v, want the first audio after %v", first.start, media.MaxVideoWait)
	}
}
