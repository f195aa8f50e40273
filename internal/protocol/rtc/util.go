//go:build !nortc && !tiny

package rtc

import (
	"crypto/rand"
)

// randString returns n random characters of the ICE alphabet (RFC 8839
// §5.4: ice-char is ALPHA / DIGIT / "+" / "/"; we use letters and digits).
func randString(n int) string {
	const alpha = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alpha[int(b[i])%len(alpha)]
	}
	return string(b)
}

// randUint32 returns a random 32-bit number (SSRCs, offsets).
func randUint32() uint32 {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}
