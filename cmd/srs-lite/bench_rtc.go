//go:build !tiny && !nortc

package main

import "github.com/srs-lite/srs-lite/internal/protocol/rtc"

// srs-lite bench play whep://HOST:1985/APP/STREAM (or the http URL of the
// WHEP endpoint): the lean WebRTC client.
func init() { extraPlayers["whep"] = rtc.PlayTags }
