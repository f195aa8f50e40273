// Package h265 holds H.265/HEVC bitstream helpers: NAL unit types, SPS
// parsing and the HEVCDecoderConfigurationRecord. Access units use the same
// 4-byte length-prefixed framing as H.264, so the AVCC and Annex B
// conversions of package h264 apply unchanged.
package h265

import (
	"errors"
	"strconv"

	"github.com/srs-lite/srs-lite/internal/format/codec/h264"
)

// Errors returned by the parsers, wrapped with context.
var (
	// ErrTruncated reports input that ends inside a field or a NAL unit.
	ErrTruncated = errors.New("h265: truncated")
	// ErrInvalid reports a value the specification does not allow.
	ErrInvalid = errors.New("h265: invalid")
)

// NALUType is nal_unit_type (H.265 Table 7-1).
type NALUType uint8

// NAL unit types (H.265 Table 7-1).
const (
	NALUTrailN    NALUType = 0
	NALUTrailR    NALUType = 1
	NALUBLAWLP    NALUType = 16
	NALUBLAWRADL  NALUType = 17
	NALUBLANLP    NALUType = 18
	NALUIDRWRADL  NALUType = 19
	NALUIDRNLP    NALUType = 20
	NALUCRA       NALUType = 21
	NALUVPS       NALUType = 32
	NALUSPS       NALUType = 33
	NALUPPS       NALUType = 34
	NALUAUD       NALUType = 35
	NALUEOS       NALUType = 36
	NALUEOB       NALUType = 37
	NALUFD        NALUType = 38
	NALUSEIPrefix NALUType = 39
	NALUSEISuffix NALUType = 40
)

var naluNames = map[NALUType]string{
	NALUTrailN: "TRAIL_N", NALUTrailR: "TRAIL_R", NALUBLAWLP: "BLA_W_LP", NALUBLAWRADL: "BLA_W_RADL",
	NALUBLANLP: "BLA_N_LP", NALUIDRWRADL: "IDR_W_RADL", NALUIDRNLP: "IDR_N_LP", NALUCRA: "CRA_NUT",
	NALUVPS: "VPS", NALUSPS: "SPS", NALUPPS: "PPS", NALUAUD: "AUD", NALUEOS: "EOS", NALUEOB: "EOB",
	NALUFD: "FD", NALUSEIPrefix: "SEI_PREFIX", NALUSEISuffix: "SEI_SUFFIX",
}

// String returns the type's name from Table 7-1, or its number.
func (t NALUType) String() string {
	if s, ok := naluNames[t]; ok {
		return s
	}
	return "NALU(" + strconv.Itoa(int(t)) + ")"
}

// IsIRAP reports whether t is an intra random access point picture
// (BLA, IDR, CRA and the reserved IRAP types 16..23, H.265 §7.4.2.2).
func (t NALUType) IsIRAP() bool { return t >= 16 && t <= 23 }

// Type returns the nal_unit_type of nalu's two-byte header (H.265
// §7.3.1.2), or 0 for an empty slice.
func Type(nalu []byte) NALUType {
	if len(nalu) == 0 {
		return 0
	}
	return NALUType(nalu[0]>>1) & 0x3f
}

// IsKeyAVCC reports whether a 4-byte length-prefixed access unit contains
// an IRAP picture (nal_unit_type 16..23).
func IsKeyAVCC(avcc []byte) bool {
	key := false
	_ = h264.SplitAVCC(avcc, func(n []byte) bool {
		key = Type(n).IsIRAP()
		return !key
	})
	return key
}

// ProfileName returns the name of a general_profile_idc (H.265 Annex A),
// such as "Main" or "Main 10", or "" if unknown.
func ProfileName(idc uint8) string {
	switch idc {
	case 1:
		return "Main"
	case 2:
		return "Main 10"
	case 3:
		return "Main Still Picture"
	case 4:
		return "Rext"
	case 5:
		return "High Throughput"
	case 6:
		return "Multiview Main"
	case 7:
		return "Scalable Main"
	case 8:
		return "3D Main"
	case 9:
		return "Screen Extended"
	case 10:
		return "Scalable Rext"
	case 11:
		return "High Throughput Screen Extended"
	}
	return ""
}
