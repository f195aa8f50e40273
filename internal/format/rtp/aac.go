package rtp

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/pion/rtp"

	"github.com/srs-lite/srs-lite/internal/format/codec/aac"
	"github.com/srs-lite/srs-lite/internal/format/codec/bits"
	"github.com/srs-lite/srs-lite/internal/media"
)

// maxAUs bounds the access units of one packet (an AU-headers-length of
// 65535 bits could announce thousands of empty units).
const maxAUs = 128

// aacConfig is the decoder configuration shared by the AAC depacketizers.
type aacConfig struct {
	asc      []byte
	rate     int
	channels int
	dur      uint32 // RTP clock units per frame
	cfgSent  bool
	frame    media.Frame
}

// setASC parses an AudioSpecificConfig and derives the frame duration in
// units of the RTP clock (ISO 14496-3 §1.6.2.1; an HE-AAC frame of 1024
// core samples lasts 2048 samples of the SBR rate that the clock counts).
func (c *aacConfig) setASC(asc []byte, clock int) error {
	a, err := aac.ParseASC(asc)
	if err != nil {
		return fmt.Errorf("%w: AAC config: %w", ErrMalformed, err)
	}
	c.asc = append(c.asc[:0], asc...)
	c.rate, c.channels = a.SampleRate, a.Channels
	if a.ExtSampleRate > 0 {
		c.rate = a.ExtSampleRate
	}
	if clock <= 0 {
		clock = c.rate
	}
	c.dur = uint32(int64(a.FrameLength) * int64(clock) / int64(a.SampleRate))
	c.cfgSent = false
	return nil
}

// emitAU emits the config once, then one raw AAC frame.
func (c *aacConfig) emitAU(ts uint32, au []byte, emit Emit) {
	if !c.cfgSent {
		c.cfgSent = true
		c.frame = media.Frame{Codec: media.CodecAAC, Flags: media.FlagConfig, Payload: c.asc,
			SampleRate: uint32(c.rate), Channels: uint8(c.channels)}
		emit(ts, &c.frame)
	}
	if len(au) == 0 {
		return
	}
	c.frame = media.Frame{Codec: media.CodecAAC, Payload: au, SampleRate: uint32(c.rate), Channels: uint8(c.channels)}
	emit(ts, &c.frame)
}

// aacDepack depacketizes MPEG-4 audio in the mpeg4-generic format, RFC 3640
// (modes AAC-hbr and AAC-lbr, and generic with the same AU headers): the
// AU header section (§3.2.1), the auxiliary section (§3.2.2) and access
// units, several per packet or one fragmented across packets (§3.2.3).
type aacDepack struct {
	aacConfig
	sizeLen, indexLen, deltaLen int
	ctsLen, dtsLen              int
	rap                         bool
	stateLen, auxLen            int

	seq seqTracker

	frag       []byte // an access unit fragmented across packets
	fragTS     uint32
	fragSize   int
	fragActive bool

	sizes [maxAUs]int
}

func newAAC(f Format) (*aacDepack, error) {
	d := &aacDepack{}
	num := func(k string, max int) (int, error) {
		v := f.Params[k]
		if v == "" {
			return 0, nil
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > max {
			return 0, fmt.Errorf("%w: mpeg4-generic %s=%q", ErrMalformed, k, v)
		}
		return n, nil
	}
	var err error
	for _, p := range []struct {
		k   string
		max int
		dst *int
	}{
		{"sizelength", 32, &d.sizeLen}, {"indexlength", 32, &d.indexLen},
		{"indexdeltalength", 32, &d.deltaLen}, {"ctsdeltalength", 32, &d.ctsLen},
		{"dtsdeltalength", 32, &d.dtsLen}, {"streamstateindication", 32, &d.stateLen},
		{"auxiliarydatasizelength", 32, &d.auxLen},
	} {
		if *p.dst, err = num(p.k, p.max); err != nil {
			return nil, err
		}
	}
	r, err := num("randomaccessindication", 1)
	if err != nil {
		return nil, err
	}
	d.rap = r == 1
	if d.sizeLen == 0 {
		return nil, fmt.Errorf("%w: mpeg4-generic without sizelength (constant-size AUs)", ErrUnsupported)
	}
	cfg := f.Params["config"]
	if cfg == "" {
		return nil, fmt.Errorf("%w: mpeg4-generic without config", ErrMalformed)
	}
	asc, err := hex.DecodeString(strings.TrimSpace(cfg))
	if err != nil {
		return nil, fmt.Errorf("%w: mpeg4-generic config=%q", ErrMalformed, cfg)
	}
	if err := d.setASC(asc, f.ClockRate); err != nil {
		return nil, err
	}
	return d, nil
}

// Push implements Depacketizer.
func (d *aacDepack) Push(p *rtp.Packet, emit Emit) error {
	var lossErr error
	if d.seq.next(p.SequenceNumber) {
		lossErr = fmt.Errorf("%w: AAC", ErrLoss)
		d.fragActive = false
	}
	pl := p.Payload
	if len(pl) < 2 {
		return fmt.Errorf("%w: AAC packet of %d bytes", ErrMalformed, len(pl))
	}
	hbits := int(binary.BigEndian.Uint16(pl)) // AU-headers-length (§3.2.1)
	hbytes := (hbits + 7) / 8
	if 2+hbytes > len(pl) {
		return fmt.Errorf("%w: AAC AU headers of %d bits in %d bytes", ErrMalformed, hbits, len(pl))
	}
	r := bits.NewReader(pl[2 : 2+hbytes])
	n := 0
	for r.Pos() < hbits {
		if n == maxAUs {
			return fmt.Errorf("%w: AAC packet with over %d AUs", ErrMalformed, maxAUs)
		}
		d.sizes[n] = int(r.U(d.sizeLen))
		if n == 0 {
			r.Skip(d.indexLen)
		} else {
			r.Skip(d.deltaLen)
		}
		if d.ctsLen > 0 && r.Flag() {
			r.Skip(d.ctsLen)
		}
		if d.dtsLen > 0 && r.Flag() {
			r.Skip(d.dtsLen)
		}
		if d.rap {
			r.Skip(1)
		}
		r.Skip(d.stateLen)
		if r.Err() != nil || r.Pos() > hbits {
			return fmt.Errorf("%w: AAC AU header truncated", ErrMalformed)
		}
		n++
	}
	data := pl[2+hbytes:]
	if d.auxLen > 0 { // §3.2.2: auxiliary section, skipped
		ar := bits.NewReader(data)
		aux := int(ar.U(d.auxLen))
		skip := (d.auxLen + aux + 7) / 8
		if ar.Err() != nil || skip > len(data) {
			return fmt.Errorf("%w: AAC auxiliary section truncated", ErrMalformed)
		}
		data = data[skip:]
	}
	if n == 0 {
		return lossErr
	}
	// §3.2.3: an AU larger than the packet is fragmented; the fragments
	// share the timestamp and carry one AU header with the whole size.
	if n == 1 && d.sizes[0] > len(data) {
		if !d.fragActive || d.fragTS != p.Timestamp || d.fragSize != d.sizes[0] {
			if len(data) == 0 || d.sizes[0] > MaxFrameSize {
				return fmt.Errorf("%w: AAC fragment", ErrMalformed)
			}
			d.frag, d.fragTS, d.fragSize, d.fragActive = d.frag[:0], p.Timestamp, d.sizes[0], true
		}
		d.frag = append(d.frag, data...)
		switch {
		case len(d.frag) == d.fragSize:
			d.fragActive = false
			d.emitAU(p.Timestamp, d.frag, emit)
		case len(d.frag) > d.fragSize:
			d.fragActive = false
			return fmt.Errorf("%w: AAC fragments exceed the AU size", ErrMalformed)
		}
		return lossErr
	}
	d.fragActive = false
	ts := p.Timestamp
	for i := range n {
		size := d.sizes[i]
		if size > len(data) {
			return fmt.Errorf("%w: AAC AU of %d bytes with %d left", ErrMalformed, size, len(data))
		}
		d.emitAU(ts, data[:size], emit)
		data = data[size:]
		ts += d.dur
	}
	return lossErr
}
