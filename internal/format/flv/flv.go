// Package flv converts between FLV tag bodies and media.Frame, and reads and
// writes FLV streams (files and HTTP-FLV bodies).
//
// RTMP audio, video and data message payloads are FLV tag bodies, so the rtmp,
// httpflv and dvr packages share this code. Both the legacy FLV codecs
// (Adobe FLV spec v10.1, annex E) and Enhanced RTMP (veovera enhanced-rtmp
// v1/v2: FourCC video and audio headers) are understood.
//
// Parsers never copy: they return offsets into the body they were given.
package flv

import (
	"encoding/binary"
	"errors"
	"time"

	"github.com/srs-lite/srs-lite/internal/media"
)

// Errors returned by the parsers, the Reader and the Writer.
var (
	// ErrSkip reports a well-formed tag that carries no media frame (a video
	// info/command frame, Enhanced RTMP metadata, an end of sequence, an
	// unknown tag type). Callers ignore the tag.
	ErrSkip = errors.New("flv: no frame in tag")
	// ErrTruncated reports a body or stream that ends inside a header.
	ErrTruncated = errors.New("flv: truncated")
	// ErrUnsupported reports a codec, packet type or feature srs-lite does
	// not handle.
	ErrUnsupported = errors.New("flv: unsupported")
	// ErrInvalid reports malformed data.
	ErrInvalid = errors.New("flv: invalid data")
	// ErrTooLarge reports a tag larger than the Reader's limit or a frame too
	// large for a 24-bit FLV data size.
	ErrTooLarge = errors.New("flv: tag too large")
)

// Tag types (FLV spec E.4.1 TagType).
const (
	TagAudio  uint8 = 8
	TagVideo  uint8 = 9
	TagScript uint8 = 18
)

// Sizes of the fixed parts of an FLV stream.
const (
	// HeaderSize is the size of the FLV file header plus PreviousTagSize0.
	HeaderSize = 9 + 4
	// TagHeaderSize is the size of an FLV tag header (FLV spec E.4.1).
	TagHeaderSize = 11
	// MaxDataSize is the largest tag body a 24-bit DataSize can state.
	MaxDataSize = 1<<24 - 1
)

// Header returns the 9-byte FLV file header followed by the 4-byte
// PreviousTagSize0 (FLV spec E.2, E.3).
func Header(hasAudio, hasVideo bool) []byte {
	h := []byte{'F', 'L', 'V', 1, 0, 0, 0, 0, 9, 0, 0, 0, 0}
	if hasAudio {
		h[4] |= 4 // TypeFlagsAudio
	}
	if hasVideo {
		h[4] |= 1 // TypeFlagsVideo
	}
	return h
}

// AppendTagHeader appends the 11-byte FLV tag header (FLV spec E.4.1): the
// tag type, the 24-bit body size, the timestamp in milliseconds (lower 24
// bits, then the extended upper 8 bits) and a zero StreamID.
func AppendTagHeader(dst []byte, typ uint8, dataSize int, ts uint32) []byte {
	return append(dst,
		typ&0x1f,
		byte(dataSize>>16), byte(dataSize>>8), byte(dataSize),
		byte(ts>>16), byte(ts>>8), byte(ts), byte(ts>>24),
		0, 0, 0)
}

// SetTagTimestamp writes ts into the tag header hdr (at least
// TagHeaderSize bytes), as AppendTagHeader lays it out.
func SetTagTimestamp(hdr []byte, ts uint32) {
	hdr[4], hdr[5], hdr[6], hdr[7] = byte(ts>>16), byte(ts>>8), byte(ts), byte(ts>>24)
}

// TagType returns the FLV tag type carrying f: TagAudio, TagVideo,
// TagScript, or 0 when FLV cannot carry f's codec.
func TagType(f *media.Frame) uint8 {
	switch {
	case f.Codec.IsVideo():
		return TagVideo
	case f.Codec.IsAudio():
		return TagAudio
	case f.Codec == media.CodecData:
		return TagScript
	}
	return 0
}

// Timestamp returns f's DTS in milliseconds as an FLV timestamp, wrapping
// modulo 2^32 (negative DTS wrap too).
func Timestamp(f *media.Frame) uint32 {
	return uint32(int64(f.DTS / time.Millisecond))
}

// cts returns f's composition time offset in milliseconds, clamped to the
// signed 24-bit range of the FLV CompositionTime field.
func cts(f *media.Frame) int32 {
	c := int64(f.CTS() / time.Millisecond)
	switch {
	case c > 1<<23-1:
		c = 1<<23 - 1
	case c < -1<<23:
		c = -1 << 23
	}
	return int32(c)
}

// si24 decodes a big-endian signed 24-bit integer.
func si24(b []byte) int32 {
	return int32(uint32(b[0])<<24|uint32(b[1])<<16|uint32(b[2])<<8) >> 8
}

func appendSI24(dst []byte, v int32) []byte {
	return append(dst, byte(v>>16), byte(v>>8), byte(v))
}

func fourCC(b []byte) uint32 { return binary.BigEndian.Uint32(b) }

// FourCCs of Enhanced RTMP (enhanced-rtmp v1 "ExVideoTagHeader",
// v2 "ExAudioTagHeader").
const (
	fourCCAVC  = 'a'<<24 | 'v'<<16 | 'c'<<8 | '1'
	fourCCHEVC = 'h'<<24 | 'v'<<16 | 'c'<<8 | '1'
	fourCCAV1  = 'a'<<24 | 'v'<<16 | '0'<<8 | '1'
	fourCCOpus = 'O'<<24 | 'p'<<16 | 'u'<<8 | 's'
	fourCCAAC  = 'm'<<24 | 'p'<<16 | '4'<<8 | 'a'
	fourCCMP3  = '.'<<24 | 'm'<<16 | 'p'<<8 | '3'
)
