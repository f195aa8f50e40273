package fmp4

import "encoding/binary"

// Box writing helpers. A box is written in place: its 32-bit size is
// patched once its body is appended (ISO/IEC 14496-12 §4.2).

// startBox appends a box header of type typ with a zero size and returns
// the offset of the box, for endBox.
func startBox(dst []byte, typ string) ([]byte, int) {
	pos := len(dst)
	return append(dst, 0, 0, 0, 0, typ[0], typ[1], typ[2], typ[3]), pos
}

// startFullBox appends a FullBox header (§4.2): a box header, then version
// and 24-bit flags.
func startFullBox(dst []byte, typ string, version uint8, flags uint32) ([]byte, int) {
	dst, pos := startBox(dst, typ)
	return append(dst, version, byte(flags>>16), byte(flags>>8), byte(flags)), pos
}

// endBox patches the size of the box that starts at pos.
func endBox(dst []byte, pos int) []byte {
	binary.BigEndian.PutUint32(dst[pos:], uint32(len(dst)-pos))
	return dst
}

func u16(dst []byte, v uint16) []byte { return binary.BigEndian.AppendUint16(dst, v) }
func u32(dst []byte, v uint32) []byte { return binary.BigEndian.AppendUint32(dst, v) }
func u64(dst []byte, v uint64) []byte { return binary.BigEndian.AppendUint64(dst, v) }

// zeros appends n zero bytes.
func zeros(dst []byte, n int) []byte {
	for range n {
		dst = append(dst, 0)
	}
	return dst
}

// matrix is the identity transformation matrix of mvhd and tkhd (§8.2.2.3).
var matrix = [36]byte{
	0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0x40, 0, 0, 0,
}
