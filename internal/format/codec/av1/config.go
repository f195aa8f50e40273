package av1

import "fmt"

// Config is an AV1CodecConfigurationRecord (AV1-ISOBMFF §2.3.3), the AV1
// sequence header that MP4 and enhanced RTMP carry.
type Config struct {
	SeqProfile           uint8
	SeqLevelIdx0         uint8
	SeqTier0             uint8
	BitDepth             uint8 // 8, 10 or 12, from high_bitdepth and twelve_bit
	Monochrome           bool
	ChromaSubsamplingX   bool
	ChromaSubsamplingY   bool
	ChromaSamplePosition uint8
	// InitialPresentationDelay is initial_presentation_delay_minus_one + 1,
	// or 0 if absent.
	InitialPresentationDelay int
	// ConfigOBUs holds the configOBUs (a sequence header OBU and any
	// metadata OBUs). It aliases the parsed record.
	ConfigOBUs []byte
}

// ParseConfig parses an AV1CodecConfigurationRecord (AV1-ISOBMFF §2.3.3).
// The configOBUs are checked to be well-formed OBUs.
func ParseConfig(rec []byte) (Config, error) {
	var c Config
	if len(rec) < 4 {
		return c, fmt.Errorf("av1: config: %w", ErrTruncated)
	}
	if rec[0] != 0x81 { // marker 1, version 1
		return c, fmt.Errorf("av1: config: marker/version %#x: %w", rec[0], ErrInvalid)
	}
	c.SeqProfile = rec[1] >> 5
	c.SeqLevelIdx0 = rec[1] & 0x1f
	c.SeqTier0 = rec[2] >> 7
	high, twelve := rec[2]&0x40 != 0, rec[2]&0x20 != 0
	c.BitDepth = 8
	if high {
		c.BitDepth = 10
		if twelve {
			c.BitDepth = 12
		}
	}
	c.Monochrome = rec[2]&0x10 != 0
	c.ChromaSubsamplingX = rec[2]&0x08 != 0
	c.ChromaSubsamplingY = rec[2]&0x04 != 0
	c.ChromaSamplePosition = rec[2] & 3
	if rec[3]&0x10 != 0 {
		c.InitialPresentationDelay = int(rec[3]&0xf) + 1
	}
	c.ConfigOBUs = rec[4:]
	if err := SplitOBUs(c.ConfigOBUs, func(OBU) bool { return true }); err != nil {
		return c, fmt.Errorf("av1: config: %w", err)
	}
	return c, nil
}

// SequenceHeader parses the sequence header OBU among the configOBUs. It
// returns ErrInvalid wrapped if there is none.
func (c Config) SequenceHeader() (SequenceHeader, error) {
	var seq []byte
	_ = SplitOBUs(c.ConfigOBUs, func(o OBU) bool {
		if o.Type == OBUSequenceHeader {
			seq = o.Raw
		}
		return seq == nil
	})
	if seq == nil {
		return SequenceHeader{}, fmt.Errorf("av1: config: no sequence header: %w", ErrInvalid)
	}
	return ParseSequenceHeader(seq)
}

// BuildConfig returns an AV1CodecConfigurationRecord (AV1-ISOBMFF §2.3.3)
// whose fields come from the sequence header OBU seqHdr, which becomes the
// record's configOBUs (with its size field, as §2.3.4 requires).
func BuildConfig(seqHdr []byte) ([]byte, error) {
	o, _, err := ParseOBU(seqHdr)
	if err != nil {
		return nil, err
	}
	s, err := ParseSequenceHeader(o.Raw)
	if err != nil {
		return nil, err
	}
	b := make([]byte, 4, 4+len(o.Raw)+8)
	b[0] = 0x81
	b[1] = s.SeqProfile<<5 | s.SeqLevelIdx0
	b[2] = s.SeqTier0<<7 | flag(s.BitDepth > 8)<<6 | flag(s.BitDepth == 12)<<5 | flag(s.Monochrome)<<4 |
		flag(s.ChromaSubsamplingX)<<3 | flag(s.ChromaSubsamplingY)<<2 | s.ChromaSamplePosition
	if o.HasSize {
		return append(b, o.Raw...), nil
	}
	b = append(b, o.Raw[0]|0x02) // set obu_has_size_field
	if o.HasExtension {
		b = append(b, o.Raw[1])
	}
	b = AppendLEB128(b, uint64(len(o.Payload)))
	return append(b, o.Payload...), nil
}

func flag(v bool) uint8 {
	if v {
		return 1
	}
	return 0
}

// ProfileName returns the name of a seq_profile (AV1 Annex A): "Main",
// "High" or "Professional", or "" if unknown.
func ProfileName(p uint8) string {
	switch p {
	case 0:
		return "Main"
	case 1:
		return "High"
	case 2:
		return "Professional"
	}
	return ""
}
