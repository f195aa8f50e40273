package rtp

import (
	"encoding/binary"
	"time"

	"github.com/srs-lite/srs-lite/internal/format/codec/h264"
	"github.com/srs-lite/srs-lite/internal/format/codec/h265"
	"github.com/srs-lite/srs-lite/internal/media"
)

// DefaultMTU is the size of an RTP packet, header included, that the
// packetizers aim at: it leaves room for SRTP's overhead in WebRTC and fits
// any path.
const DefaultMTU = 1200

// HeaderLen is the size of the fixed RTP header the packetizers write
// (RFC 3550 §5.1: no CSRC, no extension).
const HeaderLen = 12

// minMTU bounds the MTU from below: room for the header, a fragmentation
// header and some payload.
const minMTU = HeaderLen + 16

// Packetizer turns the frames of one track into RTP packets (the reverse
// of the depacketizers): H.264 RFC 6184 (single NAL unit, FU-A, STAP-A with
// SPS and PPS before each IDR), H.265 RFC 7798 (single, FU, AP with VPS, SPS
// and PPS before each IRAP), AAC RFC 3640 AAC-hbr, Opus RFC 7587 and G.711
// RFC 3551 (one frame per packet).
//
// The packets of a frame are built once and cached on the frame's buffer
// (media.WireRTP, keyed by the MTU), so every viewer of the stream that
// packetizes with the same MTU, RTSP or WebRTC, shares them. Each viewer
// rewrites the 12-byte header in its own scratch (see Header): payload type,
// its sequence numbers, a timestamp offset and its SSRC.
//
// A Packetizer belongs to one goroutine.
type Packetizer struct {
	codec media.Codec
	clock uint32
	mtu   int

	nalLen int      // NAL unit length prefix of the payloads: 4 unless the config says
	sets   [][]byte // parameter sets, in the order they go before a keyframe
	setMem []byte   // owns sets
	stap   []byte   // the aggregation packet's payload of sets, nil when too large

	scratch *media.Buf // frames whose packets cannot be cached: reused
	w       []byte
	last    int // offset in w of the last packet's record
	seq     uint16
	ts      uint32
}

// NewPacketizer returns a packetizer of codec at clockRate (90000 for video,
// the sample rate for AAC, 48000 for Opus, 8000 for G.711) that makes packets
// of at most mtu bytes (DefaultMTU when mtu is 0).
func NewPacketizer(codec media.Codec, clockRate uint32, mtu int) *Packetizer {
	if mtu <= 0 {
		mtu = DefaultMTU
	}
	mtu = max(mtu, minMTU)
	return &Packetizer{codec: codec, clock: clockRate, mtu: mtu, nalLen: 4}
}

// MTU returns the packets' maximum size: the cache key of media.WireRTP.
func (p *Packetizer) MTU() int { return p.mtu }

// ClockRate returns the RTP clock rate of the timestamps.
func (p *Packetizer) ClockRate() uint32 { return p.clock }

// SetConfig takes a sequence header: for H.264 an AVCDecoderConfigurationRecord
// and for H.265 an HEVCDecoderConfigurationRecord, whose parameter sets go
// before every keyframe (in one aggregation packet when they fit). Other
// codecs need nothing from it. A record that does not parse keeps the
// previous one. The record is copied.
func (p *Packetizer) SetConfig(f *media.Frame) {
	var sets [][]byte
	switch p.codec {
	case media.CodecH264:
		c, err := h264.ParseConfig(f.Payload)
		if err != nil {
			return
		}
		p.nalLen = c.NALULengthSize
		sets = append(append(sets, c.SPS...), c.PPS...)
	case media.CodecH265:
		c, err := h265.ParseConfig(f.Payload)
		if err != nil {
			return
		}
		p.nalLen = c.NALULengthSize
		sets = append(append(append(sets, c.VPS...), c.SPS...), c.PPS...)
	default:
		return
	}
	n := 0
	for _, s := range sets {
		n += len(s)
	}
	p.setMem = make([]byte, 0, n)
	p.sets = p.sets[:0]
	for _, s := range sets {
		if len(s) == 0 {
			continue
		}
		at := len(p.setMem)
		p.setMem = append(p.setMem, s...)
		p.sets = append(p.sets, p.setMem[at:len(p.setMem):len(p.setMem)])
	}
	p.stap = nil
	if len(p.sets) < 2 {
		return
	}
	var stap []byte
	if p.codec == media.CodecH264 {
		nri := byte(0)
		for _, s := range p.sets {
			nri = max(nri, s[0]&0x60)
		}
		stap = append(stap, nri|h264STAPA)
	} else {
		stap = append(stap, h265AP<<1, 1) // LayerId 0, TID 1
	}
	for _, s := range p.sets {
		stap = binary.BigEndian.AppendUint16(stap, uint16(len(s)))
		stap = append(stap, s...)
	}
	if HeaderLen+len(stap) <= p.mtu {
		p.stap = stap
	}
}

// Timestamp converts a frame time to the RTP clock of rate, modulo 2^32.
func Timestamp(d time.Duration, rate uint32) uint32 {
	if d < 0 {
		d = 0
	}
	s := uint64(d / time.Second)
	r := uint64(d % time.Second)
	return uint32(s*uint64(rate) + r*uint64(rate)/uint64(time.Second))
}

// Packets returns the RTP packets of f as records of a 2-byte big-endian
// length and the packet (walk them with ForEach). Each packet has a 12-byte
// header: version 2, payload type 0, the marker on the frame's last packet,
// sequence numbers 0..n-1 within the frame, the frame's PTS in the clock
// rate as timestamp, SSRC 0.
//
// The packets are cached on f's buffer and shared with every packetizer of
// the same MTU: they stay valid while the caller holds f. When they cannot be
// cached (an unpooled frame, or another MTU cached first) they are built in
// p's scratch, valid until the next call. Packets returns nil for config
// frames, empty frames and codecs it does not carry.
func (p *Packetizer) Packets(f *media.Frame) []byte {
	if f.IsConfig() || len(f.Payload) == 0 || f.Codec != p.codec {
		return nil
	}
	key := uint32(p.mtu)
	b := f.Buf()
	if b != nil {
		if w := b.Wire(media.WireRTP, key); w != nil {
			return w
		}
	}
	size := p.bound(f)
	if size == 0 {
		return nil
	}
	wb := media.GetBuf(size)
	out := p.encode(wb.Bytes()[:0], f)
	n := len(out)
	if n == 0 {
		wb.Release()
		return nil
	}
	if n > len(wb.Bytes()) { // the bound was wrong: grown out of wb
		wb.Release()
		wb = media.GetBuf(n)
		copy(wb.Bytes(), out)
	}
	if b != nil {
		if w, ok := b.SetWire(media.WireRTP, key, wb, n); ok {
			return w
		}
	}
	// Not cached: keep it in the scratch.
	if p.scratch != nil {
		p.scratch.Release()
	}
	p.scratch = wb
	return wb.Bytes()[:n]
}

// Close releases the packetizer's scratch buffer.
func (p *Packetizer) Close() {
	if p.scratch != nil {
		p.scratch.Release()
		p.scratch = nil
	}
}

// ForEach calls fn with each packet of wire, as Packets encodes them, until
// fn returns false. A truncated record ends the walk.
func ForEach(wire []byte, fn func(pkt []byte) bool) {
	for len(wire) >= 2 {
		n := int(binary.BigEndian.Uint16(wire))
		if n > len(wire)-2 {
			return
		}
		if !fn(wire[2 : 2+n]) {
			return
		}
		wire = wire[2+n:]
	}
}

// Header writes into dst the header of pkt (a packet from Packets) as a
// sender sends it: its payload type, sequence number, timestamp (the cached
// one plus tsOffset) and SSRC; the marker is kept. It returns dst[:12].
func Header(dst []byte, pkt []byte, pt uint8, seq uint16, tsOffset, ssrc uint32) []byte {
	dst = dst[:HeaderLen]
	dst[0] = 0x80
	dst[1] = pkt[1]&0x80 | pt&0x7f
	binary.BigEndian.PutUint16(dst[2:], seq)
	binary.BigEndian.PutUint32(dst[4:], binary.BigEndian.Uint32(pkt[4:])+tsOffset)
	binary.BigEndian.PutUint32(dst[8:], ssrc)
	return dst
}

// nalus calls fn with each NAL unit of a length-prefixed payload.
func (p *Packetizer) nalus(b []byte, fn func(nal []byte)) {
	for len(b) >= p.nalLen {
		var n int
		switch p.nalLen {
		case 1:
			n = int(b[0])
		case 2:
			n = int(binary.BigEndian.Uint16(b))
		default:
			n = int(binary.BigEndian.Uint32(b))
		}
		b = b[p.nalLen:]
		if n > len(b) || n < 0 {
			return
		}
		if n > 0 {
			fn(b[:n])
		}
		b = b[n:]
	}
}

// skipNAL reports NAL units not sent: access unit delimiters (RTP marks
// access units with the marker bit and the timestamp).
func (p *Packetizer) skipNAL(nal []byte) bool {
	if p.codec == media.CodecH264 {
		return h264.Type(nal) == h264.NALUAUD
	}
	return len(nal) < 2 || h265.Type(nal) == h265.NALUAUD
}

// bound returns an upper bound of the encoded size of f, 0 when f carries
// nothing.
func (p *Packetizer) bound(f *media.Frame) int {
	const rec = 2 + HeaderLen
	switch p.codec {
	case media.CodecH264, media.CodecH265:
		fuHdr := 2
		if p.codec == media.CodecH265 {
			fuHdr = 3
		}
		room := p.mtu - HeaderLen - fuHdr
		size := 0
		add := func(nal []byte) {
			if HeaderLen+len(nal) <= p.mtu {
				size += rec + len(nal)
				return
			}
			size += (len(nal)/room+1)*(rec+fuHdr) + len(nal)
		}
		if f.IsKey() {
			if p.stap != nil {
				size += rec + len(p.stap)
			} else {
				for _, s := range p.sets {
					add(s)
				}
			}
		}
		p.nalus(f.Payload, add)
		return size
	case media.CodecAAC:
		room := p.mtu - HeaderLen - 4
		return (len(f.Payload)/room+1)*(rec+4) + len(f.Payload)
	case media.CodecOpus, media.CodecPCMA, media.CodecPCMU:
		return rec + len(f.Payload)
	}
	return 0
}

// encode appends f's packets to dst and returns the result.
func (p *Packetizer) encode(dst []byte, f *media.Frame) []byte {
	p.w = dst
	p.seq = 0
	p.last = -1
	p.ts = Timestamp(f.PTS, p.clock)
	switch p.codec {
	case media.CodecH264, media.CodecH265:
		if f.IsKey() {
			if p.stap != nil {
				p.packet(p.stap)
			} else {
				for _, s := range p.sets {
					p.nal(s)
				}
			}
		}
		p.nalus(f.Payload, p.nalSkip)
	case media.CodecAAC:
		p.aac(f.Payload)
	default:
		p.packet(f.Payload)
	}
	out := p.w
	p.w = nil
	if p.last >= 0 {
		out[p.last+3] |= 0x80 // the marker on the frame's last packet
	}
	return out
}

func (p *Packetizer) nalSkip(nal []byte) {
	if !p.skipNAL(nal) {
		p.nal(nal)
	}
}

// begin appends a record header and an RTP header of a packet of n payload
// bytes.
func (p *Packetizer) begin(n int) {
	var h [2 + HeaderLen]byte
	binary.BigEndian.PutUint16(h[0:], uint16(HeaderLen+n))
	h[2] = 0x80
	binary.BigEndian.PutUint16(h[4:], p.seq)
	binary.BigEndian.PutUint32(h[6:], p.ts)
	p.last = len(p.w)
	p.w = append(p.w, h[:]...)
	p.seq++
}

func (p *Packetizer) packet(payload []byte) {
	p.begin(len(payload))
	p.w = append(p.w, payload...)
}

// nal sends one NAL unit: whole when it fits, else in fragmentation units.
func (p *Packetizer) nal(nal []byte) {
	if HeaderLen+len(nal) <= p.mtu {
		p.packet(nal)
		return
	}
	if p.codec == media.CodecH264 {
		ind := nal[0]&0xe0 | h264FUA
		typ := nal[0] & 0x1f
		body := nal[1:]
		room := p.mtu - HeaderLen - 2
		for start := true; len(body) > 0; start = false {
			k := min(room, len(body))
			hdr := typ
			if start {
				hdr |= 0x80
			}
			if k == len(body) {
				hdr |= 0x40
			}
			p.begin(2 + k)
			p.w = append(p.w, ind, hdr)
			p.w = append(p.w, body[:k]...)
			body = body[k:]
		}
		return
	}
	// H.265 FU (RFC 7798 §4.4.3): payload header of type 49 with the NAL
	// unit's F, LayerId and TID, then the FU header.
	ph0 := nal[0]&0x81 | h265FU<<1
	ph1 := nal[1]
	typ := nal[0] >> 1 & 0x3f
	body := nal[2:]
	room := p.mtu - HeaderLen - 3
	for start := true; len(body) > 0; start = false {
		k := min(room, len(body))
		hdr := typ
		if start {
			hdr |= 0x80
		}
		if k == len(body) {
			hdr |= 0x40
		}
		p.begin(3 + k)
		p.w = append(p.w, ph0, ph1, hdr)
		p.w = append(p.w, body[:k]...)
		body = body[k:]
	}
}

// aac sends one AAC frame in RFC 3640 AAC-hbr mode: an AU-headers-length of
// 16 bits, one AU-header (13-bit size, 3-bit index 0), the AU; a frame too
// large for one packet is fragmented, every fragment stating the whole size.
func (p *Packetizer) aac(au []byte) {
	if len(au) >= 1<<13 {
		return
	}
	hdr := [4]byte{0, 16, byte(len(au) >> 5), byte(len(au) << 3)}
	room := p.mtu - HeaderLen - 4
	for len(au) > 0 {
		k := min(room, len(au))
		p.begin(4 + k)
		p.w = append(p.w, hdr[:]...)
		p.w = append(p.w, au[:k]...)
		au = au[k:]
	}
}
