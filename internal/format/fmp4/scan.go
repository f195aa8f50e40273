package fmp4

import (
	"encoding/binary"
	"fmt"
	"io"
)

// maxScanBox bounds the size of the boxes Scan reads whole (moov, moof);
// real ones are a few kilobytes.
const maxScanBox = 16 << 20

// Box is a box header as Scan reads it (ISO/IEC 14496-12 §4.2).
type Box struct {
	Type   [4]byte
	Offset int64 // of the box header in the file
	Size   int64 // header included
	Header int   // 8, or 16 with a 64-bit largesize
}

// ReadBox reads the box header at off in a file of the given size. It
// returns io.ErrUnexpectedEOF when the header or the box runs past the end
// of the file, and ErrInvalid for a size too small for its header, a
// size of 0 ("to the end of the file", which no box of ours uses) or a type
// that is not four printable characters (garbage, zeroes).
func ReadBox(r io.ReaderAt, off, size int64) (Box, error) {
	b := Box{Offset: off, Header: 8}
	var h [16]byte
	if size-off < 8 {
		return b, io.ErrUnexpectedEOF
	}
	if _, err := r.ReadAt(h[:8], off); err != nil {
		return b, noEOF(err)
	}
	copy(b.Type[:], h[4:8])
	for _, c := range b.Type {
		if c < 0x20 || c > 0x7e {
			return b, fmt.Errorf("fmp4: box type %q at %d: %w", b.Type[:], off, ErrInvalid)
		}
	}
	b.Size = int64(binary.BigEndian.Uint32(h[:4]))
	switch b.Size {
	case 0:
		return b, fmt.Errorf("fmp4: box %q at %d runs to the end of the file: %w", b.Type[:], off, ErrInvalid)
	case 1:
		if size-off < 16 {
			return b, io.ErrUnexpectedEOF
		}
		if _, err := r.ReadAt(h[8:16], off+8); err != nil {
			return b, noEOF(err)
		}
		b.Header = 16
		u := binary.BigEndian.Uint64(h[8:16])
		if u > 1<<62 {
			return b, fmt.Errorf("fmp4: box %q at %d: size %d: %w", b.Type[:], off, u, ErrInvalid)
		}
		b.Size = int64(u)
	}
	if b.Size < int64(b.Header) {
		return b, fmt.Errorf("fmp4: box %q at %d: size %d: %w", b.Type[:], off, b.Size, ErrInvalid)
	}
	if b.Size > size-off {
		return b, io.ErrUnexpectedEOF
	}
	return b, nil
}

func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// Scan reads the top-level boxes of a fragmented MP4 file of the given size
// and returns the length of its longest playable prefix: the init segment
// (ftyp, then a well-formed moov) and every complete moof+mdat pair (with
// any complete styp, sidx, free... boxes between them) up to the first box
// that is cut short, malformed or out of place. It returns 0 when the file
// has no complete init segment. The error says why the scan stopped before
// the end of the file (nil when the whole file is good); I/O errors other
// than a short read are returned as they are.
func Scan(r io.ReaderAt, size int64) (int64, error) {
	var (
		off, good int64
		moov      bool
		buf       []byte
	)
	for off < size {
		b, err := ReadBox(r, off, size)
		if err != nil {
			return good, err
		}
		typ := string(b.Type[:])
		switch {
		case typ == "moov":
			if moov {
				return good, fmt.Errorf("fmp4: second moov at %d: %w", off, ErrInvalid)
			}
			if buf, err = readChildren(r, b, buf); err != nil {
				return good, err
			}
			moov = true
			good = off + b.Size
		case !moov:
			if typ != "ftyp" && typ != "free" && typ != "skip" {
				return 0, fmt.Errorf("fmp4: %q box before moov at %d: %w", typ, off, ErrInvalid)
			}
		case typ == "moof":
			if buf, err = readChildren(r, b, buf); err != nil {
				return good, err
			}
			if !hasChild(buf, "mfhd") {
				return good, fmt.Errorf("fmp4: moof at %d without mfhd: %w", off, ErrInvalid)
			}
			d, err := ReadBox(r, off+b.Size, size)
			if err != nil {
				return good, err
			}
			if string(d.Type[:]) != "mdat" {
				return good, fmt.Errorf("fmp4: moof at %d not followed by mdat: %w", off, ErrInvalid)
			}
			b.Size += d.Size
			good = off + b.Size
		case typ == "mdat":
			return good, fmt.Errorf("fmp4: mdat at %d without moof: %w", off, ErrInvalid)
		default:
			good = off + b.Size
		}
		off += b.Size
	}
	if !moov {
		return 0, fmt.Errorf("fmp4: no moov: %w", ErrInvalid)
	}
	return good, nil
}

// readChildren reads the body of box b into buf and checks that it is a
// sequence of well-formed boxes filling it exactly.
func readChildren(r io.ReaderAt, b Box, buf []byte) ([]byte, error) {
	n := b.Size - int64(b.Header)
	if n > maxScanBox {
		return buf, fmt.Errorf("fmp4: %q box at %d of %d bytes: %w", b.Type[:], b.Offset, b.Size, ErrInvalid)
	}
	if int64(cap(buf)) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if _, err := r.ReadAt(buf, b.Offset+int64(b.Header)); err != nil {
		return buf, noEOF(err)
	}
	for p := buf; len(p) > 0; {
		if len(p) < 8 {
			return buf, fmt.Errorf("fmp4: %q box at %d: trailing bytes: %w", b.Type[:], b.Offset, ErrInvalid)
		}
		s := int64(binary.BigEndian.Uint32(p))
		if s < 8 || s > int64(len(p)) {
			return buf, fmt.Errorf("fmp4: %q box at %d: child size %d: %w", b.Type[:], b.Offset, s, ErrInvalid)
		}
		p = p[s:]
	}
	return buf, nil
}

// hasChild reports whether the checked box body buf has a child of type typ.
func hasChild(buf []byte, typ string) bool {
	for p := buf; len(p) >= 8; {
		s := binary.BigEndian.Uint32(p)
		if string(p[4:8]) == typ {
			return true
		}
		p = p[s:]
	}
	return false
}
