package config

import (
	"time"
)

// OTA is [ota]: how a new config is taken over the network and checked
// once applied. A config comes by PUT /api/v1/config, by a file dropped in
// place followed by a reload (SIGHUP), or, with URL set, by pulling.
// Whatever its origin, it is validated, written atomically, applied, and
// rolled back (file and running state) when it fails or the server is not
// healthy within HealthGrace.
type OTA struct {
	// URL, when set, is polled every Interval for a new config (HTTP or
	// HTTPS, with If-None-Match); empty: no pull.
	URL      string   `toml:"url" json:"url"`
	Interval Duration `toml:"interval" json:"interval"`
	// SHA256URL names a file with the config's SHA-256 in hex (as
	// sha256sum prints it). Empty: the config's response must carry the
	// digest in an X-Checksum-Sha256 (hex) or Repr-Digest/Digest sha-256
	// (base64) header. A pulled config without a matching digest is refused.
	SHA256URL string `toml:"sha256_url" json:"sha256_url"`
	// HealthGrace is how long the server has, after applying a config, to
	// pass its self-check (listeners accept, the API answers, HealthURL).
	HealthGrace Duration `toml:"health_grace" json:"health_grace"`
	// HealthURL, when set, must also answer 2xx for the server to be healthy
	// (e.g. an upstream camera or a playlist of this server).
	HealthURL string `toml:"health_url" json:"health_url"`
}

// OTA limits.
const (
	minOTAInterval    = 10 * time.Second
	maxOTAInterval    = 7 * 24 * time.Hour
	minOTAHealthGrace = 100 * time.Millisecond
	maxOTAHealthGrace = 10 * time.Minute
)

func defaultOTA() OTA {
	return OTA{Interval: Duration(5 * time.Minute), HealthGrace: Duration(10 * time.Second)}
}

func (c *Config) validateOTA(ps *problems) {
	o := c.OTA
	for _, f := range []struct{ key, v string }{
		{"ota.url", o.URL}, {"ota.sha256_url", o.SHA256URL}, {"ota.health_url", o.HealthURL},
	} {
		if f.v == "" {
			continue
		}
		if err := checkHTTPURL(f.v); err != nil {
			ps.check(f.key, "%v", err)
		}
	}
	if o.SHA256URL != "" && o.URL == "" {
		ps.check("ota.sha256_url", "set without ota.url")
	}
	durationRange(ps, "ota.interval", o.Interval, minOTAInterval, maxOTAInterval)
	durationRange(ps, "ota.health_grace", o.HealthGrace, minOTAHealthGrace, maxOTAHealthGrace)
}
