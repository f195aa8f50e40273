package ts

import (
	"bytes"
	"testing"
	"time"

	"github.com/srs-lite/srs-lite/internal/format/codec/aac"
	"github.com/srs-lite/srs-lite/internal/format/codec/h264"
	"github.com/srs-lite/srs-lite/internal/format/codec/h265"
	"github.com/srs-lite/srs-lite/internal/media"
)

// FuzzDemux demuxes arbitrary bytes written in chunks of arbitrary size. It
// must not panic, every frame it emits must be well formed, and the frames
// must mux again without error.
func FuzzDemux(f *testing.F) {
	f.Add(mux(f, media.CodecH264, media.CodecAAC, tinyStream(media.CodecH264, media.CodecAAC, 4)), uint16(1316))
	f.Add(mux(f, media.CodecH265, media.CodecMP3, tinyStream(media.CodecH265, media.CodecMP3, 2)), uint16(7))
	f.Add(append([]byte("\x47\x47junk"), mux(f, 0, media.CodecAAC, tinyStream(0, media.CodecAAC, 3))...), uint16(0))
	f.Fuzz(fuzzDemuxBody)
}

func fuzzDemuxBody(t *testing.T, data []byte, chunk uint16) {
	var frames []media.Frame
	d := NewDemuxer(func(fr *media.Frame) error {
		checkFrame(t, fr)
		c := *fr
		c.Payload = append([]byte(nil), fr.Payload...)
		frames = append(frames, c)
		return nil
	})
	n := max(int(chunk), 1)
	for p := data; len(p) > 0; {
		k := min(n, len(p))
		if w, err := d.Write(p[:k]); w != k || err != nil {
			t.Fatalf("Write = %d, %v", w, err)
		}
		p = p[k:]
	}
	if err := d.Flush(); err != nil {
		t.Fatal(err)
	}
	// What came out muxes again.
	var video, audio media.Codec
	for _, fr := range frames {
		if fr.Codec.IsVideo() && video == 0 {
			video = fr.Codec
		}
		if fr.Codec.IsAudio() && audio == 0 {
			audio = fr.Codec
		}
	}
	m := NewMuxer()
	m.SetTracks(video, audio)
	out := m.AppendTables(nil)
	for i := range frames {
		fr := &frames[i]
		if fr.Codec.IsVideo() && fr.Codec != video || fr.Codec.IsAudio() && fr.Codec != audio {
			m.SetTracks(video, audio) // a track change mid-stream: keep the first tracks
			continue
		}
		var err error
		if out, err = m.AppendFrame(out, fr); err != nil {
			t.Fatalf("remux frame %d (%s): %v", i, describe(fr), err)
		}
	}
	NewDemuxer(func(*media.Frame) error { return nil }).Write(out)
}

// tinyStream is testStream with small payloads, for fuzz seeds that the
// fuzzer can mutate and minimize quickly.
func tinyStream(video, audio media.Codec, nVideo int) []media.Frame {
	fs := testStream(video, audio, nVideo)
	for i := range fs {
		f := &fs[i]
		switch {
		case f.IsConfig():
		case f.Codec == media.CodecH264:
			f.Payload = avcc(slice(12, f.Payload[12]))
		case f.Codec == media.CodecH265:
			f.Payload = avcc(slice(12, f.Payload[4], 1))
		case f.Codec == media.CodecAAC:
			f.Payload = f.Payload[:8]
		case f.Codec == media.CodecMP3:
			// MPEG-2 layer III, 8 kbit/s at 22.05 kHz, mono: 26 bytes.
			f.Payload = append([]byte{0xff, 0xf3, 0x10, 0xc4}, slice(22, 1)...)
			f.SampleRate, f.Channels = 22050, 1
		}
	}
	return fs
}

// checkFrame checks the invariants of a demuxed frame.
func checkFrame(t *testing.T, f *media.Frame) {
	t.Helper()
	switch {
	case f.IsConfig() && f.Codec == media.CodecH264:
		if _, err := h264.ParseConfig(f.Payload); err != nil {
			t.Fatalf("AVC config: %v", err)
		}
	case f.IsConfig() && f.Codec == media.CodecH265:
		if _, err := h265.ParseConfig(f.Payload); err != nil {
			t.Fatalf("HEVC config: %v", err)
		}
	case f.IsConfig() && f.Codec == media.CodecAAC:
		if _, err := aac.ParseASC(f.Payload); err != nil {
			t.Fatalf("ASC % x: %v", f.Payload, err)
		}
	case f.IsConfig():
		t.Fatalf("config frame of %v", f.Codec)
	case f.Codec.IsVideo():
		if len(f.Payload) == 0 || h264.SplitAVCC(f.Payload, func([]byte) bool { return true }) != nil {
			t.Fatalf("video frame not AVCC: % x", f.Payload[:min(16, len(f.Payload))])
		}
	case f.Codec == media.CodecAAC:
		if f.SampleRate == 0 || len(f.Payload) > maxADTSPayload {
			t.Fatalf("AAC frame %s", describe(f))
		}
	case f.Codec == media.CodecMP3:
		if f.SampleRate == 0 || f.Channels == 0 {
			t.Fatalf("MP3 frame %s", describe(f))
		}
	default:
		t.Fatalf("frame of codec %v", f.Codec)
	}
	if f.PTS < f.DTS {
		t.Fatalf("PTS %v before DTS %v", f.PTS, f.DTS)
	}
}

// FuzzMuxRoundTrip builds a stream of frames from the fuzzer's bytes, muxes
// it and demuxes it in chunks: the frames must come back unchanged.
func FuzzMuxRoundTrip(f *testing.F) {
	f.Add([]byte("\x00\x10\x00hello world, this is a keyframe\x02\x05\x20an audio frame\x01\x30\x10p frame"), uint16(1316), false)
	f.Add(bytes.Repeat([]byte{0, 0xff, 0xff, 0, 0, 0, 1, 2, 3}, 300), uint16(1), true)
	f.Add(bytes.Repeat([]byte{2, 0x20, 1, 0xff, 0xf1, 0x50}, 50), uint16(188), false)
	f.Fuzz(func(t *testing.T, data []byte, chunk uint16, hevc bool) {
		in, video, audio := framesOf(data, hevc)
		m := NewMuxer()
		m.SetTracks(video, audio)
		out := m.AppendTables(nil)
		for i := range in {
			var err error
			if out, err = m.AppendFrame(out, &in[i]); err != nil {
				t.Fatalf("frame %d (%s): %v", i, describe(&in[i]), err)
			}
		}
		got := demuxAll(t, out, int(chunk))
		gv, ga := split(got)
		wv, wa := split(wantDemuxed(in))
		sameFrames(t, gv, wv)
		sameFrames(t, ga, wa)
	})
}

// framesOf decodes a frame sequence from fuzz data: per frame a kind byte
// (0 video keyframe, 1 video, 2 audio), a DTS step and a CTS in
// milliseconds, a size, then that many payload bytes. Video payloads are
// made valid NAL units (emulation prevention, no trailing zero); config
// frames come first and the first video frame is a keyframe.
func framesOf(data []byte, hevc bool) (fs []media.Frame, video, audio media.Codec) {
	video, audio = media.CodecH264, media.CodecAAC
	cfg := media.Frame{Codec: video, Flags: media.FlagConfig, Payload: h264.BuildConfig([][]byte{testSPS264}, [][]byte{testPPS264})}
	if hevc {
		video = media.CodecH265
		cfg = media.Frame{Codec: video, Flags: media.FlagConfig,
			Payload: h265.BuildConfig([][]byte{testVPS265}, [][]byte{testSPS265}, [][]byte{testPPS265})}
	}
	var vdts, adts time.Duration
	sawKey, sawAudio := false, false
	for len(data) >= 4 {
		kind, step, cts, size := data[0]%3, data[1], data[2], int(data[3])<<4
		data = data[4:]
		size = min(size, len(data))
		body := data[:size]
		data = data[size:]
		if kind == 2 {
			if !sawAudio {
				fs = append(fs, media.Frame{Codec: audio, Flags: media.FlagConfig, Payload: aac.BuildASC(2, 44100, 2)})
				sawAudio = true
			}
			adts += ms(int(step))
			fs = append(fs, media.Frame{DTS: adts, PTS: adts, Codec: audio, SampleRate: 44100, Channels: 2,
				Payload: append([]byte(nil), body...)})
			continue
		}
		if !sawKey {
			fs = append(fs, cfg)
			kind = 0
			sawKey = true
		}
		vdts += ms(int(step))
		fr := media.Frame{DTS: vdts, PTS: vdts + ms(int(cts)), Codec: video}
		var hdr []byte
		switch {
		case hevc && kind == 0:
			hdr = []byte{19 << 1, 1}
		case hevc:
			hdr = []byte{1 << 1, 1}
		case kind == 0:
			hdr = []byte{0x65}
		default:
			hdr = []byte{0x41}
		}
		if kind == 0 {
			fr.Flags = media.FlagKey
		}
		fr.Payload = avcc(escape(append(hdr, body...)))
		fs = append(fs, fr)
	}
	for i := range fs { // config frames take the time of the first frame of their kind
		if fs[i].IsConfig() {
			for j := i + 1; j < len(fs); j++ {
				if fs[j].Codec == fs[i].Codec && !fs[j].IsConfig() {
					fs[i].DTS, fs[i].PTS = fs[j].DTS, fs[j].DTS
					break
				}
			}
		}
	}
	return fs, video, audio
}

// escape inserts emulation prevention bytes (H.264 §7.4.1) and ends the NAL
// unit with a nonzero byte, as an encoder's output is.
func escape(nalu []byte) []byte {
	out := make([]byte, 0, len(nalu)+len(nalu)/2+1)
	zeros := 0
	for _, b := range nalu {
		if zeros >= 2 && b <= 3 {
			out = append(out, 3)
			zeros = 0
		}
		out = append(out, b)
		if b == 0 {
			zeros++
		} else {
			zeros = 0
		}
	}
	if out[len(out)-1] == 0 {
		out = append(out, 0x80) // rbsp_stop_one_bit
	}
	return out
}

// FuzzDemuxES wraps arbitrary elementary stream bytes in valid PES and
// transport packets of one codec, cut into PES at the fuzzer's offsets, so
// that the fuzzer reaches the Annex B, ADTS and MPEG audio parsers past the
// CRC-checked tables.
func FuzzDemuxES(f *testing.F) {
	asc := aac.ASC{ObjectType: 2, SampleRateIndex: 4, SampleRate: 44100, ChannelConfig: 2, Channels: 2}
	f.Add(uint8(0), append(annexB([]byte{9, 0xf0}, testSPS264, testPPS264, slice(40, 0x65)), annexB(slice(30, 0x41))...), uint16(20))
	f.Add(uint8(1), annexB(testVPS265, testSPS265, testPPS265, slice(40, 19<<1, 1)), uint16(0))
	f.Add(uint8(2), append(adts(asc, slice(30, 0x21)), adts(asc, slice(20, 0x21))...), uint16(40))
	f.Add(uint8(3), append(mp3Frame(1), 0xff, 0xf3, 0x10, 0xc4), uint16(300))
	f.Fuzz(func(t *testing.T, kind uint8, es []byte, cut uint16) {
		codecs := [4]media.Codec{media.CodecH264, media.CodecH265, media.CodecAAC, media.CodecMP3}
		c := codecs[kind%4]
		var video, audio media.Codec
		sid := byte(streamIDAudio)
		if c.IsVideo() {
			video, sid = c, streamIDVideo
		} else {
			audio = c
		}
		var pes [][]byte
		for i := 0; len(es) > 0; i++ {
			n := len(es)
			if cut > 0 {
				n = min(n, int(cut))
			}
			pes = append(pes, pesOf(sid, ms(40*i), es[:n]))
			es = es[n:]
		}
		if len(pes) == 0 {
			return
		}
		d := NewDemuxer(func(fr *media.Frame) error {
			checkFrame(t, fr)
			return nil
		})
		d.Write(tsOf(video, audio, pes...))
		if err := d.Flush(); err != nil {
			t.Fatal(err)
		}
	})
}
