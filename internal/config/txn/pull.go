package txn

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/srs-lite/srs-lite/internal/http1"
)

// Source is where pull mode fetches a config.
type Source struct {
	URL       string // the config; empty: pull is off
	SHA256URL string // its SHA-256 in hex; empty: from a response header
	// PublicKey, when set, must have signed the config (Ed25519): the
	// signature comes from SignatureURL (base64), or else from an
	// X-Signature-Ed25519 header. The SHA-256 is then checked only when
	// SHA256URL is set.
	PublicKey    ed25519.PublicKey
	SignatureURL string
}

// ErrSignature is matched (errors.Is) when a pulled config has no
// signature by the public key, or a wrong one.
var ErrSignature = errors.New("ota: signature")

// ErrChecksum is matched (errors.Is) when a pulled config has no digest to
// check or does not match it.
var ErrChecksum = errors.New("ota: checksum")

// maxDigestSize bounds the body of a SHA256URL or a SignatureURL.
const maxDigestSize = 4096

// fetchSmall gets the short body at u (a digest, a signature): 200 only.
func fetchSmall(ctx context.Context, client http1.Doer, u string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	res, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %v", redactURL(u), err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch %s: %s", redactURL(u), res.Status)
	}
	b, err := io.ReadAll(io.LimitReader(res.Body, maxDigestSize))
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %v", redactURL(u), err)
	}
	return b, nil
}

// Pull fetches src.URL once, with If-None-Match when it answered an ETag
// before. A new body is checked against its SHA-256 (from src.SHA256URL, or
// an X-Checksum-Sha256, Repr-Digest (RFC 9530 §3) or Digest (RFC 3230 §4.3.2)
// header) before anything else, then applied as Put does. It reports
// whether a new config was applied. A config that was refused once is not
// tried again until its content changes.
func (m *Manager) Pull(ctx context.Context, client http1.Doer, src Source) (bool, error) {
	m.pullMu.Lock()
	defer m.pullMu.Unlock()
	if client == nil {
		client = http1.NewClient(http1.ClientOptions{})
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, src.URL, nil)
	if err != nil {
		return false, fmt.Errorf("ota: pull: %w", err)
	}
	if m.etag != "" && m.etagURL == src.URL {
		req.Header.Set("If-None-Match", m.etag)
	}
	res, err := client.Do(req)
	if err != nil {
		return false, fmt.Errorf("ota: pull %s: %w", redactURL(src.URL), err)
	}
	defer res.Body.Close()
	switch {
	case res.StatusCode == http.StatusNotModified:
		m.log.Debug("ota: pull: not modified", "url", redactURL(src.URL))
		return false, nil
	case res.StatusCode != http.StatusOK:
		return false, fmt.Errorf("ota: pull %s: %s", redactURL(src.URL), res.Status)
	}
	body, err := io.ReadAll(io.LimitReader(res.Body, MaxSize+1))
	if err != nil {
		return false, fmt.Errorf("ota: pull %s: %w", redactURL(src.URL), err)
	}
	if len(body) > MaxSize {
		return false, fmt.Errorf("ota: pull %s: larger than %d bytes", redactURL(src.URL), MaxSize)
	}
	digest := sha256.Sum256(body)
	hexSum := hex.EncodeToString(digest[:])
	etag := res.Header.Get("ETag")
	remember := func() { m.etag, m.etagURL = etag, src.URL }

	if src.PublicKey != nil {
		if err := m.verifySignature(ctx, client, src, res.Header, body); err != nil {
			return false, err
		}
	}
	if src.PublicKey == nil || src.SHA256URL != "" {
		want, err := m.expectedDigest(ctx, client, src, res.Header)
		if err != nil {
			return false, err
		}
		if !bytes.Equal(want, digest[:]) {
			return false, fmt.Errorf("%w: %s has sha256 %s, but %s says %s", ErrChecksum, redactURL(src.URL), hexSum,
				digestSource(src), hex.EncodeToString(want))
		}
	}
	m.log.Info("ota: pull: new config fetched and verified", "url", redactURL(src.URL), "sha256", hexSum[:12],
		"signed", src.PublicKey != nil, "etag", etag)
	if good := m.Good(); good != nil && bytes.Equal(good, body) {
		m.log.Info("ota: pull: same as the running config", "url", redactURL(src.URL))
		remember()
		return false, nil
	}
	if hexSum == m.lastBad {
		m.log.Debug("ota: pull: refused before, not tried again", "url", redactURL(src.URL), "sha256", hexSum[:12])
		remember()
		return false, nil
	}
	if err := m.Put(ctx, body, "pull "+redactURL(src.URL)); err != nil {
		if !errors.Is(err, ErrBusy) {
			m.lastBad = hexSum
			remember()
		}
		return false, err
	}
	remember()
	return true, nil
}

func digestSource(src Source) string {
	if src.SHA256URL != "" {
		return redactURL(src.SHA256URL)
	}
	return "the response header"
}

// verifySignature checks body's Ed25519 signature by src.PublicKey, from
// src.SignatureURL or the X-Signature-Ed25519 header.
func (m *Manager) verifySignature(ctx context.Context, client http1.Doer, src Source, h http.Header, body []byte) error {
	from, sig := "the X-Signature-Ed25519 header", h.Get("X-Signature-Ed25519")
	if src.SignatureURL != "" {
		from = redactURL(src.SignatureURL)
		b, err := fetchSmall(ctx, client, src.SignatureURL)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrSignature, err)
		}
		sig = string(b)
	}
	if strings.TrimSpace(sig) == "" {
		return fmt.Errorf("%w: %s came without a signature: set [ota] signature_url, or serve an X-Signature-Ed25519 header",
			ErrSignature, redactURL(src.URL))
	}
	s, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(sig), ""))
	if err != nil || len(s) != ed25519.SignatureSize {
		return fmt.Errorf("%w: %s: not a base64 Ed25519 signature", ErrSignature, from)
	}
	if !ed25519.Verify(src.PublicKey, body, s) {
		return fmt.Errorf("%w: %s is not signed by [ota] public_key (signature from %s)", ErrSignature, redactURL(src.URL), from)
	}
	return nil
}

// expectedDigest finds the SHA-256 the config must have.
func (m *Manager) expectedDigest(ctx context.Context, client http1.Doer, src Source, h http.Header) ([]byte, error) {
	if src.SHA256URL != "" {
		b, err := fetchSmall(ctx, client, src.SHA256URL)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrChecksum, err)
		}
		d, err := ParseHexDigest(string(b))
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrChecksum, redactURL(src.SHA256URL), err)
		}
		return d, nil
	}
	if d, ok, err := DigestFromHeader(h); ok {
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrChecksum, err)
		}
		return d, nil
	}
	return nil, fmt.Errorf("%w: %s came without a digest: set [ota] sha256_url, or serve an X-Checksum-Sha256 or Repr-Digest header",
		ErrChecksum, redactURL(src.URL))
}

// ParseHexDigest reads a SHA-256 in hex: the first field of a sha256sum line
// ("e3b0c442...  srs-lite.toml").
func ParseHexDigest(s string) ([]byte, error) {
	f := strings.Fields(s)
	if len(f) == 0 {
		return nil, errors.New("no digest")
	}
	d, err := hex.DecodeString(f[0])
	if err != nil || len(d) != sha256.Size {
		return nil, fmt.Errorf("%.80q is not a SHA-256 in hex", f[0])
	}
	return d, nil
}

// DigestFromHeader returns the SHA-256 a response names: X-Checksum-Sha256
// (hex), Repr-Digest: sha-256=:BASE64: (RFC 9530) or Digest: SHA-256=BASE64
// (RFC 3230). ok is false when none of them has a sha-256.
func DigestFromHeader(h http.Header) (d []byte, ok bool, err error) {
	if v := h.Get("X-Checksum-Sha256"); v != "" {
		d, err := ParseHexDigest(v)
		return d, true, err
	}
	for _, name := range []string{"Repr-Digest", "Content-Digest", "Digest"} {
		for _, v := range h.Values(name) {
			for item := range strings.SplitSeq(v, ",") {
				alg, val, found := strings.Cut(strings.TrimSpace(item), "=")
				if !found || !strings.EqualFold(strings.TrimSpace(alg), "sha-256") {
					continue
				}
				val = strings.Trim(strings.TrimSpace(val), ":") // RFC 9530 byte sequences are :base64:
				d, err := base64.StdEncoding.DecodeString(val)
				if err != nil || len(d) != sha256.Size {
					return nil, true, fmt.Errorf("%s: %.80q is not a base64 SHA-256", name, val)
				}
				return d, true, nil
			}
		}
	}
	return nil, false, nil
}

// Run pulls at once and then every interval until ctx is done. source is
// read before each pull, so that a reload that changes [ota] takes effect;
// an empty URL skips the turn.
func (m *Manager) Run(ctx context.Context, client http1.Doer, source func() (Source, time.Duration)) {
	for {
		src, every := source()
		if src.URL != "" {
			if _, err := m.Pull(ctx, client, src); err != nil && ctx.Err() == nil {
				m.log.Warn("ota: pull failed", "url", redactURL(src.URL), "err", err)
			}
			src, every = source()
		}
		if every <= 0 {
			every = time.Minute
		}
		t := time.NewTimer(every)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// redactURL hides the password of a URL for the log.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(bad URL)"
	}
	return u.Redacted()
}
