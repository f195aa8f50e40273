package rawio

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

func tcpPair(t testing.TB) (client, server net.Conn) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if client, err = net.Dial("tcp", ln.Addr().String()); err != nil {
		t.Fatal(err)
	}
	if server, err = ln.Accept(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close(); _ = server.Close() })
	return client, server
}

// TestReader: bytes in order, a read deadline, EOF when the peer closes,
// net.ErrClosed once the connection is closed.
func TestReader(t *testing.T) {
	client, server := tcpPair(t)
	r := NewReader(server)
	want := bytes.Repeat([]byte("0123456789"), 10000)
	go func() { _, _ = client.Write(want) }()
	got := make([]byte, len(want))
	if _, err := io.ReadFull(r, got); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("read %v", err)
	}
	_ = server.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	if _, err := r.Read(got); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("past the deadline: %v", err)
	}
	_ = server.SetReadDeadline(time.Time{})
	_ = client.Close()
	if _, err := r.Read(got); err != io.EOF {
		t.Fatalf("after the peer closed: %v", err)
	}
	_ = server.Close()
	if _, err := r.Read(got); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
}

// BenchmarkRead is a publisher's read: 4 KB at a time.
func BenchmarkRead(b *testing.B) {
	client, server := tcpPair(b)
	r := NewReader(server)
	p := make([]byte, 4096)
	go func() {
		for {
			if _, err := client.Write(p); err != nil {
				return
			}
		}
	}()
	b.ReportAllocs()
	b.SetBytes(int64(len(p)))
	for b.Loop() {
		if _, err := io.ReadFull(r, p); err != nil {
			b.Fatal(err)
		}
	}
}
