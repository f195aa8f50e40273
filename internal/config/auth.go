package config

import "strings"

// Auth is [http_api.auth]: the credentials that guard the HTTP API. Every
// write endpoint (kick, reload, PUT config, PTZ) needs them; read endpoints
// too when Read is set. Without any credentials, write endpoints answer
// loopback clients only.
type Auth struct {
	// Username and Password are checked against HTTP Basic authentication
	// (RFC 7617); both or neither.
	Username string `toml:"username" json:"username"`
	Password string `toml:"password" json:"password"`
	// Token is checked against "Authorization: Bearer TOKEN" (RFC 6750 §2.1).
	Token string `toml:"token" json:"token"`
	// Read guards the read endpoints (streams, clients, summaries...) too.
	Read bool `toml:"read" json:"read"`
}

// Configured reports whether any credentials are set.
func (a Auth) Configured() bool { return a.Username != "" || a.Token != "" }

// minSecret is the shortest password or token accepted.
const minSecret = 8

func (c *Config) validateAuth(ps *problems) {
	a := c.HTTPAPI.Auth
	switch {
	case a.Username != "" && a.Password == "":
		ps.check("http_api.auth.password", "empty: a username needs a password")
	case a.Username == "" && a.Password != "":
		ps.check("http_api.auth.username", "empty: a password needs a username")
	}
	for _, f := range []struct{ key, v string }{
		{"http_api.auth.username", a.Username}, {"http_api.auth.password", a.Password}, {"http_api.auth.token", a.Token},
	} {
		if strings.ContainsFunc(f.v, func(r rune) bool { return r < ' ' || r == 0x7f }) {
			ps.check(f.key, "contains a control character")
		}
	}
	if strings.Contains(a.Username, ":") {
		ps.check("http_api.auth.username", "%q contains a colon, which HTTP Basic authentication cannot carry", a.Username)
	}
	if n := len(a.Password); n > 0 && n < minSecret {
		ps.check("http_api.auth.password", "%d characters: use at least %d", n, minSecret)
	}
	if n := len(a.Token); n > 0 && n < minSecret {
		ps.check("http_api.auth.token", "%d characters: use at least %d", n, minSecret)
	}
	if strings.ContainsAny(a.Token, " \t") {
		ps.check("http_api.auth.token", "contains a space")
	}
	if a.Password == Redacted || a.Token == Redacted {
		key := "http_api.auth.password"
		if a.Token == Redacted {
			key = "http_api.auth.token"
		}
		ps.check(key, "%q is the placeholder GET /api/v1/config shows: put the real secret", Redacted)
	}
	if a.Read && !a.Configured() {
		ps.check("http_api.auth.read", "true without credentials: set username and password, or token")
	}
}
