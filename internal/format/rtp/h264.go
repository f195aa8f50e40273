package rtp

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/pion/rtp"

	"github.com/srs-lite/srs-lite/internal/format/codec/h264"
	"github.com/srs-lite/srs-lite/internal/media"
)

// H.264 RTP payload types (RFC 6184 §5.2, Table 1).
const (
	h264STAPA  = 24
	h264STAPB  = 25
	h264MTAP16 = 26
	h264MTAP24 = 27
	h264FUA    = 28
	h264FUB    = 29
)

// avcBuilder assembles one access unit as 4-byte length-prefixed NAL units
// and keeps the parameter sets apart, for H.264 and H.265 alike.
type avcBuilder struct {
	codec media.Codec
	au    []byte // AVCC of the access unit being assembled
	ts    uint32
	has   bool // au holds at least one NAL unit (or one is fragmented)
	key   bool

	fu       []byte // the fragmented NAL unit, header rebuilt
	fuActive bool

	sets     [3][]byte // VPS (H.265 only), SPS, PPS, as last seen
	cfgDirty bool
	gotKey   bool // the first keyframe was emitted
	cfg      func(sets *[3][]byte) []byte
	seq      seqTracker
	frame    media.Frame
}

// setParam records a parameter set (kind 0 VPS, 1 SPS, 2 PPS) and marks the
// config for sending when it changed.
func (b *avcBuilder) setParam(kind int, n []byte) {
	if bytes.Equal(b.sets[kind], n) {
		return
	}
	b.sets[kind] = append(b.sets[kind][:0], n...)
	b.cfgDirty = true
}

// begin starts or continues the access unit of ts, flushing the previous
// one when the timestamp changed without a marker bit.
func (b *avcBuilder) begin(ts uint32, emit Emit) error {
	var err error
	if b.has && ts != b.ts {
		err = b.flush(emit)
	}
	if !b.has {
		b.ts = ts
	}
	return err
}

// add appends a complete NAL unit to the access unit.
func (b *avcBuilder) add(n []byte) error {
	if len(b.au)+4+len(n) > MaxFrameSize {
		b.reset()
		return fmt.Errorf("%w: %s access unit over %d bytes", ErrTooLarge, b.codec, MaxFrameSize)
	}
	b.au = binary.BigEndian.AppendUint32(b.au, uint32(len(n)))
	b.au = append(b.au, n...)
	b.has = true
	return nil
}

func (b *avcBuilder) reset() {
	b.au = b.au[:0]
	b.has, b.key = false, false
}

// flush emits the access unit: first the config when it changed, and only
// once the parameter sets are known and a keyframe started the stream.
func (b *avcBuilder) flush(emit Emit) error {
	defer b.reset()
	if len(b.au) == 0 {
		return nil
	}
	ready := b.sets[1] != nil && b.sets[2] != nil && (b.codec == media.CodecH264 || b.sets[0] != nil)
	if !ready {
		return fmt.Errorf("%w: %s has no SPS/PPS in the SDP nor in band yet", ErrNoParams, b.codec)
	}
	if b.cfgDirty {
		b.cfgDirty = false
		b.frame = media.Frame{Codec: b.codec, Flags: media.FlagConfig, Payload: b.cfg(&b.sets)}
		emit(b.ts, &b.frame)
	}
	if !b.gotKey && !b.key {
		return nil // a stream starts at a keyframe
	}
	b.gotKey = true
	b.frame = media.Frame{Codec: b.codec, Payload: b.au}
	if b.key {
		b.frame.Flags = media.FlagKey
	}
	emit(b.ts, &b.frame)
	return nil
}

// loss drops the fragment in progress after a sequence gap. The rest of the
// access unit is kept: decoders conceal a missing slice better than a
// missing picture.
func (b *avcBuilder) loss() error {
	b.fu, b.fuActive = b.fu[:0], false
	return fmt.Errorf("%w: %s", ErrLoss, b.codec)
}

// fuStart, fuAppend and fuEnd reassemble a fragmented NAL unit.
func (b *avcBuilder) fuStart(hdr []byte, data []byte) {
	b.fu = append(append(b.fu[:0], hdr...), data...)
	b.fuActive = true
	b.has = true
}

func (b *avcBuilder) fuAppend(data []byte) error {
	if len(b.fu)+len(data) > MaxFrameSize {
		b.fu, b.fuActive = b.fu[:0], false
		return fmt.Errorf("%w: %s fragmented NAL unit over %d bytes", ErrTooLarge, b.codec, MaxFrameSize)
	}
	b.fu = append(b.fu, data...)
	return nil
}

// h264Depack depacketizes H.264, RFC 6184: single NAL unit packets, STAP-A
// and FU-A (packetization modes 0 and 1).
type h264Depack struct{ avcBuilder }

func newH264(f Format) (*h264Depack, error) {
	d := &h264Depack{}
	d.codec = media.CodecH264
	d.cfg = func(s *[3][]byte) []byte { return h264.BuildConfig([][]byte{s[1]}, [][]byte{s[2]}) }
	if mode := f.Params["packetization-mode"]; mode == "2" {
		return nil, fmt.Errorf("%w: H.264 packetization-mode 2 (interleaved)", ErrUnsupported)
	}
	// RFC 6184 §8.1: sprop-parameter-sets, base64 NAL units separated by
	// commas. A bad entry is skipped: in-band sets may follow.
	for _, n := range decodeSprop(f.Params["sprop-parameter-sets"]) {
		d.param(n)
	}
	return d, nil
}

// decodeSprop decodes a comma-separated list of base64 NAL units; entries
// that do not decode are skipped.
func decodeSprop(s string) [][]byte {
	var out [][]byte
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		n, err := base64.StdEncoding.DecodeString(part)
		if err != nil {
			n, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(part, "="))
		}
		if err == nil && len(n) > 0 {
			out = append(out, n)
		}
	}
	return out
}

// param takes an SPS or PPS; other NAL units are ignored.
func (d *h264Depack) param(n []byte) bool {
	switch h264.Type(n) {
	case h264.NALUSPS:
		if len(n) >= 4 {
			d.setParam(1, n)
		}
		return true
	case h264.NALUPPS:
		if len(n) >= 1 {
			d.setParam(2, n)
		}
		return true
	}
	return false
}

// nalu adds a complete NAL unit: parameter sets go to the config, access
// unit delimiters and filler are dropped.
func (d *h264Depack) nalu(n []byte) error {
	if len(n) == 0 || n[0]&0x80 != 0 { // forbidden_zero_bit
		return fmt.Errorf("%w: H.264 NAL unit with forbidden bit", ErrMalformed)
	}
	if d.param(n) {
		return nil
	}
	switch h264.Type(n) {
	case h264.NALUAUD, h264.NALUFiller:
		return nil
	case h264.NALUIDR:
		d.key = true
	}
	return d.add(n)
}

// Push implements Depacketizer.
func (d *h264Depack) Push(p *rtp.Packet, emit Emit) error { return d.push(p, emit, d.payload) }

// push runs one packet through an access unit builder: loss, a new
// timestamp (which flushes the previous unit), the payload's NAL units,
// and the marker bit. The first error is returned; the packet is still
// taken in whole.
func (d *avcBuilder) push(p *rtp.Packet, emit Emit, payload func([]byte) error) error {
	var errs [3]error
	if d.seq.next(p.SequenceNumber) {
		errs[0] = d.loss()
	}
	errs[1] = d.begin(p.Timestamp, emit)
	errs[2] = payload(p.Payload)
	var err error
	if p.Marker {
		err = d.flush(emit)
	}
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return err
}

func (d *h264Depack) payload(pl []byte) error {
	if len(pl) < 1 {
		return nil // keep-alive packets of some cameras
	}
	switch t := pl[0] & 0x1f; {
	case t >= 1 && t <= 23:
		return d.nalu(pl)
	case t == h264STAPA: // RFC 6184 §5.7.1
		b := pl[1:]
		for len(b) > 0 {
			if len(b) < 2 {
				return fmt.Errorf("%w: H.264 STAP-A truncated", ErrMalformed)
			}
			n := int(binary.BigEndian.Uint16(b))
			if n == 0 || n > len(b)-2 {
				return fmt.Errorf("%w: H.264 STAP-A size %d of %d", ErrMalformed, n, len(b)-2)
			}
			if err := d.nalu(b[2 : 2+n]); err != nil {
				return err
			}
			b = b[2+n:]
		}
		return nil
	case t == h264FUA: // RFC 6184 §5.8
		if len(pl) < 2 {
			return fmt.Errorf("%w: H.264 FU-A without header", ErrMalformed)
		}
		start, end := pl[1]&0x80 != 0, pl[1]&0x40 != 0
		if start {
			if d.fuActive {
				d.fuActive = false // the previous fragment never ended
			}
			d.fuStart([]byte{pl[0]&0xe0 | pl[1]&0x1f}, pl[2:])
		} else {
			if !d.fuActive {
				return nil // its start was lost: skip to the next NAL unit
			}
			if err := d.fuAppend(pl[2:]); err != nil {
				return err
			}
		}
		if end && d.fuActive {
			d.fuActive = false
			return d.nalu(d.fu)
		}
		return nil
	case t == h264STAPB || t == h264MTAP16 || t == h264MTAP24 || t == h264FUB:
		return fmt.Errorf("%w: H.264 packet type %d (interleaved mode)", ErrUnsupported, t)
	}
	return fmt.Errorf("%w: H.264 NAL unit type %d", ErrMalformed, pl[0]&0x1f)
}
