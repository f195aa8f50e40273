package h265

import (
	"encoding/binary"
	"fmt"
)

// Config is an HEVCDecoderConfigurationRecord (ISO 14496-15 §8.3.3.1), the
// H.265 sequence header that enhanced RTMP, FLV and MP4 carry.
type Config struct {
	ProfileTierLevel
	ChromaFormatIDC   uint8
	BitDepthLuma      uint8
	BitDepthChroma    uint8
	AvgFrameRate      uint16 // in frames per 256 seconds, 0 if unspecified
	ConstantFrameRate uint8
	NALULengthSize    int // 1, 2 or 4
	// VPS, SPS and PPS hold the parameter set NAL units, header included.
	// They alias the parsed record. Other arrays (SEI) are skipped.
	VPS, SPS, PPS [][]byte
}

// ParseConfig parses an HEVCDecoderConfigurationRecord (ISO 14496-15
// §8.3.3.1.2). The returned parameter sets alias rec.
func ParseConfig(rec []byte) (Config, error) {
	var c Config
	if len(rec) < 23 {
		return c, fmt.Errorf("h265: config: %w", ErrTruncated)
	}
	if rec[0] != 1 {
		return c, fmt.Errorf("h265: config: version %d: %w", rec[0], ErrInvalid)
	}
	c.ProfileSpace = rec[1] >> 6
	c.Tier = rec[1] >> 5 & 1
	c.ProfileIDC = rec[1] & 0x1f
	c.ProfileCompat = binary.BigEndian.Uint32(rec[2:])
	c.ConstraintFlags = uint64(binary.BigEndian.Uint16(rec[6:]))<<32 | uint64(binary.BigEndian.Uint32(rec[8:]))
	c.LevelIDC = rec[12]
	// rec[13:15] min_spatial_segmentation_idc, rec[15] parallelismType.
	c.ChromaFormatIDC = rec[16] & 3
	c.BitDepthLuma = rec[17]&7 + 8
	c.BitDepthChroma = rec[18]&7 + 8
	c.AvgFrameRate = binary.BigEndian.Uint16(rec[19:])
	c.ConstantFrameRate = rec[21] >> 6
	c.MaxSubLayers = rec[21] >> 3 & 7
	c.TemporalIDNested = rec[21]>>2&1 == 1
	c.NALULengthSize = int(rec[21]&3) + 1
	if c.NALULengthSize == 3 {
		return c, fmt.Errorf("h265: config: nalu length size 3: %w", ErrInvalid)
	}
	n := int(rec[22]) // numOfArrays
	b := rec[23:]
	for range n {
		if len(b) < 3 {
			return c, fmt.Errorf("h265: config: array header: %w", ErrTruncated)
		}
		typ := NALUType(b[0] & 0x3f)
		count := int(binary.BigEndian.Uint16(b[1:]))
		b = b[3:]
		for range count {
			if len(b) < 2 {
				return c, fmt.Errorf("h265: config: nalu length: %w", ErrTruncated)
			}
			l := int(binary.BigEndian.Uint16(b))
			if l == 0 || l > len(b)-2 {
				return c, fmt.Errorf("h265: config: %v of %d bytes: %w", typ, l, ErrTruncated)
			}
			nalu := b[2 : 2+l]
			b = b[2+l:]
			switch typ {
			case NALUVPS:
				c.VPS = append(c.VPS, nalu)
			case NALUSPS:
				c.SPS = append(c.SPS, nalu)
			case NALUPPS:
				c.PPS = append(c.PPS, nalu)
			}
		}
	}
	return c, nil
}

// BuildConfig returns an HEVCDecoderConfigurationRecord (ISO 14496-15
// §8.3.3.1.2) for the given parameter sets, with 4-byte NAL unit lengths and
// the general profile, tier, level, chroma format and bit depths of the
// first SPS (zero if it does not parse). Empty sets, sets longer than 65535
// bytes and sets beyond 65535 per type are left out.
func BuildConfig(vps, sps, pps [][]byte) []byte {
	var s SPS
	if len(sps) > 0 {
		s, _ = ParseSPS(sps[0])
	}
	size := 23
	for _, sets := range [][][]byte{vps, sps, pps} {
		size += 3
		for _, n := range sets {
			size += 2 + len(n)
		}
	}
	b := make([]byte, 23, size)
	b[0] = 1
	b[1] = s.ProfileSpace<<6 | s.Tier<<5 | s.ProfileIDC
	binary.BigEndian.PutUint32(b[2:], s.ProfileCompat)
	binary.BigEndian.PutUint16(b[6:], uint16(s.ConstraintFlags>>32))
	binary.BigEndian.PutUint32(b[8:], uint32(s.ConstraintFlags))
	b[12] = s.LevelIDC
	b[13], b[14] = 0xf0, 0 // min_spatial_segmentation_idc 0
	b[15] = 0xfc           // parallelismType 0: unknown
	b[16] = 0xfc | s.ChromaFormatIDC
	b[17] = 0xf8 | (max(s.BitDepthLuma, 8) - 8)
	b[18] = 0xf8 | (max(s.BitDepthChroma, 8) - 8)
	// b[19:21] avgFrameRate 0; constantFrameRate 0.
	nested := uint8(0)
	if s.TemporalIDNested {
		nested = 1
	}
	b[21] = s.MaxSubLayers&7<<3 | nested<<2 | 3
	b[22] = 3
	b = appendArray(b, NALUVPS, vps)
	b = appendArray(b, NALUSPS, sps)
	b = appendArray(b, NALUPPS, pps)
	return b
}

// appendArray appends one complete NAL unit array (array_completeness 1).
func appendArray(b []byte, typ NALUType, sets [][]byte) []byte {
	at := len(b)
	b = append(b, 0x80|uint8(typ), 0, 0)
	n := 0
	for _, s := range sets {
		if len(s) == 0 || len(s) > 0xffff || n == 0xffff {
			continue
		}
		b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
		b = append(b, s...)
		n++
	}
	binary.BigEndian.PutUint16(b[at+1:], uint16(n))
	return b
}
