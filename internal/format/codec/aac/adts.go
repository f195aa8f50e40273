package aac

import "fmt"

// ADTSHeaderLen is the size of an ADTS header without CRC.
const ADTSHeaderLen = 7

// maxADTSFrame is the largest frame_length, a 13-bit field.
const maxADTSFrame = 1<<13 - 1

// ADTS is an adts_fixed_header plus adts_variable_header (ISO 14496-3
// §1.A.2.2).
type ADTS struct {
	MPEG2           bool // ID: true for MPEG-2 AAC, false for MPEG-4
	CRC             bool // protection_absent == 0: a 16-bit CRC follows the header
	ObjectType      int  // profile_ObjectType + 1: 1 Main, 2 LC, 3 SSR, 4 LTP
	SampleRateIndex int
	SampleRate      int
	ChannelConfig   int
	Channels        int
	HeaderLen       int // 7, or 9 with CRC
	BufferFullness  int // adts_buffer_fullness, 0x7FF for VBR
	RawBlocks       int // number_of_raw_data_blocks_in_frame + 1
}

// ASC returns the AudioSpecificConfig equivalent of the header.
func (h ADTS) ASC() ASC {
	return ASC{
		ObjectType: h.ObjectType, CoreObjectType: h.ObjectType,
		SampleRateIndex: h.SampleRateIndex, SampleRate: h.SampleRate,
		ChannelConfig: h.ChannelConfig, Channels: h.Channels, FrameLength: 1024,
	}
}

// ParseADTS parses the ADTS header at the start of b (ISO 14496-3
// §1.A.2.2) and returns it with the frame length, header included. The
// frame's payload is b[h.HeaderLen:frameLen] when b holds the whole frame.
func ParseADTS(b []byte) (h ADTS, frameLen int, err error) {
	if len(b) < ADTSHeaderLen {
		return h, 0, fmt.Errorf("aac: adts header: %w", ErrTruncated)
	}
	if b[0] != 0xff || b[1]&0xf0 != 0xf0 {
		return h, 0, fmt.Errorf("aac: adts syncword: %w", ErrInvalid)
	}
	if b[1]&0x06 != 0 {
		return h, 0, fmt.Errorf("aac: adts layer %d: %w", b[1]>>1&3, ErrInvalid)
	}
	h.MPEG2 = b[1]&0x08 != 0
	h.CRC = b[1]&1 == 0
	h.ObjectType = int(b[2]>>6) + 1
	h.SampleRateIndex = int(b[2] >> 2 & 0xf)
	if h.SampleRateIndex >= len(sampleRates) {
		return h, 0, fmt.Errorf("aac: adts sampling frequency index %d: %w", h.SampleRateIndex, ErrInvalid)
	}
	h.SampleRate = sampleRates[h.SampleRateIndex]
	h.ChannelConfig = int(b[2]&1)<<2 | int(b[3]>>6)
	h.Channels = channelCounts[h.ChannelConfig]
	frameLen = int(b[3]&3)<<11 | int(b[4])<<3 | int(b[5]>>5)
	h.BufferFullness = int(b[5]&0x1f)<<6 | int(b[6]>>2)
	h.RawBlocks = int(b[6]&3) + 1
	h.HeaderLen = ADTSHeaderLen
	if h.CRC {
		h.HeaderLen += 2
	}
	if frameLen < h.HeaderLen {
		return h, 0, fmt.Errorf("aac: adts frame length %d: %w", frameLen, ErrInvalid)
	}
	return h, frameLen, nil
}

// AppendADTS appends a 7-byte ADTS header (no CRC, one raw data block,
// buffer fullness 0x7FF) for a payloadLen-byte AAC frame described by asc,
// and returns the extended slice. HE-AAC is signalled implicitly, as its
// core object type and rate. A payload too large for the 13-bit
// frame_length (over 8184 bytes) gets a length that wraps; callers split
// such frames first.
func AppendADTS(dst []byte, asc ASC, payloadLen int) []byte {
	profile := asc.CoreObjectType
	if profile == 0 {
		profile = asc.ObjectType
	}
	if profile < ObjectMain || profile > ObjectLTP {
		profile = ObjectLC
	}
	idx := asc.SampleRateIndex
	if idx >= len(sampleRates) {
		idx = nearestRateIndex(asc.SampleRate)
	}
	cc := asc.ChannelConfig & 7
	n := (payloadLen + ADTSHeaderLen) & maxADTSFrame
	const fullness = 0x7ff
	return append(dst,
		0xff, 0xf1, // syncword, MPEG-4, layer 0, protection_absent
		byte(profile-1)<<6|byte(idx)<<2|byte(cc>>2),
		byte(cc&3)<<6|byte(n>>11),
		byte(n>>3),
		byte(n&7)<<5|fullness>>6,
		fullness&0x3f<<2, // number_of_raw_data_blocks_in_frame 0
	)
}

// nearestRateIndex picks the table index closest to an explicit rate.
func nearestRateIndex(rate int) int {
	best := 4 // 44100
	for i, r := range sampleRates {
		if abs(r-rate) < abs(sampleRates[best]-rate) {
			best = i
		}
	}
	return best
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
