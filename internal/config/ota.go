package config

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"strings"
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
	// PublicKey, when set, is an Ed25519 public key (base64 of its 32
	// bytes, or openssl's PEM or base64 DER): every pulled config must then
	// carry a valid signature of its bytes by the key, from SignatureURL or
	// an X-Signature-Ed25519 header (base64). It authenticates the config
	// where TLS does not (http://, the tiny build); the SHA-256 is then
	// checked only when sha256_url names one.
	PublicKey    string `toml:"public_key" json:"public_key"`
	SignatureURL string `toml:"signature_url" json:"signature_url"`
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
		{"ota.url", o.URL}, {"ota.sha256_url", o.SHA256URL}, {"ota.signature_url", o.SignatureURL}, {"ota.health_url", o.HealthURL},
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
	if o.PublicKey != "" {
		if _, err := ParseEd25519PublicKey(o.PublicKey); err != nil {
			ps.check("ota.public_key", "%v", err)
		}
	}
	if o.SignatureURL != "" && o.PublicKey == "" {
		ps.check("ota.signature_url", "set without ota.public_key")
	}
	durationRange(ps, "ota.interval", o.Interval, minOTAInterval, maxOTAInterval)
	durationRange(ps, "ota.health_grace", o.HealthGrace, minOTAHealthGrace, maxOTAHealthGrace)
}

// spkiEd25519 is the DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC
// 8410 §4): what `openssl pkey -pubout` writes before the 32 key bytes.
const spkiEd25519 = "\x30\x2a\x30\x05\x06\x03\x2b\x65\x70\x03\x21\x00"

// ParseEd25519PublicKey reads an Ed25519 public key: base64 of its 32
// bytes, or of its SubjectPublicKeyInfo DER, with or without PEM armour.
// (No x509 parser: the tiny build leaves it out.)
func ParseEd25519PublicKey(s string) (ed25519.PublicKey, error) {
	var b64 strings.Builder
	for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
		if line = strings.TrimSpace(line); !strings.HasPrefix(line, "-----") {
			b64.WriteString(line)
		}
	}
	der, err := base64.StdEncoding.DecodeString(b64.String())
	if err == nil && len(der) == len(spkiEd25519)+ed25519.PublicKeySize && string(der[:len(spkiEd25519)]) == spkiEd25519 {
		der = der[len(spkiEd25519):]
	}
	if err != nil || len(der) != ed25519.PublicKeySize {
		return nil, errors.New("not an Ed25519 public key (want base64 of its 32 bytes, or `openssl pkey -pubout`'s PEM)")
	}
	return ed25519.PublicKey(der), nil
}
