//go:build !tiny && !nortc

package main

import "github.com/srs-lite/srs-lite/internal/bench"

// srs-lite bench play whep://HOST:1985/APP/STREAM (or the http URL of a
// WHEP endpoint): the bench package's lean WebRTC client.
func init() {
	extraPlayers["whep"] = bench.WHEPPlayer
	extraPlayers["wheps"] = bench.WHEPPlayer
}
