// Package av1 holds AV1 bitstream helpers: OBU headers and leb128 sizes
// (AV1 §5.3, §4.10.5), the sequence header (AV1 §5.5) and the
// AV1CodecConfigurationRecord that MP4 and enhanced RTMP carry (AV1-ISOBMFF
// §2.3.3). Temporal units are in the low overhead bitstream format: OBUs
// with obu_has_size_field set, except possibly the last.
package av1

import (
	"errors"
	"fmt"
	"strconv"
)

// Errors returned by the parsers, wrapped with context.
var (
	// ErrTruncated reports input that ends inside a field or an OBU.
	ErrTruncated = errors.New("av1: truncated")
	// ErrInvalid reports a value the specification does not allow.
	ErrInvalid = errors.New("av1: invalid")
)

// OBUType is obu_type (AV1 §6.2.2).
type OBUType uint8

// OBU types (AV1 §6.2.2).
const (
	OBUSequenceHeader       OBUType = 1
	OBUTemporalDelimiter    OBUType = 2
	OBUFrameHeader          OBUType = 3
	OBUTileGroup            OBUType = 4
	OBUMetadata             OBUType = 5
	OBUFrame                OBUType = 6
	OBURedundantFrameHeader OBUType = 7
	OBUTileList             OBUType = 8
	OBUPadding              OBUType = 15
)

var obuNames = [...]string{
	OBUSequenceHeader: "SequenceHeader", OBUTemporalDelimiter: "TemporalDelimiter",
	OBUFrameHeader: "FrameHeader", OBUTileGroup: "TileGroup", OBUMetadata: "Metadata",
	OBUFrame: "Frame", OBURedundantFrameHeader: "RedundantFrameHeader", OBUTileList: "TileList",
	OBUPadding: "Padding",
}

// String returns the type's name, or its number.
func (t OBUType) String() string {
	if int(t) < len(obuNames) && obuNames[t] != "" {
		return obuNames[t]
	}
	return "OBU(" + strconv.Itoa(int(t)) + ")"
}

// OBU is one open bitstream unit (AV1 §5.3.1).
type OBU struct {
	Type         OBUType
	HasExtension bool   // obu_extension_flag
	HasSize      bool   // obu_has_size_field
	TemporalID   uint8  // from the extension header, else 0
	SpatialID    uint8  // from the extension header, else 0
	Raw          []byte // the whole OBU, header included
	Payload      []byte // the OBU's payload, after the header and size
}

// maxLEB128 is the largest leb128 value that AV1 allows (§4.10.5).
const maxLEB128 = 1<<32 - 1

// ReadLEB128 decodes a leb128() value (AV1 §4.10.5) at the start of b and
// returns it with its length in bytes. At most 8 bytes are read, and values
// over 2^32-1 are rejected.
func ReadLEB128(b []byte) (v uint64, n int, err error) {
	for i := range 8 {
		if i >= len(b) {
			return 0, 0, fmt.Errorf("av1: leb128: %w", ErrTruncated)
		}
		v |= uint64(b[i]&0x7f) << (7 * i)
		if b[i]&0x80 == 0 {
			if v > maxLEB128 {
				return 0, 0, fmt.Errorf("av1: leb128 %d: %w", v, ErrInvalid)
			}
			return v, i + 1, nil
		}
	}
	return 0, 0, fmt.Errorf("av1: leb128 longer than 8 bytes: %w", ErrInvalid)
}

// AppendLEB128 appends v in its shortest leb128 encoding and returns the
// extended slice.
func AppendLEB128(dst []byte, v uint64) []byte {
	for v >= 0x80 {
		dst = append(dst, byte(v)|0x80)
		v >>= 7
	}
	return append(dst, byte(v))
}

// ParseOBU parses the OBU at the start of b (AV1 §5.3.1). An OBU without a
// size field extends to the end of b. It returns the OBU and the bytes
// after it.
func ParseOBU(b []byte) (OBU, []byte, error) {
	var o OBU
	if len(b) < 1 {
		return o, nil, fmt.Errorf("av1: obu header: %w", ErrTruncated)
	}
	h := b[0]
	if h&0x80 != 0 {
		return o, nil, fmt.Errorf("av1: obu_forbidden_bit: %w", ErrInvalid)
	}
	o.Type = OBUType(h >> 3 & 0xf)
	o.HasExtension = h&0x04 != 0
	o.HasSize = h&0x02 != 0
	hdr := 1
	if o.HasExtension {
		if len(b) < 2 {
			return o, nil, fmt.Errorf("av1: obu extension header: %w", ErrTruncated)
		}
		o.TemporalID = b[1] >> 5
		o.SpatialID = b[1] >> 3 & 3
		hdr = 2
	}
	size := uint64(len(b) - hdr)
	if o.HasSize {
		v, n, err := ReadLEB128(b[hdr:])
		if err != nil {
			return o, nil, fmt.Errorf("av1: %v obu_size: %w", o.Type, err)
		}
		hdr += n
		if v > uint64(len(b)-hdr) {
			return o, nil, fmt.Errorf("av1: %v obu of %d bytes: %w", o.Type, v, ErrTruncated)
		}
		size = v
	}
	end := hdr + int(size)
	o.Raw = b[:end]
	o.Payload = b[hdr:end]
	return o, b[end:], nil
}

// SplitOBUs calls fn for each OBU of b until fn returns false. It does not
// allocate, and returns an error for a malformed OBU.
func SplitOBUs(b []byte, fn func(o OBU) bool) error {
	for len(b) > 0 {
		o, rest, err := ParseOBU(b)
		if err != nil {
			return err
		}
		if !fn(o) {
			return nil
		}
		b = rest
	}
	return nil
}

// IsKey reports whether a temporal unit starts a coded video sequence: it
// holds a sequence header OBU, or a frame (header) OBU whose uncompressed
// header says show_existing_frame = 0 and frame_type = KEY_FRAME (AV1
// §5.9.2). The frame test assumes reduced_still_picture_header = 0, which
// holds for every stream but still pictures.
func IsKey(temporalUnit []byte) bool {
	key := false
	_ = SplitOBUs(temporalUnit, func(o OBU) bool {
		switch o.Type {
		case OBUSequenceHeader:
			key = true
		case OBUFrame, OBUFrameHeader:
			// show_existing_frame f(1), frame_type f(2); KEY_FRAME is 0.
			key = len(o.Payload) > 0 && o.Payload[0]&0xe0 == 0
		}
		return !key
	})
	return key
}
