//go:build !nortc && !tiny

package main

import "github.com/srs-lite/srs-lite/internal/bench"

// WebRTC players for `srs-lite bench play whep://...` (and http WHEP
// endpoints), in builds with WebRTC.
func init() {
	benchPlayers["whep"] = bench.WHEPPlayer
	benchPlayers["wheps"] = bench.WHEPPlayer
}
