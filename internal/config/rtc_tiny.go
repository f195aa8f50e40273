//go:build nortc || tiny

package config

// RTCBuilt reports whether this build has WebRTC: not the tiny profile
// nor a nortc build.
const RTCBuilt = false
