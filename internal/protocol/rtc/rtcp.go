//go:build !nortc && !tiny

package rtc

import "encoding/binary"

// RTCP as the server needs it (RFC 3550 §6.4, RFC 4585 §6): sender and
// receiver reports out, PLI out to publishers; NACK, PLI, FIR and sender
// reports in. Our own few lines rather than pion/rtcp (binary size).
const (
	rtcpSR    = 200
	rtcpRR    = 201
	rtcpRTPFB = 205 // transport layer feedback: FMT 1 generic NACK
	rtcpPSFB  = 206 // payload specific feedback: FMT 1 PLI, FMT 4 FIR
)

// rtcpPacket is one packet of a compound RTCP packet, as the server reads it.
type rtcpPacket struct {
	typ   uint8 // packet type
	fmt   uint8 // count or feedback message type
	ssrc  uint32
	media uint32 // feedback: the media source; SR: 0
	body  []byte // after the sender SSRC (feedback: after the media SSRC)
}

// walkRTCP calls fn with each packet of a compound RTCP packet; a malformed
// one ends the walk.
func walkRTCP(b []byte, fn func(p *rtcpPacket)) {
	for len(b) >= 8 {
		if b[0]>>6 != 2 {
			return
		}
		n := 4 * (int(binary.BigEndian.Uint16(b[2:])) + 1)
		if n < 8 || n > len(b) {
			return
		}
		p := rtcpPacket{typ: b[1], fmt: b[0] & 0x1f, ssrc: binary.BigEndian.Uint32(b[4:]), body: b[8:n]}
		if b[0]&0x20 != 0 { // padding: the last byte counts it
			if pad := int(b[n-1]); pad <= len(p.body) {
				p.body = p.body[:len(p.body)-pad]
			}
		}
		if (p.typ == rtcpRTPFB || p.typ == rtcpPSFB) && len(p.body) >= 4 {
			p.media = binary.BigEndian.Uint32(p.body)
			p.body = p.body[4:]
		}
		fn(&p)
		b = b[n:]
	}
}

// nacks calls fn with each sequence number a generic NACK asks for (RFC
// 4585 §6.2.1: PID and a bitmask of the 16 following).
func (p *rtcpPacket) nacks(fn func(seq uint16)) {
	for b := p.body; len(b) >= 4; b = b[4:] {
		pid, blp := binary.BigEndian.Uint16(b), binary.BigEndian.Uint16(b[2:])
		fn(pid)
		for i := range uint16(16) {
			if blp&(1<<i) != 0 {
				fn(pid + i + 1)
			}
		}
	}
}

// senderReport returns the NTP time and RTP timestamp of an SR.
func (p *rtcpPacket) senderReport() (ntp uint64, ts uint32, ok bool) {
	if p.typ != rtcpSR || len(p.body) < 12 {
		return 0, 0, false
	}
	return binary.BigEndian.Uint64(p.body), binary.BigEndian.Uint32(p.body[8:]), true
}

// rtcpHeader appends the common header of a packet of n 32-bit words
// after the header.
func rtcpHeader(dst []byte, count, typ uint8, words int) []byte {
	return append(dst, 0x80|count, typ, byte(words>>8), byte(words))
}

// appendSR appends a sender report without reception blocks.
func appendSR(dst []byte, ssrc uint32, ntp uint64, ts, packets, octets uint32) []byte {
	dst = rtcpHeader(dst, 0, rtcpSR, 6)
	dst = binary.BigEndian.AppendUint32(dst, ssrc)
	dst = binary.BigEndian.AppendUint64(dst, ntp)
	dst = binary.BigEndian.AppendUint32(dst, ts)
	dst = binary.BigEndian.AppendUint32(dst, packets)
	return binary.BigEndian.AppendUint32(dst, octets)
}

// reception is one report block of a receiver report.
type reception struct {
	ssrc, lost, highest, lsr, dlsr uint32
}

// appendRR appends a receiver report of up to 31 blocks.
func appendRR(dst []byte, ssrc uint32, rs []reception) []byte {
	rs = rs[:min(len(rs), 31)]
	dst = rtcpHeader(dst, uint8(len(rs)), rtcpRR, 1+6*len(rs))
	dst = binary.BigEndian.AppendUint32(dst, ssrc)
	for _, r := range rs {
		dst = binary.BigEndian.AppendUint32(dst, r.ssrc)
		dst = binary.BigEndian.AppendUint32(dst, min(r.lost, 0x7fffff)) // fraction lost 0
		dst = binary.BigEndian.AppendUint32(dst, r.highest)
		dst = binary.BigEndian.AppendUint32(dst, 0) // jitter
		dst = binary.BigEndian.AppendUint32(dst, r.lsr)
		dst = binary.BigEndian.AppendUint32(dst, r.dlsr)
	}
	return dst
}

// appendPLI appends a picture loss indication (RFC 4585 §6.3.1).
func appendPLI(dst []byte, sender, media uint32) []byte {
	dst = rtcpHeader(dst, 1, rtcpPSFB, 2)
	dst = binary.BigEndian.AppendUint32(dst, sender)
	return binary.BigEndian.AppendUint32(dst, media)
}
