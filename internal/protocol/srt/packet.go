package srt

import (
	"encoding/binary"
	"errors"
)

// Sizes of the wire format.
const (
	headerSize = 16 // SRT header, §3
	udpIPv4    = 28 // IPv4 and UDP headers, counted in the MSS (§3.2.1 MTU)
	// LivePayload is the payload of a live-mode data packet as libsrt sends
	// it by default: seven 188-byte MPEG-TS packets (SRTO_PAYLOADSIZE).
	LivePayload = 1316
	// maxDatagram bounds every datagram we read or build (MSS 1500).
	maxDatagram = 1500
)

// Errors of the wire format.
var (
	// ErrShortPacket reports a datagram too short for what its header says.
	ErrShortPacket = errors.New("srt: short packet")
	// ErrBadPacket reports a malformed field.
	ErrBadPacket = errors.New("srt: malformed packet")
)

// Control packet types, §3.2 Table 1.
const (
	ctrlHandshake  = 0x0000
	ctrlKeepalive  = 0x0001
	ctrlACK        = 0x0002
	ctrlNAK        = 0x0003
	ctrlCongestion = 0x0004
	ctrlShutdown   = 0x0005
	ctrlACKACK     = 0x0006
	ctrlDropReq    = 0x0007
	ctrlPeerError  = 0x0008
	ctrlUser       = 0x7FFF
)

// Subtypes of ctrlUser: the HSv4 extension messages, of which HSv5 peers
// still send KMREQ/KMRSP to refresh keys (§3.2.2, §6.1.5).
const (
	extHSREQ = 1
	extHSRSP = 2
	extKMREQ = 3
	extKMRSP = 4
)

// Packet position of a data packet in its message, §3.1 PP.
const (
	ppMiddle = 0
	ppLast   = 1
	ppFirst  = 2
	ppSolo   = 3
)

// Encryption key flags of a data packet, §3.1 KK.
const (
	kkNone = 0
	kkEven = 1
	kkOdd  = 2
)

// isControl reports whether a datagram is a control packet (F bit, §3).
func isControl(b []byte) bool { return len(b) > 0 && b[0]&0x80 != 0 }

// dstSocket returns a datagram's Destination Socket ID (§3).
func dstSocket(b []byte) uint32 { return binary.BigEndian.Uint32(b[12:16]) }

// dataHeader is the header of a data packet, §3.1 Figure 3.
type dataHeader struct {
	seq    uint32 // 31 bits
	pos    uint8  // PP
	order  bool   // O
	key    uint8  // KK
	rexmit bool   // R
	msgNo  uint32 // 26 bits
	ts     uint32 // µs since the sender's socket start
	dst    uint32
}

// parseData parses a data packet; the payload aliases b.
func parseData(b []byte) (h dataHeader, payload []byte, err error) {
	if len(b) < headerSize {
		return h, nil, ErrShortPacket
	}
	if b[0]&0x80 != 0 {
		return h, nil, ErrBadPacket
	}
	w := binary.BigEndian.Uint32(b[4:8])
	h = dataHeader{
		seq:    binary.BigEndian.Uint32(b[0:4]) & seqMask,
		pos:    uint8(w >> 30),
		order:  w&(1<<29) != 0,
		key:    uint8(w>>27) & 3,
		rexmit: w&(1<<26) != 0,
		msgNo:  w & msgNoMask,
		ts:     binary.BigEndian.Uint32(b[8:12]),
		dst:    binary.BigEndian.Uint32(b[12:16]),
	}
	return h, b[headerSize:], nil
}

// put writes the header into b[:16].
func (h *dataHeader) put(b []byte) {
	binary.BigEndian.PutUint32(b[0:4], h.seq&seqMask)
	w := uint32(h.pos&3)<<30 | uint32(h.key&3)<<27 | h.msgNo&msgNoMask
	if h.order {
		w |= 1 << 29
	}
	if h.rexmit {
		w |= 1 << 26
	}
	binary.BigEndian.PutUint32(b[4:8], w)
	binary.BigEndian.PutUint32(b[8:12], h.ts)
	binary.BigEndian.PutUint32(b[12:16], h.dst)
}

// setRexmit sets the R flag of a built data packet (§3.1): the packet is a
// retransmission.
func setRexmit(b []byte) { b[4] |= 1 << 2 }

// ctrlHeader is the header of a control packet, §3.2 Figure 4.
type ctrlHeader struct {
	typ     uint16 // 15 bits
	subtype uint16
	info    uint32 // type-specific information
	ts      uint32
	dst     uint32
}

// parseCtrl parses a control packet; the CIF aliases b.
func parseCtrl(b []byte) (h ctrlHeader, cif []byte, err error) {
	if len(b) < headerSize {
		return h, nil, ErrShortPacket
	}
	if b[0]&0x80 == 0 {
		return h, nil, ErrBadPacket
	}
	h = ctrlHeader{
		typ:     binary.BigEndian.Uint16(b[0:2]) & 0x7FFF,
		subtype: binary.BigEndian.Uint16(b[2:4]),
		info:    binary.BigEndian.Uint32(b[4:8]),
		ts:      binary.BigEndian.Uint32(b[8:12]),
		dst:     binary.BigEndian.Uint32(b[12:16]),
	}
	return h, b[headerSize:], nil
}

// appendCtrl appends a control header to dst.
func appendCtrl(dst []byte, h ctrlHeader) []byte {
	dst = binary.BigEndian.AppendUint16(dst, 0x8000|h.typ)
	dst = binary.BigEndian.AppendUint16(dst, h.subtype)
	dst = binary.BigEndian.AppendUint32(dst, h.info)
	dst = binary.BigEndian.AppendUint32(dst, h.ts)
	return binary.BigEndian.AppendUint32(dst, h.dst)
}

// ackInfo is the CIF of an ACK, §3.2.4 Figure 13. A light ACK carries only
// last; a small ACK also rtt, rttVar and avail.
type ackInfo struct {
	last     uint32 // the first sequence number not acknowledged
	rtt      uint32 // µs
	rttVar   uint32 // µs
	avail    uint32 // available receive buffer, packets
	pktRate  uint32 // packets per second
	capacity uint32 // estimated link capacity, packets per second
	rate     uint32 // receiving rate, bytes per second
	words    int    // 1 light, 4 small, 7 full
}

// parseACK parses an ACK CIF.
func parseACK(cif []byte) (a ackInfo, err error) {
	n := len(cif) / 4
	if n < 1 {
		return a, ErrShortPacket
	}
	u := func(i int) uint32 { return binary.BigEndian.Uint32(cif[4*i:]) }
	a.last = u(0) & seqMask
	a.words = 1
	if n >= 4 {
		a.rtt, a.rttVar, a.avail = u(1), u(2), u(3)
		a.words = 4
	}
	if n >= 7 {
		a.pktRate, a.capacity, a.rate = u(4), u(5), u(6)
		a.words = 7
	}
	return a, nil
}

// appendACK appends a full ACK CIF.
func appendACK(dst []byte, a *ackInfo) []byte {
	for _, v := range [...]uint32{a.last, a.rtt, a.rttVar, a.avail, a.pktRate, a.capacity, a.rate} {
		dst = binary.BigEndian.AppendUint32(dst, v)
	}
	return dst
}

// appendLoss appends the loss list entry for the range [from, to]
// (Appendix A): one number, or a range as its first number with the high
// bit set followed by its last.
func appendLoss(dst []byte, from, to uint32) []byte {
	if from == to {
		return binary.BigEndian.AppendUint32(dst, from&seqMask)
	}
	dst = binary.BigEndian.AppendUint32(dst, from&seqMask|1<<31)
	return binary.BigEndian.AppendUint32(dst, to&seqMask)
}

// parseLoss walks a NAK's loss list (§3.2.5, Appendix A) and calls fn for
// every range. A range whose end precedes its start, or a dangling range
// start, is an error; entries before it are reported.
func parseLoss(cif []byte, fn func(from, to uint32)) error {
	for i := 0; i+4 <= len(cif); i += 4 {
		v := binary.BigEndian.Uint32(cif[i:])
		if v&(1<<31) == 0 {
			fn(v, v)
			continue
		}
		if i+8 > len(cif) {
			return ErrShortPacket
		}
		from, to := v&seqMask, binary.BigEndian.Uint32(cif[i+4:])&seqMask
		if seqDiff(to, from) < 0 {
			return ErrBadPacket
		}
		fn(from, to)
		i += 4
	}
	return nil
}

// parseDropReq parses a message drop request CIF (§3.2.9): the first and
// last sequence numbers of the dropped message.
func parseDropReq(cif []byte) (first, last uint32, err error) {
	if len(cif) < 8 {
		return 0, 0, ErrShortPacket
	}
	first = binary.BigEndian.Uint32(cif[0:4]) & seqMask
	last = binary.BigEndian.Uint32(cif[4:8]) & seqMask
	if seqDiff(last, first) < 0 {
		return 0, 0, ErrBadPacket
	}
	return first, last, nil
}
