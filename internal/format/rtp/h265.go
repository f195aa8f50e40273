package rtp

import (
	"encoding/binary"
	"fmt"
	"strconv"

	"github.com/pion/rtp"

	"github.com/srs-lite/srs-lite/internal/format/codec/h265"
	"github.com/srs-lite/srs-lite/internal/media"
)

// H.265 RTP payload types (RFC 7798 §4.4).
const (
	h265AP   = 48
	h265FU   = 49
	h265PACI = 50
)

// h265Depack depacketizes H.265, RFC 7798: single NAL unit packets,
// aggregation packets (AP) and fragmentation units (FU), with the decoding
// order number fields when sprop-max-don-diff > 0.
type h265Depack struct {
	avcBuilder
	donl bool // DONL/DOND fields present (RFC 7798 §4.4.1)
}

func newH265(f Format) (*h265Depack, error) {
	d := &h265Depack{}
	d.codec = media.CodecH265
	d.cfg = func(s *[3][]byte) []byte {
		return h265.BuildConfig([][]byte{s[0]}, [][]byte{s[1]}, [][]byte{s[2]})
	}
	if v := f.Params["sprop-max-don-diff"]; v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("%w: H.265 sprop-max-don-diff %q", ErrMalformed, v)
		}
		d.donl = n > 0
	}
	// RFC 7798 §7.1: sprop-vps, sprop-sps, sprop-pps, base64 lists.
	for _, k := range [...]string{"sprop-vps", "sprop-sps", "sprop-pps"} {
		for _, n := range decodeSprop(f.Params[k]) {
			d.param(n)
		}
	}
	return d, nil
}

func (d *h265Depack) param(n []byte) bool {
	if len(n) < 3 {
		return false
	}
	switch h265.Type(n) {
	case h265.NALUVPS:
		d.setParam(0, n)
		return true
	case h265.NALUSPS:
		d.setParam(1, n)
		return true
	case h265.NALUPPS:
		d.setParam(2, n)
		return true
	}
	return false
}

func (d *h265Depack) nalu(n []byte) error {
	if len(n) < 2 || n[0]&0x80 != 0 {
		return fmt.Errorf("%w: H.265 NAL unit too short or with forbidden bit", ErrMalformed)
	}
	if d.param(n) {
		return nil
	}
	t := h265.Type(n)
	switch {
	case t == h265.NALUAUD || t == h265.NALUFD:
		return nil
	case t.IsIRAP():
		d.key = true
	}
	return d.add(n)
}

// Push implements Depacketizer.
func (d *h265Depack) Push(p *rtp.Packet, emit Emit) error { return d.push(p, emit, d.payload) }

func (d *h265Depack) payload(pl []byte) error {
	if len(pl) < 2 {
		return nil
	}
	switch t := int(pl[0]>>1) & 0x3f; {
	case t == h265AP: // RFC 7798 §4.4.2
		b := pl[2:]
		if d.donl {
			if len(b) < 2 {
				return fmt.Errorf("%w: H.265 AP truncated", ErrMalformed)
			}
			b = b[2:]
		}
		for first := true; len(b) > 0; first = false {
			if d.donl && !first {
				b = b[1:] // DOND
			}
			if len(b) < 2 {
				return fmt.Errorf("%w: H.265 AP truncated", ErrMalformed)
			}
			n := int(binary.BigEndian.Uint16(b))
			if n == 0 || n > len(b)-2 {
				return fmt.Errorf("%w: H.265 AP size %d of %d", ErrMalformed, n, len(b)-2)
			}
			if err := d.nalu(b[2 : 2+n]); err != nil {
				return err
			}
			b = b[2+n:]
		}
		return nil
	case t == h265FU: // RFC 7798 §4.4.3
		if len(pl) < 3 {
			return fmt.Errorf("%w: H.265 FU without header", ErrMalformed)
		}
		start, end, fuType := pl[2]&0x80 != 0, pl[2]&0x40 != 0, pl[2]&0x3f
		data := pl[3:]
		if start {
			if d.donl {
				if len(data) < 2 {
					return fmt.Errorf("%w: H.265 FU truncated", ErrMalformed)
				}
				data = data[2:]
			}
			d.fuStart([]byte{pl[0]&0x81 | fuType<<1, pl[1]}, data)
		} else {
			if !d.fuActive {
				return nil
			}
			if err := d.fuAppend(data); err != nil {
				return err
			}
		}
		if end && d.fuActive {
			d.fuActive = false
			return d.nalu(d.fu)
		}
		return nil
	case t == h265PACI:
		return fmt.Errorf("%w: H.265 PACI packets", ErrUnsupported)
	case t > h265PACI:
		return fmt.Errorf("%w: H.265 NAL unit type %d", ErrMalformed, t)
	}
	if d.donl { // single NAL unit packet: header, DONL, data (RFC 7798 §4.4.1)
		if len(pl) < 4 {
			return fmt.Errorf("%w: H.265 packet truncated", ErrMalformed)
		}
		d.fu, d.fuActive = append(append(d.fu[:0], pl[:2]...), pl[4:]...), false
		return d.nalu(d.fu)
	}
	return d.nalu(pl)
}
