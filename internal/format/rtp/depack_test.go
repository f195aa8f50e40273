package rtp

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/pion/rtp"

	"github.com/srs-lite/srs-lite/internal/format/codec/aac"
	"github.com/srs-lite/srs-lite/internal/format/codec/h264"
	"github.com/srs-lite/srs-lite/internal/format/codec/h265"
	"github.com/srs-lite/srs-lite/internal/media"
)

// Formats of the GStreamer camera (test/rtspserver/server.py), from its SDP.
var (
	fmtH264 = Format{PayloadType: 96, Encoding: "H264", ClockRate: 90000, Params: ParseFmtp(
		"packetization-mode=1;sprop-parameter-sets=Z0LADdoFB+wFqDAwNSgAAAMACAAAAwGUeKFV,aM48gA==;profile-level-id=42c00d")}
	fmtH264NoSprop = Format{PayloadType: 96, Encoding: "H264", ClockRate: 90000, Params: ParseFmtp("packetization-mode=1")}
	fmtH265        = Format{PayloadType: 96, Encoding: "H265", ClockRate: 90000, Params: ParseFmtp(
		"sprop-vps=QAEMAf//BAgAAAMAmAgAAAMAADy6AkA=;sprop-sps=QgEBBAgAAAMAmAgAAAMAADyQAUEB4ilLdJSYX/4AAgAC1BgYGBAAAAMAEAAAAwGQgA==;sprop-pps=RAHAcDBgMSA=")}
	fmtAAC = Format{PayloadType: 97, Encoding: "MPEG4-GENERIC", ClockRate: 44100, Channels: 2, Params: ParseFmtp(
		"streamtype=5;profile-level-id=2;mode=AAC-hbr;config=121056e500;sizelength=13;indexlength=3;indexdeltalength=3")}
	fmtLATM = Format{PayloadType: 97, Encoding: "MP4A-LATM", ClockRate: 44100, Params: ParseFmtp("cpresent=0;config=40002420adca00")}
	fmtPCMU = Format{PayloadType: 0, Encoding: "PCMU", ClockRate: 8000, Channels: 1}
	fmtOpus = Format{PayloadType: 98, Encoding: "OPUS", ClockRate: 48000, Channels: 2, Params: ParseFmtp("sprop-stereo=1")}
)

// readCapture reads a capture of TestCapture (package rtsp): packets, each
// after its 16-bit length.
func readCapture(t testing.TB, name string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var pkts [][]byte
	for len(b) >= 2 {
		n := int(binary.BigEndian.Uint16(b))
		if n > len(b)-2 {
			t.Fatalf("%s: truncated", name)
		}
		pkts = append(pkts, b[2:2+n])
		b = b[2+n:]
	}
	return pkts
}

// result is what a depacketizer emitted.
type result struct {
	frames, keys, configs int
	config                []byte
	first                 media.Flags
	ts                    []uint32
	payloads              [][]byte
	errs                  []error
}

func run(t testing.TB, f Format, pkts [][]byte) result {
	t.Helper()
	d, err := NewDepacketizer(f)
	if err != nil {
		t.Fatal(err)
	}
	var r result
	emit := func(ts uint32, fr *media.Frame) {
		if r.frames+r.configs == 0 {
			r.first = fr.Flags | 0x80
		}
		if fr.IsConfig() {
			r.configs++
			r.config = append([]byte(nil), fr.Payload...)
			return
		}
		r.frames++
		if fr.IsKey() {
			r.keys++
		}
		r.ts = append(r.ts, ts)
		r.payloads = append(r.payloads, append([]byte(nil), fr.Payload...))
	}
	var p rtp.Packet
	for _, b := range pkts {
		if err := p.Unmarshal(b); err != nil {
			t.Fatalf("bad packet: %v", err)
		}
		if err := d.Push(&p, emit); err != nil {
			r.errs = append(r.errs, err)
		}
	}
	return r
}

func TestCaptures(t *testing.T) {
	tests := []struct {
		file      string
		format    Format
		minFrames int
		minKeys   int
		check     func(t *testing.T, r result)
	}{
		{"h264aac-video.rtp", fmtH264, 25, 1, checkAVC},
		{"h264pcmu-video.rtp", fmtH264, 25, 1, checkAVC},        // SPS/PPS in band too
		{"h264pcmu-video.rtp", fmtH264NoSprop, 25, 1, checkAVC}, // in band only
		{"h265-video.rtp", fmtH265, 25, 1, func(t *testing.T, r result) {
			if _, err := h265.ParseConfig(r.config); err != nil {
				t.Fatal(err)
			}
			checkLengths(t, r, func(n []byte) bool { t := h265.Type(n); return t >= 32 && t <= 35 })
		}},
		{"h264aac-audio.rtp", fmtAAC, 50, 0, checkAAC(2)},
		{"h264latm-audio.rtp", fmtLATM, 50, 0, checkAAC(2)},
		{"h264pcmu-audio.rtp", fmtPCMU, 5, 0, nil},
		{"h264opus-audio.rtp", fmtOpus, 50, 0, func(t *testing.T, r result) {
			if string(r.config[:8]) != "OpusHead" || r.config[9] != 2 {
				t.Fatalf("OpusHead %x", r.config)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file+"/"+tt.format.Encoding, func(t *testing.T) {
			r := run(t, tt.format, readCapture(t, tt.file))
			for _, err := range r.errs {
				if !errors.Is(err, ErrNoParams) {
					t.Errorf("error: %v", err)
				}
			}
			if r.frames < tt.minFrames || r.keys < tt.minKeys {
				t.Fatalf("%d frames %d keys, want %d and %d", r.frames, r.keys, tt.minFrames, tt.minKeys)
			}
			if tt.format.Codec() != media.CodecPCMU && r.first&media.FlagConfig == 0 {
				t.Errorf("first frame flags %x: want the config first", r.first)
			}
			for i := 1; i < len(r.ts); i++ {
				if d := int32(r.ts[i] - r.ts[i-1]); d < 0 {
					t.Fatalf("timestamp %d goes back by %d", i, -d)
				}
			}
			if tt.check != nil {
				tt.check(t, r)
			}
		})
	}
}

func checkAVC(t *testing.T, r result) {
	cfg, err := h264.ParseConfig(r.config)
	if err != nil || len(cfg.SPS) != 1 || len(cfg.PPS) != 1 {
		t.Fatalf("config %v %+v", err, cfg)
	}
	if sps, err := h264.ParseSPS(cfg.SPS[0]); err != nil || sps.Width != 320 || sps.Height != 240 {
		t.Fatalf("sps %+v %v", sps, err)
	}
	if r.configs != 1 {
		t.Errorf("%d configs for unchanged parameter sets", r.configs)
	}
	if !h264.IsKeyAVCC(r.payloads[0]) {
		t.Error("the first frame is not a keyframe")
	}
	checkLengths(t, r, func(n []byte) bool {
		t := h264.Type(n)
		return t == h264.NALUSPS || t == h264.NALUPPS || t == h264.NALUAUD
	})
}

// checkLengths checks that every payload is 4-byte length-prefixed with no
// parameter sets or delimiters left in.
func checkLengths(t *testing.T, r result, banned func(nalu []byte) bool) {
	t.Helper()
	for i, p := range r.payloads {
		err := h264.SplitAVCC(p, func(n []byte) bool {
			if banned(n) {
				t.Errorf("frame %d has a parameter set or delimiter %x", i, n[:2])
			}
			return true
		})
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
	}
}

func checkAAC(channels int) func(t *testing.T, r result) {
	return func(t *testing.T, r result) {
		a, err := aac.ParseASC(r.config)
		if err != nil || a.SampleRate != 44100 || a.Channels != channels {
			t.Fatalf("ASC %+v %v", a, err)
		}
		for i := 1; i < len(r.ts); i++ {
			if d := r.ts[i] - r.ts[i-1]; d != 1024 {
				t.Fatalf("frame %d lasts %d ticks, want 1024", i, d)
			}
		}
	}
}

// pkt builds an RTP packet.
func pkt(seq uint16, ts uint32, marker bool, payload ...[]byte) []byte {
	var pl []byte
	for _, p := range payload {
		pl = append(pl, p...)
	}
	b, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: seq, Timestamp: ts,
		Marker: marker, SSRC: 1}, Payload: pl}).Marshal()
	return b
}

func cat(b ...[]byte) []byte {
	var out []byte
	for _, x := range b {
		out = append(out, x...)
	}
	return out
}

func u16(n int) []byte { return []byte{byte(n >> 8), byte(n)} }

var (
	sps    = []byte{0x67, 0x42, 0xc0, 0x0d, 0xda, 0x05, 0x07, 0xec, 0x05, 0xa8, 0x30, 0x30, 0x35, 0x28, 0x00, 0x00, 0x03, 0x00, 0x08, 0x00, 0x00, 0x03, 0x01, 0x94, 0x78, 0xa1, 0x55}
	pps    = []byte{0x68, 0xce, 0x3c, 0x80}
	idr    = []byte{0x65, 0x88, 0x84, 0x00, 0x33}
	nonIDR = []byte{0x41, 0x9a, 0x02}
)

func TestH264(t *testing.T) {
	fuA := func(start, end bool, typ byte, data []byte) []byte {
		h := typ
		if start {
			h |= 0x80
		}
		if end {
			h |= 0x40
		}
		return cat([]byte{0x60 | 28, h}, data)
	}
	avcc := func(nalus ...[]byte) []byte {
		var b []byte
		for _, n := range nalus {
			b = append(binary.BigEndian.AppendUint32(b, uint32(len(n))), n...)
		}
		return b
	}
	tests := []struct {
		name    string
		format  Format
		pkts    [][]byte
		frames  [][]byte // AVCC payloads expected
		keys    int
		configs int
		err     error // any of the errors
	}{
		{"single NAL units", fmtH264NoSprop, [][]byte{
			pkt(1, 0, false, sps), pkt(2, 0, false, pps), pkt(3, 0, true, idr), pkt(4, 3600, true, nonIDR),
		}, [][]byte{avcc(idr), avcc(nonIDR)}, 1, 1, nil},
		{"STAP-A", fmtH264NoSprop, [][]byte{
			pkt(1, 0, true, []byte{24}, u16(len(sps)), sps, u16(len(pps)), pps, u16(len(idr)), idr),
		}, [][]byte{avcc(idr)}, 1, 1, nil},
		{"FU-A", fmtH264, [][]byte{
			pkt(1, 0, false, fuA(true, false, 5, idr[1:3])), pkt(2, 0, false, fuA(false, false, 5, idr[3:4])),
			pkt(3, 0, true, fuA(false, true, 5, idr[4:])),
		}, [][]byte{avcc(idr)}, 1, 1, nil},
		{"FU-A with a lost middle", fmtH264, [][]byte{
			pkt(1, 0, true, idr),
			pkt(2, 3600, false, fuA(true, false, 1, nonIDR[1:2])), pkt(4, 3600, true, fuA(false, true, 1, nonIDR[2:])),
			pkt(5, 7200, true, nonIDR),
		}, [][]byte{avcc(idr), avcc(nonIDR)}, 1, 1, ErrLoss},
		{"no marker: cut at the timestamp", fmtH264, [][]byte{
			pkt(1, 0, false, idr), pkt(2, 3600, false, nonIDR), pkt(3, 7200, true, nonIDR),
		}, [][]byte{avcc(idr), avcc(nonIDR), avcc(nonIDR)}, 1, 1, nil},
		{"two slices", fmtH264, [][]byte{
			pkt(1, 0, false, idr), pkt(2, 0, true, idr),
		}, [][]byte{avcc(idr, idr)}, 1, 1, nil},
		{"waits for a keyframe", fmtH264, [][]byte{
			pkt(1, 0, true, nonIDR), pkt(2, 3600, true, idr),
		}, [][]byte{avcc(idr)}, 1, 1, nil},
		{"no parameter sets", fmtH264NoSprop, [][]byte{
			pkt(1, 0, true, idr), pkt(2, 3600, true, sps), pkt(3, 3600, true, pps), pkt(4, 7200, true, idr),
		}, [][]byte{avcc(idr)}, 1, 1, ErrNoParams},
		{"new SPS: a new config", fmtH264, [][]byte{
			pkt(1, 0, true, idr), pkt(2, 3600, false, append([]byte{0x67, 0x4d}, sps[2:]...)), pkt(3, 3600, true, idr),
		}, [][]byte{avcc(idr), avcc(idr)}, 2, 2, nil},
		{"interleaved mode", fmtH264, [][]byte{pkt(1, 0, true, []byte{26, 0, 0})}, nil, 0, 0, ErrUnsupported},
		{"STAP-A overrun", fmtH264, [][]byte{pkt(1, 0, true, []byte{24, 0, 9, 0x65})}, nil, 0, 0, ErrMalformed},
		{"forbidden bit", fmtH264, [][]byte{pkt(1, 0, true, []byte{0x85, 1})}, nil, 0, 0, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, tt.format, tt.pkts)
			if len(r.payloads) != len(tt.frames) {
				t.Fatalf("%d frames, want %d (errs %v)", len(r.payloads), len(tt.frames), r.errs)
			}
			for i := range tt.frames {
				if string(r.payloads[i]) != string(tt.frames[i]) {
					t.Errorf("frame %d = %x, want %x", i, r.payloads[i], tt.frames[i])
				}
			}
			if r.keys != tt.keys || r.configs != tt.configs {
				t.Errorf("keys %d configs %d, want %d %d", r.keys, r.configs, tt.keys, tt.configs)
			}
			gotErr := false
			for _, e := range r.errs {
				if tt.err == nil || !errors.Is(e, tt.err) {
					t.Errorf("unexpected error %v", e)
				}
				gotErr = true
			}
			if tt.err != nil && !gotErr {
				t.Errorf("no error, want %v", tt.err)
			}
		})
	}
}

func TestH265(t *testing.T) {
	vps, _ := decodeSpropOne(fmtH265.Params["sprop-vps"])
	hsps, _ := decodeSpropOne(fmtH265.Params["sprop-sps"])
	hpps, _ := decodeSpropOne(fmtH265.Params["sprop-pps"])
	idrN := []byte{0x26, 0x01, 0xaf, 0x01, 0x02} // IDR_W_RADL
	trail := []byte{0x02, 0x01, 0xd0, 0x09}      // TRAIL_R
	ap := cat([]byte{48 << 1, 1}, u16(len(vps)), vps, u16(len(hsps)), hsps, u16(len(hpps)), hpps)
	fu := func(s, e bool, typ byte, data []byte) []byte {
		h := typ
		if s {
			h |= 0x80
		}
		if e {
			h |= 0x40
		}
		return cat([]byte{49 << 1, 1, h}, data)
	}
	noSprop := Format{PayloadType: 96, Encoding: "H265", ClockRate: 90000, Params: map[string]string{}}
	r := run(t, noSprop, [][]byte{
		pkt(1, 0, false, ap),
		pkt(2, 0, false, fu(true, false, 19, idrN[2:3])), pkt(3, 0, true, fu(false, true, 19, idrN[3:])),
		pkt(4, 3600, true, trail),
	})
	if len(r.errs) > 0 || r.frames != 2 || r.keys != 1 || r.configs != 1 {
		t.Fatalf("%+v", r)
	}
	if want := cat([]byte{0, 0, 0, 5}, idrN); string(r.payloads[0]) != string(want) {
		t.Fatalf("IDR %x, want %x", r.payloads[0], want)
	}
	cfg, err := h265.ParseConfig(r.config)
	if err != nil || len(cfg.VPS) != 1 || len(cfg.SPS) != 1 || len(cfg.PPS) != 1 {
		t.Fatalf("config %v %+v", err, cfg)
	}

	// With DONL fields (sprop-max-don-diff > 0).
	donl := fmtH265
	donl.Params = map[string]string{"sprop-max-don-diff": "2"}
	for k, v := range fmtH265.Params {
		donl.Params[k] = v
	}
	r = run(t, donl, [][]byte{
		pkt(1, 0, false, cat([]byte{48 << 1, 1}, []byte{0, 0}, u16(len(idrN)), idrN, []byte{1}, u16(len(idrN)), idrN)),
		pkt(2, 0, true, cat(fu(true, true, 19, nil), []byte{0, 2}, idrN[2:])),
		pkt(3, 3600, true, cat(trail[:2], []byte{0, 3}, trail[2:])),
	})
	if len(r.errs) > 0 || r.frames != 2 || string(r.payloads[1]) != string(cat([]byte{0, 0, 0, 4}, trail)) {
		t.Fatalf("DONL: %+v", r)
	}
	if len(r.payloads[0]) != 3*(4+len(idrN)) {
		t.Fatalf("DONL AP+FU frame %x", r.payloads[0])
	}
	if r := run(t, fmtH265, [][]byte{pkt(1, 0, true, []byte{50 << 1, 1, 0})}); len(r.errs) != 1 || !errors.Is(r.errs[0], ErrUnsupported) {
		t.Fatalf("PACI: %v", r.errs)
	}
}

func decodeSpropOne(s string) ([]byte, bool) {
	n := decodeSprop(s)
	if len(n) == 0 {
		return nil, false
	}
	return n[0], true
}

func TestAAC(t *testing.T) {
	hdr := func(sizes ...int) []byte { // AU headers of 13+3 bits
		b := u16(16 * len(sizes))
		for _, s := range sizes {
			b = append(b, u16(s<<3)...)
		}
		return b
	}
	a1, a2 := []byte{0x21, 0x10, 0x05}, []byte{0x21, 0x10, 0x06, 0x07}
	r := run(t, fmtAAC, [][]byte{
		pkt(1, 1000, true, hdr(3, 4), a1, a2),
		// One AU in three fragments (RFC 3640 §3.2.3).
		pkt(2, 3048, false, hdr(9), []byte{1, 2, 3}), pkt(3, 3048, false, hdr(9), []byte{4, 5, 6}),
		pkt(4, 3048, true, hdr(9), []byte{7, 8, 9}),
	})
	if len(r.errs) > 0 || r.frames != 3 || r.configs != 1 {
		t.Fatalf("%+v", r)
	}
	if r.ts[0] != 1000 || r.ts[1] != 2024 || r.ts[2] != 3048 {
		t.Errorf("timestamps %v", r.ts)
	}
	if string(r.payloads[1]) != string(a2) || string(r.payloads[2]) != "\x01\x02\x03\x04\x05\x06\x07\x08\x09" {
		t.Errorf("payloads %x", r.payloads)
	}
	for _, bad := range [][]byte{{0}, cat(u16(200), []byte{1}), cat(hdr(3, 4), []byte{1, 2, 3, 4})} {
		if r := run(t, fmtAAC, [][]byte{pkt(1, 0, true, bad)}); len(r.errs) == 0 || !errors.Is(r.errs[0], ErrMalformed) {
			t.Errorf("%x: %+v", bad, r)
		}
	}
	for _, f := range []map[string]string{{"mode": "AAC-hbr", "sizelength": "13"}, {"mode": "AAC-hbr", "config": "1210"},
		{"mode": "AAC-hbr", "config": "zz", "sizelength": "13"}, {"mode": "AAC-hbr", "config": "1210", "sizelength": "99"}} {
		if _, err := NewDepacketizer(Format{Encoding: "MPEG4-GENERIC", ClockRate: 44100, Params: f}); err == nil {
			t.Errorf("%v: no error", f)
		}
	}
}

func TestLATM(t *testing.T) {
	frame := []byte{0x21, 0x10, 0x05, 0x00}
	// cpresent=0: PayloadLengthInfo then the frame; a frame of 300 bytes
	// takes two length bytes (255 + 45), split across two packets.
	big := make([]byte, 300)
	r := run(t, fmtLATM, [][]byte{
		pkt(1, 0, true, []byte{4}, frame),
		pkt(2, 1024, false, []byte{255, 45}, big[:100]), pkt(3, 1024, true, big[100:]),
	})
	if len(r.errs) > 0 || r.frames != 2 || string(r.payloads[0]) != string(frame) || len(r.payloads[1]) != 300 {
		t.Fatalf("%+v", r)
	}
	if a, err := aac.ParseASC(r.config); err != nil || a.SampleRate != 44100 || a.Channels != 2 {
		t.Fatalf("ASC %+v %v", a, err)
	}

	// cpresent=1: useSameStreamMux=0 and the StreamMuxConfig in band, so
	// the frame starts off a byte boundary.
	inband := Format{Encoding: "MP4A-LATM", ClockRate: 48000, Params: map[string]string{}}
	// StreamMuxConfig: version 0, same framing 1, 0 subframes, 0 programs,
	// 0 layers, ASC 2/48000(3)/2ch + GA (3 bits), frameLengthType 0,
	// fullness 0xff, no other data, no crc.
	bw := &bitWriter{}
	bw.put(0, 1) // useSameStreamMux
	bw.put(0, 1)
	bw.put(1, 1)
	bw.put(0, 6)
	bw.put(0, 4)
	bw.put(0, 3)
	bw.put(2, 5)
	bw.put(3, 4)
	bw.put(2, 4)
	bw.put(0, 3)
	bw.put(0, 3)
	bw.put(0xff, 8)
	bw.put(0, 1)
	bw.put(0, 1)
	bw.put(uint64(len(frame)), 8)
	for _, c := range frame {
		bw.put(uint64(c), 8)
	}
	r = run(t, inband, [][]byte{pkt(1, 0, true, bw.bytes())})
	if len(r.errs) > 0 || r.frames != 1 || string(r.payloads[0]) != string(frame) {
		t.Fatalf("in band: %+v", r)
	}
	if a, err := aac.ParseASC(r.config); err != nil || a.SampleRate != 48000 {
		t.Fatalf("in-band ASC %+v %v", a, err)
	}
	// useSameStreamMux=1 before any config.
	if r := run(t, inband, [][]byte{pkt(1, 0, true, []byte{0x80, 1, 2})}); len(r.errs) != 1 || !errors.Is(r.errs[0], ErrNoParams) {
		t.Fatalf("no config yet: %+v", r)
	}
}

type bitWriter struct {
	b []byte
	n int
}

func (w *bitWriter) put(v uint64, bits int) {
	for i := bits - 1; i >= 0; i-- {
		if w.n%8 == 0 {
			w.b = append(w.b, 0)
		}
		if v>>i&1 == 1 {
			w.b[len(w.b)-1] |= 0x80 >> (w.n % 8)
		}
		w.n++
	}
}

func (w *bitWriter) bytes() []byte { return w.b }

func TestG711AndOpus(t *testing.T) {
	r := run(t, Format{PayloadType: 8, Encoding: "PCMA", ClockRate: 8000}, [][]byte{pkt(1, 160, false, make([]byte, 160)), pkt(2, 320, false, nil)})
	if r.frames != 1 || r.configs != 0 || r.ts[0] != 160 {
		t.Fatalf("PCMA %+v", r)
	}
	r = run(t, Format{Encoding: "OPUS", ClockRate: 48000, Channels: 2, Params: map[string]string{"sprop-stereo": "0"}},
		[][]byte{pkt(1, 0, true, []byte{0xfc, 1}), pkt(2, 960, true, []byte{0xfc, 2})})
	if r.frames != 2 || r.configs != 1 || r.config[9] != 1 {
		t.Fatalf("Opus %+v", r)
	}
}

func TestFormat(t *testing.T) {
	var f Format
	if err := f.ParseRtpmap("mpeg4-generic/44100/2"); err != nil || f.Encoding != "MPEG4-GENERIC" || f.ClockRate != 44100 || f.Channels != 2 {
		t.Fatalf("%+v %v", f, err)
	}
	for _, bad := range []string{"H264", "H264/x", "H264/0", ""} {
		if err := f.ParseRtpmap(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
	if p := ParseFmtp(" a=1; B = x=y ;;c"); p["a"] != "1" || p["b"] != "x=y" || len(p) != 3 {
		t.Fatalf("fmtp %v", p)
	}
	if s, ok := StaticFormat(0); !ok || s.Codec() != media.CodecPCMU {
		t.Fatal("static PCMU")
	}
	if _, err := NewDepacketizer(Format{Encoding: "VP8", ClockRate: 90000}); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("VP8: %v", err)
	}
	if _, err := NewDepacketizer(Format{Encoding: "H264", Params: map[string]string{"packetization-mode": "2"}}); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("mode 2: %v", err)
	}
}

func BenchmarkH264Depack(b *testing.B) {
	pkts := readCapture(b, "h264aac-video.rtp")
	d, _ := NewDepacketizer(fmtH264)
	ps := make([]rtp.Packet, len(pkts))
	for i := range pkts {
		_ = ps[i].Unmarshal(pkts[i])
	}
	emit := func(uint32, *media.Frame) {}
	n := 0
	for _, p := range pkts {
		n += len(p)
	}
	b.SetBytes(int64(n))
	b.ReportAllocs()
	var seq uint16
	for b.Loop() {
		for i := range ps {
			ps[i].SequenceNumber = seq
			seq++
			_ = d.Push(&ps[i], emit)
		}
	}
}

func BenchmarkAACDepack(b *testing.B) {
	pkts := readCapture(b, "h264aac-audio.rtp")
	d, _ := NewDepacketizer(fmtAAC)
	ps := make([]rtp.Packet, len(pkts))
	for i := range pkts {
		_ = ps[i].Unmarshal(pkts[i])
	}
	emit := func(uint32, *media.Frame) {}
	b.ReportAllocs()
	var seq uint16
	for b.Loop() {
		for i := range ps {
			ps[i].SequenceNumber = seq
			seq++
			_ = d.Push(&ps[i], emit)
		}
	}
}
