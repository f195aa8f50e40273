package fmp4

import (
	"bytes"
	"testing"
	"time"

	"github.com/srs-lite/srs-lite/internal/media"
)

// FuzzScan checks that Scan never panics, keeps a prefix of the input, and
// that the prefix it keeps scans whole and clean.
func FuzzScan(f *testing.F) {
	file, ends := muxFileSize(f, 2, 2, 3)
	f.Add(file)
	f.Add(file[:ends[1]+5])
	f.Fuzz(func(t *testing.T, data []byte) {
		n, err := Scan(bytes.NewReader(data), int64(len(data)))
		if n < 0 || n > int64(len(data)) {
			t.Fatalf("kept %d of %d bytes", n, len(data))
		}
		if n == int64(len(data)) && n > 0 && err != nil {
			t.Fatalf("kept everything but: %v", err)
		}
		if n > 0 {
			if m, err := Scan(bytes.NewReader(data[:n]), n); m != n || err != nil {
				t.Fatalf("prefix of %d bytes scans to %d, %v", n, m, err)
			}
		}
	})
}

// FuzzSetTrack feeds arbitrary config frames and first frames to SetTrack:
// an accepted track must give a well-formed init segment and fragment.
func FuzzSetTrack(f *testing.F) {
	v, a := avcConfig(), ascConfig()
	f.Add(uint8(v.Codec), true, v.Payload)
	f.Add(uint8(a.Codec), true, a.Payload)
	f.Add(uint8(media.CodecOpus), true, []byte("OpusHead\x01\x03\x38\x01\x80\xbb\x00\x00\x00\x00\x01\x02\x01\x00\x01\x02"))
	f.Add(uint8(media.CodecMP3), false, []byte{0xff, 0xf3, 0x44, 0xc4})
	v.Release()
	a.Release()
	f.Fuzz(func(t *testing.T, c uint8, config bool, payload []byte) {
		fr := media.Frame{Codec: media.Codec(c), Payload: payload}
		if config {
			fr.Flags = media.FlagConfig
		}
		m := NewMuxer()
		if err := m.SetTrack(&fr); err != nil {
			return
		}
		out := m.AppendInit(nil)
		s := media.Frame{Codec: fr.Codec, Flags: media.FlagKey, DTS: time.Second, PTS: time.Second, Payload: []byte{1}}
		if err := m.Add(&s); err != nil {
			t.Fatalf("Add after SetTrack: %v", err)
		}
		out = m.AppendFragment(out, true)
		if n, err := Scan(bytes.NewReader(out), int64(len(out))); n != int64(len(out)) || err != nil {
			t.Fatalf("init + fragment scan to %d of %d: %v", n, len(out), err)
		}
	})
}
