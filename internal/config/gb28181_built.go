//go:build !nogb28181 && !tiny

package config

import (
	"strconv"
	"strings"
	"time"
)

// GB28181Built reports whether this build has the GB28181 SIP server (not
// the tiny profile, nor a build tagged nogb28181).
const GB28181Built = true

func digits(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func (c *Config) validateGB28181(ps *problems) {
	g := &c.GB28181
	if !digits(g.ServerID, 20) {
		ps.check("gb28181.server_id", "%q: want 20 digits (e.g. 34020000002000000001)", g.ServerID)
	}
	if !digits(g.Domain, 10) {
		ps.check("gb28181.domain", "%q: want 10 digits (e.g. 3402000000)", g.Domain)
	}
	durationRange(ps, "gb28181.keepalive_timeout", g.KeepaliveTimeout, 10*time.Second, time.Hour)
	intRange(ps, "gb28181.media_port", g.MediaPort, 1, 65535)
	seen := map[string]string{}
	for i := range g.Channels {
		p := indexKey("gb28181.channel", i)
		ch := &g.Channels[i]
		dev, chn, two := strings.Cut(ch.ID, "_")
		switch {
		case two && (!digits(dev, 20) || !digits(chn, 20)):
			ps.check(p+".id", "%q: want DEVICEID_CHANNELID (20 digits each) or a channel id", ch.ID)
		case !two && !digits(ch.ID, 20):
			ps.check(p+".id", "%q: want DEVICEID_CHANNELID (20 digits each) or a channel id (20 digits)", ch.ID)
		}
		if ch.Stream != "" {
			if err := checkName(ch.Stream); err != nil {
				ps.check(p+".stream", "%v", err)
			}
		}
		name, key := ch.Stream, p+".stream"
		if name == "" {
			name, key = ch.ID, p+".id"
		}
		if prev, ok := seen[name]; ok {
			ps.check(key, "duplicate stream %q (also at %s)", name, prev)
		} else {
			seen[name] = c.where(key)
		}
		if ch.Transport != "" {
			oneOf(ps, p+".transport", ch.Transport, GB28181Transports...)
		}
	}
}

// gbListeners adds the SIP and media ports to the listener conflict check.
func (c *Config) gbListeners(add func(path, addr string, enabled bool, networks ...string)) {
	g := c.GB28181
	add("gb28181.listen", g.Listen, g.Enabled, "udp", "tcp")
	if g.Enabled && g.MediaPort > 0 && g.MediaPort < 65536 {
		add("gb28181.media_port", "0.0.0.0:"+strconv.Itoa(g.MediaPort), true, "tcp", "udp")
	}
}
