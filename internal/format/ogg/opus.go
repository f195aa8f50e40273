package ogg

import (
	"encoding/binary"
	"errors"
)

// ErrOpusHead reports an identification header that is not OpusHead.
var ErrOpusHead = errors.New("ogg: not an OpusHead packet")

// OpusHead is the Opus identification header (RFC 7845 §5.1).
type OpusHead struct {
	Channels   int
	PreSkip    int // samples at 48 kHz to discard from the decoder's output
	InputRate  int // the original input rate, informational
	OutputGain int16
}

// ParseOpusHead parses the first packet of an Ogg Opus stream.
func ParseOpusHead(p []byte) (OpusHead, error) {
	if len(p) < 19 || string(p[:8]) != "OpusHead" || p[8]>>4 != 0 {
		return OpusHead{}, ErrOpusHead
	}
	return OpusHead{Channels: int(p[9]), PreSkip: int(binary.LittleEndian.Uint16(p[10:])),
		InputRate: int(binary.LittleEndian.Uint32(p[12:])), OutputGain: int16(binary.LittleEndian.Uint16(p[16:]))}, nil
}

// AppendOpusHead appends a version 1 OpusHead with channel mapping family 0
// (mono or stereo) to dst.
func AppendOpusHead(dst []byte, h OpusHead) []byte {
	dst = append(dst, "OpusHead"...)
	dst = append(dst, 1, byte(h.Channels))
	dst = binary.LittleEndian.AppendUint16(dst, uint16(h.PreSkip))
	dst = binary.LittleEndian.AppendUint32(dst, uint32(h.InputRate))
	dst = binary.LittleEndian.AppendUint16(dst, uint16(h.OutputGain))
	return append(dst, 0) // mapping family 0
}

// AppendOpusTags appends an OpusTags comment header (RFC 7845 §5.2) with the
// vendor string and no comments.
func AppendOpusTags(dst []byte, vendor string) []byte {
	dst = append(dst, "OpusTags"...)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(vendor)))
	dst = append(dst, vendor...)
	return binary.LittleEndian.AppendUint32(dst, 0)
}

// IsOpusTags reports whether p is an OpusTags header.
func IsOpusTags(p []byte) bool { return len(p) >= 8 && string(p[:8]) == "OpusTags" }

// OpusSamples returns the duration of an Opus packet in 48 kHz samples,
// from its TOC byte and frame count (RFC 6716 §3.1), or 0 for a malformed
// packet.
func OpusSamples(p []byte) int {
	if len(p) == 0 {
		return 0
	}
	toc := p[0]
	var frames int
	switch toc & 3 {
	case 0:
		frames = 1
	case 1, 2:
		frames = 2
	case 3:
		if len(p) < 2 {
			return 0
		}
		frames = int(p[1] & 0x3f)
	}
	n := frames * opusFrameSamples(toc>>3)
	if n > 5760 { // 120 ms at most (RFC 6716 §3.2.5)
		return 0
	}
	return n
}

// opusFrameSamples is the frame size of a TOC configuration (RFC 6716
// Table 2), in 48 kHz samples.
func opusFrameSamples(config byte) int {
	switch {
	case config < 12: // SILK: 10, 20, 40, 60 ms
		return [4]int{480, 960, 1920, 2880}[config&3]
	case config < 16: // Hybrid: 10, 20 ms
		return [2]int{480, 960}[config&1]
	default: // CELT: 2.5, 5, 10, 20 ms
		return [4]int{120, 240, 480, 960}[config&3]
	}
}
