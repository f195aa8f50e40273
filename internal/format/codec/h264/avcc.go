package h264

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

var startCode = []byte{0, 0, 1}

// SplitAnnexB calls fn for each NAL unit of an Annex B byte stream (H.264
// Annex B), without the start codes and trailing zero bytes, until fn
// returns false. Empty NAL units are skipped; bytes before the first start
// code are ignored. It does not allocate.
func SplitAnnexB(annexb []byte, fn func(nalu []byte) bool) {
	i := bytes.Index(annexb, startCode)
	if i < 0 {
		return
	}
	b := annexb[i+3:]
	for len(b) > 0 {
		end := bytes.Index(b, startCode)
		next := end + 3
		if end < 0 {
			end, next = len(b), len(b)
		}
		n := b[:end]
		for len(n) > 0 && n[len(n)-1] == 0 { // trailing_zero_8bits, or the 4-byte start code's zero
			n = n[:len(n)-1]
		}
		if len(n) > 0 && !fn(n) {
			return
		}
		b = b[next:]
	}
}

// AnnexBToAVCC appends the NAL units of an Annex B byte stream to dst, each
// with a 4-byte big-endian length prefix (ISO 14496-15 §5.3.2), and returns
// the extended slice. It allocates only when dst must grow.
func AnnexBToAVCC(dst, annexb []byte) []byte {
	SplitAnnexB(annexb, func(n []byte) bool {
		dst = binary.BigEndian.AppendUint32(dst, uint32(len(n)))
		dst = append(dst, n...)
		return true
	})
	return dst
}

// AVCCToAnnexB appends the NAL units of a 4-byte length-prefixed access unit
// to dst, each after a 00 00 00 01 start code, and returns the extended
// slice. It stops at the first length that overruns avcc.
func AVCCToAnnexB(dst, avcc []byte) []byte {
	_ = SplitAVCC(avcc, func(n []byte) bool {
		dst = append(dst, 0, 0, 0, 1)
		dst = append(dst, n...)
		return true
	})
	return dst
}

// SplitAVCC calls fn for each NAL unit of a 4-byte length-prefixed access
// unit until fn returns false. The slices alias avcc. It does not allocate,
// and returns ErrTruncated if a length prefix overruns the data.
func SplitAVCC(avcc []byte, fn func(nalu []byte) bool) error {
	for len(avcc) > 0 {
		if len(avcc) < 4 {
			return fmt.Errorf("h264: avcc length prefix: %w", ErrTruncated)
		}
		n := binary.BigEndian.Uint32(avcc)
		avcc = avcc[4:]
		if uint64(n) > uint64(len(avcc)) {
			return fmt.Errorf("h264: avcc nalu of %d bytes: %w", n, ErrTruncated)
		}
		if !fn(avcc[:n]) {
			return nil
		}
		avcc = avcc[n:]
	}
	return nil
}

// IsKeyAVCC reports whether a 4-byte length-prefixed access unit contains
// an IDR slice (nal_unit_type 5).
func IsKeyAVCC(avcc []byte) bool {
	key := false
	_ = SplitAVCC(avcc, func(n []byte) bool {
		key = Type(n) == NALUIDR
		return !key
	})
	return key
}

// IsAVCC reports whether b is a well-formed 4-byte length-prefixed access
// unit: non-empty NAL units whose lengths end exactly at the end of b.
func IsAVCC(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for len(b) > 0 {
		if len(b) < 4 {
			return false
		}
		n := binary.BigEndian.Uint32(b)
		if n == 0 || uint64(n) > uint64(len(b)-4) {
			return false
		}
		b = b[4+n:]
	}
	return true
}

// IsAnnexB reports whether b starts with an Annex B start code, 00 00 01 or
// 00 00 00 01. An AVCC access unit may too (a NAL unit of 256 to 511 bytes),
// so callers check IsAVCC first.
func IsAnnexB(b []byte) bool {
	return len(b) >= 3 && b[0] == 0 && b[1] == 0 && (b[2] == 1 || len(b) >= 4 && b[2] == 0 && b[3] == 1)
}

// AnnexBToAVCCInPlace rewrites an Annex B access unit as AVCC in b itself
// when every NAL unit follows a 4-byte start code with nothing between them
// (what x264 and ffmpeg write), as the lengths then take the start codes'
// places. It reports false, leaving b unchanged, for other layouts; the
// caller then converts with AnnexBToAVCC into a buffer of AVCCLen bytes.
func AnnexBToAVCCInPlace(b []byte) bool {
	next, ok := 4, len(b) > 4
	SplitAnnexB(b, func(n []byte) bool {
		o := cap(b) - cap(n) // n aliases b
		ok = o == next
		next = o + len(n) + 4
		return ok
	})
	if !ok || next-4 != len(b) {
		return false
	}
	SplitAnnexB(b, func(n []byte) bool {
		o := cap(b) - cap(n)
		binary.BigEndian.PutUint32(b[o-4:], uint32(len(n)))
		return true
	})
	return true
}

// AVCCLen returns the size of an Annex B access unit converted to AVCC.
func AVCCLen(annexb []byte) int {
	size := 0
	SplitAnnexB(annexb, func(n []byte) bool {
		size += 4 + len(n)
		return true
	})
	return size
}
