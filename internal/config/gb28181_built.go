//go:build !nogb28181 && !tiny

package config

// GB28181Built reports whether this build has the GB28181 SIP server (not
// the tiny profile, nor a build tagged nogb28181).
const GB28181Built = true
