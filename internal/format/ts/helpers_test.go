package ts

import (
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	"github.com/srs-lite/srs-lite/internal/format/codec/aac"
	"github.com/srs-lite/srs-lite/internal/format/codec/h264"
	"github.com/srs-lite/srs-lite/internal/format/codec/h265"
	"github.com/srs-lite/srs-lite/internal/media"
)

// Parameter sets of a 320x240 H.264 High profile stream and a 320x240
// H.265 Main profile stream (made by x264 and x265).
var (
	testSPS264 = []byte{0x67, 0x64, 0x00, 0x0d, 0xac, 0xd9, 0x41, 0x41, 0xfb, 0x01, 0x10, 0x00, 0x00, 0x03, 0x00, 0x10, 0x00, 0x00, 0x03, 0x03, 0x20, 0xf1, 0x42, 0x99, 0x60}
	testPPS264 = []byte{0x68, 0xeb, 0xe3, 0xcb, 0x22, 0xc0}
	testVPS265 = []byte{0x40, 0x01, 0x0c, 0x01, 0xff, 0xff, 0x01, 0x60, 0x00, 0x00, 0x03, 0x00, 0x90, 0x00, 0x00, 0x03, 0x00, 0x00, 0x03, 0x00, 0x3c, 0x95, 0x98, 0x09}
	testSPS265 = []byte{0x42, 0x01, 0x01, 0x01, 0x60, 0x00, 0x00, 0x03, 0x00, 0x90, 0x00, 0x00, 0x03, 0x00, 0x00, 0x03, 0x00, 0x3c, 0xa0, 0x0a, 0x08, 0x0f, 0x16, 0x59, 0x59, 0xa4, 0x93, 0x2b, 0xc0, 0x5a, 0x02, 0x00, 0x00, 0x03, 0x00, 0x02, 0x00, 0x00, 0x03, 0x00, 0x32, 0x10}
	testPPS265 = []byte{0x44, 0x01, 0xc1, 0x72, 0xb4, 0x62, 0x40}
)

// avcc builds a 4-byte length-prefixed access unit.
func avcc(nalus ...[]byte) []byte {
	var b []byte
	for _, n := range nalus {
		b = binary.BigEndian.AppendUint32(b, uint32(len(n)))
		b = append(b, n...)
	}
	return b
}

// slice returns a NAL unit of n bytes with the given header bytes and a
// payload that has no start code emulation.
func slice(n int, hdr ...byte) []byte {
	b := append([]byte(nil), hdr...)
	for i := len(b); i < n; i++ {
		b = append(b, byte(i%200+1))
	}
	return b
}

// mp3Frame returns an MPEG-1 layer III frame of 128 kbit/s at 44.1 kHz
// (417 bytes) with a recognizable body.
func mp3Frame(seed byte) []byte {
	b := make([]byte, 417)
	copy(b, []byte{0xff, 0xfb, 0x90, 0x64})
	for i := 4; i < len(b); i++ {
		b[i] = seed + byte(i%100)
	}
	return b
}

// ms is a duration in milliseconds.
func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

// testStream returns the frames of a synthetic stream: a config frame per
// track, then nVideo video frames at 25 fps with B-frames (a keyframe every
// 10) interleaved with AAC or MP3 frames by DTS.
func testStream(video, audio media.Codec, nVideo int) []media.Frame {
	var fs []media.Frame
	switch video {
	case media.CodecH264:
		fs = append(fs, media.Frame{Codec: video, Flags: media.FlagConfig,
			Payload: h264.BuildConfig([][]byte{testSPS264}, [][]byte{testPPS264})})
	case media.CodecH265:
		fs = append(fs, media.Frame{Codec: video, Flags: media.FlagConfig,
			Payload: h265.BuildConfig([][]byte{testVPS265}, [][]byte{testSPS265}, [][]byte{testPPS265})})
	}
	switch audio {
	case media.CodecAAC:
		fs = append(fs, media.Frame{Codec: audio, Flags: media.FlagConfig, SampleRate: 44100, Channels: 2,
			Payload: aac.BuildASC(aac.ObjectLC, 44100, 2)})
	}
	audioDur := 1024 * time.Second / 44100
	if audio == media.CodecMP3 {
		audioDur = 1152 * time.Second / 44100
	}
	var at time.Duration
	na := 0
	addAudio := func(until time.Duration) {
		for audio != 0 && at <= until {
			ts := at.Truncate(time.Millisecond) // as RTMP and FLV give it
			f := media.Frame{DTS: ts, PTS: ts, Codec: audio, SampleRate: 44100, Channels: 2}
			if audio == media.CodecAAC {
				f.Payload = slice(100+na%300, 0x21, byte(na))
			} else {
				f.Payload = mp3Frame(byte(na))
			}
			fs = append(fs, f)
			na++
			at += audioDur
		}
	}
	for i := range nVideo {
		dts := ms(40 * i)
		// Decode order I P B B P B B ...: PTS offsets as x264 with 2 B-frames.
		cts := ms(80)
		if i%3 != 0 {
			cts = ms(0)
		}
		addAudio(dts)
		if video == 0 {
			continue
		}
		f := media.Frame{DTS: dts, PTS: dts + cts, Codec: video}
		size := 300 + 97*(i%17)
		if i%10 == 0 {
			f.Flags = media.FlagKey
			size += 4000
		}
		if video == media.CodecH265 {
			typ := byte(1) // TRAIL_R
			if f.IsKey() {
				typ = 19 // IDR_W_RADL
			}
			f.Payload = avcc(slice(size, typ<<1, 1))
		} else {
			hdr := byte(0x41)
			if f.IsKey() {
				hdr = 0x65
			}
			f.Payload = avcc([]byte{0x06, 0x05, 0x01, 0x80}, slice(size, hdr, 0x88))
		}
		fs = append(fs, f)
	}
	return fs
}

// mux writes frames as a transport stream with tables first.
func mux(t testing.TB, video, audio media.Codec, frames []media.Frame) []byte {
	t.Helper()
	m := NewMuxer()
	m.SetTracks(video, audio)
	out := m.AppendTables(nil)
	for i := range frames {
		var err error
		if out, err = m.AppendFrame(out, &frames[i]); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
	}
	return out
}

// demuxAll demuxes data written in chunks of the given size (0: at once)
// and returns copies of the frames.
func demuxAll(t testing.TB, data []byte, chunk int) []media.Frame {
	t.Helper()
	var got []media.Frame
	d := NewDemuxer(func(f *media.Frame) error {
		c := *f
		c.Payload = append([]byte(nil), f.Payload...)
		got = append(got, c)
		return nil
	})
	if chunk <= 0 {
		chunk = len(data) + 1
	}
	for p := data; len(p) > 0; {
		n := min(chunk, len(p))
		if k, err := d.Write(p[:n]); err != nil || k != n {
			t.Fatalf("Write = %d, %v", k, err)
		}
		p = p[n:]
	}
	if err := d.Flush(); err != nil {
		t.Fatal(err)
	}
	return got
}

// describe prints a frame for failure messages.
func describe(f *media.Frame) string {
	return fmt.Sprintf("%v flags=%d dts=%v pts=%v rate=%d ch=%d len=%d", f.Codec, f.Flags, f.DTS, f.PTS,
		f.SampleRate, f.Channels, len(f.Payload))
}
