// Package ps demuxes an MPEG-2 program stream (ISO/IEC 13818-1 §2.5) into
// media.Frames and muxes frames back into one. GB28181 cameras and NVRs send
// their video as a program stream carried in RTP (GB/T 28181 Annex C): a pack
// header per frame, a system header and a program stream map before each
// keyframe, and PES packets of H.264 or H.265 video and AAC or G.711 audio.
//
// The demuxer takes the payload of each RTP packet as it comes, with the
// packet's marker bit (set on the last packet of a frame), and also reads a
// plain program stream (a .ps file, GStreamer's mpegpsmux). The muxer writes
// what a camera sends; tests and the device simulator use it.
//
// Nothing here does I/O or starts goroutines; neither type is safe for
// concurrent use.
package ps

import (
	"encoding/binary"
	"errors"
	"time"

	"github.com/srs-lite/srs-lite/internal/media"
)

// Errors of the demuxer. Write returns the first one met in its input; none
// is fatal: the demuxer skips what it cannot use and goes on.
var (
	// ErrGarbage reports bytes that start no pack, header or PES: they were
	// skipped up to the next start code.
	ErrGarbage = errors.New("ps: garbage skipped")
	// ErrMalformed reports a header whose fields contradict each other.
	ErrMalformed = errors.New("ps: malformed header")
	// ErrTooLarge reports an access unit larger than MaxFrameSize: dropped.
	ErrTooLarge = errors.New("ps: access unit too large")
	// ErrUnsupported reports a PES the demuxer does not read (MPEG-1 PES
	// syntax, a stream type it has no codec for).
	ErrUnsupported = errors.New("ps: unsupported stream")
	// ErrCodec reports a codec the muxer cannot write in a program stream.
	ErrCodec = errors.New("ps: codec not supported in MPEG-PS")
)

// MaxFrameSize bounds a video access unit being gathered (8 MiB).
const MaxFrameSize = 8 << 20

// Start codes (ISO 13818-1 Table 2-18, 2-33).
const (
	idEnd      = 0xb9 // MPEG_program_end_code
	idPack     = 0xba // pack_start_code
	idSystem   = 0xbb // system_header_start_code
	idPSM      = 0xbc // program_stream_map
	idPrivate1 = 0xbd // private_stream_1
	idPadding  = 0xbe // padding_stream
	idPrivate2 = 0xbf // private_stream_2

	idAudio = 0xc0 // audio stream 0 (0xc0..0xdf)
	idVideo = 0xe0 // video stream 0 (0xe0..0xef)
)

// Stream types of the program stream map (ISO 13818-1 Table 2-34; the G.711
// values are GB/T 28181's).
const (
	TypeH264  = 0x1b
	TypeH265  = 0x24
	TypeAAC   = 0x0f // ISO 13818-7 audio with ADTS transport syntax
	TypeG711A = 0x90
	TypeG711U = 0x91
)

// maxPSM bounds program_stream_map_length (ISO 13818-1 §2.5.4.2).
const maxPSM = 1018

// clock is the 90 kHz clock of PTS and DTS.
const clock = 90000

// tsMask keeps the 33 bits of a PTS or DTS.
const tsMask = 1<<33 - 1

// codecOf maps a stream type to a codec, 0 for the ones not demuxed.
func codecOf(t uint8) media.Codec {
	switch t {
	case TypeH264:
		return media.CodecH264
	case TypeH265:
		return media.CodecH265
	case TypeAAC:
		return media.CodecAAC
	case TypeG711A:
		return media.CodecPCMA
	case TypeG711U:
		return media.CodecPCMU
	}
	return 0
}

// typeOf maps a codec to its stream type, 0 when a program stream cannot
// carry it here.
func typeOf(c media.Codec) uint8 {
	switch c {
	case media.CodecH264:
		return TypeH264
	case media.CodecH265:
		return TypeH265
	case media.CodecAAC:
		return TypeAAC
	case media.CodecPCMA:
		return TypeG711A
	case media.CodecPCMU:
		return TypeG711U
	}
	return 0
}

// floorDiv divides rounding towards minus infinity.
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// Ticks converts d to the nearest 90 kHz tick.
func Ticks(d time.Duration) int64 { return floorDiv(int64(d)*9+50000, 100000) }

// duration converts 90 kHz ticks to the nearest nanosecond.
func duration(t int64) time.Duration { return time.Duration(floorDiv(t*200000+9, 18)) }

// signed33 maps a 33-bit difference to [-2^32, 2^32).
func signed33(v int64) int64 {
	v &= tsMask
	if v >= 1<<32 {
		v -= 1 << 33
	}
	return v
}

// readTimestamp reads a 33-bit PTS or DTS (ISO 13818-1 §2.4.3.7); the
// marker bits are not checked.
func readTimestamp(b []byte) int64 {
	return int64(b[0]>>1&7)<<30 | int64(b[1])<<22 | int64(b[2]>>1)<<15 | int64(b[3])<<7 | int64(b[4]>>1)
}

// appendTimestamp appends a PTS or DTS with its 4-bit prefix.
func appendTimestamp(b []byte, prefix byte, t int64) []byte {
	t &= tsMask
	return append(b,
		prefix<<4|byte(t>>29)&0x0e|1,
		byte(t>>22),
		byte(t>>14)&0xfe|1,
		byte(t>>7),
		byte(t<<1)|1)
}

// crc32 returns the CRC-32/MPEG-2 of b (ISO 13818-1 Annex A), computed bit
// by bit: it runs once per program stream map.
func crc32(b []byte) uint32 {
	c := uint32(0xffffffff)
	for _, v := range b {
		c ^= uint32(v) << 24
		for range 8 {
			if c&0x80000000 != 0 {
				c = c<<1 ^ 0x04c11db7
			} else {
				c <<= 1
			}
		}
	}
	return c
}

// SplitFrames cuts a program stream (a .ps file, mpegpsmux output) into the
// pieces a camera sends in the RTP packets of one frame: each piece starts
// at a video PES with a new PTS, or at the pack, system header and map just
// before it, and runs to the next; audio PES go with the piece they follow.
// fn gets each piece with the PTS of its video (90 kHz, 33 bits), or of its
// first PES when it has no video. A piece aliases data. Bytes that do not
// parse as program stream units end the walk in the last piece.
func SplitFrames(data []byte, fn func(piece []byte, pts int64)) {
	start := 0       // of the current piece
	cut := -1        // where the next piece starts: the first header after the last video PES
	var pts int64    // of the current piece
	havePTS := false // the piece has its PTS
	haveVideo := false
	i := 0
	for i+4 <= len(data) {
		b := data[i:]
		if b[0] != 0 || b[1] != 0 || b[2] != 1 || b[3] < idEnd {
			break
		}
		id := b[3]
		n := 4
		switch {
		case id == idPack && len(b) >= 14 && b[4]&0xc4 == 0x44:
			n = 14 + int(b[13]&7)
		case id == idPack && len(b) >= 12 && b[4]&0xf1 == 0x21:
			n = 12
		case id == idPack:
			n = len(b)
		case id > idEnd && len(b) >= 6:
			n = 6 + int(binary.BigEndian.Uint16(b[4:]))
		}
		n = min(n, len(b))
		isVideo := id >= idVideo && id <= 0xef
		switch {
		case isVideo && n >= 14 && b[7]&0x80 != 0:
			t := readTimestamp(b[9:])
			if haveVideo && t != pts {
				at := i
				if cut >= 0 {
					at = cut
				}
				fn(data[start:at], pts)
				start = at
			}
			if !haveVideo || t != pts {
				pts, havePTS, haveVideo = t, true, true
			}
			cut = -1
		case isVideo:
			cut = -1
		case id >= idAudio || id == idPrivate1:
			if !havePTS && n >= 14 && b[7]&0x80 != 0 {
				pts, havePTS = readTimestamp(b[9:]), true
			}
		default: // pack, system header, map, padding
			if haveVideo && cut < 0 {
				cut = i
			}
		}
		i += n
	}
	if start < len(data) {
		fn(data[start:], pts)
	}
}

// Shift adds ticks (90 kHz) to every timestamp of a program stream, in
// place: the SCR of MPEG-2 pack headers and the PTS and DTS of PES packets
// with MPEG-2 headers. The device simulator loops a file with it. It stops
// at bytes that do not parse as program stream units.
func Shift(data []byte, ticks int64) {
	for i := 0; i+6 <= len(data); {
		b := data[i:]
		if b[0] != 0 || b[1] != 0 || b[2] != 1 || b[3] < idEnd {
			return
		}
		id := b[3]
		n := 4
		switch {
		case id == idPack && len(b) >= 14 && b[4]&0xc4 == 0x44:
			n = 14 + int(b[13]&7)
			scr := int64(b[4]>>3&7)<<30 | int64(b[4]&3)<<28 | int64(b[5])<<20 |
				int64(b[6]>>3)<<15 | int64(b[6]&3)<<13 | int64(b[7])<<5 | int64(b[8]>>3)
			scr = (scr + ticks) & tsMask
			b[4] = b[4]&0xc4 | byte(scr>>27)&0x38 | byte(scr>>28)&0x03
			b[5] = byte(scr >> 20)
			b[6] = b[6]&0x04 | byte(scr>>12)&0xf8 | byte(scr>>13)&0x03
			b[7] = byte(scr >> 5)
			b[8] = b[8]&0x07 | byte(scr<<3)&0xf8
		case id == idPack:
			return
		case id > idEnd:
			n = 6 + int(binary.BigEndian.Uint16(b[4:]))
			if (id >= idAudio || id == idPrivate1) && len(b) >= 9 && b[6]&0xc0 == 0x80 {
				flags, hl := b[7]>>6, int(b[8])
				if flags&2 != 0 && hl >= 5 && len(b) >= 14 {
					shiftTimestamp(b[9:14], ticks)
					if flags == 3 && hl >= 10 && len(b) >= 19 {
						shiftTimestamp(b[14:19], ticks)
					}
				}
			}
		}
		i += n
	}
}

func shiftTimestamp(b []byte, ticks int64) {
	appendTimestamp(b[:0], b[0]>>4, readTimestamp(b)+ticks)
}
