package srt

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strconv"
)

// Handshake types, §3.2.1 Table 4. Values from 1000 up are rejections: the
// reject reason plus 1000 (libsrt URQ_FAILURE_TYPES).
const (
	hsDone       = 0xFFFFFFFD
	hsAgreement  = 0xFFFFFFFE
	hsConclusion = 0xFFFFFFFF
	hsWaveahand  = 0x00000000
	hsInduction  = 0x00000001
	hsRejectBase = 1000
)

// Handshake constants, §3.2.1 and §4.3.1.
const (
	hsCIFSize   = 48
	srtMagic    = 0x4A17 // Extension Field of an HSv5 induction response
	udtDgram    = 2      // Extension Field of an HSv4/HSv5 induction request
	maxSIDBytes = 512    // libsrt's SRT_STREAMID_MAX (§3.2.1.3)
)

// Handshake extension flags (the Extension Field of a conclusion), §3.2.1
// Table 5.
const (
	hsExtHSREQ  = 0x1
	hsExtKMREQ  = 0x2
	hsExtCONFIG = 0x4
)

// Handshake extension types, §3.2.1 Table 5.
const (
	extTypeHSREQ      = 1
	extTypeHSRSP      = 2
	extTypeKMREQ      = 3
	extTypeKMRSP      = 4
	extTypeSID        = 5
	extTypeCongestion = 6
	extTypeFilter     = 7
	extTypeGroup      = 8
)

// SRT flags of HSREQ/HSRSP, §3.2.1.1.1 Table 6.
const (
	flagTSBPDSND     = 0x01
	flagTSBPDRCV     = 0x02
	flagCRYPT        = 0x04
	flagTLPKTDROP    = 0x08
	flagPERIODICNAK  = 0x10
	flagREXMITFLG    = 0x20
	flagSTREAM       = 0x40
	flagPacketFilter = 0x80
)

// srtVersion is the SRT version we announce in HSREQ/HSRSP: 1.5.0.
const srtVersion = 0x010500

// ourFlags are the SRT flags we announce: TSBPD both ways, crypto capable,
// too-late drop, periodic NAK and the rexmit flag (live mode).
const ourFlags = flagTSBPDSND | flagTSBPDRCV | flagCRYPT | flagTLPKTDROP | flagPERIODICNAK | flagREXMITFLG

// RejectReason is why a handshake was refused: SRT_REJ_* below 1000,
// access control reasons (SRT_REJX_*, HTTP-like) from 1000 up. On the wire it
// is the handshake type minus 1000.
type RejectReason int

// Reject reasons, libsrt's SRT_REJ_* (srt.h) and SRT_REJX_* (access_control.h).
const (
	RejUnknown    RejectReason = 0
	RejSystem     RejectReason = 1
	RejPeer       RejectReason = 2
	RejResource   RejectReason = 3
	RejRogue      RejectReason = 4
	RejBacklog    RejectReason = 5
	RejIPE        RejectReason = 6
	RejClose      RejectReason = 7
	RejVersion    RejectReason = 8
	RejRdvCookie  RejectReason = 9
	RejBadSecret  RejectReason = 10
	RejUnsecure   RejectReason = 11
	RejMessageAPI RejectReason = 12
	RejCongestion RejectReason = 13
	RejFilter     RejectReason = 14
	RejGroup      RejectReason = 15
	RejTimeout    RejectReason = 16

	RejXBadRequest RejectReason = 1400
	RejXForbidden  RejectReason = 1403
	RejXNotFound   RejectReason = 1404
	RejXBadMode    RejectReason = 1405
	RejXConflict   RejectReason = 1409
	RejXOverload   RejectReason = 1402
	RejXISE        RejectReason = 1500
	RejXDown       RejectReason = 1503
)

var rejectNames = map[RejectReason]string{
	RejUnknown:     "SRT_REJ_UNKNOWN",
	RejSystem:      "SRT_REJ_SYSTEM",
	RejPeer:        "SRT_REJ_PEER",
	RejResource:    "SRT_REJ_RESOURCE",
	RejRogue:       "SRT_REJ_ROGUE",
	RejBacklog:     "SRT_REJ_BACKLOG",
	RejIPE:         "SRT_REJ_IPE",
	RejClose:       "SRT_REJ_CLOSE",
	RejVersion:     "SRT_REJ_VERSION",
	RejRdvCookie:   "SRT_REJ_RDVCOOKIE",
	RejBadSecret:   "SRT_REJ_BADSECRET",
	RejUnsecure:    "SRT_REJ_UNSECURE",
	RejMessageAPI:  "SRT_REJ_MESSAGEAPI",
	RejCongestion:  "SRT_REJ_CONGESTION",
	RejFilter:      "SRT_REJ_FILTER",
	RejGroup:       "SRT_REJ_GROUP",
	RejTimeout:     "SRT_REJ_TIMEOUT",
	RejXBadRequest: "SRT_REJX_BAD_REQUEST",
	RejXForbidden:  "SRT_REJX_FORBIDDEN",
	RejXNotFound:   "SRT_REJX_NOTFOUND",
	RejXBadMode:    "SRT_REJX_BAD_MODE",
	RejXConflict:   "SRT_REJX_CONFLICT",
	RejXOverload:   "SRT_REJX_OVERLOAD",
	RejXISE:        "SRT_REJX_ISE",
	RejXDown:       "SRT_REJX_DOWN",
}

// String returns libsrt's name of the reason.
func (r RejectReason) String() string {
	if n, ok := rejectNames[r]; ok {
		return n
	}
	return "SRT_REJ(" + strconv.Itoa(int(r)) + ")"
}

// Error makes a RejectReason an error: a listener's Check returns one to
// refuse a caller with that reason, and Dial returns one when refused.
func (r RejectReason) Error() string { return "srt: connection rejected: " + r.String() }

// hsExt is an HSREQ/HSRSP extension, §3.2.1.1 Figure 6.
type hsExt struct {
	version  uint32
	flags    uint32
	rcvDelay uint16 // ms: the TSBPD delay of the sender of this message as a receiver
	sndDelay uint16 // ms: the TSBPD delay it asks of its peer's receiver
}

// handshake is a handshake CIF with its extensions, §3.2.1 Figure 5.
type handshake struct {
	version    uint32
	encryption uint16
	extField   uint16
	isn        uint32
	mtu        uint32
	flowWindow uint32
	typ        uint32
	socketID   uint32
	cookie     uint32
	peerIP     [16]byte // wire form: each 32-bit word of the address byte-reversed

	// Extensions (a conclusion of HSv5 only).
	hs         *hsExt // HSREQ or HSRSP
	hsType     uint16
	km         []byte // KMREQ or KMRSP contents, aliases the parsed packet
	kmType     uint16
	streamID   string
	congestion string
	filter     bool
	group      bool
}

// parseHandshake parses a handshake CIF and, for an HSv5 conclusion, its
// extensions.
func parseHandshake(cif []byte) (*handshake, error) {
	if len(cif) < hsCIFSize {
		return nil, ErrShortPacket
	}
	u := func(o int) uint32 { return binary.BigEndian.Uint32(cif[o:]) }
	h := &handshake{
		version:    u(0),
		encryption: binary.BigEndian.Uint16(cif[4:]),
		extField:   binary.BigEndian.Uint16(cif[6:]),
		isn:        u(8) & seqMask,
		mtu:        u(12),
		flowWindow: u(16),
		typ:        u(20),
		socketID:   u(24),
		cookie:     u(28),
	}
	copy(h.peerIP[:], cif[32:48])
	if h.version < 5 || h.typ != hsConclusion {
		return h, nil
	}
	p := cif[hsCIFSize:]
	for len(p) > 0 {
		if len(p) < 4 {
			return nil, fmt.Errorf("%w: truncated extension header", ErrBadPacket)
		}
		typ := binary.BigEndian.Uint16(p[0:2])
		n := int(binary.BigEndian.Uint16(p[2:4])) * 4
		p = p[4:]
		if n > len(p) {
			return nil, fmt.Errorf("%w: extension %d of %d bytes in %d", ErrBadPacket, typ, n, len(p))
		}
		body := p[:n]
		p = p[n:]
		switch typ {
		case extTypeHSREQ, extTypeHSRSP:
			if n < 12 {
				return nil, fmt.Errorf("%w: HSREQ of %d bytes", ErrBadPacket, n)
			}
			h.hsType = typ
			h.hs = &hsExt{
				version:  binary.BigEndian.Uint32(body[0:]),
				flags:    binary.BigEndian.Uint32(body[4:]),
				rcvDelay: binary.BigEndian.Uint16(body[8:]),
				sndDelay: binary.BigEndian.Uint16(body[10:]),
			}
		case extTypeKMREQ, extTypeKMRSP:
			h.kmType, h.km = typ, body
		case extTypeSID:
			if n > maxSIDBytes {
				return nil, fmt.Errorf("%w: stream id of %d bytes, at most %d", ErrBadPacket, n, maxSIDBytes)
			}
			h.streamID = unswapString(body)
		case extTypeCongestion:
			h.congestion = unswapString(body)
		case extTypeFilter:
			h.filter = true
		case extTypeGroup:
			h.group = true
		}
	}
	return h, nil
}

// append appends the handshake CIF and its extensions to dst.
func (h *handshake) append(dst []byte) []byte {
	be := binary.BigEndian
	dst = be.AppendUint32(dst, h.version)
	dst = be.AppendUint16(dst, h.encryption)
	dst = be.AppendUint16(dst, h.extField)
	dst = be.AppendUint32(dst, h.isn&seqMask)
	dst = be.AppendUint32(dst, h.mtu)
	dst = be.AppendUint32(dst, h.flowWindow)
	dst = be.AppendUint32(dst, h.typ)
	dst = be.AppendUint32(dst, h.socketID)
	dst = be.AppendUint32(dst, h.cookie)
	dst = append(dst, h.peerIP[:]...)
	if h.hs != nil {
		dst = be.AppendUint16(dst, h.hsType)
		dst = be.AppendUint16(dst, 3)
		dst = be.AppendUint32(dst, h.hs.version)
		dst = be.AppendUint32(dst, h.hs.flags)
		dst = be.AppendUint16(dst, h.hs.rcvDelay)
		dst = be.AppendUint16(dst, h.hs.sndDelay)
	}
	if h.km != nil {
		dst = be.AppendUint16(dst, h.kmType)
		dst = be.AppendUint16(dst, uint16((len(h.km)+3)/4))
		dst = append(dst, h.km...)
		for i := len(h.km); i%4 != 0; i++ {
			dst = append(dst, 0)
		}
	}
	if h.streamID != "" {
		dst = appendSwapped(dst, extTypeSID, h.streamID)
	}
	if h.congestion != "" {
		dst = appendSwapped(dst, extTypeCongestion, h.congestion)
	}
	return dst
}

// appendSwapped appends a string extension. libsrt sends strings as 32-bit
// words in host order on little-endian machines, so each group of four bytes
// is reversed on the wire (§3.2.1.3), zero-padded to a whole word.
func appendSwapped(dst []byte, typ uint16, s string) []byte {
	n := (len(s) + 3) / 4
	dst = binary.BigEndian.AppendUint16(dst, typ)
	dst = binary.BigEndian.AppendUint16(dst, uint16(n))
	for i := 0; i < n; i++ {
		var w [4]byte
		copy(w[:], s[min(4*i, len(s)):min(4*i+4, len(s))])
		dst = append(dst, w[3], w[2], w[1], w[0])
	}
	return dst
}

// unswapString undoes appendSwapped: it reverses each word and drops the
// zero padding.
func unswapString(b []byte) string {
	out := make([]byte, 0, len(b))
	for i := 0; i+4 <= len(b); i += 4 {
		out = append(out, b[i+3], b[i+2], b[i+1], b[i])
	}
	for len(out) > 0 && out[len(out)-1] == 0 {
		out = out[:len(out)-1]
	}
	return string(out)
}

// wireIP encodes an address for the Peer IP Address field (§3.2.1): the
// 16 bytes of the address (IPv4 in the first four), each 32-bit word
// byte-reversed, as libsrt writes it.
func wireIP(a netip.Addr) (out [16]byte) {
	var raw [16]byte
	if a.Is4() || a.Is4In6() {
		v4 := a.Unmap().As4()
		copy(raw[:4], v4[:])
	} else {
		raw = a.As16()
	}
	for i := 0; i < 16; i += 4 {
		out[i], out[i+1], out[i+2], out[i+3] = raw[i+3], raw[i+2], raw[i+1], raw[i]
	}
	return out
}
