// Package tlscert is the certificate of the TLS listeners (HTTPS, RTMPS):
// the operator's PEM files, re-read when they change on disk, or a
// per-device self-signed ECDSA P-256 certificate made once and kept in two
// files. A Store hands the certificate to crypto/tls through
// GetCertificate, so a replaced file is served from the next handshake on
// without a restart.
//
// It imports the standard library only.
package tlscert

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// checkEvery bounds how often a handshake stats the files: at most once per
// interval, so that a burst of handshakes costs one stat.
const checkEvery = time.Second

// Config says where the certificate comes from.
type Config struct {
	// Cert and Key are PEM files (the certificate chain and its private
	// key); both empty: the self-signed certificate.
	Cert, Key string
	// SelfCert and SelfKey are where the self-signed certificate is kept
	// (made when missing, unreadable or expired). Used when Cert and Key
	// are empty.
	SelfCert, SelfKey string
}

// SelfSigned reports whether c uses the self-signed certificate.
func (c Config) SelfSigned() bool { return c.Cert == "" && c.Key == "" }

// files are the two files a config reads.
func (c Config) files() (cert, key string) {
	if c.SelfSigned() {
		return c.SelfCert, c.SelfKey
	}
	return c.Cert, c.Key
}

// Info describes the certificate served, for the log and the API.
type Info struct {
	Fingerprint string    `json:"fingerprint"` // SHA-256 of the leaf, "AB:CD:..." as openssl x509 -fingerprint -sha256
	Subject     string    `json:"subject"`
	NotAfter    time.Time `json:"not_after"`
	SelfSigned  bool      `json:"self_signed"`
	Cert        string    `json:"cert"` // the certificate file
}

// Store holds the certificate in force. Its methods are safe for
// concurrent use.
type Store struct {
	log *slog.Logger

	mu      sync.Mutex
	cfg     Config
	cert    *tls.Certificate
	info    Info
	stamp   [2]fileStamp // of cert and key when loaded
	checked time.Time    // last stat of the files
}

// fileStamp tells a changed file: its modification time and size.
type fileStamp struct {
	mod  time.Time
	size int64
}

func stampOf(name string) (fileStamp, error) {
	st, err := os.Stat(name)
	if err != nil {
		return fileStamp{}, err
	}
	return fileStamp{st.ModTime(), st.Size()}, nil
}

// New returns a Store with no certificate; SetConfig loads one.
func New(log *slog.Logger) *Store {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Store{log: log}
}

// SetConfig loads the certificate c names, making the self-signed one when
// c names none and its files are missing, unreadable or expired (when they
// cannot be written, the certificate lives in memory only, and a warning
// says so). On an error the Store keeps what it had.
func (s *Store) SetConfig(c Config) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cert != nil && c == s.cfg {
		return nil
	}
	if c.SelfSigned() {
		return s.loadSelf(c)
	}
	return s.load(c)
}

// load reads c's cert and key files; s.mu is held.
func (s *Store) load(c Config) error {
	certFile, keyFile := c.files()
	cs, err1 := stampOf(certFile)
	ks, err2 := stampOf(keyFile)
	if err := errors.Join(err1, err2); err != nil {
		return fmt.Errorf("tls: %w", err)
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return fmt.Errorf("tls: %s, %s: %w", certFile, keyFile, err)
	}
	s.set(c, &cert, [2]fileStamp{cs, ks})
	return nil
}

// set makes cert the one in force; s.mu is held.
func (s *Store) set(c Config, cert *tls.Certificate, stamp [2]fileStamp) {
	leaf := cert.Leaf
	if leaf == nil {
		leaf, _ = x509.ParseCertificate(cert.Certificate[0])
		cert.Leaf = leaf
	}
	certFile, _ := c.files()
	s.cfg, s.cert, s.stamp, s.checked = c, cert, stamp, time.Now()
	s.info = Info{Fingerprint: Fingerprint(cert.Certificate[0]), SelfSigned: c.SelfSigned(), Cert: certFile}
	if leaf != nil {
		s.info.Subject = leaf.Subject.String()
		s.info.NotAfter = leaf.NotAfter
	}
}

// loadSelf loads the self-signed certificate, making it first when its
// files do not hold a valid one; s.mu is held.
func (s *Store) loadSelf(c Config) error {
	if err := s.load(c); err == nil {
		if time.Now().Before(s.cert.Leaf.NotAfter) {
			return nil
		}
		s.log.Warn("tls: the self-signed certificate has expired: making a new one", "cert", c.SelfCert)
	} else if !errors.Is(err, os.ErrNotExist) {
		s.log.Warn("tls: cannot load the self-signed certificate: making a new one", "err", err)
	}
	certPEM, keyPEM, err := SelfSigned(time.Now())
	if err != nil {
		return err
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return fmt.Errorf("tls: %w", err)
	}
	var stamp [2]fileStamp
	if err := writeFiles(c.SelfCert, certPEM, c.SelfKey, keyPEM); err != nil {
		s.log.Warn("tls: cannot keep the self-signed certificate: it lasts until the server stops",
			"err", err)
		c.SelfCert, c.SelfKey = "", "" // nothing on disk to watch
	} else {
		stamp[0], _ = stampOf(c.SelfCert)
		stamp[1], _ = stampOf(c.SelfKey)
		s.log.Info("tls: made a self-signed certificate", "cert", c.SelfCert, "key", c.SelfKey)
	}
	s.set(c, &cert, stamp)
	return nil
}

// writeFiles writes the key (mode 0600) and then the certificate, each
// through a temporary file and a rename.
func writeFiles(certFile string, certPEM []byte, keyFile string, keyPEM []byte) error {
	if certFile == "" || keyFile == "" {
		return errors.New("no file to keep it in")
	}
	if err := writeAtomic(keyFile, keyPEM, 0o600); err != nil {
		return err
	}
	return writeAtomic(certFile, certPEM, 0o644)
}

func writeAtomic(name string, data []byte, mode os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	err = errors.Join(err, f.Chmod(mode), f.Sync(), f.Close())
	if err == nil {
		err = os.Rename(tmp, name)
	}
	if err != nil {
		_ = os.Remove(tmp)
	}
	return err
}

// GetCertificate is tls.Config.GetCertificate: the certificate in force,
// re-read first when its files changed (checked at most once a second).
// A file that fails to load is logged and the previous certificate kept.
func (s *Store) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cert == nil {
		return nil, errors.New("tls: no certificate")
	}
	now := time.Now()
	if now.Sub(s.checked) < checkEvery {
		return s.cert, nil
	}
	s.checked = now
	certFile, keyFile := s.cfg.files()
	if certFile == "" {
		return s.cert, nil // in memory only
	}
	cs, err1 := stampOf(certFile)
	ks, err2 := stampOf(keyFile)
	if err1 != nil || err2 != nil || (cs == s.stamp[0] && ks == s.stamp[1]) {
		return s.cert, nil
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		// Half written (the key before the certificate, say): try again
		// on a later handshake, serving the old one meanwhile.
		s.log.Warn("tls: the certificate files changed but do not load: serving the previous one",
			"cert", certFile, "err", err)
		return s.cert, nil
	}
	old := s.info.Fingerprint
	s.set(s.cfg, &cert, [2]fileStamp{cs, ks})
	s.log.Info("tls: certificate reloaded", "cert", certFile, "sha256", s.info.Fingerprint, "previous", old)
	return s.cert, nil
}

// Info describes the certificate in force; zero before SetConfig.
func (s *Store) Info() Info {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.info
}

// ServerConfig returns a server tls.Config that serves s's certificate.
func (s *Store) ServerConfig() *tls.Config {
	return &tls.Config{GetCertificate: s.GetCertificate, MinVersion: tls.VersionTLS12}
}

// Fingerprint is the SHA-256 of a DER certificate as openssl prints it:
// upper-case hex bytes joined by colons.
func Fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	h := strings.ToUpper(hex.EncodeToString(sum[:]))
	var b strings.Builder
	for i := 0; i < len(h); i += 2 {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(h[i : i+2])
	}
	return b.String()
}

// selfValidity is how long a self-signed certificate lasts; it starts in
// 2000 so that a box whose clock is not set yet still accepts it.
const selfValidity = 20 * 365 * 24 * time.Hour

// SelfSigned makes a self-signed ECDSA P-256 certificate for this host: its
// name, localhost, the loopback addresses and the addresses of its
// interfaces now. It returns the certificate and the PKCS#8 key, in PEM.
func SelfSigned(now time.Time) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("tls: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, fmt.Errorf("tls: %w", err)
	}
	host, _ := os.Hostname()
	if host == "" {
		host = "srs-lite"
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: host, Organization: []string{"srs-lite self-signed"}},
		NotBefore:             time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:              now.Add(selfValidity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		DNSNames:              []string{host, "localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	if host == "localhost" {
		tmpl.DNSNames = tmpl.DNSNames[1:]
	}
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && !n.IP.IsLinkLocalUnicast() {
				tmpl.IPAddresses = append(tmpl.IPAddresses, n.IP)
			}
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("tls: %w", err)
	}
	k, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("tls: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: k}), nil
}

// Ephemeral makes an in-memory self-signed ECDSA P-256 certificate named cn,
// valid from a day ago for validity: a DTLS certificate of WebRTC, whose
// peers check its fingerprint (Fingerprint), not a name or a chain.
func Ephemeral(cn string, validity time.Duration) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return tls.Certificate{}, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: cn},
		NotBefore: now.Add(-24 * time.Hour), NotAfter: now.Add(validity)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}
