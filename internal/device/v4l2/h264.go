package v4l2

import (
	"bytes"
	"encoding/binary"
	"time"

	"github.com/srs-lite/srs-lite/internal/format/codec/h264"
	"github.com/srs-lite/srs-lite/internal/media"
)

// maxAU bounds an access unit: a buffer larger than this is dropped.
const maxAU = 8 << 20

// H264Packer turns the Annex B access units of an encoding camera (one per
// buffer, H.264 Annex B byte stream) into media frames: the parameter sets
// become an AVCDecoderConfigurationRecord (ISO 14496-15 §5.3.3.1), sent as
// a config frame before the first keyframe and again whenever they change;
// the other NAL units become one AVCC frame, flagged as a keyframe when it
// holds an IDR slice. Access unit delimiters and filler data are dropped.
// Frames before the first keyframe are dropped: a stream starts at one.
type H264Packer struct {
	sps, pps []byte
	cfg      []byte
	cfgSent  bool
	gotKey   bool
	au       []byte
	frame    media.Frame // handed to emit: kept here so that it does not escape per call
}

// Pack converts one access unit and calls emit for each resulting frame
// (a config frame, then the picture); the frames' payloads are scratch
// memory valid during the call.
func (p *H264Packer) Pack(annexb []byte, ts time.Duration, emit func(f *media.Frame) error) error {
	if len(annexb) > maxAU {
		return nil
	}
	p.au = p.au[:0]
	key, changed := false, false
	h264.SplitAnnexB(annexb, func(n []byte) bool {
		if n[0]&0x80 != 0 { // forbidden_zero_bit: not H.264
			return true
		}
		switch h264.Type(n) {
		case h264.NALUSPS:
			if len(n) >= 4 && !bytes.Equal(n, p.sps) {
				p.sps, changed = append(p.sps[:0], n...), true
			}
			return true
		case h264.NALUPPS:
			if !bytes.Equal(n, p.pps) {
				p.pps, changed = append(p.pps[:0], n...), true
			}
			return true
		case h264.NALUAUD, h264.NALUFiller:
			return true
		case h264.NALUIDR:
			key = true
		}
		p.au = binary.BigEndian.AppendUint32(p.au, uint32(len(n)))
		p.au = append(p.au, n...)
		return true
	})
	if changed && p.sps != nil && p.pps != nil {
		p.cfg = h264.BuildConfig([][]byte{p.sps}, [][]byte{p.pps})
		p.cfgSent = false
	}
	if len(p.au) == 0 {
		return nil
	}
	if !p.gotKey && (!key || p.cfg == nil) {
		return nil
	}
	p.gotKey = true
	if !p.cfgSent && p.cfg != nil {
		p.cfgSent = true
		p.frame = media.Frame{DTS: ts, PTS: ts, Codec: media.CodecH264, Flags: media.FlagConfig, Payload: p.cfg}
		if err := emit(&p.frame); err != nil {
			return err
		}
	}
	p.frame = media.Frame{DTS: ts, PTS: ts, Codec: media.CodecH264, Payload: p.au}
	if key {
		p.frame.Flags = media.FlagKey
	}
	return emit(&p.frame)
}

// Reset forgets the stream: the next frame must be a keyframe again.
func (p *H264Packer) Reset() {
	p.gotKey, p.cfgSent = false, false
}
