package ts

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"github.com/srs-lite/srs-lite/internal/format/codec/aac"
	"github.com/srs-lite/srs-lite/internal/format/codec/h264"
	"github.com/srs-lite/srs-lite/internal/media"
)

func TestCRC32(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want uint32
	}{
		{"", 0xffffffff},
		{"123456789", 0x0376e6e7}, // the CRC-32/MPEG-2 check value
		// The PAT ffmpeg writes (transport_stream_id 1, PMT on 0x1000).
		{"\x00\xb0\x0d\x00\x01\xc1\x00\x00\x00\x01\xf0\x00", 0x2ab104b2},
	} {
		if got := crc32([]byte(tc.in)); got != tc.want {
			t.Errorf("crc32(%q) = %#08x, want %#08x", tc.in, got, tc.want)
		}
	}
}

// tsPacket is a parsed transport packet header (ISO 13818-1 §2.4.3.2).
type tsPacket struct {
	pusi    bool
	pid     int
	afc     byte
	cc      int
	af      []byte // adaptation field after its length byte
	payload []byte
}

func parsePacket(t *testing.T, p []byte) tsPacket {
	t.Helper()
	if len(p) != PacketSize || p[0] != syncByte {
		t.Fatalf("bad packet % x", p[:min(8, len(p))])
	}
	pk := tsPacket{pusi: p[1]&0x40 != 0, pid: int(p[1]&0x1f)<<8 | int(p[2]), afc: p[3] >> 4 & 3, cc: int(p[3] & 0xf)}
	if p[1]&0x80 != 0 || p[3]&0xc0 != 0 {
		t.Fatalf("transport_error_indicator or scrambling set: % x", p[:4])
	}
	rest := p[4:]
	switch pk.afc {
	case 1:
	case 3:
		n := int(rest[0])
		if n > 182 {
			t.Fatalf("adaptation_field_length %d", n)
		}
		pk.af = rest[1 : 1+n]
		rest = rest[1+n:]
		if n > 0 {
			used := 1
			if pk.af[0]&0x10 != 0 {
				used += 6
			}
			for i, b := range pk.af[used:] {
				if b != 0xff {
					t.Fatalf("stuffing byte %d is %#x", i, b)
				}
			}
		}
	default:
		t.Fatalf("adaptation_field_control %d", pk.afc)
	}
	if len(rest) == 0 {
		t.Fatal("packet without payload")
	}
	pk.payload = rest
	return pk
}

func packets(t *testing.T, b []byte) []tsPacket {
	t.Helper()
	if len(b)%PacketSize != 0 {
		t.Fatalf("%d bytes: not whole packets", len(b))
	}
	var ps []tsPacket
	for ; len(b) > 0; b = b[PacketSize:] {
		ps = append(ps, parsePacket(t, b[:PacketSize]))
	}
	return ps
}

func TestTables(t *testing.T) {
	for _, tc := range []struct {
		name         string
		video, audio media.Codec
		pcrPID       int
		streams      []esInfo
	}{
		{"h264+aac", media.CodecH264, media.CodecAAC, pidVideo, []esInfo{{0x1b, pidVideo}, {0x0f, pidAudio}}},
		{"h265+mp3", media.CodecH265, media.CodecMP3, pidVideo, []esInfo{{0x24, pidVideo}, {0x03, pidAudio}}},
		{"aac only", 0, media.CodecAAC, pidAudio, []esInfo{{0x0f, pidAudio}}},
		{"h264 only", media.CodecH264, 0, pidVideo, []esInfo{{0x1b, pidVideo}}},
		{"av1+opus is none", media.CodecAV1, media.CodecOpus, pidNull, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := NewMuxer()
			m.SetTracks(tc.video, tc.audio)
			var b []byte
			for i := range 18 {
				b = m.AppendTables(b[:0])
				ps := packets(t, b)
				if len(ps) != 2 || ps[0].pid != pidPAT || ps[1].pid != pidPMT || !ps[0].pusi || !ps[1].pusi {
					t.Fatalf("tables: %+v", ps)
				}
				if ps[0].cc != i%16 || ps[1].cc != i%16 {
					t.Fatalf("round %d: continuity counters %d, %d", i, ps[0].cc, ps[1].cc)
				}
			}
			ps := packets(t, b)
			if ps[0].payload[0] != 0 || ps[1].payload[0] != 0 {
				t.Fatal("pointer_field not 0")
			}
			pat, ok := parseSection(ps[0].payload[1:])
			if !ok || pat.tableID != 0 || !pat.current || !bytes.Equal(pat.body, []byte{0, 1, 0xf0, 0x01}) {
				t.Fatalf("PAT %+v, ok %v", pat, ok)
			}
			pmt, ok := parseSection(ps[1].payload[1:])
			if !ok || pmt.tableID != 2 || pmt.idExt != 1 || !pmt.current {
				t.Fatalf("PMT %+v, ok %v", pmt, ok)
			}
			if pcr := int(binary.BigEndian.Uint16(pmt.body) & 0x1fff); pcr != tc.pcrPID {
				t.Errorf("PCR_PID %#x, want %#x", pcr, tc.pcrPID)
			}
			var got []esInfo
			for es := pmt.body[4:]; len(es) >= 5; es = es[5:] {
				got = append(got, esInfo{es[0], binary.BigEndian.Uint16(es[1:]) & 0x1fff})
			}
			if len(got) != len(tc.streams) {
				t.Fatalf("streams %+v, want %+v", got, tc.streams)
			}
			for i := range got {
				if got[i] != tc.streams[i] {
					t.Fatalf("streams %+v, want %+v", got, tc.streams)
				}
			}
		})
	}
}

func TestPMTVersion(t *testing.T) {
	m := NewMuxer()
	version := func() uint8 {
		ps := packets(t, m.AppendTables(nil))
		s, _ := parseSection(ps[1].payload[1:])
		return s.version
	}
	m.SetTracks(media.CodecH264, media.CodecAAC)
	v1 := version()
	m.SetTracks(media.CodecH264, media.CodecAAC)
	if v := version(); v != v1 {
		t.Fatalf("same tracks bumped the version %d -> %d", v1, v)
	}
	m.SetTracks(media.CodecH265, media.CodecAAC)
	if v := version(); v != (v1+1)&0x1f {
		t.Fatalf("new tracks: version %d, want %d", v, v1+1)
	}
	for range 40 { // version_number is 5 bits
		m.SetTracks(media.CodecH264, 0)
		m.SetTracks(media.CodecH264, media.CodecMP3)
	}
	if v := version(); v > 31 {
		t.Fatalf("version %d", v)
	}
}

func TestPESHeader(t *testing.T) {
	wrap := duration(1 << 33)
	for _, tc := range []struct {
		name               string
		dts, pts           time.Duration
		wantPTS, wantDTS   int64
		wantFlags, wantLen byte
	}{
		{"zero", 0, 0, 0, -1, 0x80, 5},
		{"pts only", ms(1000), ms(1000), 90000, -1, 0x80, 5},
		{"pts and dts", ms(1000), ms(1080), 97200, 90000, 0xc0, 10},
		{"33-bit wrap", wrap + ms(10), wrap + ms(50), 4500, 900, 0xc0, 10},
		{"max", duration(1<<33 - 1), duration(1<<33 - 1), 1<<33 - 1, -1, 0x80, 5},
		{"pts before dts clamped", ms(100), ms(50), 9000, -1, 0x80, 5},
		{"ns rounded to ticks", 11111 * time.Nanosecond, 5555 * time.Nanosecond, 1, -1, 0x80, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := NewMuxer()
			f := media.Frame{DTS: tc.dts, PTS: tc.pts, Codec: media.CodecMP3}
			b := m.appendPESHeader(nil, streamIDAudio, &f)
			if !bytes.Equal(b[:4], []byte{0, 0, 1, 0xc0}) || b[6] != 0x84 || b[7] != tc.wantFlags || b[8] != tc.wantLen || len(b) != 9+int(tc.wantLen) {
				t.Fatalf("header % x", b)
			}
			h, ok := parsePES(b)
			if !ok || h.pts != tc.wantPTS || (tc.wantDTS < 0) == h.hasDTS || (h.hasDTS && h.dts != tc.wantDTS) {
				t.Fatalf("parsed %+v, want pts %d dts %d", h, tc.wantPTS, tc.wantDTS)
			}
			// Marker bits (ISO 13818-1 §2.4.3.7).
			for i := 9; i < len(b); i += 5 {
				if b[i]&1 != 1 || b[i+2]&1 != 1 || b[i+4]&1 != 1 {
					t.Fatalf("marker bits in % x", b[i:i+5])
				}
			}
		})
	}
}

// TestPacketize checks the packetization of PES sizes around the packet
// boundaries, with and without PCR and random_access_indicator: whole
// packets, the fewest of them, stuffing only on the last, the payload
// intact and the continuity counter wrapping.
func TestPacketize(t *testing.T) {
	m := NewMuxer()
	var cc uint8 = 14
	for _, size := range []int{1, 2, 175, 176, 177, 182, 183, 184, 185, 366, 367, 368, 369, 1000} {
		for _, flags := range []struct{ pcr, rai bool }{{false, false}, {true, true}, {false, true}, {true, false}} {
			pes := make([]byte, size)
			for i := range pes {
				pes[i] = byte(i)
			}
			b := m.packetize(nil, pidVideo, &cc, pes, flags.pcr, flags.rai, 123456)
			ps := packets(t, b)
			first := 0
			if flags.pcr {
				first = 8
			} else if flags.rai {
				first = 2
			}
			want := 1 + (max(size-(184-first), 0)+183)/184
			if len(ps) != want {
				t.Fatalf("size %d %+v: %d packets, want %d", size, flags, len(ps), want)
			}
			var got []byte
			for i, p := range ps {
				got = append(got, p.payload...)
				if p.pid != pidVideo || p.pusi != (i == 0) {
					t.Fatalf("size %d packet %d: pid %#x pusi %v", size, i, p.pid, p.pusi)
				}
				if i > 0 && p.cc != (ps[i-1].cc+1)%16 {
					t.Fatalf("continuity counter %d after %d", p.cc, ps[i-1].cc)
				}
				if i > 0 && i < len(ps)-1 && p.afc != 1 {
					t.Fatalf("size %d: middle packet %d has an adaptation field", size, i)
				}
				if i == 0 {
					hasAF := flags.pcr || flags.rai
					if hasAF && (len(p.af) == 0 || (p.af[0]&0x40 != 0) != flags.rai || (p.af[0]&0x10 != 0) != flags.pcr) {
						t.Fatalf("size %d %+v: adaptation field % x", size, flags, p.af)
					}
					if flags.pcr {
						base := int64(p.af[1])<<25 | int64(p.af[2])<<17 | int64(p.af[3])<<9 | int64(p.af[4])<<1 | int64(p.af[5]>>7)
						ext := int(p.af[5]&1)<<8 | int(p.af[6])
						if base != 123456 || ext != 0 || p.af[5]&0x7e != 0x7e {
							t.Fatalf("PCR base %d ext %d", base, ext)
						}
					}
				}
			}
			if !bytes.Equal(got, pes) {
				t.Fatalf("size %d %+v: payload differs", size, flags)
			}
		}
	}
}

// TestAdaptationFieldSizes pins the three stuffing shapes of ISO 13818-1
// §2.4.3.4: 183 payload bytes need a 1-byte adaptation field (length 0),
// 182 a 2-byte one (length 1, flags only), 184 none.
func TestAdaptationFieldSizes(t *testing.T) {
	m := NewMuxer()
	for _, tc := range []struct {
		size        int
		afc         byte
		afLenFields []byte // the bytes after the 4-byte header, up to the payload
	}{
		{184, 1, nil},
		{183, 3, []byte{0}},
		{182, 3, []byte{1, 0}},
		{181, 3, []byte{2, 0, 0xff}},
	} {
		var cc uint8
		b := m.packetize(nil, pidAudio, &cc, bytes.Repeat([]byte{7}, tc.size), false, false, 0)
		if len(b) != PacketSize || b[3]>>4 != tc.afc || !bytes.Equal(b[4:4+len(tc.afLenFields)], tc.afLenFields) {
			t.Errorf("size %d: % x", tc.size, b[:8])
		}
	}
}

func TestCCWraparound(t *testing.T) {
	m := NewMuxer()
	m.SetTracks(0, media.CodecMP3)
	var b []byte
	for i := range 40 {
		f := media.Frame{DTS: ms(26 * i), PTS: ms(26 * i), Codec: media.CodecMP3, Payload: mp3Frame(1)}
		var err error
		if b, err = m.AppendFrame(b, &f); err != nil {
			t.Fatal(err)
		}
	}
	ps := packets(t, b)
	for i, p := range ps {
		if p.cc != i%16 {
			t.Fatalf("packet %d: cc %d", i, p.cc)
		}
	}
}

// TestPCR checks where the PCR and the random_access_indicator go.
func TestPCR(t *testing.T) {
	vkey := media.Frame{DTS: ms(1000), PTS: ms(1080), Codec: media.CodecH264, Flags: media.FlagKey, Payload: avcc(slice(50, 0x65))}
	vnon := media.Frame{DTS: ms(1040), PTS: ms(1040), Codec: media.CodecH264, Payload: avcc(slice(50, 0x41))}
	aud := media.Frame{DTS: ms(1010), PTS: ms(1010), Codec: media.CodecAAC, Payload: slice(50, 0x21)}
	cfg := media.Frame{Codec: media.CodecAAC, Flags: media.FlagConfig, Payload: aac.BuildASC(2, 44100, 2)}
	for _, tc := range []struct {
		name         string
		video, audio media.Codec
		f            *media.Frame
		pcr          int64 // -1: none
		rai          bool
	}{
		{"video key", media.CodecH264, media.CodecAAC, &vkey, 90000, true},
		{"video", media.CodecH264, media.CodecAAC, &vnon, 93600, false},
		{"audio with video", media.CodecH264, media.CodecAAC, &aud, -1, false},
		{"audio only", 0, media.CodecAAC, &aud, 90900, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := NewMuxer()
			m.SetTracks(tc.video, tc.audio)
			if _, err := m.AppendFrame(nil, &cfg); err != nil {
				t.Fatal(err)
			}
			b, err := m.AppendFrame(nil, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			p := packets(t, b)[0]
			hasPCR := len(p.af) > 0 && p.af[0]&0x10 != 0
			if hasPCR != (tc.pcr >= 0) || (len(p.af) > 0 && p.af[0]&0x40 != 0) != tc.rai {
				t.Fatalf("adaptation field % x", p.af)
			}
			if hasPCR {
				base := int64(binary.BigEndian.Uint32(p.af[1:]))<<1 | int64(p.af[5]>>7)
				if base != tc.pcr {
					t.Fatalf("PCR %d, want %d", base, tc.pcr)
				}
			}
		})
	}
}

// esOf returns the elementary stream bytes of the single PES in b.
func esOf(t *testing.T, b []byte) []byte {
	t.Helper()
	var pes []byte
	for _, p := range packets(t, b) {
		pes = append(pes, p.payload...)
	}
	h, ok := parsePES(pes)
	if !ok {
		t.Fatalf("PES % x", pes[:min(20, len(pes))])
	}
	if n := int(binary.BigEndian.Uint16(pes[4:])); n != 0 && n != len(pes)-6 {
		t.Fatalf("PES_packet_length %d for %d bytes", n, len(pes)-6)
	}
	return h.payload
}

func annexB(nalus ...[]byte) []byte {
	var b []byte
	for _, n := range nalus {
		b = append(b, 0, 0, 0, 1)
		b = append(b, n...)
	}
	return b
}

func TestVideoES(t *testing.T) {
	cfg264 := media.Frame{Codec: media.CodecH264, Flags: media.FlagConfig, Payload: h264.BuildConfig([][]byte{testSPS264}, [][]byte{testPPS264})}
	idr := slice(300, 0x65, 0x88)
	p := slice(300, 0x41, 0x9a)
	aud := []byte{0x09, 0xf0}
	for _, tc := range []struct {
		name   string
		config bool
		f      media.Frame
		want   []byte
	}{
		{"keyframe gets the sets", true, media.Frame{Codec: media.CodecH264, Flags: media.FlagKey, Payload: avcc(idr)},
			annexB(aud, testSPS264, testPPS264, idr)},
		{"keyframe with its own sets", true, media.Frame{Codec: media.CodecH264, Flags: media.FlagKey, Payload: avcc(testSPS264, testPPS264, idr)},
			annexB(aud, testSPS264, testPPS264, idr)},
		{"AUD in the frame dropped", true, media.Frame{Codec: media.CodecH264, Payload: avcc([]byte{0x09, 0x30}, p)},
			annexB(aud, p)},
		{"non-key frame", true, media.Frame{Codec: media.CodecH264, Payload: avcc(p)}, annexB(aud, p)},
		{"keyframe before any config", false, media.Frame{Codec: media.CodecH264, Flags: media.FlagKey, Payload: avcc(idr)},
			annexB(aud, idr)},
		{"empty frame", true, media.Frame{Codec: media.CodecH264}, annexB(aud)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := NewMuxer()
			m.SetTracks(media.CodecH264, 0)
			if tc.config {
				if b, err := m.AppendFrame(nil, &cfg264); err != nil || len(b) != 0 {
					t.Fatalf("config frame: %d bytes, %v", len(b), err)
				}
			}
			b, err := m.AppendFrame(nil, &tc.f)
			if err != nil {
				t.Fatal(err)
			}
			if es := esOf(t, b); !bytes.Equal(es, tc.want) {
				t.Fatalf("ES\n% x\nwant\n% x", es[:min(60, len(es))], tc.want[:min(60, len(tc.want))])
			}
		})
	}
}

func TestAudioES(t *testing.T) {
	raw := slice(300, 0x21, 0x1a)
	for _, tc := range []struct {
		name string
		cfg  []byte
		f    media.Frame
		hdr  aac.ADTS
	}{
		{"from ASC", aac.BuildASC(aac.ObjectLC, 48000, 1), media.Frame{Codec: media.CodecAAC, Payload: raw},
			aac.ADTS{ObjectType: 2, SampleRateIndex: 3, SampleRate: 48000, ChannelConfig: 1, Channels: 1}},
		{"from frame before ASC", nil, media.Frame{Codec: media.CodecAAC, SampleRate: 22050, Channels: 2, Payload: raw},
			aac.ADTS{ObjectType: 2, SampleRateIndex: 7, SampleRate: 22050, ChannelConfig: 2, Channels: 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := NewMuxer()
			m.SetTracks(0, media.CodecAAC)
			if tc.cfg != nil {
				c := media.Frame{Codec: media.CodecAAC, Flags: media.FlagConfig, Payload: tc.cfg}
				if _, err := m.AppendFrame(nil, &c); err != nil {
					t.Fatal(err)
				}
			}
			b, err := m.AppendFrame(nil, &tc.f)
			if err != nil {
				t.Fatal(err)
			}
			es := esOf(t, b)
			h, n, err := aac.ParseADTS(es)
			if err != nil || n != len(es) || !bytes.Equal(es[h.HeaderLen:], raw) {
				t.Fatalf("ADTS %+v len %d of %d: %v", h, n, len(es), err)
			}
			if h.ObjectType != tc.hdr.ObjectType || h.SampleRate != tc.hdr.SampleRate || h.Channels != tc.hdr.Channels || h.CRC || h.RawBlocks != 1 {
				t.Fatalf("ADTS %+v, want %+v", h, tc.hdr)
			}
		})
	}
}

func TestMuxErrors(t *testing.T) {
	for _, tc := range []struct {
		name         string
		video, audio media.Codec
		f            media.Frame
		want         error
	}{
		{"AV1", media.CodecH264, media.CodecAAC, media.Frame{Codec: media.CodecAV1, Payload: []byte{1}}, ErrUnsupported},
		{"Opus", media.CodecH264, media.CodecAAC, media.Frame{Codec: media.CodecOpus, Payload: []byte{1}}, ErrUnsupported},
		{"PCMA", media.CodecH264, media.CodecAAC, media.Frame{Codec: media.CodecPCMA, Payload: []byte{1}}, ErrUnsupported},
		{"H265 on an H264 track", media.CodecH264, media.CodecAAC, media.Frame{Codec: media.CodecH265, Payload: avcc([]byte{2, 1})}, ErrNoTrack},
		{"audio without track", media.CodecH264, 0, media.Frame{Codec: media.CodecAAC, Payload: []byte{1}}, ErrNoTrack},
		{"truncated AVCC", media.CodecH264, 0, media.Frame{Codec: media.CodecH264, Payload: []byte{0, 0, 0, 9, 0x65}}, ErrInvalid},
		{"short AVCC prefix", media.CodecH264, 0, media.Frame{Codec: media.CodecH264, Payload: []byte{0, 0, 0}}, ErrInvalid},
		{"AAC without config", 0, media.CodecAAC, media.Frame{Codec: media.CodecAAC, Payload: []byte{1}}, ErrInvalid},
		{"AAC too large", 0, media.CodecAAC, media.Frame{Codec: media.CodecAAC, SampleRate: 44100, Channels: 2, Payload: make([]byte, 8185)}, ErrInvalid},
		{"bad AVC config", media.CodecH264, 0, media.Frame{Codec: media.CodecH264, Flags: media.FlagConfig, Payload: []byte{1, 2}}, ErrInvalid},
		{"bad ASC", 0, media.CodecAAC, media.Frame{Codec: media.CodecAAC, Flags: media.FlagConfig, Payload: []byte{0}}, ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := NewMuxer()
			m.SetTracks(tc.video, tc.audio)
			dst := []byte("x")
			got, err := m.AppendFrame(dst, &tc.f)
			if !errors.Is(err, tc.want) || string(got) != "x" {
				t.Fatalf("err %v, %d bytes; want %v and dst unchanged", err, len(got), tc.want)
			}
		})
	}
	// Script data is skipped quietly.
	m := NewMuxer()
	if b, err := m.AppendFrame(nil, &media.Frame{Codec: media.CodecData, Payload: []byte{2}}); err != nil || len(b) != 0 {
		t.Fatalf("CodecData: %d bytes, %v", len(b), err)
	}
}

// TestMuxAllocs pins the muxer's hot path at zero allocations.
func TestMuxAllocs(t *testing.T) {
	frames := testStream(media.CodecH264, media.CodecAAC, 30)
	m := NewMuxer()
	m.SetTracks(media.CodecH264, media.CodecAAC)
	buf := make([]byte, 0, 1<<20)
	for i := range frames { // warm up the scratch
		buf, _ = m.AppendFrame(buf[:0], &frames[i])
	}
	allocs := testing.AllocsPerRun(50, func() {
		b := m.AppendTables(buf[:0])
		for i := range frames {
			if frames[i].IsConfig() {
				continue
			}
			b, _ = m.AppendFrame(b[:0], &frames[i])
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per run, want 0", allocs)
	}
}

// TestInBandSets: an empty sequence header (ffmpeg's tee muxer) is no
// error, and keyframes carrying their own SPS/PPS keep them, H.264 and
// H.265.
func TestInBandSets(t *testing.T) {
	idr := slice(300, 0x65, 0x88)
	irap := slice(300, 0x26, 0x01)
	vps, sps, pps := []byte{0x40, 0x01, 0x0c}, []byte{0x42, 0x01, 0x01}, []byte{0x44, 0x01, 0xc1}
	for _, tc := range []struct {
		codec media.Codec
		au    []byte
		want  []byte
	}{
		{media.CodecH264, avcc(testSPS264, testPPS264, idr), annexB([]byte{0x09, 0xf0}, testSPS264, testPPS264, idr)},
		{media.CodecH265, avcc(vps, sps, pps, irap), annexB([]byte{0x46, 0x01, 0x50}, vps, sps, pps, irap)},
	} {
		m := NewMuxer()
		m.SetTracks(tc.codec, 0)
		if b, err := m.AppendFrame(nil, &media.Frame{Codec: tc.codec, Flags: media.FlagConfig}); err != nil || len(b) != 0 {
			t.Fatalf("%v: empty sequence header: %d bytes, %v", tc.codec, len(b), err)
		}
		b, err := m.AppendFrame(nil, &media.Frame{Codec: tc.codec, Flags: media.FlagKey, Payload: tc.au})
		if err != nil {
			t.Fatal(err)
		}
		if es := esOf(t, b); !bytes.Equal(es, tc.want) {
			t.Errorf("%v: ES % x, want % x", tc.codec, es[:min(40, len(es))], tc.want[:40])
		}
	}
}

// TestAppendShared: a Muxer that appends the encodings another Muxer with
// the same Key made writes the bytes its own AppendFrame would, continuity
// counters included, whatever the counters of the encoder.
func TestAppendShared(t *testing.T) {
	in := testStream(media.CodecH264, media.CodecAAC, 30)
	enc, own, shared := NewMuxer(), NewMuxer(), NewMuxer()
	for _, m := range []*Muxer{enc, own, shared} {
		m.SetTracks(media.CodecH264, media.CodecAAC)
	}
	// The encoder is ahead: its counters differ from the players'.
	for i := range 5 {
		enc.AppendTables(nil)
		_, _ = enc.AppendFrame(nil, &in[2+i])
	}
	var a, b []byte
	for i := range in {
		f := &in[i]
		if f.IsConfig() {
			for _, m := range []*Muxer{enc, own, shared} {
				_, _ = m.AppendFrame(nil, f)
			}
			a, b = own.AppendTables(a), shared.AppendTables(b)
			continue
		}
		if enc.Key() != shared.Key() || own.Key() != shared.Key() {
			t.Fatalf("frame %d: keys %x %x %x", i, enc.Key(), own.Key(), shared.Key())
		}
		w, err := enc.AppendFrame(nil, f)
		if err != nil {
			t.Fatal(err)
		}
		if a, err = own.AppendFrame(a, f); err != nil {
			t.Fatal(err)
		}
		b = shared.AppendShared(b, w)
	}
	if !bytes.Equal(a, b) {
		t.Fatal("the shared encoding differs from the player's own")
	}
	m := NewMuxer()
	m.SetTracks(media.CodecH265, media.CodecAAC)
	if m.Key() == own.Key() {
		t.Fatal("other tracks, same key")
	}
}
