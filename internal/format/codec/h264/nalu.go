// Package h264 holds H.264/AVC bitstream helpers: NAL unit types, SPS
// parsing, the AVCDecoderConfigurationRecord, and conversion between Annex B
// byte streams and AVCC (length-prefixed) access units.
//
// The AVCC helpers work on any 4-byte length-prefixed NAL unit stream, so
// H.265 uses them too. Nothing here does I/O or keeps state.
package h264

import (
	"errors"
	"strconv"

	"github.com/srs-lite/srs-lite/internal/format/codec/bits"
)

// Errors returned by the parsers, wrapped with context.
var (
	// ErrTruncated reports input that ends inside a field or a NAL unit.
	ErrTruncated = errors.New("h264: truncated")
	// ErrInvalid reports a value the specification does not allow.
	ErrInvalid = errors.New("h264: invalid")
)

// NALUType is nal_unit_type (H.264 Table 7-1).
type NALUType uint8

// NAL unit types (H.264 Table 7-1).
const (
	NALUNonIDR      NALUType = 1
	NALUDataA       NALUType = 2
	NALUDataB       NALUType = 3
	NALUDataC       NALUType = 4
	NALUIDR         NALUType = 5
	NALUSEI         NALUType = 6
	NALUSPS         NALUType = 7
	NALUPPS         NALUType = 8
	NALUAUD         NALUType = 9
	NALUEndOfSeq    NALUType = 10
	NALUEndOfStream NALUType = 11
	NALUFiller      NALUType = 12
	NALUSPSExt      NALUType = 13
	NALUPrefix      NALUType = 14
	NALUSubsetSPS   NALUType = 15
)

var naluNames = [...]string{
	NALUNonIDR: "NonIDR", NALUDataA: "DataA", NALUDataB: "DataB", NALUDataC: "DataC",
	NALUIDR: "IDR", NALUSEI: "SEI", NALUSPS: "SPS", NALUPPS: "PPS", NALUAUD: "AUD",
	NALUEndOfSeq: "EndOfSeq", NALUEndOfStream: "EndOfStream", NALUFiller: "Filler",
	NALUSPSExt: "SPSExt", NALUPrefix: "Prefix", NALUSubsetSPS: "SubsetSPS",
}

// String returns the type's short name, or its number.
func (t NALUType) String() string {
	if int(t) < len(naluNames) && naluNames[t] != "" {
		return naluNames[t]
	}
	return "NALU(" + strconv.Itoa(int(t)) + ")"
}

// Type returns the nal_unit_type of nalu's header byte, or 0 for an empty
// slice.
func Type(nalu []byte) NALUType {
	if len(nalu) == 0 {
		return 0
	}
	return NALUType(nalu[0] & 0x1f)
}

// RemoveEmulation appends nalu to dst without its emulation prevention bytes
// (H.264 §7.4.1) and returns the extended slice.
func RemoveEmulation(dst, nalu []byte) []byte { return bits.RemoveEmulation(dst, nalu) }
