package h265

import (
	"bytes"
	"encoding/hex"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/srs-lite/srs-lite/internal/format/codec/h264"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Parameter sets from real libx265 encodes via ffmpeg, checked with ffprobe.
const (
	vps1080 = "40010c01ffff016000000300900000030000030078959809"
	// 1920x1080 Main@L4 (coded 1920x1088, conformance window bottom 4 chroma rows).
	sps1080 = "420101016000000300900000030000030078a003c08010e596566924caf0168080000003008000000f04"
	pps1080 = "4401c172b46240"
	// 1280x720 Main 10@L3.1, 10-bit.
	sps720m10 = "42010102200000030090000003000003005da00280802d1365959a4932bc05a020000003002000000303c1"
)

func TestParseSPS(t *testing.T) {
	tests := []struct {
		name string
		sps  string
		want SPS
	}{
		{"1080p main", sps1080, SPS{
			ProfileTierLevel: ProfileTierLevel{ProfileIDC: 1, ProfileCompat: 0x60000000, ConstraintFlags: 0x900000000000, LevelIDC: 120, MaxSubLayers: 1, TemporalIDNested: true},
			ChromaFormatIDC:  1, BitDepthLuma: 8, BitDepthChroma: 8, Width: 1920, Height: 1080,
		}},
		{"720p main10", sps720m10, SPS{
			ProfileTierLevel: ProfileTierLevel{ProfileIDC: 2, ProfileCompat: 0x20000000, ConstraintFlags: 0x900000000000, LevelIDC: 93, MaxSubLayers: 1, TemporalIDNested: true},
			ChromaFormatIDC:  1, BitDepthLuma: 10, BitDepthChroma: 10, Width: 1280, Height: 720,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseSPS(unhex(t, tt.sps))
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
			if ProfileName(got.ProfileIDC) == "" {
				t.Error("no profile name")
			}
		})
	}
	full := unhex(t, sps1080)
	for i := range full[:20] {
		if _, err := ParseSPS(full[:i]); !errors.Is(err, ErrTruncated) {
			t.Errorf("ParseSPS(sps[:%d]) err = %v", i, err)
		}
	}
	if _, err := ParseSPS(unhex(t, pps1080)); !errors.Is(err, ErrInvalid) {
		t.Errorf("pps err = %v", err)
	}
}

func TestConfig(t *testing.T) {
	rec, err := os.ReadFile("testdata/x1080.hvcC") // ffmpeg's mp4 muxer, with an SEI array
	if err != nil {
		t.Fatal(err)
	}
	c, err := ParseConfig(rec)
	if err != nil {
		t.Fatal(err)
	}
	if c.ProfileIDC != 1 || c.LevelIDC != 120 || c.ChromaFormatIDC != 1 || c.BitDepthLuma != 8 || c.NALULengthSize != 4 || !c.TemporalIDNested || c.MaxSubLayers != 1 {
		t.Errorf("header = %+v", c.ProfileTierLevel)
	}
	for _, s := range []struct {
		got  [][]byte
		want string
	}{{c.VPS, vps1080}, {c.SPS, sps1080}, {c.PPS, pps1080}} {
		if len(s.got) != 1 || !bytes.Equal(s.got[0], unhex(t, s.want)) {
			t.Errorf("set = %x, want %s", s.got, s.want)
		}
	}
	t.Run("build matches ffmpeg", func(t *testing.T) {
		got := BuildConfig(c.VPS, c.SPS, c.PPS)
		want := append([]byte(nil), rec[:23+3*3+2*3+len(vps1080)/2+len(sps1080)/2+len(pps1080)/2]...)
		want[22] = 3 // ffmpeg adds a fourth array, the SEI
		if !bytes.Equal(got, want) {
			t.Errorf("BuildConfig = %x\nwant          %x", got, want)
		}
	})
	t.Run("errors", func(t *testing.T) {
		for _, n := range []int{0, 22, 23, 25, 30, 60} {
			if _, err := ParseConfig(rec[:n]); !errors.Is(err, ErrTruncated) {
				t.Errorf("ParseConfig(rec[:%d]) err = %v", n, err)
			}
		}
		bad := append([]byte(nil), rec...)
		bad[0] = 0
		if _, err := ParseConfig(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("version 0: %v", err)
		}
	})
}

func TestIsKeyAVCC(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want bool
	}{
		{"idr_w_radl", "00000003 260101", true},
		{"cra after vps", "00000002 4001 00000003 2a0101", true},
		{"trail_r", "00000003 020101", false},
		{"truncated", "00000009 2601", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsKeyAVCC(unhex(t, tt.in)); got != tt.want {
				t.Errorf("IsKeyAVCC = %v", got)
			}
		})
	}
	if NALUCRA.String() != "CRA_NUT" || !NALUIDRNLP.IsIRAP() || NALUVPS.IsIRAP() || NALUType(50).String() != "NALU(50)" {
		t.Error("NALUType methods")
	}
	// The h264 framing helpers carry H.265 unchanged.
	au := h264.AnnexBToAVCC(nil, unhex(t, "00000001"+vps1080+"00000001 2801af"))
	if !IsKeyAVCC(au) {
		t.Error("annexb access unit not key")
	}
}

func FuzzH265SPS(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseSPS(b)
		if err == nil && (s.Width <= 0 || s.Height <= 0 || s.Width > maxDim || s.Height > maxDim) {
			t.Errorf("bad size %dx%d", s.Width, s.Height)
		}
	})
}

func FuzzH265Config(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseConfig(b)
		if err != nil {
			return
		}
		again, err := ParseConfig(BuildConfig(c.VPS, c.SPS, c.PPS))
		if err != nil {
			t.Fatalf("rebuilt config: %v", err)
		}
		if len(again.VPS) != len(c.VPS) || len(again.SPS) != len(c.SPS) || len(again.PPS) != len(c.PPS) {
			t.Error("rebuilt config lost sets")
		}
	})
}
