package config

import "net"

// RTC configures WebRTC (WHIP publish, WHEP play): one UDP port for every
// session, ICE-TCP on the same port number, and the candidates the SDP
// answers advertise.
type RTC struct {
	Enabled bool   `toml:"enabled" json:"enabled"`
	Listen  string `toml:"listen" json:"listen"` // UDP, and TCP on the same port (ICE-TCP)
	// Candidate is the address the answers advertise: an IP or a host
	// name; "*" the addresses of the host's interfaces. The host the
	// client used to reach the API is always added (SRS's
	// api_as_candidates).
	Candidate string `toml:"candidate" json:"candidate"`
	// AACToOpus is auto (AAC streams get Opus for WebRTC viewers through
	// ffmpeg when ffmpeg is present) or off (video only).
	AACToOpus string `toml:"aac_to_opus" json:"aac_to_opus"`
}

func defaultRTC() RTC {
	// Off by default in a build without WebRTC, so that the config (and the
	// API's view of it) says only what the build does.
	return RTC{Enabled: RTCBuilt, Listen: "0.0.0.0:8000", Candidate: "*", AACToOpus: "auto"}
}

func (c *Config) validateRTC(ps *problems) {
	r, d := c.RTC, defaultRTC()
	if !RTCBuilt {
		const why = "not supported in this build (no WebRTC: the tiny and nortc builds leave it out; scripts/tiny-conf.sh writes a config for them)"
		for _, k := range []struct {
			key string
			set bool
		}{{"rtc.enabled", r.Enabled && c.Defined("rtc.enabled")}, {"rtc.listen", r.Listen != d.Listen}, {"rtc.candidate", r.Candidate != d.Candidate}, {"rtc.aac_to_opus", r.AACToOpus != d.AACToOpus}} {
			if k.set {
				ps.check(k.key, why)
			}
		}
		return
	}
	oneOf(ps, "rtc.aac_to_opus", r.AACToOpus, "auto", "off")
	if r.Candidate == "" {
		ps.check("rtc.candidate", `empty: an IP address, a host name, or "*" for the host's addresses`)
	} else if r.Candidate != "*" && net.ParseIP(r.Candidate) == nil && !validHostName(r.Candidate) {
		ps.check("rtc.candidate", `%q: an IP address, a host name, or "*" for the host's addresses`, r.Candidate)
	}
}

// validHostName reports whether s looks like a DNS name.
func validHostName(s string) bool {
	if len(s) > 253 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}
