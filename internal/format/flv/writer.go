package flv

import (
	"fmt"
	"io"

	"github.com/srs-lite/srs-lite/internal/media"
)

// Writer writes an FLV stream: the file header, then one tag per frame.
// It does no buffering of its own.
type Writer struct {
	w io.Writer
}

// NewWriter returns a Writer writing to w.
func NewWriter(w io.Writer) *Writer {
	return &Writer{w: w}
}

// WriteHeader writes the FLV file header and PreviousTagSize0 (see Header).
func (w *Writer) WriteHeader(hasAudio, hasVideo bool) error {
	if _, err := w.w.Write(Header(hasAudio, hasVideo)); err != nil {
		return fmt.Errorf("flv: write header: %w", err)
	}
	return nil
}

// WriteFrame writes f as one FLV tag followed by its PreviousTagSize, using
// the encoding EncodeTag caches on f's buffer. The caller keeps its reference
// on f. It returns ErrUnsupported for codecs FLV cannot carry and
// ErrTooLarge for bodies over MaxDataSize.
func (w *Writer) WriteFrame(f *media.Frame) error {
	b := EncodeTag(f)
	if b == nil {
		if TagType(f) == 0 {
			return fmt.Errorf("flv: write %v frame: %w", f.Codec, ErrUnsupported)
		}
		return fmt.Errorf("flv: write %v frame of %d bytes: %w", f.Codec, len(f.Payload), ErrTooLarge)
	}
	if _, err := w.w.Write(b); err != nil {
		return fmt.Errorf("flv: write tag: %w", err)
	}
	return nil
}
