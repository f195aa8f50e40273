package rtp

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/pion/rtp"

	"github.com/srs-lite/srs-lite/internal/format/codec/bits"
)

// latmDepack depacketizes MPEG-4 audio in LATM, RFC 6416 §6 (MP4A-LATM):
// each packet, or run of packets up to the marker bit, carries one
// AudioMuxElement (ISO 14496-3 §1.7.3) with one or more AAC frames. With
// cpresent=0 the StreamMuxConfig comes from the fmtp config; with
// cpresent=1 it comes in band. One program with one layer is supported,
// which is what cameras and encoders send.
type latmDepack struct {
	aacConfig
	clock    int
	cpresent bool
	mux      streamMux
	hasMux   bool

	seq    seqTracker
	buf    []byte // the AudioMuxElement being collected
	bufTS  uint32
	active bool
	au     []byte
	ascBuf []byte
}

// streamMux is what srs-lite keeps of a StreamMuxConfig (§1.7.3.1).
type streamMux struct {
	version      int
	subFrames    int // numSubFrames+1
	otherData    bool
	crc          bool
	sameFraming  bool
	frameLenType int
}

func newLATM(f Format) (*latmDepack, error) {
	d := &latmDepack{clock: f.ClockRate, cpresent: f.Params["cpresent"] != "0"}
	if cfg := strings.TrimSpace(f.Params["config"]); cfg != "" {
		b, err := hex.DecodeString(cfg)
		if err != nil {
			return nil, fmt.Errorf("%w: MP4A-LATM config=%q", ErrMalformed, cfg)
		}
		if err := d.parseMuxConfig(bits.NewReader(b), b, true); err != nil {
			return nil, err
		}
	} else if !d.cpresent {
		return nil, fmt.Errorf("%w: MP4A-LATM cpresent=0 without config", ErrMalformed)
	}
	return d, nil
}

// latmValue reads LatmGetValue() (§1.7.3.1).
func latmValue(r *bits.Reader) int {
	n := int(r.U(2))
	v := 0
	for range n + 1 {
		v = v<<8 | int(r.U(8))
	}
	return v
}

// parseMuxConfig reads StreamMuxConfig() (§1.7.3.1) and takes its
// AudioSpecificConfig.
func (d *latmDepack) parseMuxConfig(r *bits.Reader, src []byte, fmtp bool) error {
	var m streamMux
	m.version = int(r.U(1))
	if m.version == 1 && r.U(1) == 1 {
		return fmt.Errorf("%w: LATM audioMuxVersionA 1", ErrUnsupported)
	}
	if m.version == 1 {
		latmValue(r) // taraBufferFullness
	}
	m.sameFraming = r.Flag()
	m.subFrames = int(r.U(6)) + 1
	if r.U(4) != 0 || r.U(3) != 0 { // numProgram, numLayer
		return fmt.Errorf("%w: LATM with several programs or layers", ErrUnsupported)
	}
	var asc []byte
	if m.version == 0 {
		start := r.Pos()
		if err := skipASC(r); err != nil {
			return err
		}
		asc = appendBits(d.ascBuf[:0], src, start, r.Pos())
	} else {
		n := latmValue(r)
		if n <= 0 || n > r.Left() || n > 8*64 {
			return fmt.Errorf("%w: LATM ascLen %d", ErrMalformed, n)
		}
		start := r.Pos()
		r.Skip(n)
		asc = appendBits(d.ascBuf[:0], src, start, r.Pos())
	}
	if r.Err() != nil {
		return fmt.Errorf("%w: LATM StreamMuxConfig truncated", ErrMalformed)
	}
	m.frameLenType = int(r.U(3))
	if m.frameLenType != 0 {
		return fmt.Errorf("%w: LATM frameLengthType %d (not AAC)", ErrUnsupported, m.frameLenType)
	}
	r.Skip(8) // latmBufferFullness
	m.otherData = r.Flag()
	if m.otherData {
		if m.version == 1 {
			latmValue(r)
		} else {
			for esc := true; esc && r.Err() == nil; {
				esc = r.Flag()
				r.Skip(8)
			}
		}
	}
	m.crc = r.Flag()
	if m.crc {
		r.Skip(8)
	}
	if r.Err() != nil && !fmtp {
		return fmt.Errorf("%w: LATM StreamMuxConfig truncated", ErrMalformed)
	}
	// An fmtp config cut short after the AudioSpecificConfig (GStreamer's
	// rtpmp4apay writes whole ASC bytes and stops) reads as zeros, as
	// ffmpeg reads it.
	if !m.sameFraming {
		return fmt.Errorf("%w: LATM allStreamsSameTimeFraming 0", ErrUnsupported)
	}
	d.ascBuf = asc
	if !d.hasMux || !bytes.Equal(asc, d.asc) {
		if err := d.setASC(asc, d.clock); err != nil {
			return err
		}
	}
	d.mux, d.hasMux = m, true
	return nil
}

// appendBits appends bits [start, end) of src to dst, MSB first, padded
// with zero bits to a whole byte. The range must lie inside src.
func appendBits(dst, src []byte, start, end int) []byte {
	for pos := start; pos < end; pos += 8 {
		n := min(8, end-pos)
		i, off := pos/8, pos%8
		v := uint16(src[i]) << 8
		if i+1 < len(src) {
			v |= uint16(src[i+1])
		}
		b := byte(v >> (8 - off))
		b &= 0xff << (8 - n)
		dst = append(dst, b)
	}
	return dst
}

// skipASC reads an AudioSpecificConfig (§1.6.2.1) bit by bit, only to find
// where it ends; LATM version 0 gives no length. Object types with a
// GASpecificConfig (§4.4.1) are supported.
func skipASC(r *bits.Reader) error {
	aot := func() int {
		t := int(r.U(5))
		if t == 31 {
			t = 32 + int(r.U(6))
		}
		return t
	}
	rate := func() {
		if r.U(4) == 0xf {
			r.Skip(24)
		}
	}
	t := aot()
	rate()
	ch := int(r.U(4))
	if t == 5 || t == 29 {
		rate()
		t = aot()
	}
	switch t {
	case 1, 2, 3, 4, 6, 7, 17, 19, 20, 21, 22, 23:
		r.Skip(1) // frameLengthFlag
		if r.Flag() {
			r.Skip(14) // coreCoderDelay
		}
		ext := r.Flag()
		if ch == 0 {
			return fmt.Errorf("%w: LATM AAC with a program config element", ErrUnsupported)
		}
		if t == 6 || t == 20 {
			r.Skip(3)
		}
		if ext {
			switch t {
			case 22:
				r.Skip(16)
			case 17, 19, 20, 23:
				r.Skip(3)
			}
			r.Skip(1) // extensionFlag3
		}
	default:
		return fmt.Errorf("%w: LATM audio object type %d", ErrUnsupported, t)
	}
	switch t {
	case 17, 19, 20, 21, 22, 23:
		if ep := r.U(2); ep == 2 || ep == 3 {
			return fmt.Errorf("%w: LATM epConfig %d", ErrUnsupported, ep)
		}
	}
	// §1.6.2.1: the backward compatible signalling of SBR and PS, a sync
	// extension 0x2b7 that encoders (GStreamer's, ffmpeg's) append.
	if save := *r; r.Left() >= 16 && r.U(11) == 0x2b7 {
		if ext := aot(); ext == 5 {
			if r.Flag() { // sbrPresentFlag
				rate()
				if save2 := *r; r.Left() >= 12 && r.U(11) == 0x548 {
					r.Skip(1) // psPresentFlag
				} else {
					*r = save2
				}
			}
		} else if ext == 22 {
			if r.Flag() {
				rate()
			}
			r.Skip(4)
		}
	} else {
		*r = save
	}
	if r.Err() != nil {
		return fmt.Errorf("%w: LATM AudioSpecificConfig truncated", ErrMalformed)
	}
	return nil
}

// Push implements Depacketizer.
func (d *latmDepack) Push(p *rtp.Packet, emit Emit) error {
	var lossErr error
	if d.seq.next(p.SequenceNumber) {
		lossErr = fmt.Errorf("%w: LATM", ErrLoss)
		d.active = false
	}
	if d.active && p.Timestamp != d.bufTS {
		d.active = false // the marker of the previous element was lost
	}
	if !d.active {
		d.buf, d.bufTS, d.active = d.buf[:0], p.Timestamp, true
	}
	if len(d.buf)+len(p.Payload) > MaxFrameSize {
		d.active = false
		return fmt.Errorf("%w: LATM element", ErrTooLarge)
	}
	d.buf = append(d.buf, p.Payload...)
	if !p.Marker {
		return lossErr
	}
	d.active = false
	if err := d.element(d.buf, p.Timestamp, emit); err != nil {
		return err
	}
	return lossErr
}

// element parses AudioMuxElement(muxConfigPresent) (§1.7.3.1) and emits
// its frames.
func (d *latmDepack) element(b []byte, ts uint32, emit Emit) error {
	r := bits.NewReader(b)
	if d.cpresent {
		if !r.Flag() { // useSameStreamMux 0: a new StreamMuxConfig
			if err := d.parseMuxConfig(r, b, false); err != nil {
				return err
			}
		}
	}
	if !d.hasMux {
		return fmt.Errorf("%w: LATM element before any StreamMuxConfig", ErrNoParams)
	}
	for i := range d.mux.subFrames {
		n := 0
		for { // PayloadLengthInfo, frameLengthType 0
			v := int(r.U(8))
			n += v
			if v != 255 || r.Err() != nil {
				break
			}
		}
		if r.Err() != nil || n*8 > r.Left() {
			return fmt.Errorf("%w: LATM payload of %d bytes truncated", ErrMalformed, n)
		}
		start := r.Pos()
		if start%8 == 0 {
			d.au = append(d.au[:0], b[start/8:start/8+n]...)
			r.Skip(n * 8)
		} else {
			r.Skip(n * 8)
			d.au = appendBits(d.au[:0], b, start, r.Pos())
		}
		d.emitAU(ts+uint32(i)*d.dur, d.au, emit)
	}
	return nil
}
