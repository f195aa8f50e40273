package rtmp

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// refDigestOffset and refDigest recompute the digest handshake independently
// of the code under test, as published descriptions of it give it.
func refDigestOffset(p []byte, schema int) int {
	if schema == 0 {
		return (int(p[772])+int(p[773])+int(p[774])+int(p[775]))%728 + 776
	}
	return (int(p[8])+int(p[9])+int(p[10])+int(p[11]))%728 + 12
}

func refHMAC(key []byte, data ...[]byte) []byte {
	h := hmac.New(sha256.New, key)
	for _, d := range data {
		h.Write(d)
	}
	return h.Sum(nil)
}

func refValid(p []byte, schema int, key []byte) bool {
	off := refDigestOffset(p, schema)
	return hmac.Equal(refHMAC(key, p[:off], p[off+32:]), p[off:off+32])
}

// server runs ServerHandshake on one end of a pipe and returns its error.
func server(c net.Conn) <-chan error {
	ch := make(chan error, 1)
	go func() {
		ch <- ServerHandshake(c)
		c.Close()
	}()
	return ch
}

// TestServerDigestHandshake drives the server with a C1 signed the way
// Flash Player does, in both schemas, and verifies S1 and S2 with the
// reference algorithm.
func TestServerDigestHandshake(t *testing.T) {
	fpText := []byte("Genuine Adobe Flash Player 001")
	fmsText := []byte("Genuine Adobe Flash Media Server 001")
	for schema := range 2 {
		t.Run([]string{"schema0", "schema1"}[schema], func(t *testing.T) {
			c0c1 := make([]byte, 1537)
			c0c1[0] = 3
			c1 := c0c1[1:]
			for i := range c1 {
				c1[i] = byte(i*7 + schema)
			}
			copy(c1[4:8], []byte{9, 0, 124, 2})
			off := refDigestOffset(c1, schema)
			copy(c1[off:], refHMAC(fpText, c1[:off], c1[off+32:]))
			if other := 1 - schema; refValid(c1, other, fpText) {
				t.Fatal("test vector validates in both schemas")
			}
			c1Digest := append([]byte(nil), c1[off:off+32]...)

			cc, sc := net.Pipe()
			errc := server(sc)
			cc.SetDeadline(time.Now().Add(5 * time.Second))
			if _, err := cc.Write(c0c1); err != nil {
				t.Fatal(err)
			}
			s := make([]byte, 1+2*1536)
			if _, err := io.ReadFull(cc, s); err != nil {
				t.Fatal(err)
			}
			if s[0] != 3 {
				t.Fatalf("S0 = %d", s[0])
			}
			s1, s2 := s[1:1537], s[1537:]
			if !refValid(s1, schema, fmsText) {
				t.Fatal("S1 digest does not verify")
			}
			key := refHMAC(genuineFMSKey, c1Digest)
			if !hmac.Equal(refHMAC(key, s2[:1504]), s2[1504:]) {
				t.Fatal("S2 digest does not verify")
			}
			if _, err := cc.Write(make([]byte, 1536)); err != nil {
				t.Fatal(err)
			}
			if err := <-errc; err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestServerFFmpegC1 answers a C1 captured from ffmpeg 5.1 publishing.
func TestServerFFmpegC1(t *testing.T) {
	c0c1, err := os.ReadFile("testdata/ffmpeg_c0c1.bin")
	if err != nil {
		t.Fatal(err)
	}
	schema, digest, ok := findDigest(c0c1[1:], genuineFPKey[:30])
	if !ok {
		t.Fatal("ffmpeg C1 digest does not validate")
	}
	cc, sc := net.Pipe()
	errc := server(sc)
	cc.Write(c0c1)
	s := make([]byte, 1+2*1536)
	if _, err := io.ReadFull(cc, s); err != nil {
		t.Fatal(err)
	}
	if !refValid(s[1:1537], schema, genuineFMSKey[:36]) || !verifyResponse(s[1537:], genuineFMSKey, digest) {
		t.Fatal("S1/S2 digests do not verify")
	}
	cc.Write(make([]byte, 1536))
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

func TestServerSimpleHandshake(t *testing.T) {
	c0c1 := make([]byte, 1537)
	c0c1[0] = 3
	for i := 9; i < len(c0c1); i++ {
		c0c1[i] = byte(i)
	}
	cc, sc := net.Pipe()
	errc := server(sc)
	cc.Write(c0c1)
	s := make([]byte, 1+2*1536)
	if _, err := io.ReadFull(cc, s); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(s[1537:], c0c1[1:]) {
		t.Fatal("S2 does not echo C1") // RTMP 5.2.4
	}
	if !bytes.Equal(s[5:9], []byte{0, 0, 0, 0}) {
		t.Fatal("S1 zero field is not zero") // RTMP 5.2.3
	}
	cc.Write(s[1:1537]) // C2 echoes S1
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

func TestHandshakePipe(t *testing.T) {
	for _, complex := range []bool{false, true} {
		t.Run(map[bool]string{false: "simple", true: "complex"}[complex], func(t *testing.T) {
			cc, sc := net.Pipe()
			defer cc.Close()
			errc := server(sc)
			cc.SetDeadline(time.Now().Add(5 * time.Second))
			rec := &recordConn{Conn: cc}
			if err := ClientHandshake(rec, complex); err != nil {
				t.Fatal(err)
			}
			if err := <-errc; err != nil {
				t.Fatal(err)
			}
			// The server answers in kind: a signed S1 only to a signed C1.
			if _, _, ok := findDigest(rec.b[1:1537], genuineFMSKey[:36]); ok != complex {
				t.Fatalf("S1 digest valid = %v", ok)
			}
		})
	}
}

// TestClientAgainstSimpleServer: a complex client accepts a server that
// answers with the simple handshake.
func TestClientAgainstSimpleServer(t *testing.T) {
	cc, sc := net.Pipe()
	go func() {
		defer sc.Close()
		c := make([]byte, 1537)
		if _, err := io.ReadFull(sc, c); err != nil {
			return
		}
		s := make([]byte, 1+2*1536)
		s[0] = 3
		copy(s[1537:], c[1:])
		sc.Write(s)
		io.ReadFull(sc, c[1:])
	}()
	if err := ClientHandshake(cc, true); err != nil {
		t.Fatal(err)
	}
}

func TestClientBadS2(t *testing.T) {
	cc, sc := net.Pipe()
	go func() {
		defer sc.Close()
		c := make([]byte, 1537)
		if _, err := io.ReadFull(sc, c); err != nil {
			return
		}
		s := make([]byte, 1+2*1536)
		s[0] = 3
		signPacket(s[1:1537], 1, genuineFMSKey[:36])
		sc.Write(s) // S2 all zero: neither signed nor an echo
	}()
	if err := ClientHandshake(cc, true); !errors.Is(err, ErrHandshakeDigest) {
		t.Fatalf("err = %v", err)
	}
}

func TestServerHandshakeErrors(t *testing.T) {
	tests := []struct {
		name  string
		input []byte
		want  error
	}{
		{"garbage c0", append([]byte{0x16}, make([]byte, 1536)...), ErrVersion},
		{"rtmpe c0", append([]byte{6}, make([]byte, 1536)...), ErrVersion},
		{"empty", nil, io.EOF},
		{"truncated c1", append([]byte{3}, make([]byte, 700)...), io.ErrUnexpectedEOF},
		{"missing c2", append([]byte{3}, make([]byte, 1536)...), io.EOF},
		{"truncated c2", append([]byte{3}, make([]byte, 1536+100)...), io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rw := &fakeConn{r: bytes.NewReader(tt.input)}
			err := ServerHandshake(rw)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

// recordConn records what it reads.
type recordConn struct {
	net.Conn
	b []byte
}

func (c *recordConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.b = append(c.b, p[:n]...)
	return n, err
}

// fakeConn reads from r and discards writes.
type fakeConn struct {
	r io.Reader
	w bytes.Buffer
}

func (c *fakeConn) Read(p []byte) (int, error)  { return c.r.Read(p) }
func (c *fakeConn) Write(p []byte) (int, error) { return c.w.Write(p) }

func FuzzHandshake(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		rw := &fakeConn{r: bytes.NewReader(b)}
		err := ServerHandshake(rw)
		if err == nil && len(b) < 1+2*1536 {
			t.Fatalf("handshake succeeded on %d bytes", len(b))
		}
		if rw.w.Len() != 0 && rw.w.Len() != 1+2*1536 {
			t.Fatalf("wrote %d bytes", rw.w.Len())
		}
	})
}
