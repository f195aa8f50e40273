package ts

import (
	"bytes"
	"testing"
	"time"

	"github.com/srs-lite/srs-lite/internal/format/codec/aac"
	"github.com/srs-lite/srs-lite/internal/media"
)

// wantDemuxed returns the frames the demuxer should give for frames muxed
// as they are: the same frames, with SampleRate and Channels on the audio
// frames and the SEI kept.
func wantDemuxed(in []media.Frame) []media.Frame {
	out := make([]media.Frame, 0, len(in))
	for _, f := range in {
		if f.Codec.IsAudio() {
			f.SampleRate, f.Channels = 44100, 2
		}
		out = append(out, f)
	}
	return out
}

// sameFrames compares frames of one codec kind in order.
func sameFrames(t *testing.T, got, want []media.Frame) {
	t.Helper()
	if len(got) != len(want) {
		for i := range max(len(got), len(want)) {
			var g, w string
			if i < len(got) {
				g = describe(&got[i])
			}
			if i < len(want) {
				w = describe(&want[i])
			}
			if g != w {
				t.Logf("%d: got  %s\n   want %s", i, g, w)
			}
		}
		t.Fatalf("got %d frames, want %d", len(got), len(want))
	}
	for i := range got {
		g, w := &got[i], &want[i]
		if g.Codec != w.Codec || g.Flags != w.Flags || g.DTS != w.DTS || g.PTS != w.PTS ||
			g.SampleRate != w.SampleRate || g.Channels != w.Channels || !bytes.Equal(g.Payload, w.Payload) {
			t.Fatalf("frame %d:\n got  %s\n want %s", i, describe(g), describe(w))
		}
	}
}

// split separates video and audio frames (the demuxer's interleaving
// follows the packets, not the input order).
func split(fs []media.Frame) (video, audio []media.Frame) {
	for _, f := range fs {
		if f.Codec.IsVideo() {
			video = append(video, f)
		} else {
			audio = append(audio, f)
		}
	}
	return video, audio
}

func TestRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name         string
		video, audio media.Codec
	}{
		{"h264+aac", media.CodecH264, media.CodecAAC},
		{"h265+mp3", media.CodecH265, media.CodecMP3},
		{"h264", media.CodecH264, 0},
		{"aac", 0, media.CodecAAC},
		{"mp3", 0, media.CodecMP3},
		{"h265+aac", media.CodecH265, media.CodecAAC},
	} {
		in := testStream(tc.video, tc.audio, 60)
		data := mux(t, tc.video, tc.audio, in)
		if len(data)%PacketSize != 0 {
			t.Fatalf("%s: %d bytes, not whole packets", tc.name, len(data))
		}
		wv, wa := split(wantDemuxed(in))
		for _, chunk := range []int{0, 1, 7, 188, 1316, 4000} {
			t.Run(tc.name+"/chunk="+itoa(chunk), func(t *testing.T) {
				gv, ga := split(demuxAll(t, data, chunk))
				sameFrames(t, gv, wv)
				sameFrames(t, ga, wa)
			})
		}
	}
}

func itoa(n int) string {
	if n == 0 {
		return "all"
	}
	b := []byte{}
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

// TestRoundTripWrap crosses the 33-bit wraparound of PTS and DTS (about
// 26.5 hours): demuxed time keeps increasing.
func TestRoundTripWrap(t *testing.T) {
	in := testStream(media.CodecH264, media.CodecAAC, 100)
	base := duration(1<<33) - 2*time.Second
	for i := range in {
		in[i].DTS += base
		in[i].PTS += base
	}
	data := mux(t, media.CodecH264, media.CodecAAC, in)
	got := demuxAll(t, data, 1316)
	// The audio ticks are rounded to 90 kHz: compare with the tick-rounded
	// input.
	want := wantDemuxed(in)
	for i := range want {
		want[i].DTS = duration(ticks(want[i].DTS))
		want[i].PTS = duration(ticks(want[i].PTS))
	}
	gv, ga := split(got)
	wv, wa := split(want)
	sameFrames(t, gv, wv)
	sameFrames(t, ga, wa)
	if last := gv[len(gv)-1].DTS; last < duration(1<<33) {
		t.Fatalf("last DTS %v did not pass the wraparound", last)
	}
}

// TestRoundTripConfigChange sends new parameter sets and a new AAC config
// mid-stream: the demuxer emits a config frame for each change only.
func TestRoundTripConfigChange(t *testing.T) {
	in := testStream(media.CodecH264, media.CodecAAC, 30)
	sps2 := append([]byte(nil), testSPS264...)
	sps2[3] = 0x1f // level 3.1
	rate := 48000
	var more []media.Frame
	at := ms(40 * 30)
	more = append(more,
		media.Frame{DTS: at, PTS: at, Codec: media.CodecH264, Flags: media.FlagKey,
			Payload: avcc(sps2, testPPS264, slice(500, 0x65, 0x88))},
		media.Frame{DTS: at, PTS: at, Codec: media.CodecAAC, Flags: media.FlagConfig,
			Payload: aac.BuildASC(aac.ObjectLC, rate, 1)},
		media.Frame{DTS: at, PTS: at, Codec: media.CodecAAC, Payload: slice(200, 0x21)},
		media.Frame{DTS: at + ms(40), PTS: at + ms(40), Codec: media.CodecH264, Flags: media.FlagKey,
			Payload: avcc(sps2, testPPS264, slice(500, 0x65, 0x88))},
	)
	data := mux(t, media.CodecH264, media.CodecAAC, append(in, more...))
	got := demuxAll(t, data, 0)
	var vcfg, acfg []media.Frame
	for _, f := range got {
		if f.IsConfig() && f.Codec.IsVideo() {
			vcfg = append(vcfg, f)
		} else if f.IsConfig() {
			acfg = append(acfg, f)
		}
	}
	if len(vcfg) != 2 || vcfg[1].DTS != at {
		t.Fatalf("%d video configs, want 2, the second at %v", len(vcfg), at)
	}
	if len(acfg) != 2 || !bytes.Equal(acfg[1].Payload, aac.BuildASC(aac.ObjectLC, rate, 1)) || acfg[1].SampleRate != 48000 || acfg[1].Channels != 1 {
		t.Fatalf("audio configs %d, last %s", len(acfg), describe(&acfg[len(acfg)-1]))
	}
	// The keyframes that carried their own SPS come out without it.
	last := got[len(got)-1]
	if !last.IsKey() || !bytes.Equal(last.Payload, avcc(slice(500, 0x65, 0x88))) {
		t.Fatalf("last frame %s", describe(&last))
	}
}

// TestRoundTripLargeFrame sends video frames over the 65535-byte PES limit:
// they go with PES_packet_length 0 and end at the next PES, or at Flush.
func TestRoundTripLargeFrame(t *testing.T) {
	in := testStream(media.CodecH264, 0, 1)
	in = append(in,
		media.Frame{DTS: ms(40), PTS: ms(40), Codec: media.CodecH264, Payload: avcc(slice(100000, 0x41, 0x9a))},
		media.Frame{DTS: ms(80), PTS: ms(80), Codec: media.CodecH264, Payload: avcc(slice(70000, 0x41, 0x9a))})
	data := mux(t, media.CodecH264, 0, in)
	var pesLen []int
	for _, p := range packets(t, data) {
		if p.pusi && p.pid == pidVideo {
			pesLen = append(pesLen, int(p.payload[4])<<8|int(p.payload[5]))
		}
	}
	if len(pesLen) != 3 || pesLen[0] == 0 || pesLen[1] != 0 || pesLen[2] != 0 {
		t.Fatalf("PES_packet_length %v, want [n 0 0]", pesLen)
	}
	sameFrames(t, demuxAll(t, data, 1316), in)
}
