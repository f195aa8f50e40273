//go:build !nortc && !tiny

package rtc

import (
	"github.com/srs-lite/srs-lite/internal/format/codec/bits"
	"github.com/srs-lite/srs-lite/internal/format/codec/h264"
)

// isBFrame reports whether an H.264 access unit is made of B slices
// (slice_type 1 or 6, H.264 §7.4.3), which WebRTC decoders do not
// reorder: SRS drops them for WebRTC players.
func isBFrame(avcc []byte) bool {
	b := false
	_ = h264.SplitAVCC(avcc, func(n []byte) bool {
		t := h264.Type(n)
		if t != 1 {
			return t != 5 // an IDR is no B frame
		}
		if len(n) < 2 {
			return false
		}
		var tmp [8]byte
		r := bits.NewReader(bits.RemoveEmulation(tmp[:0], n[1:min(len(n), 8)]))
		r.UE()           // first_mb_in_slice
		st := r.UE() % 5 // slice_type
		b = r.Err() == nil && st == 1
		return false
	})
	return b
}
