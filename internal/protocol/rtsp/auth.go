package rtsp

import (
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"strings"
)

// ErrAuth reports credentials the camera refused, or a challenge srs-lite
// cannot answer.
var ErrAuth = errors.New("rtsp: authentication failed")

// auth answers a camera's WWW-Authenticate challenge: Basic (RFC 7617) or
// Digest (RFC 2617, RFC 7616) with MD5, MD5-sess, SHA-256 or SHA-256-sess,
// with or without qop=auth.
type auth struct {
	user, pass string
	scheme     string // "", "basic" or "digest"
	realm      string
	nonce      string
	opaque     string
	algorithm  string
	qop        bool
	nc         int
	cnonce     string
}

// challenge picks the strongest challenge srs-lite can answer from the
// WWW-Authenticate values of a 401 response.
func (a *auth) challenge(values []string) error {
	best, bestRank := "", 0
	for _, v := range values {
		scheme, rest, _ := strings.Cut(strings.TrimSpace(v), " ")
		rank := 0
		switch strings.ToLower(scheme) {
		case "basic":
			rank = 1
		case "digest":
			p := authParams(rest)
			switch strings.ToUpper(p["algorithm"]) {
			case "", "MD5", "MD5-SESS":
				rank = 2
			case "SHA-256", "SHA-256-SESS":
				rank = 3
			}
		}
		if rank > bestRank {
			best, bestRank = v, rank
		}
	}
	if bestRank == 0 {
		return fmt.Errorf("%w: no supported challenge in %q", ErrAuth, clip(strings.Join(values, ", ")))
	}
	scheme, rest, _ := strings.Cut(strings.TrimSpace(best), " ")
	if strings.EqualFold(scheme, "basic") {
		a.scheme = "basic"
		return nil
	}
	p := authParams(rest)
	if p["nonce"] == "" {
		return fmt.Errorf("%w: digest challenge without nonce", ErrAuth)
	}
	a.scheme, a.realm, a.nonce, a.opaque = "digest", p["realm"], p["nonce"], p["opaque"]
	a.algorithm = p["algorithm"]
	a.qop = false
	for q := range strings.SplitSeq(p["qop"], ",") {
		if strings.EqualFold(strings.TrimSpace(q), "auth") {
			a.qop = true
		}
	}
	a.nc = 0
	var b [8]byte
	_, _ = rand.Read(b[:])
	a.cnonce = hex.EncodeToString(b[:])
	return nil
}

// authParams parses the comma-separated auth-params of a challenge,
// with quoted strings (RFC 7235 §2.1).
func authParams(s string) map[string]string {
	m := map[string]string{}
	for s != "" {
		s = strings.TrimLeft(s, " \t,")
		k, rest, ok := strings.Cut(s, "=")
		if !ok {
			break
		}
		k = strings.ToLower(strings.TrimSpace(k))
		rest = strings.TrimLeft(rest, " \t")
		var v string
		if strings.HasPrefix(rest, `"`) {
			rest = rest[1:]
			var sb strings.Builder
			i := 0
			for ; i < len(rest) && rest[i] != '"'; i++ {
				if rest[i] == '\\' && i+1 < len(rest) {
					i++
				}
				sb.WriteByte(rest[i])
			}
			v = sb.String()
			if i < len(rest) {
				i++
			}
			rest = rest[i:]
		} else {
			v, rest, _ = strings.Cut(rest, ",")
			v = strings.TrimSpace(v)
		}
		m[k] = v
		_, rest, _ = strings.Cut(rest, ",")
		s = rest
	}
	return m
}

// header returns the Authorization value for a request, or "" before any
// challenge.
func (a *auth) header(method, uri string) string {
	switch a.scheme {
	case "basic":
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(a.user+":"+a.pass))
	case "digest":
		return a.digest(method, uri)
	}
	return ""
}

// digest computes the Digest response, RFC 7616 §3.4.1 (RFC 2617 §3.2.2
// when the challenge has no qop).
func (a *auth) digest(method, uri string) string {
	var newHash func() hash.Hash = md5.New
	alg := strings.ToUpper(a.algorithm)
	if strings.HasPrefix(alg, "SHA-256") {
		newHash = sha256.New
	}
	h := func(s string) string {
		x := newHash()
		x.Write([]byte(s))
		return hex.EncodeToString(x.Sum(nil))
	}
	ha1 := h(a.user + ":" + a.realm + ":" + a.pass)
	if strings.HasSuffix(alg, "-SESS") {
		ha1 = h(ha1 + ":" + a.nonce + ":" + a.cnonce)
	}
	ha2 := h(method + ":" + uri)
	var sb strings.Builder
	sb.WriteString(`Digest username="` + quote(a.user) + `", realm="` + quote(a.realm) +
		`", nonce="` + quote(a.nonce) + `", uri="` + quote(uri) + `"`)
	if a.qop {
		a.nc++
		nc := fmt.Sprintf("%08x", a.nc)
		sb.WriteString(`, response="` + h(ha1+":"+a.nonce+":"+nc+":"+a.cnonce+":auth:"+ha2) +
			`", qop=auth, nc=` + nc + `, cnonce="` + a.cnonce + `"`)
	} else {
		sb.WriteString(`, response="` + h(ha1+":"+a.nonce+":"+ha2) + `"`)
	}
	if a.algorithm != "" {
		sb.WriteString(", algorithm=" + a.algorithm)
	}
	if a.opaque != "" {
		sb.WriteString(`, opaque="` + quote(a.opaque) + `"`)
	}
	return sb.String()
}

func quote(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s)
}
