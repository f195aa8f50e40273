package bench

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/srs-lite/srs-lite/internal/format/flv"
)

// FuzzReadFLV feeds arbitrary bytes to the HTTP-FLV read path and the
// per-tag measurement: they must never panic, and every byte counted must
// have been read.
func FuzzReadFLV(f *testing.F) {
	f.Add(synthFLV(synth{keySize: 40, interSize: 20, audioSize: 8}, 100*time.Millisecond))
	f.Add(flv.Header(true, true))
	f.Add([]byte("FLV\x01\x05\x00\x00\x00\x09\x00\x00\x00\x00\x09\x00\x00\x05"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, p := newTestRun()
		var n int64
		err := ReadFLV(bytes.NewReader(data), func(typ uint8, ts uint32, body []byte) {
			n += int64(len(body) + tagOverhead)
			r.onTag(p, typ, body)
		})
		if err == nil {
			t.Fatal("ReadFLV returned nil")
		}
		if !errors.Is(err, io.EOF) && !errors.Is(err, flv.ErrTruncated) && !errors.Is(err, flv.ErrInvalid) &&
			!errors.Is(err, flv.ErrUnsupported) && !errors.Is(err, flv.ErrTooLarge) {
			t.Fatalf("unexpected error %v", err)
		}
		if got := p.bytes.Load(); got != n || got > int64(len(data))+4 {
			t.Fatalf("counted %d bytes, delivered %d of %d", got, n, len(data))
		}
		if f := p.frames.Load(); f < 0 || f*int64(tagOverhead) > int64(len(data))+4 {
			t.Fatalf("%d frames from %d bytes", f, len(data))
		}
	})
}
