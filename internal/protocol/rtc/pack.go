//go:build !nortc && !tiny

package rtc

import (
	"encoding/binary"
	"time"

	"github.com/srs-lite/srs-lite/internal/format/codec/bits"
	"github.com/srs-lite/srs-lite/internal/format/codec/h264"
	"github.com/srs-lite/srs-lite/internal/media"
)

// mtu is the size of our RTP packets, header included: room for SRTP's
// tag and any path's tunnels.
const mtu = 1200

// packer turns frames into RTP packets in the shared wire form of
// internal/format/rtp's Packetizer: records of [2-byte length][12-byte
// header][payload], marker on the frame's last packet, timestamp the PTS in
// clock units. It stands in for that packetizer until the branch that
// builds it is merged; then each frame is packetized once for every viewer.
type packer struct {
	codec media.Codec
	clock uint32
	sps   [][]byte
	pps   [][]byte
	out   []byte
}

func newPacker(c media.Codec, clock uint32) *packer { return &packer{codec: c, clock: clock} }

// setConfig takes an AVCDecoderConfigurationRecord.
func (p *packer) setConfig(f *media.Frame) {
	if p.codec != media.CodecH264 {
		return
	}
	c, err := h264.ParseConfig(f.Payload)
	if err != nil {
		return
	}
	p.sps, p.pps = cloneSets(c.SPS), cloneSets(c.PPS)
}

func cloneSets(s [][]byte) [][]byte {
	out := make([][]byte, len(s))
	for i := range s {
		out[i] = append([]byte(nil), s[i]...)
	}
	return out
}

// ts converts a media time to the track's RTP clock.
func (p *packer) ts(d time.Duration) uint32 {
	return uint32(int64(d) / 1000 * int64(p.clock) / 1e6)
}

// packets returns the frame's packets (valid until the next call).
func (p *packer) packets(f *media.Frame) []byte {
	p.out = p.out[:0]
	ts := p.ts(f.PTS)
	switch p.codec {
	case media.CodecH264:
		var nalus [][]byte
		hasPS := false
		_ = h264.SplitAVCC(f.Payload, func(n []byte) bool {
			switch h264.Type(n) {
			case 9, 12: // AUD and filler: not for RTP
				return true
			case 7, 8:
				hasPS = true
			}
			nalus = append(nalus, n)
			return true
		})
		if f.IsKey() && !hasPS && len(p.sps) > 0 {
			p.stapA(ts)
		}
		for i, n := range nalus {
			p.nalu(n, ts, i == len(nalus)-1)
		}
	default:
		p.record(ts, true, f.Payload)
	}
	return p.out
}

// record appends one packet: header, then the payload pieces.
func (p *packer) record(ts uint32, marker bool, parts ...[]byte) {
	n := 12
	for _, b := range parts {
		n += len(b)
	}
	p.out = binary.BigEndian.AppendUint16(p.out, uint16(n))
	m := byte(0)
	if marker {
		m = 0x80
	}
	p.out = append(p.out, 0x80, m, 0, 0)
	p.out = binary.BigEndian.AppendUint32(p.out, ts)
	p.out = append(p.out, 0, 0, 0, 0)
	for _, b := range parts {
		p.out = append(p.out, b...)
	}
}

// stapA sends SPS and PPS in one STAP-A (RFC 6184 §5.7.1).
func (p *packer) stapA(ts uint32) {
	var b []byte
	b = append(b, 24|(p.sps[0][0]&0x60))
	for _, s := range append(append([][]byte{}, p.sps...), p.pps...) {
		b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
		b = append(b, s...)
	}
	p.record(ts, false, b)
}

// nalu sends one NAL unit: whole, or in FU-A fragments (RFC 6184 §5.8).
func (p *packer) nalu(n []byte, ts uint32, last bool) {
	if len(n) == 0 {
		return
	}
	if len(n) <= mtu-12 {
		p.record(ts, last, n)
		return
	}
	hdr := n[0]
	n = n[1:]
	max := mtu - 12 - 2
	for first := true; len(n) > 0; first = false {
		k := min(max, len(n))
		fu := [2]byte{hdr&0xe0 | 28, hdr & 0x1f}
		if first {
			fu[1] |= 0x80
		}
		end := k == len(n)
		if end {
			fu[1] |= 0x40
		}
		p.record(ts, last && end, fu[:], n[:k])
		n = n[k:]
	}
}

// forEach walks the records of a packets buffer.
func forEach(wire []byte, fn func(pkt []byte) bool) {
	for len(wire) >= 2 {
		n := int(binary.BigEndian.Uint16(wire))
		if len(wire) < 2+n {
			return
		}
		if !fn(wire[2 : 2+n]) {
			return
		}
		wire = wire[2+n:]
	}
}

// isBFrame reports whether an H.264 access unit is made of B slices
// (slice_type 1 or 6, H.264 §7.4.3), which WebRTC decoders do not
// reorder: SRS drops them for WebRTC players.
func isBFrame(avcc []byte) bool {
	b := false
	_ = h264.SplitAVCC(avcc, func(n []byte) bool {
		t := h264.Type(n)
		if t != 1 {
			return t != 5 // an IDR is no B frame
		}
		if len(n) < 2 {
			return false
		}
		var tmp [8]byte
		r := bits.NewReader(bits.RemoveEmulation(tmp[:0], n[1:min(len(n), 8)]))
		r.UE()           // first_mb_in_slice
		st := r.UE() % 5 // slice_type
		b = r.Err() == nil && st == 1
		return false
	})
	return b
}
