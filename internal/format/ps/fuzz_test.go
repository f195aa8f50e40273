package ps

import (
	"testing"

	"github.com/srs-lite/srs-lite/internal/format/codec/h264"
	"github.com/srs-lite/srs-lite/internal/media"
)

// FuzzDemux feeds arbitrary bytes in chunks the first byte picks, with
// marker bits and losses, and checks that what comes out is well formed;
// SplitFrames and Shift walk the same bytes.
// Seeds in testdata/fuzz/FuzzDemux: GStreamer mpegpsmux output, the
// muxer's H.265 and G.711 output, garbage between packs.
func FuzzDemux(f *testing.F) {
	f.Add(readFile(f, gstFile)[:6000])
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		step := int(data[0])%64*23 + 1
		data = data[1:]
		// The unit walkers: the pieces make up the input, Shift keeps its length.
		total := 0
		SplitFrames(data, func(p []byte, _ int64) { total += len(p) })
		if total != len(data) {
			t.Fatalf("SplitFrames: pieces of %d bytes, input %d", total, len(data))
		}
		shifted := append([]byte(nil), data...)
		Shift(shifted, 12345)
		d := &Demuxer{}
		emit := func(fr *media.Frame) {
			if fr.Codec.IsVideo() && !fr.IsConfig() && !h264.IsAVCC(fr.Payload) {
				t.Fatalf("video frame is not AVCC: % x", fr.Payload[:min(len(fr.Payload), 32)])
			}
			if fr.Codec == 0 || len(fr.Payload) == 0 && fr.Codec.IsVideo() {
				t.Fatalf("frame %+v", fr)
			}
		}
		for i := 0; len(data) > 0; i++ {
			k := min(step, len(data))
			if i%17 == 16 {
				d.Loss()
			}
			_ = d.Write(data[:k], i%3 == 2, emit)
			data = data[k:]
		}
		d.Flush(emit)
	})
}
