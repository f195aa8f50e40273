package codec

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/srs-lite/srs-lite/internal/format/codec/h264"
	"github.com/srs-lite/srs-lite/internal/format/codec/h265"
	"github.com/srs-lite/srs-lite/internal/media"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The parameter sets of ffmpeg's tee muxer publishing testsrc2 640x360 with
// libx264 -preset ultrafast (Constrained Baseline 3.0).
const (
	teeSPS = "6742c01eda0280bfe5c044000003000400000300c83c58ba80"
	teePPS = "68ce0fc8"
	// H.265 1920x1080 Main (x265).
	hevcVPS = "40010c01ffff016000000300900000030000030078959809"
	hevcSPS = "420101016000000300900000030000030078a003c08010e596566924caf0168080000003008000000f04"
	hevcPPS = "4401c172b46240"
)

// pooled returns a frame whose payload is a pooled copy of p, as a
// publisher hands it to Fix.
func pooled(c media.Codec, flags media.Flags, dts time.Duration, p []byte) media.Frame {
	f := media.Frame{Codec: c, Flags: flags, DTS: dts, PTS: dts, Payload: p}
	f.Own()
	return f
}

func annexB(nalus ...string) []byte {
	var b []byte
	for _, n := range nalus {
		sc := []byte{0, 0, 0, 1}
		if strings.HasPrefix(n, "3:") { // a 3-byte start code
			sc, n = sc[1:], n[2:]
		}
		b = append(b, sc...)
		h, _ := hex.DecodeString(n)
		b = append(b, h...)
	}
	return b
}

func avcc(nalus ...string) []byte {
	var b []byte
	for _, n := range nalus {
		h, _ := hex.DecodeString(n)
		b = append(b, byte(len(h)>>24), byte(len(h)>>16), byte(len(h)>>8), byte(len(h)))
		b = append(b, h...)
	}
	return b
}

// TestInBandTee: the frame sequence of ffmpeg's tee muxer (an empty AVC
// sequence header, then Annex B frames with SPS/PPS in-band in keyframes)
// comes out as a derived avcC before the first keyframe and AVCC frames.
func TestInBandTee(t *testing.T) {
	var x InBand
	empty := pooled(media.CodecH264, media.FlagConfig, 0, nil)
	if cfg := x.Fix(&empty); cfg.Payload != nil || !empty.IsConfig() {
		t.Fatalf("empty sequence header: cfg %x", cfg.Payload)
	}
	empty.Release()

	// SPS and PPS with 4-byte start codes, the SEI with a 3-byte one: the
	// keyframe grows into a new buffer.
	key := pooled(media.CodecH264, media.FlagKey, 40*time.Millisecond,
		annexB(teeSPS, teePPS, "3:0605ff80", "65888480"))
	cfg := x.Fix(&key)
	if cfg.Payload == nil {
		t.Fatal("keyframe: no config derived")
	}
	if !cfg.IsConfig() || cfg.Codec != media.CodecH264 || cfg.DTS != 40*time.Millisecond || cfg.Buf() == nil {
		t.Errorf("config frame %+v", cfg)
	}
	c, err := h264.ParseConfig(cfg.Payload)
	if err != nil || c.NALULengthSize != 4 || len(c.SPS) != 1 || !bytes.Equal(c.SPS[0], unhex(t, teeSPS)) ||
		len(c.PPS) != 1 || !bytes.Equal(c.PPS[0], unhex(t, teePPS)) {
		t.Fatalf("derived avcC %x: %+v %v", cfg.Payload, c, err)
	}
	v, ok := VideoInfo(&cfg)
	if !ok || v.Codec != media.CodecH264 || v.Width != 640 || v.Height != 360 || v.Profile != "Baseline" || v.Level != "3.0" {
		t.Errorf("VideoInfo of the derived config: %+v %v", v, ok)
	}
	want := avcc(teeSPS, teePPS, "0605ff80", "65888480")
	if !bytes.Equal(key.Payload, want) || key.Buf() == nil {
		t.Errorf("keyframe payload %x, want %x", key.Payload, want)
	}
	cfg.Release()
	key.Release()

	// A P frame with a 4-byte start code: converted in place.
	p := pooled(media.CodecH264, 0, 80*time.Millisecond, annexB("419a22bc"))
	buf := p.Buf()
	if cfg := x.Fix(&p); cfg.Payload != nil {
		t.Fatalf("P frame: cfg %x", cfg.Payload)
	}
	if !bytes.Equal(p.Payload, avcc("419a22bc")) || p.Buf() != buf {
		t.Errorf("P frame %x, not converted in place", p.Payload)
	}
	p.Release()

	// The next keyframe repeats the sets: no new config. One with another
	// SPS (a resolution change) gets one.
	key = pooled(media.CodecH264, media.FlagKey, 2*time.Second, annexB(teeSPS, teePPS, "65888480"))
	if cfg := x.Fix(&key); cfg.Payload != nil {
		t.Errorf("same sets: a new config %x", cfg.Payload)
	}
	key.Release()
	sps2 := "6742c01eda0280bfe5c044000003000400000300c83c58ba81"
	key = pooled(media.CodecH264, media.FlagKey, 4*time.Second, annexB(sps2, teePPS, "65888480"))
	cfg = x.Fix(&key)
	if c, err := h264.ParseConfig(cfg.Payload); err != nil || !bytes.Equal(c.SPS[0], unhex(t, sps2)) {
		t.Errorf("changed SPS: config %x %v", cfg.Payload, err)
	}
	cfg.Release()
	key.Release()
}

// TestInBandAVCC: a publisher with no sequence header at all and AVCC
// frames with in-band sets; and one whose sequence header is real, which
// is left alone even when its keyframes repeat the sets.
func TestInBandAVCC(t *testing.T) {
	var x InBand
	au := avcc(teeSPS, teePPS, "65888480")
	key := pooled(media.CodecH264, media.FlagKey, 0, au)
	cfg := x.Fix(&key)
	if cfg.Payload == nil || !bytes.Equal(key.Payload, au) {
		t.Fatalf("missing sequence header: cfg %x payload %x", cfg.Payload, key.Payload)
	}
	cfg.Release()
	key.Release()

	var y InBand
	real := pooled(media.CodecH264, media.FlagConfig, 0, h264.BuildConfig([][]byte{unhex(t, teeSPS)}, [][]byte{unhex(t, teePPS)}))
	if cfg := y.Fix(&real); cfg.Payload != nil {
		t.Fatalf("real sequence header: cfg %x", cfg.Payload)
	}
	real.Release()
	key = pooled(media.CodecH264, media.FlagKey, 0, au)
	if cfg := y.Fix(&key); cfg.Payload != nil || !bytes.Equal(key.Payload, au) {
		t.Errorf("a config derived despite the real one")
	}
	key.Release()

	// Audio and AV1 pass untouched.
	a := media.Frame{Codec: media.CodecAAC, Payload: []byte{0, 0, 0, 1}}
	if cfg := y.Fix(&a); cfg.Payload != nil || !bytes.Equal(a.Payload, []byte{0, 0, 0, 1}) {
		t.Errorf("audio frame changed")
	}
}

// TestInBandHEVC: an empty hvcC and VPS/SPS/PPS in-band.
func TestInBandHEVC(t *testing.T) {
	var x InBand
	empty := pooled(media.CodecH265, media.FlagConfig, 0, nil)
	if cfg := x.Fix(&empty); cfg.Payload != nil {
		t.Fatal("a config from an empty hvcC")
	}
	empty.Release()
	key := pooled(media.CodecH265, media.FlagKey, 0, annexB(hevcVPS, hevcSPS, hevcPPS, "2601af0080"))
	cfg := x.Fix(&key)
	if cfg.Payload == nil {
		t.Fatal("no hvcC derived")
	}
	c, err := h265.ParseConfig(cfg.Payload)
	if err != nil || c.NALULengthSize != 4 || len(c.VPS) != 1 || len(c.SPS) != 1 || len(c.PPS) != 1 {
		t.Fatalf("derived hvcC %x: %+v %v", cfg.Payload, c, err)
	}
	v, ok := VideoInfo(&cfg)
	if !ok || v.Width != 1920 || v.Height != 1080 || v.Profile != "Main" {
		t.Errorf("VideoInfo %+v %v", v, ok)
	}
	if !h265.IsKeyAVCC(key.Payload) || !bytes.Equal(key.Payload, avcc(hevcVPS, hevcSPS, hevcPPS, "2601af0080")) {
		t.Errorf("keyframe %x", key.Payload)
	}
	cfg.Release()
	key.Release()
}

// TestInBandNoAllocs: once the config is derived, frames cost no
// allocation, Annex B or AVCC.
func TestInBandNoAllocs(t *testing.T) {
	var x InBand
	key := pooled(media.CodecH264, media.FlagKey, 0, annexB(teeSPS, teePPS, "65888480"))
	cfg := x.Fix(&key)
	cfg.Release()
	key.Release()
	keyAU := annexB(teeSPS, teePPS, "65888480")
	pAU := annexB("419a22bc", "3:419a22bd")
	buf := make([]byte, 64)
	for name, fn := range map[string]func(){
		"annexb key in place": func() {
			f := media.Frame{Codec: media.CodecH264, Flags: media.FlagKey, Payload: append(buf[:0], keyAU...)}
			x.Fix(&f)
		},
		"annexb grown into a pooled buffer": func() {
			f := media.Frame{Codec: media.CodecH264, Payload: append(buf[:0], pAU...)}
			x.Fix(&f)
			f.Release()
		},
		"avcc": func() {
			f := media.Frame{Codec: media.CodecH264, Flags: media.FlagKey, Payload: avccKey}
			x.Fix(&f)
		},
	} {
		if n := testing.AllocsPerRun(100, fn); n != 0 {
			t.Errorf("%s: %v allocs, want 0", name, n)
		}
	}
}

var avccKey = avcc(teeSPS, teePPS, "65888480")

func BenchmarkInBandFix(b *testing.B) {
	var x InBand
	real := media.Frame{Codec: media.CodecH264, Flags: media.FlagConfig,
		Payload: h264.BuildConfig([][]byte{unhex(b, teeSPS)}, [][]byte{unhex(b, teePPS)})}
	x.Fix(&real)
	au := avcc("0605ff80", strings.Repeat("65888480", 2000))
	b.ReportAllocs()
	b.SetBytes(int64(len(au)))
	for b.Loop() {
		f := media.Frame{Codec: media.CodecH264, Flags: media.FlagKey, Payload: au}
		x.Fix(&f)
	}
}

// FuzzInBand feeds a sequence of frames cut from the input (a length byte,
// a kind byte, the payload): Fix must not
// panic, every H.264 frame that comes out parsed as Annex B is AVCC, and a
// derived config parses.
func FuzzInBand(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		var x InBand
		for len(b) > 2 { // length, kind, payload
			n := min(int(b[0]), len(b)-2)
			kind := b[1] % 4
			p := bytes.Clone(b[2 : 2+n])
			b = b[2+n:]
			fr := media.Frame{Codec: media.CodecH264, Payload: p}
			switch kind {
			case 1:
				fr.Flags = media.FlagConfig
			case 2:
				fr.Flags = media.FlagKey
			case 3:
				fr.Codec = media.CodecH265
			}
			annex := fr.Flags&media.FlagConfig == 0 && !h264.IsAVCC(p) && h264.IsAnnexB(p)
			cfg := x.Fix(&fr)
			if annex && len(fr.Payload) > 0 && !h264.IsAVCC(fr.Payload) {
				t.Fatalf("Annex B %x came out as %x", p, fr.Payload)
			}
			if cfg.Payload != nil {
				if _, ok := VideoInfo(&cfg); !ok {
					t.Fatalf("derived config %x does not parse", cfg.Payload)
				}
				cfg.Release()
			}
			fr.Release()
		}
	})
}
