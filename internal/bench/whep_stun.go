//go:build !nortc && !tiny

package bench

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/binary"
	"hash/crc32"
	"net/netip"
)

// The few lines of STUN (RFC 8489) an ICE controlling client needs (RFC 8445
// §7.1.1, §7.3): binding requests out with USERNAME, PRIORITY,
// ICE-CONTROLLING, USE-CANDIDATE, MESSAGE-INTEGRITY and FINGERPRINT, and
// success responses to a full ICE agent's own checks (pion, Chromium).
// Written here rather than with pion/stun, which the server binary does
// not link either (size).
const (
	stunHeaderLen      = 20
	stunMagic          = 0x2112A442
	stunBindingRequest = 0x0001
	stunBindingSuccess = 0x0101

	stunAttrUsername         = 0x0006
	stunAttrMessageIntegrity = 0x0008
	stunAttrXORMappedAddress = 0x0020
	stunAttrPriority         = 0x0024
	stunAttrUseCandidate     = 0x0025
	stunAttrFingerprint      = 0x8028
	stunAttrICEControlling   = 0x802A

	stunFingerprintXOR = 0x5354554e
	// stunPriority is a host candidate's priority (RFC 8445 §5.1.2.1, type
	// preference 126, local preference 65535, component 1), as a
	// peer-reflexive one (type preference 110) it is learned as.
	stunPriority = 110<<24 | 65535<<8 | 255
)

// appendSTUNHeader starts a message of type typ with transaction txID.
func appendSTUNHeader(dst []byte, typ uint16, txID []byte) []byte {
	dst = binary.BigEndian.AppendUint16(dst, typ)
	dst = binary.BigEndian.AppendUint16(dst, 0) // length, set by the integrity and fingerprint
	dst = binary.BigEndian.AppendUint32(dst, stunMagic)
	return append(dst, txID[:12]...)
}

// appendSTUNAttr appends one attribute padded to 4 bytes.
func appendSTUNAttr(dst []byte, typ uint16, v []byte) []byte {
	dst = binary.BigEndian.AppendUint16(dst, typ)
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(v)))
	dst = append(dst, v...)
	for len(dst)%4 != 0 {
		dst = append(dst, 0)
	}
	return dst
}

// finishSTUN appends MESSAGE-INTEGRITY (HMAC-SHA1 keyed with pwd, RFC 8489
// §14.5) and FINGERPRINT (§14.7) to the message m starts and returns it.
func finishSTUN(m []byte, pwd string) []byte {
	binary.BigEndian.PutUint16(m[2:], uint16(len(m)-stunHeaderLen+24))
	mac := hmac.New(sha1.New, []byte(pwd))
	mac.Write(m)
	m = appendSTUNAttr(m, stunAttrMessageIntegrity, mac.Sum(nil))
	binary.BigEndian.PutUint16(m[2:], uint16(len(m)-stunHeaderLen+8))
	return appendSTUNAttr(m, stunAttrFingerprint,
		binary.BigEndian.AppendUint32(nil, crc32.ChecksumIEEE(m)^stunFingerprintXOR))
}

// appendBindingRequest writes a controlling agent's nominating binding
// request: USERNAME "remote:local", keyed with the remote ice-pwd.
func appendBindingRequest(dst, txID []byte, remoteUfrag, localUfrag, remotePwd string, tieBreaker uint64) []byte {
	m := appendSTUNHeader(dst, stunBindingRequest, txID)
	m = appendSTUNAttr(m, stunAttrUsername, []byte(remoteUfrag+":"+localUfrag))
	m = appendSTUNAttr(m, stunAttrPriority, binary.BigEndian.AppendUint32(nil, stunPriority))
	m = appendSTUNAttr(m, stunAttrICEControlling, binary.BigEndian.AppendUint64(nil, tieBreaker))
	m = appendSTUNAttr(m, stunAttrUseCandidate, nil)
	return finishSTUN(m, remotePwd)
}

// appendBindingSuccess answers the binding request with txID from addr,
// keyed with our ice-pwd.
func appendBindingSuccess(dst, txID []byte, addr netip.AddrPort, localPwd string) []byte {
	m := appendSTUNHeader(dst, stunBindingSuccess, txID)
	ip := addr.Addr().Unmap()
	v := []byte{0, 1}
	if ip.Is6() {
		v[1] = 2
	}
	v = binary.BigEndian.AppendUint16(v, addr.Port()^uint16(stunMagic>>16))
	key := binary.BigEndian.AppendUint32(nil, stunMagic)
	key = append(key, txID[:12]...)
	for i, b := range ip.AsSlice() {
		v = append(v, b^key[i])
	}
	m = appendSTUNAttr(m, stunAttrXORMappedAddress, v)
	return finishSTUN(m, localPwd)
}

// stunType returns the message type and transaction id of a STUN message,
// ok false for anything that is not one.
func stunType(b []byte) (typ uint16, txID []byte, ok bool) {
	if len(b) < stunHeaderLen || b[0]&0xc0 != 0 || binary.BigEndian.Uint32(b[4:]) != stunMagic ||
		stunHeaderLen+int(binary.BigEndian.Uint16(b[2:])) != len(b) {
		return 0, nil, false
	}
	return binary.BigEndian.Uint16(b), b[8:20], true
}
