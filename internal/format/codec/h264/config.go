package h264

import (
	"encoding/binary"
	"fmt"
)

// Config is an AVCDecoderConfigurationRecord (ISO 14496-15 §5.3.3.1), the
// H.264 sequence header that RTMP, FLV and MP4 carry.
type Config struct {
	ProfileIDC     uint8 // AVCProfileIndication
	ProfileCompat  uint8 // profile_compatibility
	LevelIDC       uint8 // AVCLevelIndication
	NALULengthSize int   // 1, 2 or 4: the size of each NAL unit's length prefix
	// SPS and PPS hold the parameter set NAL units, header byte included.
	// They alias the parsed record.
	SPS, PPS [][]byte
}

// highProfile reports whether the record for profile p has the chroma and
// bit depth extension (ISO 14496-15 §5.3.3.1.2).
func highProfile(p uint8) bool { return p == 100 || p == 110 || p == 122 || p == 144 }

// ParseConfig parses an AVCDecoderConfigurationRecord (ISO 14496-15
// §5.3.3.1.2). The returned parameter sets alias rec. The optional
// high-profile extension and any trailing bytes are ignored.
func ParseConfig(rec []byte) (Config, error) {
	var c Config
	if len(rec) < 7 {
		return c, fmt.Errorf("h264: config: %w", ErrTruncated)
	}
	if rec[0] != 1 {
		return c, fmt.Errorf("h264: config: version %d: %w", rec[0], ErrInvalid)
	}
	c.ProfileIDC, c.ProfileCompat, c.LevelIDC = rec[1], rec[2], rec[3]
	c.NALULengthSize = int(rec[4]&3) + 1
	if c.NALULengthSize == 3 {
		return c, fmt.Errorf("h264: config: nalu length size 3: %w", ErrInvalid)
	}
	var err error
	b := rec[5:]
	if c.SPS, b, err = parseSets(b, int(b[0]&0x1f)); err != nil {
		return c, fmt.Errorf("h264: config: sps: %w", err)
	}
	if len(b) < 1 {
		return c, fmt.Errorf("h264: config: pps count: %w", ErrTruncated)
	}
	if c.PPS, _, err = parseSets(b, int(b[0])); err != nil {
		return c, fmt.Errorf("h264: config: pps: %w", err)
	}
	return c, nil
}

// parseSets reads n 16-bit length-prefixed NAL units after b's count byte.
func parseSets(b []byte, n int) ([][]byte, []byte, error) {
	b = b[1:]
	sets := make([][]byte, 0, min(n, len(b)/2))
	for range n {
		if len(b) < 2 {
			return nil, b, ErrTruncated
		}
		l := int(binary.BigEndian.Uint16(b))
		if l == 0 || l > len(b)-2 {
			return nil, b, ErrTruncated
		}
		sets = append(sets, b[2:2+l])
		b = b[2+l:]
	}
	return sets, b, nil
}

// BuildConfig returns an AVCDecoderConfigurationRecord (ISO 14496-15
// §5.3.3.1.2) for the given parameter sets, with 4-byte NAL unit lengths.
// The profile and level come from the first SPS. Parameter sets longer than
// 65535 bytes and sets beyond the record's counts (31 SPS, 255 PPS) are left
// out.
func BuildConfig(sps, pps [][]byte) []byte {
	sps = fitSets(sps, 31)
	pps = fitSets(pps, 255)
	var profile, compat, level uint8
	if len(sps) > 0 && len(sps[0]) >= 4 {
		profile, compat, level = sps[0][1], sps[0][2], sps[0][3]
	}
	b := make([]byte, 0, 16+setsLen(sps)+setsLen(pps))
	b = append(b, 1, profile, compat, level, 0xfc|3, 0xe0|uint8(len(sps)))
	b = appendSets(b, sps)
	b = append(b, uint8(len(pps)))
	b = appendSets(b, pps)
	if highProfile(profile) {
		chroma, depthL, depthC := uint8(1), uint8(8), uint8(8)
		if len(sps) > 0 {
			if s, err := ParseSPS(sps[0]); err == nil {
				chroma, depthL, depthC = s.ChromaFormatIDC, s.BitDepthLuma, s.BitDepthChroma
			}
		}
		b = append(b, 0xfc|chroma, 0xf8|(depthL-8), 0xf8|(depthC-8), 0) // no SPS extensions
	}
	return b
}

func fitSets(sets [][]byte, limit int) [][]byte {
	out := make([][]byte, 0, min(len(sets), limit))
	for _, s := range sets {
		if len(s) > 0 && len(s) <= 0xffff && len(out) < limit {
			out = append(out, s)
		}
	}
	return out
}

func setsLen(sets [][]byte) int {
	n := 0
	for _, s := range sets {
		n += 2 + len(s)
	}
	return n
}

func appendSets(b []byte, sets [][]byte) []byte {
	for _, s := range sets {
		b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
		b = append(b, s...)
	}
	return b
}
