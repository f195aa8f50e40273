package h264

import (
	"bytes"
	"encoding/hex"
	"errors"
	"os"
	"strings"
	"testing"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// SPS and PPS vectors from real encodes (libx264 via ffmpeg, checked against
// ffprobe and ffmpeg's trace_headers bitstream filter).
const (
	sps720High   = "6764001facd9405005bb0110000003001000000303c0f1831960" // 1280x720 High@3.1 30fps
	pps720High   = "68ebe3cb22c0"
	sps1080Main  = "674d4028eca03c0113f2e022000003000200000300641e30632c"   // 1920x1088 cropped to 1080, Main@4.0 25fps
	sps240Base   = "6742c00cd90141fb0110000003001000000301e0f142a480"       // 320x240 Constrained Baseline@1.2 15fps
	sps360High44 = "67f4001e919b281405ff138088000003000800000301e078b16cb0" // 640x360 4:4:4 (crop unit 1), profile 244
	sps576Intl   = "6764001eacd940b424d8088000000300800000190f8a14cb"       // 720x576 interlaced (frame_mbs_only=0), 25fps
	// Hand-built (and checked with trace_headers): High@4.0 with SPS scaling
	// lists (explicit 4x4, use-default 4x4, explicit 8x8), 1920x1080 by
	// cropping, extended SAR, colour description, 30000/1001 fps, and an
	// emulation prevention byte.
	sps1080Scaling = "67640028ad94747610e2315150884bd75d75d75d75d75d75d75d76ca03c0113f2ffe00080006d404040500000303e90000ea6084"
	// avcC of the 720p stream as ffmpeg's mp4 muxer writes it.
	avcC720 = "0164001fffe1001a6764001facd9405005bb0110000003001000000303c0f183196001000668ebe3cb22c0fdf8f800"
)

func TestParseSPS(t *testing.T) {
	tests := []struct {
		name   string
		sps    string
		want   SPS
		wantFP float64
	}{
		{"720p high", sps720High, SPS{ProfileIDC: 100, LevelIDC: 31, ChromaFormatIDC: 1, BitDepthLuma: 8, BitDepthChroma: 8, FrameMBSOnly: true, Width: 1280, Height: 720}, 30},
		{"1080p main cropped", sps1080Main, SPS{ProfileIDC: 77, ConstraintFlags: 0x40, LevelIDC: 40, ChromaFormatIDC: 1, BitDepthLuma: 8, BitDepthChroma: 8, FrameMBSOnly: true, Width: 1920, Height: 1080}, 25},
		{"240p baseline", sps240Base, SPS{ProfileIDC: 66, ConstraintFlags: 0xc0, LevelIDC: 12, ChromaFormatIDC: 1, BitDepthLuma: 8, BitDepthChroma: 8, FrameMBSOnly: true, Width: 320, Height: 240}, 15},
		{"360p 4:4:4", sps360High44, SPS{ProfileIDC: 244, LevelIDC: 30, ChromaFormatIDC: 3, BitDepthLuma: 8, BitDepthChroma: 8, FrameMBSOnly: true, Width: 640, Height: 360}, 30},
		{"576i interlaced", sps576Intl, SPS{ProfileIDC: 100, LevelIDC: 30, ChromaFormatIDC: 1, BitDepthLuma: 8, BitDepthChroma: 8, Width: 720, Height: 576}, 25},
		{"scaling lists", sps1080Scaling, SPS{ProfileIDC: 100, LevelIDC: 40, ChromaFormatIDC: 1, BitDepthLuma: 8, BitDepthChroma: 8, FrameMBSOnly: true, Width: 1920, Height: 1080}, 30000.0 / 1001},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseSPS(unhex(t, tt.sps))
			if err != nil {
				t.Fatal(err)
			}
			if d := got.FPS - tt.wantFP; d > 1e-9 || d < -1e-9 {
				t.Errorf("FPS = %v, want %v", got.FPS, tt.wantFP)
			}
			got.FPS = 0
			if got != tt.want {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParseSPSErrors(t *testing.T) {
	full := unhex(t, sps720High)
	tests := []struct {
		name string
		b    []byte
		want error
	}{
		{"empty", nil, ErrTruncated},
		{"pps", unhex(t, pps720High), ErrInvalid},
		{"not sps", append([]byte{0x68}, full[1:]...), ErrInvalid},
		{"header only", full[:6], ErrTruncated},
		{"cut before size", full[:8], ErrTruncated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ParseSPS(tt.b); !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
	// Every truncation must fail cleanly or succeed, never panic.
	for i := range full {
		ParseSPS(full[:i])
	}
}

func TestProfileName(t *testing.T) {
	for idc, want := range map[uint8]string{66: "Baseline", 77: "Main", 100: "High", 110: "High 10", 244: "High 4:4:4 Predictive", 1: ""} {
		if got := ProfileName(idc); got != want {
			t.Errorf("ProfileName(%d) = %q, want %q", idc, got, want)
		}
	}
}

func TestConfig(t *testing.T) {
	rec := unhex(t, avcC720)
	c, err := ParseConfig(rec)
	if err != nil {
		t.Fatal(err)
	}
	if c.ProfileIDC != 100 || c.LevelIDC != 31 || c.ProfileCompat != 0 || c.NALULengthSize != 4 {
		t.Errorf("header = %+v", c)
	}
	if len(c.SPS) != 1 || !bytes.Equal(c.SPS[0], unhex(t, sps720High)) || len(c.PPS) != 1 || !bytes.Equal(c.PPS[0], unhex(t, pps720High)) {
		t.Fatalf("sets = %x / %x", c.SPS, c.PPS)
	}
	t.Run("build matches ffmpeg", func(t *testing.T) {
		if got := BuildConfig(c.SPS, c.PPS); !bytes.Equal(got, rec) {
			t.Errorf("BuildConfig = %x\nwant         %x", got, rec)
		}
	})
	t.Run("baseline has no extension", func(t *testing.T) {
		sps, pps := unhex(t, sps240Base), unhex(t, pps720High)
		got := BuildConfig([][]byte{sps}, [][]byte{pps})
		if want := 6 + 2 + len(sps) + 1 + 2 + len(pps); len(got) != want {
			t.Errorf("len = %d, want %d", len(got), want)
		}
		c, err := ParseConfig(got)
		if err != nil || c.ProfileIDC != 66 || c.LevelIDC != 12 || c.ProfileCompat != 0xc0 {
			t.Errorf("round trip = %+v, %v", c, err)
		}
	})
	t.Run("errors", func(t *testing.T) {
		for i := range rec[:len(rec)-4] { // the extension is optional
			if _, err := ParseConfig(rec[:i]); err == nil {
				t.Errorf("ParseConfig(rec[:%d]) succeeded", i)
			}
		}
		bad := append([]byte(nil), rec...)
		bad[0] = 2
		if _, err := ParseConfig(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("version 2: %v", err)
		}
	})
}

func TestAnnexB(t *testing.T) {
	stream, err := os.ReadFile("testdata/h720.h264")
	if err != nil {
		t.Fatal(err)
	}
	var types []NALUType
	SplitAnnexB(stream, func(n []byte) bool { types = append(types, Type(n)); return true })
	if len(types) < 5 || types[0] != NALUSPS || types[1] != NALUPPS || types[2] != NALUSEI || types[3] != NALUIDR {
		t.Fatalf("types = %v", types)
	}
	avcc := AnnexBToAVCC(nil, stream)
	if !IsKeyAVCC(avcc) {
		t.Error("IsKeyAVCC(stream) = false")
	}
	var n int
	if err := SplitAVCC(avcc, func(nalu []byte) bool {
		if Type(nalu) != types[n] {
			t.Errorf("nalu %d: type %v, want %v", n, Type(nalu), types[n])
		}
		n++
		return true
	}); err != nil || n != len(types) {
		t.Fatalf("SplitAVCC: %d nalus, %v", n, err)
	}
	if back := AVCCToAnnexB(nil, avcc); !bytes.Equal(AnnexBToAVCC(nil, back), avcc) {
		t.Error("round trip differs")
	}

	tests := []struct {
		name, in, want string
	}{
		{"3 and 4 byte start codes", "00000001 6588 000001 4199", "00000002 6588 00000002 4199"},
		{"leading garbage and trailing zeros", "ff 000001 67aa 0000 00000001 68bb", "00000002 67aa 00000002 68bb"},
		{"empty nalus skipped", "000001 000001 09f0", "00000002 09f0"},
		{"no start code", "6588", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := AnnexBToAVCC(nil, unhex(t, tt.in)); !bytes.Equal(got, unhex(t, tt.want)) {
				t.Errorf("got %x, want %s", got, tt.want)
			}
		})
	}
}

func TestSplitAVCC(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		key     bool
		wantErr bool
	}{
		{"idr", "00000002 0910 00000002 6588", true, false},
		{"non-idr", "00000002 4199", false, false},
		{"empty", "", false, false},
		{"short prefix", "000000", false, true},
		{"overrun", "00000005 6588", false, true},
		{"huge length", "ffffffff 65", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := unhex(t, tt.in)
			err := SplitAVCC(b, func([]byte) bool { return true })
			if (err != nil) != tt.wantErr || (err != nil && !errors.Is(err, ErrTruncated)) {
				t.Errorf("err = %v", err)
			}
			if got := IsKeyAVCC(b); got != tt.key {
				t.Errorf("IsKeyAVCC = %v", got)
			}
		})
	}
}

func TestNoAllocs(t *testing.T) {
	stream, err := os.ReadFile("testdata/h720.h264")
	if err != nil {
		t.Fatal(err)
	}
	dst := make([]byte, 0, len(stream)+64)
	avcc := AnnexBToAVCC(nil, stream)
	sps := unhex(t, sps1080Scaling)
	for name, fn := range map[string]func(){
		"AnnexBToAVCC": func() { dst = AnnexBToAVCC(dst[:0], stream) },
		"AVCCToAnnexB": func() { dst = AVCCToAnnexB(dst[:0], avcc) },
		"SplitAVCC":    func() { _ = SplitAVCC(avcc, func([]byte) bool { return true }) },
		"IsKeyAVCC":    func() { IsKeyAVCC(avcc) },
		"ParseSPS":     func() { ParseSPS(sps) },
		"IsAVCC":       func() { IsAVCC(avcc) },
		"AVCCLen":      func() { AVCCLen(stream) },
		"AnnexBToAVCCInPlace": func() {
			dst = append(dst[:0], stream...)
			AnnexBToAVCCInPlace(dst)
		},
	} {
		if n := testing.AllocsPerRun(100, fn); n != 0 {
			t.Errorf("%s: %v allocs, want 0", name, n)
		}
	}
}

func BenchmarkAnnexBToAVCC(b *testing.B) {
	stream, err := os.ReadFile("testdata/h720.h264")
	if err != nil {
		b.Fatal(err)
	}
	dst := make([]byte, 0, len(stream)+64)
	b.ReportAllocs()
	b.SetBytes(int64(len(stream)))
	for b.Loop() {
		dst = AnnexBToAVCC(dst[:0], stream)
	}
}

func BenchmarkSplitAVCC(b *testing.B) {
	stream, err := os.ReadFile("testdata/h720.h264")
	if err != nil {
		b.Fatal(err)
	}
	avcc := AnnexBToAVCC(nil, stream)
	b.ReportAllocs()
	b.SetBytes(int64(len(avcc)))
	n := 0
	for b.Loop() {
		_ = SplitAVCC(avcc, func([]byte) bool { n++; return true })
	}
}

func BenchmarkParseSPS(b *testing.B) {
	sps := unhex(b, sps720High)
	b.ReportAllocs()
	for b.Loop() {
		ParseSPS(sps)
	}
}

func FuzzH264SPS(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseSPS(b)
		if err == nil && (s.Width <= 0 || s.Height <= 0 || s.Width > maxDim || s.Height > maxDim) {
			t.Errorf("bad size %dx%d", s.Width, s.Height)
		}
	})
}

func FuzzH264Config(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseConfig(b)
		if err != nil {
			return
		}
		again, err := ParseConfig(BuildConfig(c.SPS, c.PPS))
		if err != nil {
			t.Fatalf("rebuilt config: %v", err)
		}
		if len(again.SPS) != len(c.SPS) || len(again.PPS) != len(c.PPS) {
			t.Errorf("rebuilt sets %d/%d, want %d/%d", len(again.SPS), len(again.PPS), len(c.SPS), len(c.PPS))
		}
		// The splitters must not panic on anything.
		_ = SplitAVCC(b, func([]byte) bool { return true })
		AnnexBToAVCC(nil, b)
	})
}

func TestAnnexBToAVCCInPlace(t *testing.T) {
	tests := []struct {
		name, in, want string
		inPlace        bool
	}{
		{"4 byte start codes", "00000001 6742 00000001 68ce 00000001 6588aa", "00000002 6742 00000002 68ce 00000003 6588aa", true},
		{"a 3 byte start code", "00000001 6742 000001 68ce", "00000002 6742 00000002 68ce", false},
		{"trailing zeros", "00000001 6742 00 00000001 68ce", "00000002 6742 00000002 68ce", false},
		{"leading garbage", "ff 00000001 6588", "00000002 6588", false},
		{"start code only", "00000001", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := unhex(t, tt.in)
			if !IsAnnexB(b) && tt.name != "leading garbage" {
				t.Errorf("IsAnnexB = false")
			}
			want := unhex(t, tt.want)
			if n := AVCCLen(b); n != len(want) {
				t.Errorf("AVCCLen = %d, want %d", n, len(want))
			}
			orig := bytes.Clone(b)
			ok := AnnexBToAVCCInPlace(b)
			if ok != tt.inPlace {
				t.Fatalf("in place = %v", ok)
			}
			if ok && !bytes.Equal(b, want) {
				t.Errorf("got %x, want %x", b, want)
			}
			if !ok && !bytes.Equal(b, orig) {
				t.Errorf("refused but changed: %x", b)
			}
			if ok && !IsAVCC(b) {
				t.Errorf("result is not AVCC")
			}
		})
	}
}

func TestIsAVCC(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"00000002 6588", true},
		{"00000002 6742 00000001 68", true},
		{"", false},
		{"00000000", false},                  // an empty NAL unit
		{"00000001 67 42c01eda 0280", false}, // Annex B read as AVCC: the tee muxer's keyframes
		{"000001 6588", false},
		{"00000003 6588", false},
	}
	for _, tt := range tests {
		if got := IsAVCC(unhex(t, tt.in)); got != tt.want {
			t.Errorf("IsAVCC(%s) = %v", tt.in, got)
		}
	}
	if !IsAnnexB(unhex(t, "000001 65")) || IsAnnexB(unhex(t, "000002 65")) || IsAnnexB(unhex(t, "0000")) {
		t.Error("IsAnnexB")
	}
}

// FuzzAnnexBInPlace: converting in place, when it accepts, gives what the
// copying conversion gives, and never panics.
func FuzzAnnexBInPlace(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		want := AnnexBToAVCC(nil, b)
		if n := AVCCLen(b); n != len(want) {
			t.Fatalf("AVCCLen %d, converted %d", n, len(want))
		}
		c := bytes.Clone(b)
		if AnnexBToAVCCInPlace(c) {
			if !bytes.Equal(c, want) {
				t.Fatalf("in place %x, want %x", c, want)
			}
			if !IsAVCC(c) {
				t.Fatalf("in place result %x is not AVCC", c)
			}
		} else if !bytes.Equal(c, b) {
			t.Fatalf("refused but changed")
		}
		IsAVCC(b)
		IsAnnexB(b)
	})
}
