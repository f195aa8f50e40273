package rtsp

import (
	"encoding/binary"
	"fmt"
	"time"
)

// RTCP packet types (RFC 3550 §12.1).
const (
	rtcpSR   = 200
	rtcpRR   = 201
	rtcpSDES = 202
	rtcpBYE  = 203
)

// senderReport is what srs-lite reads of an RTCP SR (RFC 3550 §6.4.1).
type senderReport struct {
	ssrc uint32
	ntp  uint64
	rtp  uint32
}

// parseRTCP walks a compound RTCP packet (RFC 3550 §6.1) and calls sr for
// each sender report. bye is true when it holds a BYE (§6.6).
func parseRTCP(b []byte, sr func(senderReport)) (bye bool, err error) {
	for len(b) > 0 {
		if len(b) < 4 {
			return bye, fmt.Errorf("%w: RTCP header truncated", ErrProtocol)
		}
		if b[0]>>6 != 2 {
			return bye, fmt.Errorf("%w: RTCP version %d", ErrProtocol, b[0]>>6)
		}
		n := (int(binary.BigEndian.Uint16(b[2:])) + 1) * 4
		if n > len(b) {
			return bye, fmt.Errorf("%w: RTCP length %d of %d", ErrProtocol, n, len(b))
		}
		switch b[1] {
		case rtcpSR:
			if n >= 28 {
				sr(senderReport{
					ssrc: binary.BigEndian.Uint32(b[4:]),
					ntp:  binary.BigEndian.Uint64(b[8:]),
					rtp:  binary.BigEndian.Uint32(b[16:]),
				})
			}
		case rtcpBYE:
			bye = true
		}
		b = b[n:]
	}
	return bye, nil
}

// rxStats keeps the reception statistics of one source for receiver
// reports (RFC 3550 §6.4.1, Appendix A.1, A.3 and A.8).
type rxStats struct {
	ssrc     uint32
	started  bool
	baseSeq  uint32
	maxSeq   uint16
	cycles   uint32
	received uint32
	// At the previous report, for the fraction lost (A.3).
	expectedPrior, receivedPrior uint32
	// Interarrival jitter in timestamp units, times 16 (A.8).
	jitter   uint32
	transit  uint32
	hasTrans bool
	rate     int64
	start    time.Time
	// The last sender report: middle 32 bits of its NTP time and when it came.
	lsr   uint32
	lsrAt time.Time
}

// update records a received packet.
func (s *rxStats) update(ssrc uint32, seq uint16, ts uint32, at time.Time) {
	if !s.started || ssrc != s.ssrc {
		*s = rxStats{ssrc: ssrc, started: true, baseSeq: uint32(seq), maxSeq: seq, rate: s.rate, start: at}
	}
	s.received++
	if d := seq - s.maxSeq; d > 0 && d < 0x8000 {
		if seq < s.maxSeq {
			s.cycles += 1 << 16
		}
		s.maxSeq = seq
	}
	if s.rate > 0 {
		arrival := int64(at.Sub(s.start).Seconds() * float64(s.rate)) // in timestamp units
		transit := uint32(arrival) - ts
		if s.hasTrans {
			d := int64(int32(transit - s.transit))
			if d < 0 {
				d = -d
			}
			// J += (|D| - J) / 16, kept times 16.
			s.jitter += uint32(d) - ((s.jitter + 8) >> 4)
		}
		s.transit, s.hasTrans = transit, true
	}
}

// onSR records a sender report of this source, for LSR and DLSR.
func (s *rxStats) onSR(ntp uint64, at time.Time) {
	s.lsr, s.lsrAt = uint32(ntp>>16), at
}

// appendBlock appends the report block (RFC 3550 §6.4.1) and starts a new
// interval for the fraction lost.
func (s *rxStats) appendBlock(b []byte, now time.Time) []byte {
	ext := s.cycles + uint32(s.maxSeq)
	expected := ext - s.baseSeq + 1
	lost := int64(expected) - int64(s.received)
	lost = max(min(lost, 0x7fffff), -0x800000)
	expInt := expected - s.expectedPrior
	recvInt := s.received - s.receivedPrior
	s.expectedPrior, s.receivedPrior = expected, s.received
	var frac uint32
	if lostInt := int64(expInt) - int64(recvInt); expInt > 0 && lostInt > 0 {
		frac = uint32(lostInt<<8) / expInt
	}
	var dlsr uint32
	if !s.lsrAt.IsZero() {
		dlsr = uint32(now.Sub(s.lsrAt) * 65536 / time.Second)
	}
	b = binary.BigEndian.AppendUint32(b, s.ssrc)
	b = binary.BigEndian.AppendUint32(b, frac<<24|uint32(lost)&0xffffff)
	b = binary.BigEndian.AppendUint32(b, ext)
	b = binary.BigEndian.AppendUint32(b, s.jitter>>4)
	b = binary.BigEndian.AppendUint32(b, s.lsr)
	return binary.BigEndian.AppendUint32(b, dlsr)
}

// appendRR appends a compound RTCP packet: a receiver report with the
// block of s (none when s is nil or has seen no packet) and an SDES with
// our CNAME (RFC 3550 §6.1: every compound packet carries one).
func appendRR(b []byte, ssrc uint32, s *rxStats, cname string, now time.Time) []byte {
	rc := 0
	if s != nil && s.started {
		rc = 1
	}
	b = append(b, 0x80|byte(rc), rtcpRR, 0, byte(1+6*rc))
	b = binary.BigEndian.AppendUint32(b, ssrc)
	if rc == 1 {
		b = s.appendBlock(b, now)
	}
	// SDES: one chunk, CNAME item, END, padded to 32 bits (§6.5).
	cname = cname[:min(len(cname), 255)]
	chunk := 4 + 2 + len(cname) + 1
	pad := (4 - chunk%4) % 4
	words := (chunk + pad) / 4
	b = append(b, 0x81, rtcpSDES, 0, byte(words))
	b = binary.BigEndian.AppendUint32(b, ssrc)
	b = append(b, 1, byte(len(cname)))
	b = append(b, cname...)
	b = append(b, 0)
	for range pad {
		b = append(b, 0)
	}
	return b
}
