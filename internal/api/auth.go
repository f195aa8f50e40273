package api

import (
	"crypto/sha256"
	"crypto/subtle"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"
)

// Access is the HTTP API's access policy ([http_api.auth]). Write endpoints
// (kick, reload, the config, PTZ; every method but GET and HEAD, and the
// RAW API and the config on any method) need the credentials; read
// endpoints too when Read is set. Without credentials, write endpoints
// answer loopback clients (127.0.0.0/8, ::1) only.
type Access struct {
	Username string // HTTP Basic (RFC 7617), with Password
	Password string
	Token    string // "Authorization: Bearer TOKEN" (RFC 6750 §2.1)
	Read     bool   // read endpoints need the credentials too
}

// configured reports whether any credentials are set.
func (c Access) configured() bool { return c.Username != "" || c.Token != "" }

// allows checks the request's credentials in constant time: both sides
// are hashed first, so that neither the content nor the length of the
// secret shows in the timing.
func (c Access) allows(r *http.Request) bool {
	if c.Username != "" {
		if user, pass, ok := r.BasicAuth(); ok {
			u := secretEqual(user, c.Username)
			p := secretEqual(pass, c.Password)
			if u && p {
				return true
			}
		}
	}
	if c.Token != "" {
		h := r.Header.Get("Authorization")
		if scheme, tok, ok := strings.Cut(h, " "); ok && strings.EqualFold(scheme, "Bearer") {
			return secretEqual(strings.TrimSpace(tok), c.Token)
		}
	}
	return false
}

func secretEqual(got, want string) bool {
	g, w := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(g[:], w[:]) == 1
}

// challenge sets WWW-Authenticate (RFC 9110 §11.6.1) for each scheme the
// policy accepts: Basic by default.
func (c Access) challenge(h http.Header) {
	if c.Username != "" || c.Token == "" {
		h.Add("WWW-Authenticate", `Basic realm="srs-lite", charset="UTF-8"`)
	}
	if c.Token != "" {
		h.Add("WWW-Authenticate", `Bearer realm="srs-lite"`)
	}
}

// isWrite reports whether a request changes something or reads the config.
func isWrite(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return true
	}
	p := strings.TrimSuffix(r.URL.Path, "/")
	// The config and the log (client addresses, stream parameters that
	// may carry tokens) need write access even to be read.
	return p == "/api/v1/raw" || p == "/api/v1/config" || p == "/api/v1/config/last-good" || p == "/api/v1/logs"
}

// isLoopback reports whether the request comes from this host.
func isLoopback(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

// authLog limits the log of refused requests to one line a second.
type authLog struct {
	last    atomic.Int64
	dropped atomic.Int64
}

// checkAccess applies Deps.Access to r; false means it answered 401.
func (a *API) checkAccess(w http.ResponseWriter, r *http.Request) bool {
	if a.deps.Access == nil {
		return true
	}
	c := a.deps.Access()
	write := isWrite(r)
	if !write && !c.Read {
		return true
	}
	var msg string
	switch {
	case c.configured():
		if c.allows(r) {
			return true
		}
		msg = "unauthorized: this endpoint needs the credentials of [http_api.auth] (HTTP Basic, or a Bearer token)"
	case isLoopback(r):
		return true
	default:
		msg = "unauthorized: without credentials, write endpoints answer only 127.0.0.1 and ::1; " +
			"set [http_api.auth] username and password, or token, in the config to allow other hosts"
	}
	a.logRefused(r)
	if r.Header.Get("X-Requested-With") == "" {
		// A page's script (the console) asks for the credentials with a
		// form of its own: no challenge, or the browser prompts.
		c.challenge(w.Header())
	}
	a.fail(w, r, http.StatusUnauthorized, CodeUnauthorized, msg)
	return false
}

func (a *API) logRefused(r *http.Request) {
	now := time.Now().UnixNano()
	last := a.refused.last.Load()
	if now-last < int64(time.Second) || !a.refused.last.CompareAndSwap(last, now) {
		a.refused.dropped.Add(1)
		return
	}
	a.log.Warn("api: unauthorized request refused", "remote", r.RemoteAddr, "method", r.Method, "path", r.URL.Path,
		"more_refused", a.refused.dropped.Swap(0))
}

// Guard wraps h, a handler outside /api/ (the web console), in the API's
// access policy: Deps.Auth, then [http_api.auth] as for API reads and
// writes.
func (a *API) Guard(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a.deps.Auth != nil && !a.deps.Auth(r) {
			w.Header().Set("WWW-Authenticate", `Basic realm="srs-lite"`)
			a.fail(w, r, http.StatusUnauthorized, CodeUnauthorized, "unauthorized")
			return
		}
		if !a.checkAccess(w, r) {
			return
		}
		h.ServeHTTP(w, r)
	})
}
