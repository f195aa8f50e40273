package httpflv

import (
	"context"
	"io"
	"net"
	"testing"
	"time"

	"github.com/srs-lite/srs-lite/internal/format/flv"
	"github.com/srs-lite/srs-lite/internal/media"
	sess "github.com/srs-lite/srs-lite/internal/session"
)

// countConn is a net.Conn that counts and drops what is written.
type countConn struct {
	net.Conn // nil: only the methods below are used
	n        int64
}

func (c *countConn) Write(p []byte) (int, error)      { c.n += int64(len(p)); return len(p), nil }
func (c *countConn) SetWriteDeadline(time.Time) error { return nil }
func (c *countConn) Close() error                     { return nil }

// batchBench is a play's steady state: a batch of frames held by the ring,
// retained as Reader.Read would, written as one chunk and released.
type batchBench struct {
	s      *session
	master []media.Frame
	batch  []media.Frame
}

func newBatchBench(conn net.Conn, frames int) *batchBench {
	bb := &batchBench{
		s: &session{sess: &sess.Session{}, tags: make([][]byte, 0, 2*DefaultBatchFrames),
			hdrs: make([][flv.TagHeaderSize]byte, DefaultBatchFrames),
			out:  &connSink{conn: conn, chunked: true, timeout: 10 * time.Second}},
		master: make([]media.Frame, frames),
		batch:  make([]media.Frame, DefaultBatchFrames),
	}
	payload := make([]byte, 1500)
	for i := range bb.master {
		c, fl := media.CodecH264, media.Flags(0)
		if i%2 == 1 {
			c, payload = media.CodecAAC, payload[:300]
		} else {
			payload = payload[:1500]
		}
		if i == 0 {
			fl = media.FlagKey
		}
		bb.master[i] = newFrame(c, fl, i*20, payload)
	}
	return bb
}

func (bb *batchBench) run() error {
	b := bb.batch[:len(bb.master)]
	copy(b, bb.master)
	for i := range b {
		b[i].Retain()
	}
	return bb.s.write(context.Background(), b)
}

func (bb *batchBench) release() { releaseFrames(bb.master) }

// tcpConn returns the client end of a loopback TCP connection whose server
// end drains everything.
func tcpConn(tb testing.TB) net.Conn {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		io.Copy(io.Discard, c)
		c.Close()
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		c.Close()
		<-done
	})
	return c
}

func BenchmarkFLVPlayBatch(b *testing.B) {
	for _, tc := range []struct {
		name string
		conn func(testing.TB) net.Conn
	}{
		{"discard", func(testing.TB) net.Conn { return &countConn{} }},
		{"tcp", tcpConn},
	} {
		b.Run(tc.name, func(b *testing.B) {
			bb := newBatchBench(tc.conn(b), 32)
			defer bb.release()
			if err := bb.run(); err != nil { // build the shared FLV tags
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.SetBytes(int64(bb.s.bytes))
			for b.Loop() {
				if err := bb.run(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestPlayBatchAllocs pins the steady path of a play, encoding (cached) and
// writing a batch as one chunk, at zero allocations.
func TestPlayBatchAllocs(t *testing.T) {
	conn := &countConn{}
	bb := newBatchBench(conn, 32)
	defer bb.release()
	if err := bb.run(); err != nil {
		t.Fatal(err)
	}
	per := conn.n
	if allocs := testing.AllocsPerRun(100, func() {
		if err := bb.run(); err != nil {
			t.Fatal(err)
		}
	}); allocs != 0 {
		t.Errorf("%v allocs per batch, want 0", allocs)
	}
	if conn.n != per*102 {
		t.Errorf("wrote %d bytes, want %d", conn.n, per*102)
	}
}
