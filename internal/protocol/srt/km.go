package srt

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
)

// Key material message constants, §3.2.2 Figure 11.
const (
	kmHeaderSize = 16
	kmSign       = 0x2029 // "HAI" in PnP Vendor ID big-endian form
	kmVersion    = 1
	kmPacketType = 2 // KMmsg
	cipherAESCTR = 2
	seMPEGTSSRT  = 2 // stream encapsulation: MPEG-TS over SRT
	saltSize     = 16
	wrapICVSize  = 8 // RFC 3394 integrity check value
	// pbkdf2Iter and pbkdf2SaltSize are libsrt's (haicrypt): 2048 rounds
	// of HMAC-SHA1 over the last 64 bits of the salt (§6.1.4).
	pbkdf2Iter     = 2048
	pbkdf2SaltSize = 8
)

// KM states sent alone in a KMRSP that refuses a KMREQ (libsrt
// SRT_KM_S_*).
const (
	kmStateUnsecured = 0
	kmStateNoSecret  = 3
	kmStateBadSecret = 4
)

// Errors of the key material exchange.
var (
	// ErrBadSecret reports key material that the passphrase does not
	// unwrap: the peers' passphrases differ.
	ErrBadSecret = errors.New("srt: wrong passphrase")
	// ErrBadKM reports a malformed or unsupported key material message.
	ErrBadKM = errors.New("srt: bad key material")
)

// keyMaterial is a parsed KM message, §3.2.2.
type keyMaterial struct {
	kk      uint8 // which keys are wrapped: kkEven, kkOdd or both
	salt    []byte
	keyLen  int
	wrapped []byte // ICV and the wrapped keys, even first
}

// parseKM parses a key material message. It checks the fields libsrt
// checks: version, packet type, signature, cipher (AES-CTR only), salt and
// key lengths.
func parseKM(b []byte) (*keyMaterial, error) {
	if len(b) < kmHeaderSize {
		return nil, fmt.Errorf("%w: %d bytes", ErrBadKM, len(b))
	}
	if b[0]>>4&7 != kmVersion || b[0]&0xF != kmPacketType || binary.BigEndian.Uint16(b[1:3]) != kmSign {
		return nil, fmt.Errorf("%w: not a KM message", ErrBadKM)
	}
	km := &keyMaterial{kk: b[3] & 3}
	if km.kk == 0 {
		return nil, fmt.Errorf("%w: no key", ErrBadKM)
	}
	if b[8] != cipherAESCTR {
		return nil, fmt.Errorf("%w: cipher %d, only AES-CTR (2) is supported", ErrBadKM, b[8])
	}
	slen, klen := int(b[14])*4, int(b[15])*4
	if slen != saltSize {
		return nil, fmt.Errorf("%w: salt of %d bytes", ErrBadKM, slen)
	}
	if klen != 16 && klen != 24 && klen != 32 {
		return nil, fmt.Errorf("%w: key of %d bytes", ErrBadKM, klen)
	}
	nkeys := 1
	if km.kk == kkEven|kkOdd {
		nkeys = 2
	}
	need := kmHeaderSize + slen + wrapICVSize + nkeys*klen
	if len(b) < need {
		return nil, fmt.Errorf("%w: %d bytes, want %d", ErrBadKM, len(b), need)
	}
	km.keyLen = klen
	km.salt = b[kmHeaderSize : kmHeaderSize+slen]
	km.wrapped = b[kmHeaderSize+slen : need]
	return km, nil
}

// appendKM appends a KM message for wrapped keys (ICV included).
func appendKM(dst []byte, kk uint8, salt []byte, keyLen int, wrapped []byte) []byte {
	dst = append(dst, kmVersion<<4|kmPacketType, kmSign>>8, kmSign&0xFF, kk&3)
	dst = append(dst, 0, 0, 0, 0) // KEKI: the default stream encrypting key
	dst = append(dst, cipherAESCTR, 0, seMPEGTSSRT, 0)
	dst = append(dst, 0, 0, byte(len(salt)/4), byte(keyLen/4))
	dst = append(dst, salt...)
	return append(dst, wrapped...)
}

// deriveKEK derives the key encrypting key from the passphrase, §6.1.4:
// PBKDF2-HMAC-SHA1 over the last 8 bytes of the salt, 2048 rounds, as
// libsrt does.
func deriveKEK(passphrase string, salt []byte, keyLen int) ([]byte, error) {
	return pbkdf2.Key(sha1.New, passphrase, salt[len(salt)-pbkdf2SaltSize:], pbkdf2Iter, keyLen)
}

// wrapIV is the default initial value of RFC 3394 §2.2.3.1.
var wrapIV = [8]byte{0xA6, 0xA6, 0xA6, 0xA6, 0xA6, 0xA6, 0xA6, 0xA6}

// keyWrap wraps plaintext (a multiple of 8 bytes, at least 16) with kek,
// RFC 3394 §2.2.1, and returns the ICV followed by the wrapped key.
func keyWrap(kek, plaintext []byte) ([]byte, error) {
	blk, err := aes.NewCipher(kek)
	if err != nil {
		return nil, err
	}
	n := len(plaintext) / 8
	if len(plaintext)%8 != 0 || n < 2 {
		return nil, fmt.Errorf("%w: key wrap of %d bytes", ErrBadKM, len(plaintext))
	}
	out := make([]byte, 8+len(plaintext))
	copy(out[8:], plaintext)
	var a [8]byte = wrapIV
	var b [16]byte
	for j := 0; j <= 5; j++ {
		for i := 1; i <= n; i++ {
			r := out[8*i : 8*i+8]
			copy(b[:8], a[:])
			copy(b[8:], r)
			blk.Encrypt(b[:], b[:])
			t := uint64(n*j + i)
			binary.BigEndian.PutUint64(a[:], binary.BigEndian.Uint64(b[:8])^t)
			copy(r, b[8:])
		}
	}
	copy(out[:8], a[:])
	return out, nil
}

// keyUnwrap reverses keyWrap, RFC 3394 §2.2.2, and checks the integrity
// value: a mismatch means a wrong key encrypting key (ErrBadSecret).
func keyUnwrap(kek, wrapped []byte) ([]byte, error) {
	blk, err := aes.NewCipher(kek)
	if err != nil {
		return nil, err
	}
	n := len(wrapped)/8 - 1
	if len(wrapped)%8 != 0 || n < 2 {
		return nil, fmt.Errorf("%w: key unwrap of %d bytes", ErrBadKM, len(wrapped))
	}
	out := make([]byte, 8*n)
	copy(out, wrapped[8:])
	var a [8]byte
	copy(a[:], wrapped[:8])
	var b [16]byte
	for j := 5; j >= 0; j-- {
		for i := n; i >= 1; i-- {
			r := out[8*(i-1) : 8*i]
			t := uint64(n*j + i)
			binary.BigEndian.PutUint64(b[:8], binary.BigEndian.Uint64(a[:])^t)
			copy(b[8:], r)
			blk.Decrypt(b[:], b[:])
			copy(a[:], b[:8])
			copy(r, b[8:])
		}
	}
	if subtle.ConstantTimeCompare(a[:], wrapIV[:]) != 1 {
		return nil, ErrBadSecret
	}
	return out, nil
}

// crypter encrypts and decrypts the payloads of one connection with AES-CTR
// (§6.1.2, §6.3.2, §6.4.2). The even and odd stream encrypting keys may both
// be live during a key refresh (§6.1.5).
type crypter struct {
	passphrase string
	keyLen     int
	salt       [saltSize]byte
	keys       [2]cipher.Block // [0] even, [1] odd; nil when not set
	sendKK     uint8           // the key we encrypt with
	km         []byte          // our last KM message (caller: the KMREQ we sent)
}

// newCrypter makes fresh keys for a caller: a random salt and a random even
// stream encrypting key, wrapped into a KM message for the KMREQ (§6.3.1).
func newCrypter(passphrase string, keyLen int) (*crypter, error) {
	c := &crypter{passphrase: passphrase, keyLen: keyLen, sendKK: kkEven}
	sek := make([]byte, keyLen)
	if _, err := rand.Read(c.salt[:]); err != nil {
		return nil, err
	}
	if _, err := rand.Read(sek); err != nil {
		return nil, err
	}
	kek, err := deriveKEK(passphrase, c.salt[:], keyLen)
	if err != nil {
		return nil, err
	}
	wrapped, err := keyWrap(kek, sek)
	if err != nil {
		return nil, err
	}
	if c.keys[0], err = aes.NewCipher(sek); err != nil {
		return nil, err
	}
	c.km = appendKM(nil, kkEven, c.salt[:], keyLen, wrapped)
	return c, nil
}

// crypterFromKM restores the stream encrypting keys of a peer's KM message
// with the passphrase (§6.4.1). A wrong passphrase gives ErrBadSecret.
func crypterFromKM(passphrase string, msg []byte) (*crypter, error) {
	c := &crypter{passphrase: passphrase}
	if err := c.update(msg); err != nil {
		return nil, err
	}
	if c.keys[0] != nil {
		c.sendKK = kkEven
	} else {
		c.sendKK = kkOdd
	}
	return c, nil
}

// update installs the keys of a KM message: the handshake's, or a refresh
// (§6.1.5) that announces a new odd or even key, or both.
func (c *crypter) update(msg []byte) error {
	km, err := parseKM(msg)
	if err != nil {
		return err
	}
	if c.keyLen != 0 && km.keyLen != c.keyLen {
		return fmt.Errorf("%w: key length changed from %d to %d", ErrBadKM, c.keyLen, km.keyLen)
	}
	kek, err := deriveKEK(c.passphrase, km.salt, km.keyLen)
	if err != nil {
		return err
	}
	seks, err := keyUnwrap(kek, km.wrapped)
	if err != nil {
		return err
	}
	var blocks [2]cipher.Block
	off := 0
	for i, bit := range [...]uint8{kkEven, kkOdd} {
		if km.kk&bit == 0 {
			continue
		}
		if blocks[i], err = aes.NewCipher(seks[off : off+km.keyLen]); err != nil {
			return err
		}
		off += km.keyLen
	}
	c.keyLen = km.keyLen
	copy(c.salt[:], km.salt)
	for i := range blocks {
		if blocks[i] != nil {
			c.keys[i] = blocks[i]
		}
	}
	c.km = append(c.km[:0], msg...)
	return nil
}

// xor encrypts or decrypts payload in place with the key kk (kkEven or
// kkOdd) for the packet with sequence number seq: AES-CTR with the IV of
// §6.1.2, the salt's first 112 bits XOR the packet index shifted left by
// 16 bits. It reports false when that key is not set.
func (c *crypter) xor(kk uint8, seq uint32, payload []byte) bool {
	if kk != kkEven && kk != kkOdd {
		return false
	}
	blk := c.keys[kk-1]
	if blk == nil {
		return false
	}
	var iv [16]byte
	binary.BigEndian.PutUint32(iv[10:14], seq)
	for i := 0; i < 14; i++ {
		iv[i] ^= c.salt[i]
	}
	cipher.NewCTR(blk, iv[:]).XORKeyStream(payload, payload)
	return true
}

// kmResponseState is the one-word KMRSP that refuses a KMREQ.
func kmResponseState(state uint32) []byte {
	return binary.BigEndian.AppendUint32(nil, state)
}
