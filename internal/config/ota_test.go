package config

import (
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"strings"
	"testing"
)

// TestOTAPublicKey: [ota] public_key takes an Ed25519 key as base64 of its
// 32 bytes or as openssl's SubjectPublicKeyInfo (PEM or base64 DER), and
// refuses anything else at load with its line.
func TestOTAPublicKey(t *testing.T) {
	pub, _, _ := ed25519.GenerateKey(nil)
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	pemKey := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	for _, s := range []string{base64.StdEncoding.EncodeToString(pub), base64.StdEncoding.EncodeToString(der), pemKey} {
		got, err := ParseEd25519PublicKey(s)
		if err != nil || !got.Equal(pub) {
			t.Errorf("%q: %v", s, err)
		}
	}
	in := "[ota]\nurl = \"http://h/c.toml\"\npublic_key = '''\n" + pemKey + "'''\n"
	c, err := Parse("c.toml", []byte(in))
	if err != nil || c.OTA.PublicKey == "" {
		t.Fatalf("PEM in a multi-line string: %v", err)
	}
	_, err = Parse("c.toml", []byte("[ota]\nurl = \"http://h/c.toml\"\npublic_key = \"AAAA\"\nsignature_url = \"http://h/c.sig\"\n"))
	if err == nil || !strings.Contains(err.Error(), "c.toml:3: ota.public_key: not an Ed25519 public key") {
		t.Errorf("bad key: %v", err)
	}
	_, err = Parse("c.toml", []byte("[ota]\nurl = \"http://h/c.toml\"\nsignature_url = \"http://h/c.sig\"\n"))
	if err == nil || !strings.Contains(err.Error(), "c.toml:3: ota.signature_url: set without ota.public_key") {
		t.Errorf("signature_url alone: %v", err)
	}
}
