//go:build nortsp || tiny

package config

// RTSPBuilt reports whether this build has the RTSP server: not the tiny
// profile, nor a build with the nortsp tag.
const RTSPBuilt = false
