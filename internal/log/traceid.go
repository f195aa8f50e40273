package log

import "math/rand/v2"

const base36 = "0123456789abcdefghijklmnopqrstuvwxyz"

// NewTraceID returns a random connection id in SRS's style: 8 lower-case
// base-36 characters (36^8 ≈ 2.8e12 values), cheap enough for every accept.
// Put it on a connection's logger as "cid" and grep for it.
func NewTraceID() string {
	var b [8]byte
	x := rand.Uint64()
	for i := range b {
		b[i] = base36[x%36]
		x /= 36
	}
	return string(b[:])
}
