//go:build tiny

package config

// TLSBuilt reports whether this build serves TLS (HTTPS, RTMPS): not the
// tiny profile.
const TLSBuilt = false
