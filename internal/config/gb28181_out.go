//go:build nogb28181 || tiny

package config

// GB28181Built reports whether this build has the GB28181 SIP server (not
// the tiny profile, nor a build tagged nogb28181).
const GB28181Built = false

// validateGB28181 refuses [gb28181] in a build without it.
func (c *Config) validateGB28181(ps *problems) {
	const why = "not supported in this build (built without GB28181: a full build has it)"
	if c.GB28181.Enabled {
		ps.check("gb28181.enabled", why)
	}
	if len(c.GB28181.Channels) > 0 {
		ps.check("gb28181.channel", why)
	}
}

func (c *Config) gbListeners(func(path, addr string, enabled bool, networks ...string)) {}
