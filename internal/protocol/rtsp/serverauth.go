package rtsp

import (
	"crypto/md5"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"net/url"
	"strings"
)

// The server's authentication (RFC 2617, RFC 7616 with MD5, RFC 7617):
// srs-lite keeps no RTSP user list. The hooks decide, as they do for every
// protocol: the user (and, with Basic, the password) of the request's
// Authorization are added to the param the hooks get ("?token=x&user=u&
// password=p"), and a hook that answers "rtsp_password" makes the server
// check the client's credentials against it, Digest included.

// realm is the Digest and Basic realm of the server's challenges.
const realm = "srs-lite"

// credentials are what a request's Authorization header says.
type credentials struct {
	scheme   string // "", "basic" or "digest"
	user     string
	password string            // Basic only
	digest   map[string]string // Digest auth-params
}

// parseAuthorization parses an Authorization value; an unknown or malformed
// one gives the zero credentials (answered like none).
func parseAuthorization(v string) credentials {
	scheme, rest, _ := strings.Cut(strings.TrimSpace(v), " ")
	switch strings.ToLower(scheme) {
	case "basic":
		b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(rest))
		if err != nil {
			return credentials{}
		}
		u, p, ok := strings.Cut(string(b), ":")
		if !ok {
			return credentials{}
		}
		return credentials{scheme: "basic", user: u, password: p}
	case "digest":
		p := authParams(rest)
		if p["username"] == "" || p["response"] == "" || p["nonce"] == "" {
			return credentials{}
		}
		return credentials{scheme: "digest", user: p["username"], digest: p}
	}
	return credentials{}
}

// hookParam is the param the hooks get: the URL's query and the
// credentials' user and Basic password.
func (c credentials) hookParam(query string) string {
	q := query
	add := func(k, v string) {
		if q != "" {
			q += "&"
		}
		q += k + "=" + url.QueryEscape(v)
	}
	if c.user != "" {
		add("user", c.user)
	}
	if c.scheme == "basic" {
		add("password", c.password)
	}
	if q == "" {
		return ""
	}
	return "?" + q
}

// check verifies the credentials against password for a request of method,
// with the server's nonce for Digest.
func (c credentials) check(method, password, nonce string) bool {
	switch c.scheme {
	case "basic":
		return subtle.ConstantTimeCompare([]byte(c.password), []byte(password)) == 1
	case "digest":
		p := c.digest
		if nonce == "" || p["nonce"] != nonce {
			return false
		}
		if alg := strings.ToUpper(p["algorithm"]); alg != "" && alg != "MD5" {
			return false
		}
		h := func(s string) string {
			x := md5.Sum([]byte(s))
			return hex.EncodeToString(x[:])
		}
		ha1 := h(c.user + ":" + p["realm"] + ":" + password)
		ha2 := h(method + ":" + p["uri"])
		var want string
		if qop := p["qop"]; qop != "" {
			want = h(ha1 + ":" + p["nonce"] + ":" + p["nc"] + ":" + p["cnonce"] + ":" + qop + ":" + ha2)
		} else {
			want = h(ha1 + ":" + p["nonce"] + ":" + ha2)
		}
		return p["realm"] == realm && subtle.ConstantTimeCompare([]byte(want), []byte(strings.ToLower(p["response"]))) == 1
	}
	return false
}

// newNonce returns a fresh Digest nonce.
func newNonce() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// challenges are the WWW-Authenticate values of a 401: Digest first (the
// clients pick the strongest they know), then Basic.
func challenges(nonce string) []string {
	return []string{`Digest realm="` + realm + `", nonce="` + nonce + `", algorithm=MD5`,
		`Basic realm="` + realm + `"`}
}
