package rtmp

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash"
	"io"
	"math/rand/v2"
)

// Handshake sizes, RTMP 5.2.
const (
	// Version is the RTMP version byte of C0/S0 (RTMP 5.2.2).
	Version = 3
	// HandshakeSize is the size of C1, S1, C2 and S2 (RTMP 5.2.3).
	HandshakeSize = 1536
)

// The digest ("complex") handshake is not in the RTMP 1.0 specification; Flash
// Player, FMS and many encoders use it. C1 and S1 hold two 764-byte blocks
// after time and version: a key block and a digest block, key first (schema
// 0) or digest first (schema 1). A digest block starts with 4 offset bytes;
// the 32-byte digest sits at sum(offset bytes)%728 after them and is an
// HMAC-SHA256 of the other 1504 bytes of the packet.
const (
	digestSize  = 32
	blockSize   = 764
	digestRange = 728
)

var (
	// genuineFMSKey is the server's key; its first 36 bytes (the text) sign
	// S1, the whole key derives the S2 key.
	genuineFMSKey = []byte("Genuine Adobe Flash Media Server 001" +
		"\xf0\xee\xc2\x4a\x80\x68\xbe\xe8\x2e\x00\xd0\xd1\x02\x9e\x7e\x57" +
		"\x6e\xec\x5d\x2d\x29\x80\x6f\xab\x93\xb8\xe6\x36\xcf\xeb\x31\xae")
	// genuineFPKey is the client's key; its first 30 bytes sign C1, the whole
	// key derives the C2 key.
	genuineFPKey = []byte("Genuine Adobe Flash Player 001" +
		"\xf0\xee\xc2\x4a\x80\x68\xbe\xe8\x2e\x00\xd0\xd1\x02\x9e\x7e\x57" +
		"\x6e\xec\x5d\x2d\x29\x80\x6f\xab\x93\xb8\xe6\x36\xcf\xeb\x31\xae")
)

const (
	fmsKeyTextLen = 36
	fpKeyTextLen  = 30
	// serverVersion is the version field of a digest S1 (FMS 3.5.1.1, as
	// servers customarily announce).
	serverVersion = 0x03050101
	// clientVersion is the version field of a digest C1 (Flash Player 9,
	// as librtmp and ffmpeg send).
	clientVersion = 0x09007c02
)

// ServerHandshake runs the server side of the RTMP handshake (RTMP 5.2) on
// rw: it reads C0 and C1, writes S0, S1 and S2 and reads C2. When C1 carries
// a valid digest (schema 0 or 1) it answers with the digest handshake, and
// otherwise with the simple one. C2 is read but not checked, as clients
// differ in what they echo.
//
// It sets no deadlines: the caller bounds it, e.g. with
// net.Conn.SetDeadline before the call and a reset after it. It reads exactly
// the handshake's bytes, so rw can be handed to NewChunkReader afterwards.
func ServerHandshake(rw io.ReadWriter) error {
	var c [1 + HandshakeSize]byte
	if _, err := io.ReadFull(rw, c[:]); err != nil {
		return fmt.Errorf("rtmp: handshake: read c0c1: %w", err)
	}
	if c[0] != Version { // RTMP 5.2.2
		return fmt.Errorf("%w %d", ErrVersion, c[0])
	}
	c1 := c[1:]
	s := make([]byte, 1+2*HandshakeSize)
	s[0] = Version
	s1, s2 := s[1:1+HandshakeSize], s[1+HandshakeSize:]
	fillRandom(s1[8:])
	fillRandom(s2)
	if schema, digest, ok := findDigest(c1, genuineFPKey[:fpKeyTextLen]); ok {
		// Digest handshake: S1 signed with the FMS key in the client's
		// schema, S2 signed with a key derived from C1's digest.
		binary.BigEndian.PutUint32(s1[0:4], 0)
		binary.BigEndian.PutUint32(s1[4:8], serverVersion)
		signPacket(s1, schema, genuineFMSKey[:fmsKeyTextLen])
		signResponse(s2, genuineFMSKey, digest)
	} else {
		// Simple handshake, RTMP 5.2.3/5.2.4: S1 is time, zero, random; S2
		// echoes C1.
		binary.BigEndian.PutUint32(s1[0:4], 0)
		binary.BigEndian.PutUint32(s1[4:8], 0)
		copy(s2, c1)
	}
	if _, err := rw.Write(s); err != nil {
		return fmt.Errorf("rtmp: handshake: write s0s1s2: %w", err)
	}
	if _, err := io.ReadFull(rw, c1); err != nil {
		return fmt.Errorf("rtmp: handshake: read c2: %w", err)
	}
	return nil
}

// ClientHandshake runs the client side of the RTMP handshake (RTMP 5.2) on
// rw: it writes C0 and C1, reads S0, S1 and S2 and writes C2. With complex
// set, C1 carries a schema 0 digest and, when the server answers in kind, S2
// is checked and C2 signed; a server answering with the simple handshake is
// accepted and C2 echoes S1. Without complex, it runs the simple handshake.
//
// It sets no deadlines: the caller bounds it, e.g. with
// net.Conn.SetDeadline. It reads exactly the handshake's bytes.
func ClientHandshake(rw io.ReadWriter, complex bool) error {
	var c [1 + HandshakeSize]byte
	c[0] = Version
	c1 := c[1:]
	fillRandom(c1[8:])
	var c1Digest []byte
	if complex {
		binary.BigEndian.PutUint32(c1[4:8], clientVersion)
		c1Digest = signPacket(c1, 0, genuineFPKey[:fpKeyTextLen])
	}
	if _, err := rw.Write(c[:]); err != nil {
		return fmt.Errorf("rtmp: handshake: write c0c1: %w", err)
	}
	s := make([]byte, 1+2*HandshakeSize)
	if _, err := io.ReadFull(rw, s); err != nil {
		return fmt.Errorf("rtmp: handshake: read s0s1s2: %w", err)
	}
	if s[0] != Version {
		return fmt.Errorf("%w %d", ErrVersion, s[0])
	}
	s1, s2 := s[1:1+HandshakeSize], s[1+HandshakeSize:]
	c2 := c1 // reuse: C1 is not needed any more after the check below
	if _, digest, ok := findDigest(s1, genuineFMSKey[:fmsKeyTextLen]); complex && ok {
		// Some servers sign S1 but echo C1 in S2; accept that too.
		if !verifyResponse(s2, genuineFMSKey, c1Digest) && !bytes.Equal(s2, c1) {
			return ErrHandshakeDigest
		}
		fillRandom(c2)
		signResponse(c2, genuineFPKey, digest)
	} else {
		copy(c2, s1) // RTMP 5.2.3: C2 echoes S1
	}
	if _, err := rw.Write(c2); err != nil {
		return fmt.Errorf("rtmp: handshake: write c2: %w", err)
	}
	return nil
}

// fillRandom fills b with non-cryptographic random bytes: the handshake's
// random fields need no secrecy.
func fillRandom(b []byte) {
	for len(b) >= 8 {
		binary.LittleEndian.PutUint64(b, rand.Uint64())
		b = b[8:]
	}
	for i := range b {
		b[i] = byte(rand.Uint32())
	}
}

// digestOffset returns where the digest of packet p (C1 or S1) sits in the
// given schema.
func digestOffset(p []byte, schema int) int {
	base := 8 // schema 1: the digest block follows time and version
	if schema == 0 {
		base = 8 + blockSize // schema 0: it follows the key block
	}
	sum := int(p[base]) + int(p[base+1]) + int(p[base+2]) + int(p[base+3])
	return base + 4 + sum%digestRange
}

// packetDigest computes the HMAC-SHA256 of p without its 32 digest bytes at
// off.
func packetDigest(p []byte, off int, key []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write(p[:off])
	h.Write(p[off+digestSize:])
	return h.Sum(nil)
}

// findDigest looks for a valid digest in C1 or S1 (schema 0, then schema 1)
// and returns the schema and the digest.
func findDigest(p []byte, key []byte) (schema int, digest []byte, ok bool) {
	for schema := range 2 {
		off := digestOffset(p, schema)
		if want := packetDigest(p, off, key); hmac.Equal(want, p[off:off+digestSize]) {
			return schema, p[off : off+digestSize], true
		}
	}
	return 0, nil, false
}

// signPacket writes the digest of C1 or S1 in the given schema and returns
// it.
func signPacket(p []byte, schema int, key []byte) []byte {
	off := digestOffset(p, schema)
	copy(p[off:], packetDigest(p, off, key))
	return p[off : off+digestSize]
}

// responseMAC returns the HMAC for S2 or C2: its key is the HMAC of the
// peer's digest under the whole genuine key, its data the first 1504 bytes.
func responseMAC(p, key, peerDigest []byte) []byte {
	var h hash.Hash = hmac.New(sha256.New, key)
	h.Write(peerDigest)
	h = hmac.New(sha256.New, h.Sum(nil))
	h.Write(p[:HandshakeSize-digestSize])
	return h.Sum(nil)
}

// signResponse writes the digest into the last 32 bytes of S2 or C2.
func signResponse(p, key, peerDigest []byte) {
	copy(p[HandshakeSize-digestSize:], responseMAC(p, key, peerDigest))
}

// verifyResponse checks the digest of S2 or C2.
func verifyResponse(p, key, peerDigest []byte) bool {
	return bytes.Equal(p[HandshakeSize-digestSize:], responseMAC(p, key, peerDigest))
}
