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
