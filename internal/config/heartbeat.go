package config

import (
	"time"
)

// Heartbeat reports this server to a collector or SRS's proxy (SRS's heartbeat).
type Heartbeat struct {
	Enabled  bool     `toml:"enabled" json:"enabled"`
	URL      string   `toml:"url" json:"url"`
	Interval Duration `toml:"interval" json:"interval"`
	DeviceID string   `toml:"device_id" json:"device_id"` // empty: the server id
}

// Heartbeat limits.
const (
	minHeartbeatInterval = time.Second
	maxHeartbeatInterval = time.Hour
)

func (c *Config) validateHeartbeat(ps *problems) {
	h := c.Heartbeat
	durationRange(ps, "heartbeat.interval", h.Interval, minHeartbeatInterval, maxHeartbeatInterval)
	if h.URL != "" || h.Enabled {
		if err := checkHTTPURL(h.URL); err != nil {
			ps.check("heartbeat.url", "%v", err)
		}
	}
	if len(h.DeviceID) > maxNameLength {
		ps.check("heartbeat.device_id", "longer than %d bytes", maxNameLength)
	}
}

// validateATC checks the vhost's atc keys.
func (v *Vhost) validateATC(ps *problems, p string) {
	if v.ATCAuto {
		ps.check(p+".atc_auto", "not supported yet (set atc = true on the vhost instead)")
	}
}

// validateOriginCluster checks the origin-cluster keys of [vhost.cluster]
// (the mode, origins and addresses are checked with the edge's).
func (v *Vhost) validateOriginCluster(ps *problems, p string) {
	cl := v.Cluster
	seen := map[string]bool{}
	for _, cw := range cl.Coworkers {
		if seen[cw] {
			ps.check(p+".cluster.coworkers", "%q listed twice", cw)
			break
		}
		seen[cw] = true
	}
	if cl.OriginCluster && len(cl.Coworkers) == 0 {
		ps.check(p+".cluster.coworkers", "empty: origin_cluster needs the API address of the other origins")
	}
}
