//go:build !nortc && !tiny

package rtc

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/binary"
	"hash/crc32"
	"net/netip"
)

// STUN as an ICE-lite server needs it (RFC 8489, RFC 8445 §7.3): binding
// requests in, binding success responses out. Our own few lines rather than
// pion/stun, which brings a network stack abstraction along.
const (
	stunHeaderLen      = 20
	stunMagic          = 0x2112A442
	stunBindingRequest = 0x0001
	stunBindingSuccess = 0x0101

	attrUsername         = 0x0006
	attrMessageIntegrity = 0x0008
	attrXORMappedAddress = 0x0020
	attrUseCandidate     = 0x0025
	attrFingerprint      = 0x8028

	fingerprintXOR = 0x5354554e
)

// stunRequest is a parsed STUN binding request: the local and remote
// username fragments (USERNAME "local:remote", RFC 8445 §7.2.2).
type stunRequest struct {
	raw           []byte // the whole message
	txID          []byte // 12 bytes, aliases raw
	local, remote string
	useCandidate  bool
	miOff         int // offset of MESSAGE-INTEGRITY's attribute header; -1 when absent
	fpOff         int // offset of FINGERPRINT's attribute header; -1 when absent
}

// parseSTUN decodes a binding request. It reports false for anything else:
// responses, indications, junk and truncated messages.
func parseSTUN(b []byte) (stunRequest, bool) {
	r := stunRequest{miOff: -1, fpOff: -1}
	if len(b) < stunHeaderLen || b[0]&0xc0 != 0 || binary.BigEndian.Uint32(b[4:]) != stunMagic {
		return r, false
	}
	n := int(binary.BigEndian.Uint16(b[2:]))
	if n%4 != 0 || stunHeaderLen+n != len(b) || binary.BigEndian.Uint16(b) != stunBindingRequest {
		return r, false
	}
	r.raw, r.txID = b, b[8:20]
	var user []byte
	for off := stunHeaderLen; off < len(b); {
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
		case t == attrFingerprint:
			if l != 4 {
				return r, false
			}
			r.fpOff = off
		case r.miOff >= 0:
			// Only FINGERPRINT may follow MESSAGE-INTEGRITY: ignore the rest.
		case t == attrMessageIntegrity:
			if l != 20 {
				return r, false
			}
			r.miOff = off
		case t == attrUsername:
			user = b[v : v+l]
		case t == attrUseCandidate:
			r.useCandidate = true
		}
		off = v + (l+3)&^3
	}
	local, remote, ok := bytes.Cut(user, []byte{':'})
	if !ok || len(local) == 0 {
		return r, false
	}
	r.local, r.remote = string(local), string(remote)
	return r, true
}

// checkIntegrity verifies MESSAGE-INTEGRITY with the short-term key pwd
// (RFC 8489 §14.5: HMAC-SHA1 over the message up to the attribute, with the
// length field counting it) and FINGERPRINT when present (§14.7).
func (r *stunRequest) checkIntegrity(pwd string) bool {
	if r.miOff < 0 {
		return false
	}
	if r.fpOff >= 0 {
		want := binary.BigEndian.Uint32(r.raw[r.fpOff+4:])
		if crc32.ChecksumIEEE(r.raw[:r.fpOff])^fingerprintXOR != want {
			return false
		}
	}
	var hdr [stunHeaderLen]byte
	copy(hdr[:], r.raw)
	binary.BigEndian.PutUint16(hdr[2:], uint16(r.miOff+24-stunHeaderLen))
	mac := hmac.New(sha1.New, []byte(pwd))
	mac.Write(hdr[:])
	mac.Write(r.raw[stunHeaderLen:r.miOff])
	return hmac.Equal(mac.Sum(nil), r.raw[r.miOff+4:r.miOff+24])
}

// appendBindingSuccess appends the response to a binding request from addr:
// XOR-MAPPED-ADDRESS, MESSAGE-INTEGRITY with pwd, FINGERPRINT.
func appendBindingSuccess(dst []byte, txID []byte, addr netip.AddrPort, pwd string) []byte {
	start := len(dst)
	dst = binary.BigEndian.AppendUint16(dst, stunBindingSuccess)
	dst = append(dst, 0, 0)
	dst = binary.BigEndian.AppendUint32(dst, stunMagic)
	dst = append(dst, txID...)
	// XOR-MAPPED-ADDRESS (RFC 8489 §14.2).
	ip := addr.Addr().Unmap()
	fam, alen := byte(1), 4
	if ip.Is6() {
		fam, alen = 2, 16
	}
	dst = binary.BigEndian.AppendUint16(dst, attrXORMappedAddress)
	dst = binary.BigEndian.AppendUint16(dst, uint16(4+alen))
	dst = append(dst, 0, fam)
	dst = binary.BigEndian.AppendUint16(dst, addr.Port()^uint16(stunMagic>>16))
	key := make([]byte, 16)
	binary.BigEndian.PutUint32(key, stunMagic)
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
	binary.BigEndian.PutUint16(msg[2:], uint16(len(msg)-stunHeaderLen+24))
	mac := hmac.New(sha1.New, []byte(pwd))
	mac.Write(msg)
	dst = binary.BigEndian.AppendUint16(dst, attrMessageIntegrity)
	dst = binary.BigEndian.AppendUint16(dst, 20)
	dst = mac.Sum(dst)
	msg = dst[start:]
	binary.BigEndian.PutUint16(msg[2:], uint16(len(msg)-stunHeaderLen+8))
	crc := crc32.ChecksumIEEE(msg) ^ fingerprintXOR
	dst = binary.BigEndian.AppendUint16(dst, attrFingerprint)
	dst = binary.BigEndian.AppendUint16(dst, 4)
	return binary.BigEndian.AppendUint32(dst, crc)
}

// handleSTUN answers a binding request of a known session whose
// MESSAGE-INTEGRITY checks with the session's ice-pwd (RFC 8489 §9.1),
// and latches the session onto the request's source address. Everything
// else is dropped: an ICE-lite server never sends requests of its own.
func (s *Server) handleSTUN(b []byte, from netip.AddrPort, tc *tcpConn) {
	req, ok := parseSTUN(b)
	if !ok {
		s.stats.STUNBad.Add(1)
		return
	}
	s.mu.Lock()
	p := s.byUfrag[req.local]
	s.mu.Unlock()
	if p == nil || (p.remoteUfrag != "" && req.remote != p.remoteUfrag) || !req.checkIntegrity(p.pwd) {
		s.stats.STUNBad.Add(1)
		return
	}
	var buf [128]byte
	resp := appendBindingSuccess(buf[:0], req.txID, from, p.pwd)
	if tc != nil {
		_ = tc.write(resp)
	} else {
		_ = s.writeTo(resp, from)
	}
	s.mu.Lock()
	s.byAddr[from] = p
	s.mu.Unlock()
	p.bound(from, tc)
}
