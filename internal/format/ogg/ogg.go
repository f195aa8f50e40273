// Package ogg reads and writes Ogg pages (RFC 3533) and the Opus mapping of
// Ogg (RFC 7845): the framing ffmpeg reads and writes Opus in on a pipe.
//
// The reader and writer reuse their buffers: a packet returned by ReadPacket
// is valid until the next call, and the writer appends to the caller's slice.
// Only one logical stream is expected per physical stream (ffmpeg's output
// of one audio track); pages of other serial numbers are skipped.
package ogg

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Errors of the page reader.
var (
	// ErrCapture reports bytes that are not an Ogg page where one should
	// start (the capture pattern "OggS", RFC 3533 §6).
	ErrCapture = errors.New("ogg: no capture pattern")
	// ErrCRC reports a page whose checksum does not match.
	ErrCRC = errors.New("ogg: page checksum mismatch")
	// ErrVersion reports a stream_structure_version other than 0.
	ErrVersion = errors.New("ogg: unsupported version")
	// ErrTooLarge reports a packet larger than MaxPacket.
	ErrTooLarge = errors.New("ogg: packet too large")
)

// Header type flags (RFC 3533 §6).
const (
	FlagContinued = 0x01 // the page starts with the rest of a packet
	FlagBOS       = 0x02 // first page of a logical stream
	FlagEOS       = 0x04 // last page of a logical stream
)

// headerLen is the fixed part of a page header, before the segment table.
const headerLen = 27

// MaxPageData is the most data one page carries: 255 segments of 255 bytes.
const MaxPageData = 255 * 255

// MaxPacket bounds a packet the reader reassembles across pages. An Opus
// packet is at most 120 ms of 6 channels' worth of 1275-byte frames, far
// below it.
const MaxPacket = 1 << 20

// crcTable is the Ogg CRC-32: polynomial 0x04c11db7, not reflected, initial
// value and final XOR 0 (RFC 3533 §6).
var crcTable = func() (t [256]uint32) {
	for i := range t {
		r := uint32(i) << 24
		for range 8 {
			if r&0x80000000 != 0 {
				r = r<<1 ^ 0x04c11db7
			} else {
				r <<= 1
			}
		}
		t[i] = r
	}
	return t
}()

func crcUpdate(crc uint32, b []byte) uint32 {
	for _, c := range b {
		crc = crc<<8 ^ crcTable[byte(crc>>24)^c]
	}
	return crc
}

// Page is the header of the page a packet came from.
type Page struct {
	Flags   byte
	Granule int64 // granule_position: -1 when no packet ends on the page
	Serial  uint32
	Seq     uint32
}

// Reader reads packets from an Ogg stream.
type Reader struct {
	br      *bufio.Reader
	serial  uint32
	started bool

	page    Page
	segs    [255]byte
	nsegs   int
	seg     int    // next segment of the page to read
	data    []byte // the page's data (a copy; bufio's buffer may move)
	off     int    // read offset in data
	pkt     []byte // the packet being reassembled
	cont    bool   // pkt holds the start of a packet that continues
	Skipped int    // bytes skipped while looking for a page (resync)
	Pages   int    // pages read
}

// NewReader returns a Reader of r.
func NewReader(r io.Reader) *Reader {
	br, ok := r.(*bufio.Reader)
	if !ok || br.Size() < headerLen+255 {
		br = bufio.NewReaderSize(r, 16<<10)
	}
	return &Reader{br: br, data: make([]byte, 0, 4096), pkt: make([]byte, 0, 4096)}
}

// ReadPacket returns the next complete packet of the stream and the header of
// the page it ends on; last reports that it is the last packet ending on that
// page, the one pg.Granule belongs to (RFC 3533 §6). The packet is valid
// until the next call. A page with a bad checksum is an error; junk between
// pages is skipped and counted in Skipped. At the end of the stream it returns
// io.EOF, or io.ErrUnexpectedEOF inside a page.
func (r *Reader) ReadPacket() (pkt []byte, pg Page, last bool, err error) {
	for {
		for r.seg < r.nsegs {
			n := int(r.segs[r.seg])
			r.seg++
			if len(r.pkt)+n > MaxPacket {
				r.pkt, r.cont = r.pkt[:0], false
				return nil, r.page, false, ErrTooLarge
			}
			r.pkt = append(r.pkt, r.data[r.off:r.off+n]...)
			r.off += n
			if n < 255 {
				r.cont = false
				p := r.pkt
				r.pkt = r.pkt[:0]
				return p, r.page, r.seg == r.nsegs, nil
			}
		}
		// The page's segments are used up; a packet left open continues on
		// the next page.
		r.cont = len(r.pkt) > 0
		if err := r.readPage(); err != nil {
			return nil, Page{}, false, err
		}
		if r.page.Flags&FlagContinued == 0 && r.cont {
			r.pkt = r.pkt[:0] // the continuation was lost: drop the fragment
		}
		if r.page.Flags&FlagContinued != 0 && !r.cont {
			// The start of this packet was lost (we joined mid-stream or
			// skipped a page): skip its tail.
			for r.seg < r.nsegs {
				n := int(r.segs[r.seg])
				r.seg++
				r.off += n
				if n < 255 {
					break
				}
			}
		}
	}
}

// readPage reads the next page of the stream's serial number into r.
func (r *Reader) readPage() error {
	for {
		hdr, err := r.br.Peek(headerLen)
		if err != nil {
			if err == io.EOF && len(hdr) == 0 {
				return io.EOF
			}
			if err == io.EOF {
				return io.ErrUnexpectedEOF
			}
			return err
		}
		if string(hdr[:4]) != "OggS" {
			// Resync: skip to the next "O".
			n := 1
			for n < len(hdr) && hdr[n] != 'O' {
				n++
			}
			r.br.Discard(n)
			r.Skipped += n
			continue
		}
		if hdr[4] != 0 {
			return fmt.Errorf("%w: %d", ErrVersion, hdr[4])
		}
		nsegs := int(hdr[26])
		full, err := r.br.Peek(headerLen + nsegs)
		if err != nil {
			return unexpected(err)
		}
		size := 0
		for _, s := range full[headerLen:] {
			size += int(s)
		}
		var pg Page
		pg.Flags = hdr[5]
		pg.Granule = int64(binary.LittleEndian.Uint64(hdr[6:]))
		pg.Serial = binary.LittleEndian.Uint32(hdr[14:])
		pg.Seq = binary.LittleEndian.Uint32(hdr[18:])
		want := binary.LittleEndian.Uint32(hdr[22:])
		copy(r.segs[:], full[headerLen:])
		// The checksum covers the header with its CRC field zeroed.
		crc := crcUpdate(0, full[:22])
		crc = crcUpdate(crc, []byte{0, 0, 0, 0})
		crc = crcUpdate(crc, full[26:])
		r.br.Discard(headerLen + nsegs)
		if cap(r.data) < size {
			r.data = make([]byte, size, MaxPageData)
		}
		r.data = r.data[:size]
		if _, err := io.ReadFull(r.br, r.data); err != nil {
			return unexpected(err)
		}
		crc = crcUpdate(crc, r.data)
		if crc != want {
			return ErrCRC
		}
		r.Pages++
		if !r.started || pg.Flags&FlagBOS != 0 {
			r.started, r.serial = true, pg.Serial
			r.pkt, r.cont = r.pkt[:0], false
		}
		if pg.Serial != r.serial {
			continue // another logical stream
		}
		r.page, r.nsegs, r.seg, r.off = pg, nsegs, 0, 0
		return nil
	}
}

func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// Writer builds the pages of one logical stream, one packet per page.
type Writer struct {
	Serial uint32
	seq    uint32
}

// AppendPage appends a page holding pkt, whose page granule position is
// granule, to dst and returns the extended slice. The first page of the
// stream gets the BOS flag; eos marks the last one. A packet larger than
// MaxPageData is refused (an Opus packet never is).
func (w *Writer) AppendPage(dst, pkt []byte, granule int64, eos bool) ([]byte, error) {
	if len(pkt) > MaxPageData-1 {
		return dst, ErrTooLarge
	}
	nsegs := len(pkt)/255 + 1
	var flags byte
	if w.seq == 0 {
		flags |= FlagBOS
	}
	if eos {
		flags |= FlagEOS
	}
	start := len(dst)
	dst = append(dst, 'O', 'g', 'g', 'S', 0, flags)
	dst = binary.LittleEndian.AppendUint64(dst, uint64(granule))
	dst = binary.LittleEndian.AppendUint32(dst, w.Serial)
	dst = binary.LittleEndian.AppendUint32(dst, w.seq)
	dst = append(dst, 0, 0, 0, 0, byte(nsegs))
	for i := 0; i < nsegs-1; i++ {
		dst = append(dst, 255)
	}
	dst = append(dst, byte(len(pkt)%255))
	dst = append(dst, pkt...)
	binary.LittleEndian.PutUint32(dst[start+22:], crcUpdate(0, dst[start:]))
	w.seq++
	return dst, nil
}
