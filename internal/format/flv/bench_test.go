package flv

import (
	"testing"

	"github.com/srs-lite/srs-lite/internal/media"
)

func BenchmarkEncodeTag(b *testing.B) {
	payload := make([]byte, 4000)
	b.Run("cached", func(b *testing.B) {
		f := pooledFrame(media.Frame{Codec: media.CodecH264, Flags: media.FlagKey, DTS: 40 * ms, PTS: 80 * ms, Payload: payload})
		defer f.Release()
		b.ReportAllocs()
		b.SetBytes(int64(len(payload)))
		for b.Loop() {
			EncodeTag(&f)
		}
	})
	b.Run("uncached", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(payload)))
		for b.Loop() {
			buf := media.GetBuf(len(payload))
			f := media.Frame{Codec: media.CodecH264, DTS: 40 * ms, PTS: 80 * ms}
			f.SetBuf(buf, 0, len(payload))
			EncodeTag(&f)
			f.Release()
		}
	})
}

func BenchmarkParseVideo(b *testing.B) {
	legacy := cat(0x27, 1, 0, 0, 40, 0, 0, 0, 1, 0x41)
	enhanced := cat(0xa1, "hvc1", 0, 0, 40, 0, 0, 0, 1, 0x02)
	b.ReportAllocs()
	for b.Loop() {
		ParseVideo(legacy)
		ParseVideo(enhanced)
	}
}

func BenchmarkFrameFromTag(b *testing.B) {
	body := cat(0x27, 1, 0, 0, 40, 0, 0, 0, 1, 0x41)
	var f media.Frame
	b.ReportAllocs()
	for b.Loop() {
		FrameFromTag(TagVideo, 1000, body, &f)
	}
}
