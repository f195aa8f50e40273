package srt

// Sequence numbers are 31 bits and wrap (§3.1); message numbers are 26 bits.
const (
	seqMask   = 1<<31 - 1
	msgNoMask = 1<<26 - 1
)

// seqDiff returns a-b as a signed distance on the 31-bit circle.
func seqDiff(a, b uint32) int32 { return int32((a-b)<<1) >> 1 }

// seqAdd returns s+n on the 31-bit circle.
func seqAdd(s uint32, n int32) uint32 { return (s + uint32(n)) & seqMask }

// seqLess reports whether a comes before b.
func seqLess(a, b uint32) bool { return seqDiff(a, b) < 0 }
