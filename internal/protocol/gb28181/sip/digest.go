package sip

import (
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"strings"
)

// Digest is the parsed Authorization header of a request (RFC 2617).
type Digest struct {
	Username, Realm, Nonce, URI, Response, Algorithm string
	Qop, NC, CNonce                                  string
}

// ParseDigest parses `Digest k="v", k=v, ...`; ok is false for another
// scheme.
func ParseDigest(h string) (d Digest, ok bool) {
	h = strings.TrimSpace(h)
	scheme, rest, _ := strings.Cut(h, " ")
	if !strings.EqualFold(scheme, "Digest") {
		return d, false
	}
	for rest != "" {
		var kv string
		// Split at the next comma outside quotes.
		inq := false
		i := 0
		for ; i < len(rest); i++ {
			if rest[i] == '"' {
				inq = !inq
			} else if rest[i] == ',' && !inq {
				break
			}
		}
		kv, rest = rest[:i], rest[min(i+1, len(rest)):]
		k, v, _ := strings.Cut(kv, "=")
		v = strings.Trim(strings.TrimSpace(v), `"`)
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "username":
			d.Username = v
		case "realm":
			d.Realm = v
		case "nonce":
			d.Nonce = v
		case "uri":
			d.URI = v
		case "response":
			d.Response = v
		case "algorithm":
			d.Algorithm = v
		case "qop":
			d.Qop = v
		case "nc":
			d.NC = v
		case "cnonce":
			d.CNonce = v
		}
	}
	return d, true
}

func md5hex(s string) string {
	h := md5.Sum([]byte(s))
	return hex.EncodeToString(h[:])
}

// Expected returns the response a client that knows password computes for
// d and method (qop=auth or none; MD5).
func (d Digest) Expected(method, password string) string {
	ha1 := md5hex(d.Username + ":" + d.Realm + ":" + password)
	ha2 := md5hex(method + ":" + d.URI)
	if d.Qop == "auth" {
		return md5hex(ha1 + ":" + d.Nonce + ":" + d.NC + ":" + d.CNonce + ":" + d.Qop + ":" + ha2)
	}
	return md5hex(ha1 + ":" + d.Nonce + ":" + ha2)
}

// Check reports whether d answers for method with password.
func (d Digest) Check(method, password string) bool {
	if d.Algorithm != "" && !strings.EqualFold(d.Algorithm, "MD5") {
		return false
	}
	return strings.EqualFold(d.Response, d.Expected(method, password))
}

// Header returns d as an Authorization header value.
func (d Digest) Header() string {
	s := `Digest username="` + d.Username + `", realm="` + d.Realm + `", nonce="` + d.Nonce +
		`", uri="` + d.URI + `", response="` + d.Response + `", algorithm=MD5`
	if d.Qop != "" {
		s += `, qop=` + d.Qop + `, nc=` + d.NC + `, cnonce="` + d.CNonce + `"`
	}
	return s
}

// Challenge parses a WWW-Authenticate header for its realm, nonce and qop.
func Challenge(h string) (realm, nonce, qop string) {
	d, _ := ParseDigest(h)
	return d.Realm, d.Nonce, d.Qop
}

// RandHex returns n random bytes in hex: nonces, tags, branches.
func RandHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// NewBranch returns a new RFC 3261 Via branch.
func NewBranch() string { return "z9hG4bK" + RandHex(8) }
