package flv

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/srs-lite/srs-lite/internal/media"
)

// FuzzFLVTag parses arbitrary tag bodies as video, audio and any tag type.
// Accepted bodies must re-encode to the same codec, flags and timing.
func FuzzFLVTag(f *testing.F) {
	f.Add(TagVideo, cat(0x17, 1, 0, 0, 40, 0, 0, 0, 1, 0x65))
	f.Add(TagVideo, cat(0x91, "hvc1", 0, 0, 33, 1))
	f.Add(TagVideo, cat(0x90, "av01", 0x81))
	f.Add(TagAudio, cat(0xaf, 0, 0x12, 0x10))
	f.Add(TagAudio, cat(0x90, "Opus", "OpusHead", 1, 2))
	f.Add(TagScript, cat(2, 0, 10, "onMetaData"))
	f.Fuzz(func(t *testing.T, typ uint8, body []byte) {
		if v, err := ParseVideo(body); err == nil && (v.HeaderLen > len(body) || v.HeaderLen < 1) {
			t.Fatalf("video HeaderLen %d of %d", v.HeaderLen, len(body))
		}
		if a, err := ParseAudio(body); err == nil && (a.HeaderLen > len(body) || a.HeaderLen < 1) {
			t.Fatalf("audio HeaderLen %d of %d", a.HeaderLen, len(body))
		}
		var fr media.Frame
		if err := FrameFromTag(typ, 1234, body, &fr); err != nil {
			if !errors.Is(err, ErrSkip) && !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrUnsupported) && !errors.Is(err, ErrInvalid) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		// Round trip: encode the frame and parse the tag back.
		tag := EncodeTag(&fr)
		if tag == nil {
			t.Fatalf("EncodeTag of %v frame = nil", fr.Codec)
		}
		r := NewReader(bytes.NewReader(cat(0, 0, 0, 0, tag)))
		got, err := r.ReadTag()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.ReadTag(); err != io.EOF {
			t.Fatalf("after tag: %v", err)
		}
		var g media.Frame
		if err := FrameFromTag(got.Type, got.Timestamp, got.Body, &g); err != nil {
			t.Fatalf("re-parse: %v", err)
		}
		if g.Codec != fr.Codec || g.Flags != fr.Flags || g.DTS != fr.DTS || g.PTS != fr.PTS || !bytes.Equal(g.Payload, fr.Payload) {
			t.Fatalf("round trip: got %v/%d/%v/%v, want %v/%d/%v/%v", g.Codec, g.Flags, g.DTS, g.PTS, fr.Codec, fr.Flags, fr.DTS, fr.PTS)
		}
	})
}

// FuzzFLVReader reads arbitrary streams as FLV.
func FuzzFLVReader(f *testing.F) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	w.WriteHeader(true, true)
	w.WriteFrame(&media.Frame{Codec: media.CodecData, Payload: cat(2, 0, 10, "onMetaData")})
	w.WriteFrame(&media.Frame{Codec: media.CodecH264, Flags: media.FlagConfig, Payload: cat(1, 0x64, 0, 0x1f)})
	w.WriteFrame(&media.Frame{Codec: media.CodecH264, Flags: media.FlagKey, PTS: 40 * ms, Payload: cat(0, 0, 0, 1, 0x65)})
	w.WriteFrame(&media.Frame{Codec: media.CodecAAC, DTS: 23 * ms, PTS: 23 * ms, Payload: cat(0x21)})
	f.Add(buf.Bytes())
	f.Add(cat("FLV", 1, 5, 0, 0, 0, 9, 0, 0, 0, 0, 9, 0xff, 0xff, 0xff))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewReader(bytes.NewReader(data))
		r.MaxTagSize = 1 << 20
		if _, _, err := r.ReadHeader(); err != nil {
			return
		}
		for range 1000 {
			tag, err := r.ReadTag()
			if err != nil {
				return
			}
			if len(tag.Body) > r.MaxTagSize {
				t.Fatalf("body %d over limit", len(tag.Body))
			}
			var fr media.Frame
			FrameFromTag(tag.Type, tag.Timestamp, tag.Body, &fr)
		}
	})
}
