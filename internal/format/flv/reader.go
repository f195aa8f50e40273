package flv

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
)

// DefaultMaxTagSize is the body size limit of a Reader whose MaxTagSize is 0.
const DefaultMaxTagSize = 16 << 20

// maxDataOffset bounds the FLV header's DataOffset: real files use 9.
const maxDataOffset = 1 << 16

// readChunk is the first allocation step when a tag body outgrows the
// Reader's buffer; it then doubles as data arrives, so a lying DataSize on a
// short stream costs at most about twice the bytes actually received.
const readChunk = 64 << 10

// Tag is one FLV tag as read from a stream.
type Tag struct {
	Type      uint8  // TagAudio, TagVideo, TagScript or another value
	Timestamp uint32 // milliseconds, with the extended upper 8 bits
	// Body is the tag body. It is reused by the next ReadTag: copy what must
	// outlive it.
	Body []byte
}

// Reader reads FLV tags from a file or an HTTP-FLV body. It does no
// buffering of its own; wrap slow sources in a bufio.Reader.
type Reader struct {
	// MaxTagSize limits the body size ReadTag accepts; 0 means
	// DefaultMaxTagSize.
	MaxTagSize int

	r    io.Reader
	hdr  [4 + TagHeaderSize]byte
	body []byte
}

// NewReader returns a Reader reading from r.
func NewReader(r io.Reader) *Reader {
	return &Reader{r: r}
}

// ReadHeader reads the FLV file header (FLV spec E.2) up to its DataOffset
// and reports its TypeFlagsAudio and TypeFlagsVideo. The first ReadTag then
// reads PreviousTagSize0.
func (r *Reader) ReadHeader() (hasAudio, hasVideo bool, err error) {
	var h [9]byte
	if _, err := io.ReadFull(r.r, h[:]); err != nil {
		return false, false, fmt.Errorf("flv: read header: %w", noEOF(err))
	}
	if h[0] != 'F' || h[1] != 'L' || h[2] != 'V' {
		return false, false, fmt.Errorf("flv: signature %q: %w", h[:3], ErrInvalid)
	}
	off := binary.BigEndian.Uint32(h[5:9])
	if off < 9 || off > maxDataOffset {
		return false, false, fmt.Errorf("flv: data offset %d: %w", off, ErrInvalid)
	}
	if off > 9 {
		if _, err := io.CopyN(io.Discard, r.r, int64(off-9)); err != nil {
			return false, false, fmt.Errorf("flv: read header: %w", noEOF(err))
		}
	}
	return h[4]&4 != 0, h[4]&1 != 0, nil
}

// ReadTag reads the PreviousTagSize that precedes the next tag (FLV spec
// E.3), then the tag header and body (E.4.1). The stream must be positioned
// at a PreviousTagSize, as it is after ReadHeader and after each ReadTag.
//
// It returns io.EOF at the end of the stream (a missing or short final
// PreviousTagSize is tolerated), ErrTruncated inside a tag, ErrTooLarge for a
// body over MaxTagSize and ErrUnsupported for encrypted (Filter) tags.
// PreviousTagSize values are not checked: many writers get them wrong.
func (r *Reader) ReadTag() (Tag, error) {
	n, err := io.ReadFull(r.r, r.hdr[:])
	if err != nil {
		if n <= 4 && (err == io.EOF || err == io.ErrUnexpectedEOF) {
			return Tag{}, io.EOF
		}
		return Tag{}, fmt.Errorf("flv: read tag header: %w", noEOF(err))
	}
	h := r.hdr[4:]
	// Reserved UB[2], Filter UB[1], TagType UB[5], DataSize UI24,
	// Timestamp UI24, TimestampExtended UI8, StreamID UI24.
	if h[0]&0x20 != 0 {
		return Tag{}, fmt.Errorf("flv: encrypted tag: %w", ErrUnsupported)
	}
	t := Tag{
		Type:      h[0] & 0x1f,
		Timestamp: uint32(h[4])<<16 | uint32(h[5])<<8 | uint32(h[6]) | uint32(h[7])<<24,
	}
	size := int(h[1])<<16 | int(h[2])<<8 | int(h[3])
	limit := r.MaxTagSize
	if limit <= 0 {
		limit = DefaultMaxTagSize
	}
	if size > limit {
		return Tag{}, fmt.Errorf("flv: tag body %d bytes: %w", size, ErrTooLarge)
	}
	if err := r.readBody(size); err != nil {
		return Tag{}, fmt.Errorf("flv: read tag body: %w", noEOF(err))
	}
	t.Body = r.body
	return t, nil
}

// readBody reads n bytes into r.body, growing it no faster than data arrives.
func (r *Reader) readBody(n int) error {
	b := r.body[:0]
	for len(b) < n {
		have := len(b)
		want := min(n, max(cap(b), readChunk, 2*have))
		b = slices.Grow(b, want-have)[:want]
		if _, err := io.ReadFull(r.r, b[have:]); err != nil {
			r.body = b[:0]
			return err
		}
	}
	r.body = b[:n]
	return nil
}

// noEOF turns an end of stream inside a structure into ErrTruncated.
func noEOF(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return ErrTruncated
	}
	return err
}
