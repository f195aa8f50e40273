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
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeServer stands in for the server: its "config" is the file's content,
// applied by reading the file; "bad" configs fail their check, "noapply"
// ones fail to apply, and "sick" ones fail the self-check.
type fakeServer struct {
	path    string
	mu      sync.Mutex
	running string
	applies int
}

func (f *fakeServer) check(data []byte) error {
	if strings.Contains(string(data), "bad") {
		return errors.New("config: line 1: bad value")
	}
	return nil
}

func (f *fakeServer) apply() error {
	data, err := os.ReadFile(f.path)
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.applies++
	if strings.Contains(string(data), "noapply") {
		return errors.New("log: open /nonexistent/x.log: no such file")
	}
	f.running = string(data)
	return nil
}

func (f *fakeServer) healthy(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if strings.Contains(f.running, "sick") {
		return errors.New("listener rtmp does not accept")
	}
	return nil
}

func (f *fakeServer) state() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.running
}

func newManager(t *testing.T, initial string) (*Manager, *fakeServer) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "srs-lite.toml")
	if err := os.WriteFile(path, []byte(initial), 0o600); err != nil {
		t.Fatal(err)
	}
	f := &fakeServer{path: path, running: initial}
	m, err := New(Deps{Path: path, Check: f.check, Apply: f.apply, Healthy: f.healthy,
		Grace: func() time.Duration { return 300 * time.Millisecond }})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return m, f
}

func readString(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		return "(" + err.Error() + ")"
	}
	return string(b)
}

func TestNew(t *testing.T) {
	if _, err := New(Deps{}); err == nil {
		t.Fatal("New without deps")
	}
}

func TestStartKeepsLastGood(t *testing.T) {
	m, f := newManager(t, "v1")
	if got := readString(t, f.path+LastGoodSuffix); got != "v1" {
		t.Fatalf("last good = %q", got)
	}
	if string(m.Good()) != "v1" {
		t.Fatalf("Good() = %q", m.Good())
	}
	if st, _ := os.Stat(f.path + LastGoodSuffix); st.Mode().Perm() != 0o644 {
		t.Logf("last-good mode %v", st.Mode().Perm()) // a new file: 0644
	}
}

func TestPut(t *testing.T) {
	tests := []struct {
		name    string
		data    string
		err     error  // errors.Is
		stage   string // of a *RollbackError
		file    string // on disk afterwards
		running string
		good    string
	}{
		{"good", "v2", nil, "", "v2", "v2", "v2"},
		{"check fails", "v2 bad", nil, "", "v1", "v1", "v1"},
		{"apply fails", "v2 noapply", ErrRolledBack, "apply", "v1", "v1", "v1"},
		{"unhealthy", "v2 sick", ErrRolledBack, "health", "v1", "v1", "v1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, f := newManager(t, "v1")
			err := m.Put(context.Background(), []byte(tt.data), "test")
			switch {
			case tt.name == "check fails":
				if err == nil || errors.Is(err, ErrRolledBack) || !strings.Contains(err.Error(), "bad value") {
					t.Fatalf("err = %v", err)
				}
				if f.applies != 0 {
					t.Errorf("applied %d times", f.applies)
				}
			case tt.err == nil:
				if err != nil {
					t.Fatal(err)
				}
			default:
				var re *RollbackError
				if !errors.Is(err, tt.err) || !errors.As(err, &re) || re.Stage != tt.stage || re.Rollback != nil {
					t.Fatalf("err = %#v", err)
				}
				if got := readString(t, f.path+RejectedSuffix); got != tt.data {
					t.Errorf("rejected = %q", got)
				}
			}
			if got := readString(t, f.path); got != tt.file {
				t.Errorf("file = %q, want %q", got, tt.file)
			}
			if got := f.state(); got != tt.running {
				t.Errorf("running = %q, want %q", got, tt.running)
			}
			if got := readString(t, f.path+LastGoodSuffix); got != tt.good {
				t.Errorf("last good = %q, want %q", got, tt.good)
			}
			if st, _ := os.Stat(f.path); st.Mode().Perm() != 0o600 {
				t.Errorf("mode %v: the file's mode is kept", st.Mode().Perm())
			}
			left, _ := filepath.Glob(filepath.Join(filepath.Dir(f.path), ".*tmp*"))
			if len(left) > 0 {
				t.Errorf("temporary files left: %v", left)
			}
		})
	}
}

func TestPutBusyAndNoFile(t *testing.T) {
	busyWait = 50 * time.Millisecond
	defer func() { busyWait = 2 * time.Second }()
	m, f := newManager(t, "v1")
	os.WriteFile(f.path, []byte("v2 sick"), 0o644) // fails its health checks until the grace ends
	done := make(chan error)
	go func() { done <- m.Reload(context.Background(), "test") }()
	time.Sleep(50 * time.Millisecond)
	if err := m.Put(context.Background(), []byte("v3"), "test"); !errors.Is(err, ErrBusy) {
		t.Errorf("concurrent Put: %v", err)
	}
	<-done

	n, err := New(Deps{Check: f.check, Apply: f.apply, Healthy: f.healthy})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Put(context.Background(), []byte("v2"), "test"); !errors.Is(err, ErrNoFile) {
		t.Errorf("no file: %v", err)
	}
	if err := n.Start(context.Background()); err != nil {
		t.Errorf("Start without a file: %v", err)
	}
	if err := m.Put(context.Background(), make([]byte, MaxSize+1), "test"); err == nil {
		t.Error("oversized config accepted")
	}
}

// TestReloadDroppedFile: a file dropped in place and reloaded (SIGHUP)
// gets the same checks as a PUT, and a bad one is replaced by the last good.
func TestReloadDroppedFile(t *testing.T) {
	tests := []struct {
		name, data, file, running string
		rolled                    bool
		reapplied                 bool
	}{
		{"good", "v2", "v2", "v2", false, false},
		{"invalid", "v2 bad", "v1", "v1", true, false},
		{"apply fails", "v2 noapply", "v1", "v1", true, true},
		{"unhealthy", "v2 sick", "v1", "v1", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, f := newManager(t, "v1")
			os.WriteFile(f.path, []byte(tt.data), 0o644)
			err := m.Reload(context.Background(), "SIGHUP")
			if tt.rolled != errors.Is(err, ErrRolledBack) {
				t.Fatalf("err = %v", err)
			}
			if got := readString(t, f.path); got != tt.file {
				t.Errorf("file = %q", got)
			}
			if got := f.state(); got != tt.running {
				t.Errorf("running = %q", got)
			}
			if tt.rolled && readString(t, f.path+RejectedSuffix) != tt.data {
				t.Errorf("rejected = %q", readString(t, f.path+RejectedSuffix))
			}
			// An invalid file never runs; one that fails is applied, then the
			// last good one is applied again.
			if want := map[string]int{"good": 1, "invalid": 0}[tt.name]; tt.reapplied && f.applies != 2 || !tt.reapplied && f.applies != want {
				t.Errorf("applies = %d", f.applies)
			}
		})
	}
}

func TestUnhealthyStart(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "srs-lite.toml")
	os.WriteFile(path, []byte("v2 sick"), 0o644)
	os.WriteFile(path+LastGoodSuffix, []byte("v1"), 0o644)
	f := &fakeServer{path: path, running: "v2 sick"}
	m, _ := New(Deps{Path: path, Check: f.check, Apply: f.apply, Healthy: f.healthy,
		Grace: func() time.Duration { return 100 * time.Millisecond }})
	if err := m.Start(context.Background()); err == nil {
		t.Fatal("unhealthy start: no error")
	}
	if string(m.Good()) != "v1" || readString(t, path+LastGoodSuffix) != "v1" {
		t.Fatalf("good %q, last good file %q", m.Good(), readString(t, path+LastGoodSuffix))
	}
	// The next change that fails rolls back to v1, which then runs.
	if err := m.Put(context.Background(), []byte("v3 noapply"), "test"); !errors.Is(err, ErrRolledBack) {
		t.Fatal(err)
	}
	if readString(t, path) != "v1" || f.state() != "v1" {
		t.Fatalf("file %q running %q", readString(t, path), f.state())
	}
}

// TestBaselineBeforeStart: a Put before Start ran rolls back to the file
// the server runs.
func TestBaselineBeforeStart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.toml")
	os.WriteFile(path, []byte("v1"), 0o644)
	f := &fakeServer{path: path, running: "v1"}
	m, _ := New(Deps{Path: path, Check: f.check, Apply: f.apply, Healthy: f.healthy,
		Grace: func() time.Duration { return 100 * time.Millisecond }})
	if err := m.Put(context.Background(), []byte("v2 sick"), "test"); !errors.Is(err, ErrRolledBack) {
		t.Fatal(err)
	}
	if readString(t, path) != "v1" || f.state() != "v1" {
		t.Fatalf("file %q running %q", readString(t, path), f.state())
	}
	// Reload before Start with no last good known: the file cannot be restored.
	os.Remove(path + LastGoodSuffix)
	n, _ := New(Deps{Path: path, Check: f.check, Apply: f.apply, Healthy: f.healthy})
	os.WriteFile(path, []byte("v3 bad"), 0o644)
	var re *RollbackError
	if err := n.Reload(context.Background(), "test"); !errors.As(err, &re) || re.Rollback == nil {
		t.Fatalf("err = %v", err)
	}
}

func digestHex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// origin serves a config with an ETag and a digest the way the test sets.
type origin struct {
	mu       sync.Mutex
	body     string
	header   string // "hex", "repr", "digest", "none", "wrong"
	requests atomic.Int32
	notMod   atomic.Int32
}

func (o *origin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	o.mu.Lock()
	body, mode := o.body, o.header
	o.mu.Unlock()
	sum := sha256.Sum256([]byte(body))
	if r.URL.Path == "/c.toml.sha256" {
		fmt.Fprintf(w, "%s  c.toml\n", hex.EncodeToString(sum[:]))
		return
	}
	if r.URL.Path == "/404" {
		http.NotFound(w, r)
		return
	}
	o.requests.Add(1)
	etag := `"` + hex.EncodeToString(sum[:4]) + `"`
	if r.Header.Get("If-None-Match") == etag {
		o.notMod.Add(1)
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("ETag", etag)
	switch mode {
	case "hex":
		w.Header().Set("X-Checksum-Sha256", hex.EncodeToString(sum[:]))
	case "repr":
		w.Header().Set("Repr-Digest", "sha-512=:AAAA:, sha-256=:"+base64.StdEncoding.EncodeToString(sum[:])+":")
	case "digest":
		w.Header().Set("Digest", "SHA-256="+base64.StdEncoding.EncodeToString(sum[:]))
	case "wrong":
		w.Header().Set("X-Checksum-Sha256", digestHex([]byte("something else")))
	}
	w.Write([]byte(body))
}

func (o *origin) set(body, header string) {
	o.mu.Lock()
	o.body, o.header = body, header
	o.mu.Unlock()
}

func TestPull(t *testing.T) {
	o := &origin{}
	ts := httptest.NewServer(o)
	defer ts.Close()
	src := Source{URL: ts.URL + "/c.toml"}
	ctx := context.Background()

	for _, h := range []string{"hex", "repr", "digest"} {
		t.Run(h, func(t *testing.T) {
			m, f := newManager(t, "v1")
			o.set("v2 "+h, h)
			applied, err := m.Pull(ctx, nil, src)
			if err != nil || !applied || f.state() != "v2 "+h || readString(t, f.path) != "v2 "+h {
				t.Fatalf("applied %v err %v running %q", applied, err, f.state())
			}
			// Unchanged: If-None-Match gets a 304 and nothing happens.
			n := o.notMod.Load()
			if applied, err := m.Pull(ctx, nil, src); applied || err != nil || o.notMod.Load() != n+1 {
				t.Fatalf("second pull: %v %v", applied, err)
			}
		})
	}

	t.Run("sha256_url", func(t *testing.T) {
		m, f := newManager(t, "v1")
		o.set("v3", "none")
		s := Source{URL: ts.URL + "/c.toml", SHA256URL: ts.URL + "/c.toml.sha256"}
		if applied, err := m.Pull(ctx, nil, s); err != nil || !applied || f.state() != "v3" {
			t.Fatalf("%v %v %q", applied, err, f.state())
		}
		bad := Source{URL: ts.URL + "/c.toml", SHA256URL: ts.URL + "/missing"}
		o.set("v4", "none")
		if _, err := m.Pull(ctx, nil, bad); !errors.Is(err, ErrChecksum) || f.state() != "v3" {
			t.Fatalf("digest file missing: %v", err)
		}
	})

	t.Run("no or wrong digest", func(t *testing.T) {
		for _, h := range []string{"none", "wrong"} {
			m, f := newManager(t, "v1")
			o.set("v5 "+h, h)
			if applied, err := m.Pull(ctx, nil, src); applied || !errors.Is(err, ErrChecksum) {
				t.Fatalf("%s: %v %v", h, applied, err)
			}
			if f.applies != 0 || readString(t, f.path) != "v1" {
				t.Fatalf("%s: something was applied", h)
			}
		}
	})

	t.Run("refused once", func(t *testing.T) {
		m, f := newManager(t, "v1")
		o.set("v6 sick", "hex")
		if _, err := m.Pull(ctx, nil, src); !errors.Is(err, ErrRolledBack) {
			t.Fatal(err)
		}
		applies := f.applies
		// The origin forgets ETags; the same refused config is not tried again.
		m.etag = ""
		if applied, err := m.Pull(ctx, nil, src); applied || err != nil || f.applies != applies {
			t.Fatalf("retried: %v %v", applied, err)
		}
		// Same as running: nothing to do.
		o.set("v1", "hex")
		m.etag = ""
		if applied, err := m.Pull(ctx, nil, src); applied || err != nil || f.applies != applies {
			t.Fatalf("same config: %v %v", applied, err)
		}
	})

	t.Run("errors", func(t *testing.T) {
		m, _ := newManager(t, "v1")
		for _, s := range []Source{{URL: ts.URL + "/404"}, {URL: "http://127.0.0.1:1/x"}, {URL: "::bad"}} {
			if _, err := m.Pull(ctx, nil, s); err == nil {
				t.Errorf("%s: no error", s.URL)
			}
		}
	})

	t.Run("run", func(t *testing.T) {
		m, f := newManager(t, "v1")
		o.set("v7", "hex")
		rctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			m.Run(rctx, nil, func() (Source, time.Duration) { return src, 20 * time.Millisecond })
			close(done)
		}()
		deadline := time.Now().Add(5 * time.Second)
		for f.state() != "v7" && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		cancel()
		<-done
		if f.state() != "v7" {
			t.Fatalf("running %q", f.state())
		}
	})
}

func TestDigestFromHeader(t *testing.T) {
	sum := sha256.Sum256([]byte("x"))
	b64 := base64.StdEncoding.EncodeToString(sum[:])
	tests := []struct {
		name, key, val string
		ok, err        bool
	}{
		{"hex", "X-Checksum-Sha256", hex.EncodeToString(sum[:]), true, false},
		{"hex upper", "X-Checksum-Sha256", strings.ToUpper(hex.EncodeToString(sum[:])), true, false},
		{"repr", "Repr-Digest", "sha-256=:" + b64 + ":", true, false},
		{"content", "Content-Digest", "sha-256=:" + b64 + ":", true, false},
		{"digest", "Digest", "MD5=abc, SHA-256=" + b64, true, false},
		{"other alg", "Digest", "MD5=abc", false, false},
		{"bad hex", "X-Checksum-Sha256", "zz", true, true},
		{"short", "Repr-Digest", "sha-256=:AAAA:", true, true},
		{"none", "X-Other", "1", false, false},
	}
	for _, tt := range tests {
		h := http.Header{}
		h.Set(tt.key, tt.val)
		d, ok, err := DigestFromHeader(h)
		if ok != tt.ok || (err != nil) != tt.err || (ok && !tt.err && !bytes.Equal(d, sum[:])) {
			t.Errorf("%s: %x %v %v", tt.name, d, ok, err)
		}
	}
}

// FuzzDigest: the digest parsers never panic and return 32 bytes or an error.
func FuzzDigest(f *testing.F) {
	f.Add("sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:")
	f.Fuzz(func(t *testing.T, s string) {
		if d, err := ParseHexDigest(s); err == nil && len(d) != sha256.Size {
			t.Fatalf("hex %q: %d bytes", s, len(d))
		}
		for _, k := range []string{"X-Checksum-Sha256", "Repr-Digest", "Digest"} {
			h := http.Header{k: {s}}
			if d, ok, err := DigestFromHeader(h); ok && err == nil && len(d) != sha256.Size {
				t.Fatalf("%s %q: %d bytes", k, s, len(d))
			}
		}
	})
}

// TestPullSigned: with a public key, a pulled config is applied only when
// signed by it (X-Signature-Ed25519 header, or signature_url), without a
// digest; a wrong or missing signature, or one by another key, is refused
// and nothing is applied.
func TestPullSigned(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	_, other, _ := ed25519.GenerateKey(nil)
	var mu sync.Mutex
	var body, header string
	var key ed25519.PrivateKey
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		b, h, k := body, header, key
		mu.Unlock()
		sig := base64.StdEncoding.EncodeToString(ed25519.Sign(k, []byte(b)))
		if r.URL.Path == "/c.toml.sig" {
			fmt.Fprintln(w, sig)
			return
		}
		switch h {
		case "signed":
			w.Header().Set("X-Signature-Ed25519", sig)
		case "garbage":
			w.Header().Set("X-Signature-Ed25519", "bm90IGEgc2lnbmF0dXJl")
		}
		io.WriteString(w, b)
	}))
	defer ts.Close()
	set := func(b, h string, k ed25519.PrivateKey) {
		mu.Lock()
		body, header, key = b, h, k
		mu.Unlock()
	}
	ctx := context.Background()
	src := Source{URL: ts.URL + "/c.toml", PublicKey: pub}
	for _, c := range []struct {
		name, header string
		key          ed25519.PrivateKey
		src          Source
		ok           bool
	}{
		{"header", "signed", priv, src, true},
		{"signature_url", "none", priv, Source{URL: src.URL, PublicKey: pub, SignatureURL: ts.URL + "/c.toml.sig"}, true},
		{"another key", "signed", other, src, false},
		{"no signature", "none", priv, src, false},
		{"not a signature", "garbage", priv, src, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			m, f := newManager(t, "v1")
			set("v2 "+c.name, c.header, c.key)
			applied, err := m.Pull(ctx, nil, c.src)
			if c.ok && (err != nil || !applied || f.state() != "v2 "+c.name) {
				t.Fatalf("applied %v err %v running %q", applied, err, f.state())
			}
			if !c.ok && (applied || !errors.Is(err, ErrSignature) || f.applies != 0 || readString(t, f.path) != "v1") {
				t.Fatalf("applied %v err %v, want ErrSignature and nothing applied", applied, err)
			}
		})
	}
}
