package ts

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/srs-lite/srs-lite/internal/format/codec/aac"
	"github.com/srs-lite/srs-lite/internal/media"
)

// isSubsequence reports whether every frame of got appears in want, in
// order, and returns how many frames of want are missing.
func missing(t *testing.T, got, want []media.Frame) int {
	t.Helper()
	j := 0
	for i := range got {
		for j < len(want) && !sameFrame(&got[i], &want[j]) {
			j++
		}
		if j == len(want) {
			t.Fatalf("frame %d (%s) is not in the input", i, describe(&got[i]))
		}
		j++
	}
	return len(want) - len(got)
}

func sameFrame(g, w *media.Frame) bool {
	return g.Codec == w.Codec && g.Flags == w.Flags && g.DTS == w.DTS && g.PTS == w.PTS && bytes.Equal(g.Payload, w.Payload)
}

func TestDemuxDamage(t *testing.T) {
	in := testStream(media.CodecH264, media.CodecAAC, 40)
	data := mux(t, media.CodecH264, media.CodecAAC, in)
	want := wantDemuxed(in)
	npk := len(data) / PacketSize
	garbage := []byte("\x47garbage \x47\x47 with sync bytes \x47 in it\x00\x00\x01\xe0")
	for _, tc := range []struct {
		name       string
		edit       func([]byte) []byte
		maxMissing int
	}{
		{"garbage first", func(b []byte) []byte { return append(append([]byte(nil), garbage...), b...) }, 0},
		{"garbage between packets", func(b []byte) []byte {
			at := npk / 2 * PacketSize
			return append(append(append([]byte(nil), b[:at]...), garbage...), b[at:]...)
		}, 0},
		{"bytes lost in a packet", func(b []byte) []byte {
			at := npk/2*PacketSize + 50
			return append(append([]byte(nil), b[:at]...), b[at+30:]...)
		}, 2},
		{"packet lost", func(b []byte) []byte {
			at := npk / 3 * PacketSize
			return append(append([]byte(nil), b[:at]...), b[at+PacketSize:]...)
		}, 1},
		{"packet duplicated", func(b []byte) []byte {
			at := npk / 3 * PacketSize
			return append(append([]byte(nil), b[:at+PacketSize]...), b[at:]...)
		}, 0},
		{"transport error", func(b []byte) []byte {
			b = append([]byte(nil), b...)
			b[npk/4*PacketSize+1] |= 0x80
			return b
		}, 1},
		{"truncated", func(b []byte) []byte { return b[:len(b)-100] }, 1},
	} {
		for _, chunk := range []int{0, 1, 1316} {
			t.Run(tc.name+"/chunk="+itoa(chunk), func(t *testing.T) {
				got := demuxAll(t, tc.edit(data), chunk)
				gv, ga := split(got)
				wv, wa := split(want)
				if n := missing(t, gv, wv) + missing(t, ga, wa); n > tc.maxMissing {
					t.Fatalf("%d frames missing, want at most %d", n, tc.maxMissing)
				}
			})
		}
	}
}

// tsOf muxes hand-made PES packets on the audio or video PID after the
// tables of a muxer with the given tracks.
func tsOf(video, audio media.Codec, pes ...[]byte) []byte {
	m := NewMuxer()
	m.SetTracks(video, audio)
	b := m.AppendTables(nil)
	for _, p := range pes {
		if p[3] == streamIDVideo {
			b = m.packetize(b, pidVideo, &m.videoCC, p, false, false, 0)
		} else {
			b = m.packetize(b, pidAudio, &m.audioCC, p, false, false, 0)
		}
	}
	return b
}

// pesOf builds a PES with the given stream id, PTS and ES bytes.
func pesOf(streamID byte, pts time.Duration, es ...[]byte) []byte {
	f := media.Frame{DTS: pts, PTS: pts}
	b := (&Muxer{}).appendPESHeader(nil, streamID, &f)
	for _, e := range es {
		b = append(b, e...)
	}
	return setPESLength(b)
}

func adts(asc aac.ASC, payload []byte) []byte {
	return append(aac.AppendADTS(nil, asc, len(payload)), payload...)
}

func TestDemuxAudioPES(t *testing.T) {
	asc := aac.ASC{ObjectType: 2, SampleRateIndex: 3, SampleRate: 48000, ChannelConfig: 2, Channels: 2}
	f1, f2, f3 := slice(200, 0x21, 1), slice(300, 0x21, 2), slice(250, 0x21, 3)
	a1, a2, a3 := adts(asc, f1), adts(asc, f2), adts(asc, f3)
	// An ADTS header with CRC (protection_absent 0): 9 bytes.
	crc := append([]byte(nil), a2[:7]...)
	crc[1] &^= 1
	n := 9 + len(f2)
	crc[3] = crc[3]&0xfc | byte(n>>11)
	crc[4] = byte(n >> 3)
	crc[5] = byte(n)<<5 | crc[5]&0x1f
	crc = append(append(crc, 0xab, 0xcd), f2...)
	dur := 1024 * time.Second / 48000
	at := ms(1000)
	for _, tc := range []struct {
		name string
		pes  [][]byte
		want []time.Duration // PTS of f1, f2, f3 in order
		pays [][]byte
	}{
		{"three frames in one PES", [][]byte{pesOf(0xc0, at, a1, a2, a3)},
			[]time.Duration{at, at + dur, at + 2*dur}, [][]byte{f1, f2, f3}},
		{"CRC header", [][]byte{pesOf(0xc0, at, a1, crc)}, []time.Duration{at, at + dur}, [][]byte{f1, f2}},
		{"garbage skipped", [][]byte{pesOf(0xc0, at, []byte{1, 2, 0xff, 3}, a1, []byte{0xff, 0xf1}, a2)},
			[]time.Duration{at, at + dur}, [][]byte{f1, f2}},
		{"frame across PES", [][]byte{pesOf(0xc0, at, a1, a2[:100]), pesOf(0xc0, at+ms(500), a2[100:], a3)},
			[]time.Duration{at, at + dur, at + ms(500)}, [][]byte{f1, f2, f3}},
		{"header across PES", [][]byte{pesOf(0xc0, at, a1, a2[:3]), pesOf(0xc0, at+ms(500), a2[3:], a3)},
			[]time.Duration{at, at + dur, at + ms(500)}, [][]byte{f1, f2, f3}},
		{"PES without PTS continues", [][]byte{pesOf(0xc0, at, a1), setPESLength(append([]byte{0, 0, 1, 0xc0, 0, 0, 0x80, 0, 0}, a2...))},
			[]time.Duration{at, at + dur}, [][]byte{f1, f2}},
		{"PES without PTS first is dropped", [][]byte{setPESLength(append([]byte{0, 0, 1, 0xc0, 0, 0, 0x80, 0, 0}, a1...)), pesOf(0xc0, at, a2)},
			[]time.Duration{at}, [][]byte{f2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := demuxAll(t, tsOf(0, media.CodecAAC, tc.pes...), 0)
			if len(got) != len(tc.want)+1 || !got[0].IsConfig() || !bytes.Equal(got[0].Payload, aac.BuildASC(2, 48000, 2)) {
				for _, f := range got {
					t.Log(describe(&f))
				}
				t.Fatalf("%d frames, want a config and %d", len(got), len(tc.want))
			}
			for i, f := range got[1:] {
				if f.PTS != tc.want[i] || f.DTS != f.PTS || !bytes.Equal(f.Payload, tc.pays[i]) || f.SampleRate != 48000 || f.Channels != 2 {
					t.Fatalf("frame %d: %s, want pts %v", i, describe(&f), tc.want[i])
				}
			}
		})
	}
}

func TestDemuxMP3(t *testing.T) {
	// MPEG-2 layer III, 64 kbit/s at 22.05 kHz, mono, padded: 72*64000/22050+1 = 209 bytes.
	lsf := make([]byte, 209)
	copy(lsf, []byte{0xff, 0xf3, 0x82, 0xc4})
	// MPEG-1 layer II: not demuxed.
	mp2 := make([]byte, 144*128000/44100)
	copy(mp2, []byte{0xff, 0xfd, 0x80, 0x04})
	at := ms(2000)
	got := demuxAll(t, tsOf(0, media.CodecMP3, pesOf(0xc0, at, mp3Frame(1), lsf, mp2, mp3Frame(2))), 0)
	want := []struct {
		pts  time.Duration
		rate uint32
		ch   uint8
		pay  []byte
	}{
		{at, 44100, 2, mp3Frame(1)},
		{at + 1152*time.Second/44100, 22050, 1, lsf},
		{at + 1152*time.Second/44100 + 576*time.Second/22050 + 1152*time.Second/44100, 44100, 2, mp3Frame(2)},
	}
	if len(got) != len(want) {
		t.Fatalf("%d frames, want %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.Codec != media.CodecMP3 || g.PTS != w.pts || g.SampleRate != w.rate || g.Channels != w.ch || !bytes.Equal(g.Payload, w.pay) {
			t.Fatalf("frame %d: %s, want pts %v", i, describe(&g), w.pts)
		}
	}
}

func TestDemuxVideo(t *testing.T) {
	sei := []byte{0x06, 0x05, 0x01, 0x80}
	idr := slice(400, 0x65, 0x88)
	p := slice(300, 0x41, 0x9a)
	at := ms(500)
	// Annex B with 3-byte start codes, AUD, filler and trailing zeros.
	key := pesOf(0xe0, at, []byte{0, 0, 0, 1, 9, 0xf0, 0, 0, 1}, testSPS264, []byte{0, 0, 1}, testPPS264,
		[]byte{0, 0, 1}, sei, []byte{0, 0, 1, 0x0c, 0xff, 0xff, 0, 0, 1}, idr, []byte{0, 0})
	non := pesOf(0xe0, at+ms(40), []byte{0, 0, 0, 1}, p)
	got := demuxAll(t, tsOf(media.CodecH264, 0, non, key, non), 0)
	// The frame before the parameter sets is dropped.
	if len(got) != 3 || !got[0].IsConfig() || got[0].DTS != at {
		t.Fatalf("%d frames, first %s", len(got), describe(&got[0]))
	}
	if !got[1].IsKey() || !bytes.Equal(got[1].Payload, avcc(sei, idr)) || got[2].IsKey() || !bytes.Equal(got[2].Payload, avcc(p)) {
		t.Fatalf("frames %s, %s", describe(&got[1]), describe(&got[2]))
	}
}

// TestDemuxPMTAcrossPackets reads a PMT section longer than one packet,
// whose first streams are ones the demuxer skips.
func TestDemuxPMTAcrossPackets(t *testing.T) {
	var streams []esInfo
	for i := range 40 {
		streams = append(streams, esInfo{0x06, uint16(0x200 + i)}) // private data
	}
	streams = append(streams, esInfo{streamTypeAAC, 0x300}, esInfo{streamTypeH264, 0x301})
	sec := appendPMT(nil, 3, 0x301, streams)
	if len(sec) < 190 {
		t.Fatalf("PMT of %d bytes fits a packet", len(sec))
	}
	b := appendSectionPacket(nil, pidPAT, 0, appendPAT(nil))
	// First packet: pointer_field and the first 183 bytes; second: the rest.
	b = append(b, syncByte, 0x40|pidPMT>>8, pidPMT&0xff, 0x10, 0)
	b = append(b, sec[:183]...)
	b = append(b, syncByte, pidPMT>>8, pidPMT&0xff, 0x11)
	b = append(b, sec[183:]...)
	b = append(b, stuffing[:PacketSize-4-len(sec[183:])]...)
	asc := aac.ASC{ObjectType: 2, SampleRateIndex: 4, SampleRate: 44100, ChannelConfig: 2, Channels: 2}
	var cc uint8
	b = (&Muxer{}).packetize(b, 0x300, &cc, pesOf(0xc0, ms(10), adts(asc, slice(100, 0x21))), false, false, 0)
	got := demuxAll(t, b, 0)
	if len(got) != 2 || got[1].Codec != media.CodecAAC || got[1].DTS != ms(10) {
		t.Fatalf("%d frames", len(got))
	}
}

// TestDemuxTrackChange follows a PMT version change from H.264 to H.265.
func TestDemuxTrackChange(t *testing.T) {
	m := NewMuxer()
	m.SetTracks(media.CodecH264, 0)
	b := m.AppendTables(nil)
	s1 := testStream(media.CodecH264, 0, 5)
	for i := range s1 {
		b, _ = m.AppendFrame(b, &s1[i])
	}
	m.SetTracks(media.CodecH265, 0)
	b = m.AppendTables(b)
	s2 := testStream(media.CodecH265, 0, 5)
	for i := range s2 {
		s2[i].DTS += ms(200)
		s2[i].PTS += ms(200)
		b, _ = m.AppendFrame(b, &s2[i])
	}
	got := demuxAll(t, b, 188)
	want := append(s1, s2...)
	want[len(s1)].DTS, want[len(s1)].PTS = ms(200), ms(200) // the config frame comes with the keyframe's time
	sameFrames(t, got, want)
}

func TestDemuxEmitError(t *testing.T) {
	data := mux(t, media.CodecH264, media.CodecAAC, testStream(media.CodecH264, media.CodecAAC, 20))
	stop := errors.New("stop")
	n := 0
	d := NewDemuxer(func(f *media.Frame) error {
		if n++; n == 5 {
			return stop
		}
		return nil
	})
	if _, err := d.Write(data); !errors.Is(err, stop) {
		t.Fatalf("Write: %v, want the emit error", err)
	}
}

// TestDemuxAllocs pins the demuxer at zero allocations per frame once its
// buffers have grown.
func TestDemuxAllocs(t *testing.T) {
	data := mux(t, media.CodecH264, media.CodecAAC, testStream(media.CodecH264, media.CodecAAC, 30))
	d := NewDemuxer(func(f *media.Frame) error { return nil })
	d.Write(data)
	allocs := testing.AllocsPerRun(20, func() {
		d.Write(data[2*PacketSize:]) // the same frames again, without the tables
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per run, want 0", allocs)
	}
}

func TestTimestampConversion(t *testing.T) {
	for _, tc := range []struct {
		d time.Duration
		t int64
	}{
		{0, 0}, {time.Second, 90000}, {ms(1), 90}, {-ms(1), -90}, {11111, 1}, {5555, 0}, {5556, 1},
		{26*time.Hour + 30*time.Minute, 8586000000},
	} {
		if got := ticks(tc.d); got != tc.t {
			t.Errorf("ticks(%v) = %d, want %d", tc.d, got, tc.t)
		}
	}
	for _, v := range []int64{0, 1, 89, 90, 90000, -90, 1 << 33, 1<<33 + 12345} {
		if got := ticks(duration(v)); got != v {
			t.Errorf("ticks(duration(%d)) = %d", v, got)
		}
	}
	d := NewDemuxer(nil)
	for _, tc := range []struct{ in, want int64 }{
		{1<<33 - 100, 1<<33 - 100},
		{50, 1<<33 + 50},
		{1<<33 - 10, 1<<33 - 10}, // a B-frame PTS just before the wrap
		{200, 1<<33 + 200},
		{1 << 32, 1<<33 + 1<<32},
		{1<<33 - 1, 2<<33 - 1},
		{5, 2<<33 + 5},
	} {
		if got := d.unwrap(tc.in); got != tc.want {
			t.Errorf("unwrap(%d) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

// TestDemuxNoWait: a frame written as aligned packets comes out within the
// Write that carries its last packet, without waiting for the next frame
// (an SRT publisher's frame goes on one frame interval sooner).
func TestDemuxNoWait(t *testing.T) {
	m := NewMuxer()
	m.SetTracks(media.CodecH264, 0)
	cfg := media.Frame{Codec: media.CodecH264, Flags: media.FlagConfig,
		Payload: []byte{1, 0x64, 0, 0x0d, 0xff, 0xe1, 0, byte(len(testSPS264))}}
	cfg.Payload = append(cfg.Payload, testSPS264...)
	cfg.Payload = append(cfg.Payload, 1, 0, byte(len(testPPS264)))
	cfg.Payload = append(cfg.Payload, testPPS264...)
	var got []time.Duration
	d := NewDemuxer(func(f *media.Frame) error {
		if !f.IsConfig() {
			got = append(got, f.DTS)
		}
		return nil
	})
	out := m.AppendTables(nil)
	out, _ = m.AppendFrame(out, &cfg)
	for i := range 5 {
		f := media.Frame{Codec: media.CodecH264, Flags: media.FlagKey, DTS: ms(40 * i), PTS: ms(40 * i),
			Payload: avcc(slice(3000+i*7, 0x65))}
		out, _ = m.AppendFrame(out, &f)
		for len(out) > 0 { // SRT payloads of up to 7 packets
			n := min(7*PacketSize, len(out))
			_, _ = d.Write(out[:n])
			out = out[n:]
		}
		if len(got) != i+1 || got[i] != ms(40*i) {
			t.Fatalf("after frame %d: got %v", i, got)
		}
	}
}

// TestDemuxOnPMT: OnPMT gets each new PMT's codecs, before the frames of
// its streams; a PMT repeated with the same version is not reported again.
func TestDemuxOnPMT(t *testing.T) {
	m := NewMuxer()
	m.SetTracks(media.CodecH264, media.CodecAAC)
	b := m.AppendTables(nil)
	b = m.AppendTables(b) // repeated, as muxers do
	s1 := testStream(media.CodecH264, 0, 3)
	for i := range s1 {
		b, _ = m.AppendFrame(b, &s1[i])
	}
	m.SetTracks(0, media.CodecAAC)
	b = m.AppendTables(b)
	var events []string
	d := NewDemuxer(func(f *media.Frame) error {
		events = append(events, "frame")
		return nil
	})
	d.OnPMT = func(v, a media.Codec) { events = append(events, fmt.Sprintf("pmt %v %v", v, a)) }
	if _, err := d.Write(b); err != nil {
		t.Fatal(err)
	}
	_ = d.Flush()
	want := fmt.Sprintf("pmt %v %v", media.CodecH264, media.CodecAAC)
	if len(events) < 3 || events[0] != want || events[1] != "frame" ||
		events[len(events)-1] != fmt.Sprintf("pmt %v %v", media.Codec(0), media.CodecAAC) {
		t.Errorf("events %q, want %q, frames, then the audio-only PMT", events, want)
	}
	n := 0
	for _, e := range events {
		if strings.HasPrefix(e, "pmt") {
			n++
		}
	}
	if n != 2 {
		t.Errorf("%d PMTs reported, want 2: %q", n, events)
	}
}
