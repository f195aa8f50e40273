package rtmp

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"testing"
	"time"

	"github.com/srs-lite/srs-lite/internal/media"
)

// testCert is a self-signed certificate for 127.0.0.1.
func testCert(t testing.TB) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// startTLSServer is startServer on a TLS listener.
func startTLSServer(t testing.TB) (addr string, reg *media.Registry, roots *x509.CertPool) {
	t.Helper()
	cert, roots := testCert(t)
	ts := &testServer{reg: media.NewRegistry(publisherTime)}
	srv, err := NewServer(ServerConfig{}, ServerDeps{Registry: ts.reg, Log: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		done <- srv.Serve(context.Background(), tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}}))
	}()
	t.Cleanup(func() {
		srv.Close()
		<-done
	})
	return ln.Addr().String(), ts.reg, roots
}

// TestRTMPS: the client dials rtmps://, verifying the certificate by
// default (an unknown one is refused), and publishes and plays over TLS
// with a trusted one; the player's batches go out through the gather
// path (a *tls.Conn has no writev).
func TestRTMPS(t *testing.T) {
	addr, reg, roots := startTLSServer(t)
	u := "rtmps://" + addr + "/live/tls"
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	_, err := Dial(ctx, u, ClientOptions{})
	var unknown x509.UnknownAuthorityError
	if !errors.As(err, &unknown) {
		t.Fatalf("dial with default verification: %v, want an unknown authority", err)
	}

	pub, err := Dial(ctx, u, ClientOptions{TLS: &tls.Config{RootCAs: roots}})
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	if err := pub.Publish(ctx); err != nil {
		t.Fatal(err)
	}
	frames := testFrames(90)
	defer releaseAll(frames)
	for i := range frames[:4] { // metadata, sequence headers, the first keyframe
		if err := pub.WriteFrame(&frames[i]); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "publish", func() bool {
		return reg.Lookup(media.Key{Vhost: media.DefaultVhost, App: "live", Stream: "tls"}) != nil
	})

	got := make(chan int, 1)
	go func() {
		n := 0
		pctx, pcancel := context.WithCancel(ctx)
		defer pcancel()
		_ = PlayTagsWith(pctx, u, ClientOptions{TLS: &tls.Config{InsecureSkipVerify: true}}, func(uint8, uint32, []byte) {
			n++
			if n == 60 {
				pcancel()
			}
		})
		got <- n
	}()
	time.Sleep(300 * time.Millisecond) // the player joins at the keyframe
	for i := range frames[4:] {
		if err := pub.WriteFrame(&frames[4+i]); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	select {
	case n := <-got:
		if n < 60 {
			t.Fatalf("played %d tags over RTMPS, want 60", n)
		}
	case <-ctx.Done():
		t.Fatal("player stalled")
	}
}

// countingWriter counts Writes and keeps the bytes.
type countingWriter struct {
	writes int
	buf    []byte
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.writes++
	w.buf = append(w.buf, p...)
	return len(p), nil
}

// TestWriteGathered: the bytes are those of the pieces in order, in
// TLS-record-sized writes at most, big pieces written as they are.
func TestWriteGathered(t *testing.T) {
	var vec [][]byte
	var want []byte
	for i, size := range []int{12, 4000, 1, 12, 20000, 3, 16384, 7, 12, 9000} {
		p := make([]byte, size)
		for j := range p {
			p[j] = byte(i*31 + j)
		}
		vec = append(vec, p)
		want = append(want, p...)
	}
	var w countingWriter
	n, err := media.WriteGathered(&w, vec)
	if err != nil || n != int64(len(want)) || string(w.buf) != string(want) {
		t.Fatalf("n=%d err=%v, bytes equal %v", n, err, string(w.buf) == string(want))
	}
	if max := len(want)/media.GatherSize + 3; w.writes > max {
		t.Errorf("%d writes for %d bytes, want at most %d", w.writes, len(want), max)
	}
}

// BenchmarkWriteGathered: a player's batch of 8 video frames (chunk
// headers and payloads) to a connection without writev.
func BenchmarkWriteGathered(b *testing.B) {
	var vec [][]byte
	total := 0
	for range 8 {
		for range 4 {
			vec = append(vec, make([]byte, 12), make([]byte, 4096))
			total += 12 + 4096
		}
	}
	b.SetBytes(int64(total))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := media.WriteGathered(io.Discard, vec); err != nil {
			b.Fatal(err)
		}
	}
}
