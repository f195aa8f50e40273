// Package stun is the little of STUN (RFC 8489) that ICE (RFC 8445 §7)
// needs on both ends of a WebRTC session: binding requests with USERNAME,
// PRIORITY, ICE-CONTROLLING and USE-CANDIDATE, success responses with
// XOR-MAPPED-ADDRESS, both sealed with MESSAGE-INTEGRITY (the short-term
// ice-pwd) and FINGERPRINT. Our own few lines rather than pion/stun, which
// brings a network stack abstraction along (size).
//
// It imports the standard library only.
package stun

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/binary"
	"hash/crc32"
	"net/netip"
)

// Message types and attributes.
const (
	HeaderLen      = 20
	Magic          = 0x2112A442
	BindingRequest = 0x0001
	BindingSuccess = 0x0101

	AttrUsername         = 0x0006
	AttrMessageIntegrity = 0x0008
	AttrXORMappedAddress = 0x0020
	AttrPriority         = 0x0024
	AttrUseCandidate     = 0x0025
	AttrFingerprint      = 0x8028
	AttrICEControlling   = 0x802A

	FingerprintXOR = 0x5354554e
)

// Type returns the message type and transaction id of a STUN message, ok
// false for anything that is not one (junk, truncated).
func Type(b []byte) (typ uint16, txID []byte, ok bool) {
	if len(b) < HeaderLen || b[0]&0xc0 != 0 || binary.BigEndian.Uint32(b[4:]) != Magic ||
		HeaderLen+int(binary.BigEndian.Uint16(b[2:])) != len(b) {
		return 0, nil, false
	}
	return binary.BigEndian.Uint16(b), b[8:20], true
}

// Request is a parsed binding request: the local and remote username
// fragments (USERNAME "local:remote", RFC 8445 §7.2.2).
type Request struct {
	Raw           []byte // the whole message
	TxID          []byte // 12 bytes, aliases Raw
	Local, Remote string
	UseCandidate  bool
	miOff         int // offset of MESSAGE-INTEGRITY's attribute header; -1 when absent
	fpOff         int // offset of FINGERPRINT's attribute header; -1 when absent
}

// ParseRequest decodes a binding request. It reports false for anything
// else: responses, indications, junk and truncated messages.
func ParseRequest(b []byte) (Request, bool) {
	r := Request{miOff: -1, fpOff: -1}
	if len(b) < HeaderLen || b[0]&0xc0 != 0 || binary.BigEndian.Uint32(b[4:]) != Magic {
		return r, false
	}
	n := int(binary.BigEndian.Uint16(b[2:]))
	if n%4 != 0 || HeaderLen+n != len(b) || binary.BigEndian.Uint16(b) != BindingRequest {
		return r, false
	}
	r.Raw, r.TxID = b, b[8:20]
	var user []byte
	for off := HeaderLen; off < len(b); {
		if off+4 > len(b) {
			return r, false
		}
		t := binary.BigEndian.Uint16(b[off:])
		l := int(binary.BigEndian.Uint16(b[off+2:]))
		v := off + 4
		if v+l > len(b) {
			return r, false
		}
		switch {
		case r.fpOff >= 0:
			return r, false // nothing may follow FINGERPRINT
		case t == AttrFingerprint:
			if l != 4 {
				return r, false
			}
			r.fpOff = off
		case r.miOff >= 0:
			// Only FINGERPRINT may follow MESSAGE-INTEGRITY: ignore the rest.
		case t == AttrMessageIntegrity:
			if l != 20 {
				return r, false
			}
			r.miOff = off
		case t == AttrUsername:
			user = b[v : v+l]
		case t == AttrUseCandidate:
			r.UseCandidate = true
		}
		off = v + (l+3)&^3
	}
	local, remote, ok := bytes.Cut(user, []byte{':'})
	if !ok || len(local) == 0 {
		return r, false
	}
	r.Local, r.Remote = string(local), string(remote)
	return r, true
}

// CheckIntegrity verifies MESSAGE-INTEGRITY with the short-term key pwd
// (RFC 8489 §14.5: HMAC-SHA1 over the message up to the attribute, with the
// length field counting it) and FINGERPRINT when present (§14.7).
func (r *Request) CheckIntegrity(pwd string) bool {
	if r.miOff < 0 {
		return false
	}
	if r.fpOff >= 0 {
		want := binary.BigEndian.Uint32(r.Raw[r.fpOff+4:])
		if crc32.ChecksumIEEE(r.Raw[:r.fpOff])^FingerprintXOR != want {
			return false
		}
	}
	var hdr [HeaderLen]byte
	copy(hdr[:], r.Raw)
	binary.BigEndian.PutUint16(hdr[2:], uint16(r.miOff+24-HeaderLen))
	mac := hmac.New(sha1.New, []byte(pwd))
	mac.Write(hdr[:])
	mac.Write(r.Raw[HeaderLen:r.miOff])
	return hmac.Equal(mac.Sum(nil), r.Raw[r.miOff+4:r.miOff+24])
}

// appendHeader starts a message of type typ with transaction txID; its
// length is set by appendIntegrity.
func appendHeader(dst []byte, typ uint16, txID []byte) []byte {
	dst = binary.BigEndian.AppendUint16(dst, typ)
	dst = append(dst, 0, 0)
	dst = binary.BigEndian.AppendUint32(dst, Magic)
	return append(dst, txID[:12]...)
}

// appendAttr appends one attribute padded to 4 bytes.
func appendAttr(dst []byte, typ uint16, v []byte) []byte {
	dst = binary.BigEndian.AppendUint16(dst, typ)
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(v)))
	dst = append(dst, v...)
	for len(dst)%4 != 0 {
		dst = append(dst, 0)
	}
	return dst
}

// AppendBindingRequest appends a controlling agent's nominating binding
// request: USERNAME "remote:local", PRIORITY, ICE-CONTROLLING with
// tieBreaker, USE-CANDIDATE, keyed with the remote ice-pwd.
func AppendBindingRequest(dst, txID []byte, remoteUfrag, localUfrag, remotePwd string, priority uint32, tieBreaker uint64) []byte {
	start := len(dst)
	dst = appendHeader(dst, BindingRequest, txID)
	dst = appendAttr(dst, AttrUsername, []byte(remoteUfrag+":"+localUfrag))
	dst = appendAttr(dst, AttrPriority, binary.BigEndian.AppendUint32(nil, priority))
	dst = appendAttr(dst, AttrICEControlling, binary.BigEndian.AppendUint64(nil, tieBreaker))
	dst = appendAttr(dst, AttrUseCandidate, nil)
	return appendIntegrity(dst, start, remotePwd)
}

// AppendBindingSuccess appends the response to a binding request with txID
// from addr: XOR-MAPPED-ADDRESS (RFC 8489 §14.2), MESSAGE-INTEGRITY with
// pwd, FINGERPRINT.
func AppendBindingSuccess(dst []byte, txID []byte, addr netip.AddrPort, pwd string) []byte {
	start := len(dst)
	dst = appendHeader(dst, BindingSuccess, txID)
	ip := addr.Addr().Unmap()
	fam, alen := byte(1), 4
	if ip.Is6() {
		fam, alen = 2, 16
	}
	dst = binary.BigEndian.AppendUint16(dst, AttrXORMappedAddress)
	dst = binary.BigEndian.AppendUint16(dst, uint16(4+alen))
	dst = append(dst, 0, fam)
	dst = binary.BigEndian.AppendUint16(dst, addr.Port()^uint16(Magic>>16))
	var key [16]byte
	binary.BigEndian.PutUint32(key[:], Magic)
	copy(key[4:], txID)
	a := ip.AsSlice()
	for i := range a {
		dst = append(dst, a[i]^key[i])
	}
	return appendIntegrity(dst, start, pwd)
}

// appendIntegrity ends the message that starts at dst[start:] with
// MESSAGE-INTEGRITY (key pwd) and FINGERPRINT, each computed over the
// message before it with the length field counting it (RFC 8489 §14.5,
// §14.7).
func appendIntegrity(dst []byte, start int, pwd string) []byte {
	msg := dst[start:]
	binary.BigEndian.PutUint16(msg[2:], uint16(len(msg)-HeaderLen+24))
	mac := hmac.New(sha1.New, []byte(pwd))
	mac.Write(msg)
	dst = binary.BigEndian.AppendUint16(dst, AttrMessageIntegrity)
	dst = binary.BigEndian.AppendUint16(dst, 20)
	dst = mac.Sum(dst)
	msg = dst[start:]
	binary.BigEndian.PutUint16(msg[2:], uint16(len(msg)-HeaderLen+8))
	crc := crc32.ChecksumIEEE(msg) ^ FingerprintXOR
	dst = binary.BigEndian.AppendUint16(dst, AttrFingerprint)
	dst = binary.BigEndian.AppendUint16(dst, 4)
	return binary.BigEndian.AppendUint32(dst, crc)
}
