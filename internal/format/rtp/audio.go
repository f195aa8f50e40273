package rtp

import (
	"encoding/binary"

	"github.com/pion/rtp"

	"github.com/srs-lite/srs-lite/internal/media"
)

// g711Depack passes G.711 A-law and µ-law through (RFC 3551 §4.5.14): each
// packet's payload is one frame of 8-bit samples.
type g711Depack struct {
	codec    media.Codec
	rate     int
	channels int
	frame    media.Frame
}

func newG711(f Format) *g711Depack {
	d := &g711Depack{codec: f.Codec(), rate: f.ClockRate, channels: f.Channels}
	if d.rate <= 0 {
		d.rate = 8000
	}
	if d.channels <= 0 {
		d.channels = 1
	}
	return d
}

// Push implements Depacketizer.
func (d *g711Depack) Push(p *rtp.Packet, emit Emit) error {
	if len(p.Payload) == 0 {
		return nil
	}
	d.frame = media.Frame{Codec: d.codec, Payload: p.Payload, SampleRate: uint32(d.rate), Channels: uint8(d.channels)}
	emit(p.Timestamp, &d.frame)
	return nil
}

// opusDepack passes Opus through (RFC 7587 §4.2: one Opus packet per RTP
// packet) after an OpusHead config frame (RFC 7845 §5.1) that says the
// channel count.
type opusDepack struct {
	head    [19]byte
	cfgSent bool
	frame   media.Frame
}

func newOpus(f Format) *opusDepack {
	// RFC 7587 §7: the rtpmap always says 2 channels; sprop-stereo=0 says
	// the sender sends mono.
	ch := 2
	if f.Params["sprop-stereo"] == "0" || f.Channels == 1 {
		ch = 1
	}
	d := &opusDepack{}
	copy(d.head[:], "OpusHead")
	d.head[8] = 1 // version
	d.head[9] = byte(ch)
	binary.LittleEndian.PutUint16(d.head[10:], 0)     // pre-skip
	binary.LittleEndian.PutUint32(d.head[12:], 48000) // input sample rate
	binary.LittleEndian.PutUint16(d.head[16:], 0)     // output gain
	d.head[18] = 0                                    // channel mapping family 0
	return d
}

// Push implements Depacketizer.
func (d *opusDepack) Push(p *rtp.Packet, emit Emit) error {
	if len(p.Payload) == 0 {
		return nil
	}
	ch := d.head[9]
	if !d.cfgSent {
		d.cfgSent = true
		d.frame = media.Frame{Codec: media.CodecOpus, Flags: media.FlagConfig, Payload: d.head[:],
			SampleRate: 48000, Channels: ch}
		emit(p.Timestamp, &d.frame)
	}
	d.frame = media.Frame{Codec: media.CodecOpus, Payload: p.Payload, SampleRate: 48000, Channels: ch}
	emit(p.Timestamp, &d.frame)
	return nil
}
