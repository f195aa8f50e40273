// Package ts muxes media.Frames into an MPEG-2 transport stream and demuxes a
// transport stream back into frames (ISO/IEC 13818-1). HLS segments, SRT
// payloads, HTTP-TS players and DVR .ts files all use it.
//
// The muxer writes one program (PAT, a PMT on PID 0x1001, video on 0x100 and
// audio on 0x101, as SRS does) with one PES per frame: H.264 and H.265 as
// Annex B with an access unit delimiter, AAC with an ADTS header (ISO 14496-3
// §1.A.2), MP3 as is. The demuxer takes the first program of the PAT, the
// first video and the first audio stream of its PMT, and turns their PES back
// into AVCC video frames, raw AAC frames and MP3 frames, with a codec config
// frame before the first keyframe and whenever the parameter sets change.
//
// Nothing here does I/O or starts goroutines; neither type is safe for
// concurrent use.
package ts

import (
	"errors"
	"time"
)

// PacketSize is the size of a transport stream packet (ISO 13818-1 §2.4.3.2).
const PacketSize = 188

// Errors returned by the muxer.
var (
	// ErrUnsupported reports a codec that an MPEG-2 transport stream cannot
	// carry here (AV1, G.711, Opus).
	ErrUnsupported = errors.New("ts: codec not supported in MPEG-TS")
	// ErrNoTrack reports a frame whose codec matches no track declared with
	// SetTracks.
	ErrNoTrack = errors.New("ts: frame codec does not match the declared tracks")
	// ErrInvalid reports a frame payload that is not in its codec's
	// documented form (AVCC with 4-byte lengths, a raw AAC frame that fits
	// an ADTS frame, ...).
	ErrInvalid = errors.New("ts: invalid frame payload")
)

// PIDs and stream ids of the single program the muxer writes (as SRS).
const (
	pidPAT   = 0x0000
	pidPMT   = 0x1001
	pidVideo = 0x0100
	pidAudio = 0x0101
	pidNull  = 0x1fff

	programNumber = 1

	streamIDVideo = 0xe0 // video stream 0 (ISO 13818-1 Table 2-22)
	streamIDAudio = 0xc0 // audio stream 0
)

// Stream types (ISO 13818-1 Table 2-34, and its amendments for HEVC).
const (
	streamTypeMPEG1Audio = 0x03
	streamTypeMPEG2Audio = 0x04
	streamTypeAAC        = 0x0f // ISO 13818-7 audio with ADTS transport syntax
	streamTypeH264       = 0x1b
	streamTypeH265       = 0x24
)

// Table ids (ISO 13818-1 Table 2-31).
const (
	tableIDPAT = 0x00
	tableIDPMT = 0x02
)

// syncByte starts every transport packet (ISO 13818-1 §2.4.3.3).
const syncByte = 0x47

// tsMask keeps the 33 bits of a PTS, DTS or PCR base (ISO 13818-1 §2.4.3.7).
const tsMask = 1<<33 - 1

// clock is the 90 kHz system clock of PTS and DTS (ISO 13818-1 §2.4.3.7).
const clock = 90000

// floorDiv divides rounding towards minus infinity.
func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// ticks converts d to the nearest 90 kHz tick.
func ticks(d time.Duration) int64 {
	// d ns * 90000 / 1e9 = d * 9 / 100000.
	return floorDiv(int64(d)*9+50000, 100000)
}

// duration converts 90 kHz ticks to the nearest nanosecond.
func duration(t int64) time.Duration {
	// t * 1e9 / 90000 = t * 100000 / 9.
	return time.Duration(floorDiv(t*200000+9, 18))
}

// crcTable is the table of CRC-32/MPEG-2: polynomial 0x04C11DB7, MSB first,
// initial value 0xFFFFFFFF, no final xor (ISO 13818-1 Annex A).
var crcTable = func() (t [256]uint32) {
	for i := range t {
		c := uint32(i) << 24
		for range 8 {
			if c&0x80000000 != 0 {
				c = c<<1 ^ 0x04c11db7
			} else {
				c <<= 1
			}
		}
		t[i] = c
	}
	return t
}()

// crc32 returns the CRC-32/MPEG-2 of b. Over a whole PSI section, CRC
// included, it is 0.
func crc32(b []byte) uint32 {
	c := uint32(0xffffffff)
	for _, v := range b {
		c = c<<8 ^ crcTable[byte(c>>24)^v]
	}
	return c
}
