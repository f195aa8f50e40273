package stun

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/binary"
	"hash/crc32"
	"net/netip"
	"testing"
)

// TestBindingRequest checks our request's integrity and fingerprint as a
// server checks them (RFC 8489 §14.5, §14.7), and the success answer.
func TestBindingRequest(t *testing.T) {
	tx := bytes.Repeat([]byte{7}, 12)
	m := AppendBindingRequest(nil, tx, "srv", "cli", "srvpwd", 1, 42)
	typ, gotTx, ok := Type(m)
	if !ok || typ != BindingRequest || !bytes.Equal(gotTx, tx) {
		t.Fatalf("Type = %x %x %v", typ, gotTx, ok)
	}
	checkSTUN(t, m, "srvpwd")
	if !bytes.Contains(m, []byte("srv:cli")) {
		t.Errorf("no USERNAME srv:cli in %x", m)
	}
	// The server side reads it back.
	r, ok := ParseRequest(m)
	if !ok || r.Local != "srv" || r.Remote != "cli" || !r.UseCandidate || !bytes.Equal(r.TxID, tx) {
		t.Fatalf("ParseRequest = %+v %v", r, ok)
	}
	if !r.CheckIntegrity("srvpwd") || r.CheckIntegrity("other") {
		t.Error("integrity: the right key fails or a wrong one passes")
	}
	ap := netip.MustParseAddrPort("127.0.0.1:5000")
	resp := AppendBindingSuccess([]byte("prefix"), tx, ap, "clipwd")[len("prefix"):]
	if typ, _, ok := Type(resp); !ok || typ != BindingSuccess {
		t.Fatalf("success type %x", typ)
	}
	checkSTUN(t, resp, "clipwd")
	// XOR-MAPPED-ADDRESS decodes back.
	v := resp[HeaderLen+4 : HeaderLen+12]
	port := binary.BigEndian.Uint16(v[2:]) ^ uint16(Magic>>16)
	ip := binary.BigEndian.Uint32(v[4:]) ^ Magic
	if port != 5000 || ip != 0x7f000001 {
		t.Errorf("xor-mapped %x:%d", ip, port)
	}
	if _, _, ok := Type([]byte{0, 1, 0, 4, 0x21, 0x12, 0xa4, 0x42}); ok {
		t.Error("truncated message accepted")
	}
	if _, ok := ParseRequest(resp); ok {
		t.Error("a response parsed as a request")
	}
}

// checkSTUN verifies m's MESSAGE-INTEGRITY (keyed with pwd) and FINGERPRINT.
func checkSTUN(t *testing.T, m []byte, pwd string) {
	t.Helper()
	n := len(m)
	fpOff, miOff := n-8, n-8-24
	if binary.BigEndian.Uint16(m[fpOff:]) != AttrFingerprint || binary.BigEndian.Uint16(m[miOff:]) != AttrMessageIntegrity {
		t.Fatalf("attributes not at the end: %x", m)
	}
	if crc32.ChecksumIEEE(m[:fpOff])^FingerprintXOR != binary.BigEndian.Uint32(m[fpOff+4:]) {
		t.Error("bad fingerprint")
	}
	c := append([]byte(nil), m[:miOff]...)
	binary.BigEndian.PutUint16(c[2:], uint16(miOff-HeaderLen+24))
	mac := hmac.New(sha1.New, []byte(pwd))
	mac.Write(c)
	if !hmac.Equal(mac.Sum(nil), m[miOff+4:miOff+24]) {
		t.Error("bad message integrity")
	}
}

// FuzzParseRequest: any bytes parse or are refused, never panic.
func FuzzParseRequest(f *testing.F) {
	f.Add(AppendBindingRequest(nil, make([]byte, 12), "a", "b", "pwd", 1, 2))
	f.Add([]byte{0, 1, 0, 4, 0x21, 0x12, 0xa4, 0x42})
	f.Fuzz(func(t *testing.T, b []byte) {
		if r, ok := ParseRequest(b); ok {
			_ = r.CheckIntegrity("pwd")
		}
		_, _, _ = Type(b)
	})
}
