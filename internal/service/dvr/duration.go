package dvr

import (
	"encoding/binary"
	"io"
	"path/filepath"
	"strings"
	"time"
)

// maxMoovScan bounds how far Duration looks for an MP4's moov box and how
// large a moov it reads; the DVR writes it at the start, a few hundred bytes.
const maxMoovScan = 1 << 20

// Duration reads the duration of a finished recording cheaply, from a few
// bytes near its start or end: an FLV file's last tag timestamp (the DVR
// starts every file at 0), an MP4 file's mvhd duration (the DVR writes it
// when the file ends). ok is false for other formats (MPEG-TS) and for
// files it cannot make sense of (cut short, not ours).
func Duration(r io.ReaderAt, size int64, name string) (d time.Duration, ok bool) {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".flv":
		return flvDuration(r, size)
	case ".mp4", ".m4v", ".m4a":
		return mp4Duration(r, size)
	}
	return 0, false
}

// flvDuration reads the last tag through the PreviousTagSize that ends the
// file (FLV 10.1 §E.3).
func flvDuration(r io.ReaderAt, size int64) (time.Duration, bool) {
	if size < 9+4+11+4 {
		return 0, false
	}
	var b [11]byte
	if _, err := r.ReadAt(b[:4], size-4); err != nil {
		return 0, false
	}
	prev := int64(binary.BigEndian.Uint32(b[:4]))
	at := size - 4 - prev
	if prev < 11 || at < 13 {
		return 0, false
	}
	if _, err := r.ReadAt(b[:11], at); err != nil {
		return 0, false
	}
	typ := b[0] & 0x1f
	n := int64(b[1])<<16 | int64(b[2])<<8 | int64(b[3])
	if (typ != 8 && typ != 9 && typ != 18) || n+11 != prev {
		return 0, false
	}
	ms := uint32(b[4])<<16 | uint32(b[5])<<8 | uint32(b[6]) | uint32(b[7])<<24
	return time.Duration(ms) * time.Millisecond, true
}

// mp4Duration reads moov/mvhd (ISO/IEC 14496-12 §8.2.2).
func mp4Duration(r io.ReaderAt, size int64) (time.Duration, bool) {
	var off int64
	for off < size && off < maxMoovScan {
		typ, hdr, n, ok := box(r, off, size)
		if !ok {
			return 0, false
		}
		if typ == "moov" {
			end := off + n
			for c := off + hdr; c < end; {
				ct, ch, cn, ok := box(r, c, end)
				if !ok {
					return 0, false
				}
				if ct == "mvhd" {
					return mvhd(r, c+ch, cn-ch)
				}
				c += cn
			}
			return 0, false
		}
		off += n
	}
	return 0, false
}

// box reads a box header at off, within [off, end): its type, header size
// and whole size.
func box(r io.ReaderAt, off, end int64) (string, int64, int64, bool) {
	var h [16]byte
	if end-off < 8 {
		return "", 0, 0, false
	}
	if _, err := r.ReadAt(h[:8], off); err != nil {
		return "", 0, 0, false
	}
	n, hdr := int64(binary.BigEndian.Uint32(h[:4])), int64(8)
	if n == 1 {
		if end-off < 16 {
			return "", 0, 0, false
		}
		if _, err := r.ReadAt(h[8:16], off+8); err != nil {
			return "", 0, 0, false
		}
		u := binary.BigEndian.Uint64(h[8:16])
		if u > 1<<62 {
			return "", 0, 0, false
		}
		n, hdr = int64(u), 16
	}
	if n < hdr || n > end-off {
		return "", 0, 0, false
	}
	return string(h[4:8]), hdr, n, true
}

// mvhd reads the timescale and duration of an mvhd body at off.
func mvhd(r io.ReaderAt, off, n int64) (time.Duration, bool) {
	var b [32]byte
	if n < 20 {
		return 0, false
	}
	if _, err := r.ReadAt(b[:min(n, 32)], off); err != nil {
		return 0, false
	}
	var scale uint32
	var dur uint64
	switch b[0] {
	case 0:
		scale, dur = binary.BigEndian.Uint32(b[12:16]), uint64(binary.BigEndian.Uint32(b[16:20]))
	case 1:
		if n < 32 {
			return 0, false
		}
		scale, dur = binary.BigEndian.Uint32(b[20:24]), binary.BigEndian.Uint64(b[24:32])
	default:
		return 0, false
	}
	if scale == 0 || dur == 0 || dur == 0xffffffff || dur == 1<<64-1 {
		return 0, false
	}
	sec := dur / uint64(scale)
	if sec > 1<<30 { // more than 34 years: not a duration
		return 0, false
	}
	frac := dur % uint64(scale)
	return time.Duration(sec)*time.Second + time.Duration(frac*uint64(time.Second)/uint64(scale)), true
}
