// Package bits reads the bit-level syntax shared by the video codec headers:
// fixed-width fields, Exp-Golomb codes (H.264 §9.1, H.265 §9.2) and the
// emulation prevention bytes of NAL units (H.264 §7.4.1).
//
// It imports the standard library only.
package bits

import "errors"

// ErrOverrun is returned when a read goes past the end of the data.
var ErrOverrun = errors.New("bits: read past end")

// ErrGolomb is returned for an Exp-Golomb code with more than 32 leading
// zero bits, which no conforming bitstream contains.
var ErrGolomb = errors.New("bits: exp-golomb code too long")

// Reader reads bits MSB first from a byte slice. Every read returns an error
// on overrun and never panics; the first error is also kept and reported by
// Err, so a parser may chain the short forms (U, UE, SE, Flag) and check Err
// once. After an error every read returns zero.
type Reader struct {
	b   []byte
	pos int // in bits
	err error
}

// NewReader returns a Reader over b. It does not copy b.
func NewReader(b []byte) *Reader { return &Reader{b: b} }

// Err returns the first error met by a read, or nil.
func (r *Reader) Err() error { return r.err }

// Pos returns the number of bits consumed.
func (r *Reader) Pos() int { return r.pos }

// Left returns the number of bits not yet consumed.
func (r *Reader) Left() int { return len(r.b)*8 - r.pos }

func (r *Reader) fail(err error) error {
	if r.err == nil {
		r.err = err
	}
	r.pos = len(r.b) * 8
	return err
}

// ReadBits reads n bits (0 ≤ n ≤ 64) as an unsigned big-endian number.
func (r *Reader) ReadBits(n int) (uint64, error) {
	if r.err != nil {
		return 0, r.err
	}
	if n < 0 || n > 64 || n > r.Left() {
		return 0, r.fail(ErrOverrun)
	}
	var v uint64
	for n > 0 {
		byteIdx, bitOff := r.pos>>3, r.pos&7
		avail := 8 - bitOff
		take := min(avail, n)
		cur := uint64(r.b[byteIdx]>>(avail-take)) & (1<<take - 1)
		v = v<<take | cur
		n -= take
		r.pos += take
	}
	return v, nil
}

// ReadFlag reads one bit as a bool.
func (r *Reader) ReadFlag() (bool, error) {
	v, err := r.ReadBits(1)
	return v == 1, err
}

// ReadUE reads an unsigned Exp-Golomb code ue(v) (H.264 §9.1). The result
// is at most 2^32-2.
func (r *Reader) ReadUE() (uint64, error) {
	if r.err != nil {
		return 0, r.err
	}
	zeros := 0
	for {
		b, err := r.ReadBits(1)
		if err != nil {
			return 0, err
		}
		if b == 1 {
			break
		}
		zeros++
		if zeros > 31 {
			return 0, r.fail(ErrGolomb)
		}
	}
	v, err := r.ReadBits(zeros)
	if err != nil {
		return 0, err
	}
	return 1<<zeros - 1 + v, nil
}

// ReadSE reads a signed Exp-Golomb code se(v) (H.264 §9.1.1).
func (r *Reader) ReadSE() (int64, error) {
	k, err := r.ReadUE()
	if err != nil {
		return 0, err
	}
	if k&1 == 1 {
		return int64(k+1) / 2, nil
	}
	return -int64(k / 2), nil
}

// Skip skips n bits.
func (r *Reader) Skip(n int) error {
	if r.err != nil {
		return r.err
	}
	if n < 0 || n > r.Left() {
		return r.fail(ErrOverrun)
	}
	r.pos += n
	return nil
}

// U is ReadBits without the error result; check Err afterwards.
func (r *Reader) U(n int) uint64 { v, _ := r.ReadBits(n); return v }

// Flag is ReadFlag without the error result; check Err afterwards.
func (r *Reader) Flag() bool { v, _ := r.ReadFlag(); return v }

// UE is ReadUE without the error result; check Err afterwards.
func (r *Reader) UE() uint64 { v, _ := r.ReadUE(); return v }

// SE is ReadSE without the error result; check Err afterwards.
func (r *Reader) SE() int64 { v, _ := r.ReadSE(); return v }

// RemoveEmulation appends nalu to dst with every emulation prevention byte
// removed (the 0x03 of each 0x00 0x00 0x03 sequence, H.264 §7.4.1,
// H.265 §7.4.2) and returns the extended slice, the RBSP.
func RemoveEmulation(dst, nalu []byte) []byte {
	zeros := 0
	start := 0
	for i, c := range nalu {
		if zeros >= 2 && c == 3 {
			dst = append(dst, nalu[start:i]...)
			start = i + 1
			zeros = 0
			continue
		}
		if c == 0 {
			zeros++
		} else {
			zeros = 0
		}
	}
	return append(dst, nalu[start:]...)
}
