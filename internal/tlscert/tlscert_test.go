package tlscert

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"
)

func selfConfig(dir string) Config {
	return Config{SelfCert: filepath.Join(dir, "c.tls.pem"), SelfKey: filepath.Join(dir, "c.tls.key")}
}

// TestSelfSignedKept: the self-signed certificate is made once, kept with
// the key at 0600, and loaded again by the next Store.
func TestSelfSignedKept(t *testing.T) {
	dir := t.TempDir()
	c := selfConfig(dir)
	s := New(nil)
	if err := s.SetConfig(c); err != nil {
		t.Fatal(err)
	}
	i := s.Info()
	if !i.SelfSigned || !regexp.MustCompile(`^([0-9A-F]{2}:){31}[0-9A-F]{2}$`).MatchString(i.Fingerprint) {
		t.Fatalf("info %+v", i)
	}
	st, err := os.Stat(c.SelfKey)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key: %v %v", st, err)
	}
	cert, err := s.GetCertificate(&tls.ClientHelloInfo{})
	if err != nil {
		t.Fatal(err)
	}
	leaf := cert.Leaf
	if leaf.PublicKeyAlgorithm != x509.ECDSA {
		t.Fatalf("key algorithm %v", leaf.PublicKeyAlgorithm)
	}
	if err := leaf.VerifyHostname("127.0.0.1"); err != nil {
		t.Error(err)
	}
	if err := leaf.VerifyHostname("localhost"); err != nil {
		t.Error(err)
	}
	if !leaf.NotBefore.Before(time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("NotBefore %v: a box whose clock is not set would refuse it", leaf.NotBefore)
	}
	s2 := New(nil)
	if err := s2.SetConfig(c); err != nil {
		t.Fatal(err)
	}
	if s2.Info().Fingerprint != i.Fingerprint {
		t.Fatal("a second start made another certificate")
	}
}

// TestSelfSignedUnwritable: with nowhere to keep it, the certificate lives
// in memory.
func TestSelfSignedUnwritable(t *testing.T) {
	c := Config{SelfCert: "/nonexistent/dir/c.pem", SelfKey: "/nonexistent/dir/c.key"}
	s := New(nil)
	if err := s.SetConfig(c); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetCertificate(&tls.ClientHelloInfo{}); err != nil {
		t.Fatal(err)
	}
}

// TestReloadOnChange: files replaced on disk are served after at most
// checkEvery; a broken replacement keeps the previous certificate.
func TestReloadOnChange(t *testing.T) {
	dir := t.TempDir()
	cf, kf := filepath.Join(dir, "a.pem"), filepath.Join(dir, "a.key")
	write := func() string {
		cp, kp, err := SelfSigned(time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(kf, kp, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(cf, cp, 0o644); err != nil {
			t.Fatal(err)
		}
		b, _ := pem.Decode(cp)
		return Fingerprint(b.Bytes)
	}
	first := write()
	s := New(nil)
	if err := s.SetConfig(Config{Cert: cf, Key: kf}); err != nil {
		t.Fatal(err)
	}
	served := func() string {
		c, err := s.GetCertificate(nil)
		if err != nil {
			t.Fatal(err)
		}
		return Fingerprint(c.Certificate[0])
	}
	if served() != first {
		t.Fatal("not the first certificate")
	}
	second := write()
	if served() != first {
		t.Fatal("re-read before checkEvery: a stat per handshake")
	}
	s.mu.Lock()
	s.checked = time.Time{}
	s.mu.Unlock()
	if served() != second {
		t.Fatal("the replaced certificate is not served")
	}
	if err := os.WriteFile(cf, []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	s.checked = time.Time{}
	s.mu.Unlock()
	if served() != second {
		t.Fatal("a broken file replaced the certificate")
	}
}

// TestSetConfigError: missing files are an error and keep what was there.
func TestSetConfigError(t *testing.T) {
	s := New(nil)
	if err := s.SetConfig(Config{Cert: "/nonexistent.pem", Key: "/nonexistent.key"}); err == nil {
		t.Fatal("no error")
	}
	if _, err := s.GetCertificate(nil); err == nil {
		t.Fatal("a certificate from nothing")
	}
}

// BenchmarkGetCertificate is the per-handshake cost of the store: a lock
// and, once a second, two stats.
func BenchmarkGetCertificate(b *testing.B) {
	s := New(nil)
	if err := s.SetConfig(selfConfig(b.TempDir())); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.GetCertificate(nil); err != nil {
			b.Fatal(err)
		}
	}
}
