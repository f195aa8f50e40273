package config

import "net/url"

// Redacted replaces every secret in what Redacted returns. A config sent
// back with it (PUT /api/v1/config) is refused: see validateRedacted.
const Redacted = "(redacted)"

// Redacted returns a copy of c with its secrets replaced by Redacted: the
// API's credentials, the SRT passphrase, and the passwords in ingest and
// OTA URLs (user:xxxxx@host). It is what GET /api/v1/config shows.
func (c *Config) Redacted() *Config {
	n := c.Clone()
	a := &n.HTTPAPI.Auth
	if a.Password != "" {
		a.Password = Redacted
	}
	if a.Token != "" {
		a.Token = Redacted
	}
	if n.SRT.Passphrase != "" {
		n.SRT.Passphrase = Redacted
	}
	if n.GB28181.Password != "" {
		n.GB28181.Password = Redacted
	}
	for i := range n.Ingests {
		n.Ingests[i].Input = redactURL(n.Ingests[i].Input)
		n.Ingests[i].Output = redactURL(n.Ingests[i].Output)
	}
	n.OTA.URL = redactURL(n.OTA.URL)
	n.OTA.SHA256URL = redactURL(n.OTA.SHA256URL)
	n.OTA.HealthURL = redactURL(n.OTA.HealthURL)
	return n
}

// redactURL hides the password of a URL with user information.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	if _, ok := u.User.Password(); !ok {
		return s
	}
	return u.Redacted()
}

// validateRedacted refuses secrets that are the placeholder Redacted (the
// API's credentials are checked in validateAuth).
func (c *Config) validateRedacted(ps *problems) {
	if c.SRT.Passphrase == Redacted {
		ps.check("srt.passphrase", "%q is the placeholder GET /api/v1/config shows: put the real passphrase", Redacted)
	}
	if c.GB28181.Password == Redacted {
		ps.check("gb28181.password", "%q is the placeholder GET /api/v1/config shows: put the real password", Redacted)
	}
}
