//go:build !nortc && !tiny

package api

import "github.com/srs-lite/srs-lite/internal/buildinfo"

// The build has WebRTC (internal/server/rtc.go has the same constraint):
// `srs-lite -v` and the console's env.json list it, and the console
// previews over WHEP.
func init() { buildinfo.Register("webrtc") }
