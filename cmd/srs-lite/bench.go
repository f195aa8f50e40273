//go:build !tiny

package main

import (
	"context"
	"crypto/tls"
	"io"

	"github.com/srs-lite/srs-lite/internal/bench"
	"github.com/srs-lite/srs-lite/internal/buildinfo"
	"github.com/srs-lite/srs-lite/internal/protocol/rtmp"
)

// The load-test tool (srs-lite bench play ...) is left out of tiny builds.
func init() {
	buildinfo.Register("bench")
	subcommands["bench"] = func(args []string, stdout, stderr io.Writer) int {
		players := map[string]bench.Player{"rtmp": rtmp.PlayTags, "rtmps": playRTMPS, "srt": bench.SRTPlayer, "rtsp": bench.RTSPPlayer}
		for k, p := range extraPlayers {
			players[k] = p
		}
		defer startProfile()() // SRS_LITE_CPUPROFILE profiles the load generator too
		return bench.NewMain(players)(args, stdout, stderr)
	}
}

// extraPlayers are the players of optional subsystems (whep: WebRTC),
// added by their build-tagged files.
var extraPlayers = map[string]bench.Player{}

// playRTMPS plays rtmps:// without verifying the server's certificate (a
// load tool; the self-signed certificate is fine). No session cache: every
// player makes a full handshake, as separate real players do.
func playRTMPS(ctx context.Context, url string, onTag func(typ uint8, ts uint32, body []byte)) error {
	return rtmp.PlayTagsWith(ctx, url, rtmp.ClientOptions{TLS: &tls.Config{InsecureSkipVerify: true}}, onTag)
}
