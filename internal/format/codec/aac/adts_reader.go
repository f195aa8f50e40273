package aac

import (
	"bufio"
	"errors"
	"io"
)

// ADTSReader reads ADTS frames from a byte stream (a raw .aac file, ffmpeg's
// `-f adts` output), reusing its buffer: no allocation per frame. Junk
// between frames is skipped: after junk, the reader takes the next syncword
// whose header parses and is followed by another frame (or the end), and
// counts the bytes it skipped. A frame is returned as soon as it is whole,
// without waiting for the next one.
type ADTSReader struct {
	br      *bufio.Reader
	last    int // bytes of the previous frame still to discard
	Skipped int // junk bytes skipped while resyncing
}

// NewADTSReader returns a reader of r. Its buffer holds the largest ADTS
// frame (8191 bytes).
func NewADTSReader(r io.Reader) *ADTSReader {
	br, ok := r.(*bufio.Reader)
	if !ok || br.Size() < maxADTSFrame {
		br = bufio.NewReaderSize(r, 16<<10)
	}
	return &ADTSReader{br: br}
}

// ReadFrame returns the next frame's header and raw payload (the
// raw_data_block without header and CRC), valid until the next call. At the
// end of the stream it returns io.EOF, or io.ErrUnexpectedEOF inside a frame.
func (r *ADTSReader) ReadFrame() (h ADTS, payload []byte, err error) {
	if r.last > 0 {
		r.br.Discard(r.last)
		r.last = 0
	}
	resync := false
	for {
		hdr, err := r.br.Peek(ADTSHeaderLen)
		if err != nil {
			if errors.Is(err, io.EOF) && len(hdr) > 0 {
				err = io.ErrUnexpectedEOF
			}
			return h, nil, err
		}
		h, n, perr := ParseADTS(hdr)
		if perr != nil {
			// Resync: skip to the next 0xFF.
			k := 1
			for k < len(hdr) && hdr[k] != 0xff {
				k++
			}
			r.br.Discard(k)
			r.Skipped += k
			resync = true
			continue
		}
		if resync {
			// After junk, a syncword can be a false one: trust it when
			// the next frame starts where its length says (or the stream
			// ends there).
			b, err := r.br.Peek(n + 2)
			if err == nil && (b[n] != 0xff || b[n+1]&0xf6 != 0xf0) || err != nil && len(b) != n {
				r.br.Discard(1)
				r.Skipped++
				continue
			}
		}
		b, err := r.br.Peek(n)
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return h, nil, err
		}
		r.last = n
		return h, b[h.HeaderLen:n], nil
	}
}
