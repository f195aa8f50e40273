package rtmp

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"

	"github.com/srs-lite/srs-lite/internal/media"
)

// discardConn is a net.Conn that swallows writes and reads EOF.
type discardConn struct{ n int64 }

func (c *discardConn) Read([]byte) (int, error)         { return 0, io.EOF }
func (c *discardConn) Write(p []byte) (int, error)      { c.n += int64(len(p)); return len(p), nil }
func (c *discardConn) Close() error                     { return nil }
func (c *discardConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (c *discardConn) RemoteAddr() net.Addr             { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }
func (c *discardConn) SetDeadline(time.Time) error      { return nil }
func (c *discardConn) SetReadDeadline(time.Time) error  { return nil }
func (c *discardConn) SetWriteDeadline(time.Time) error { return nil }

// batchFrames returns n pooled frames as a ring would hold them.
func batchFrames(n int) []media.Frame {
	fs := make([]media.Frame, n)
	for i := range fs {
		if i%3 == 2 {
			fs[i] = ownedFrame(media.CodecAAC, 0, time.Duration(i)*time.Millisecond, bytes.Repeat([]byte{byte(i)}, 300))
		} else {
			fs[i] = ownedFrame(media.CodecH264, 0, time.Duration(i)*time.Millisecond, bytes.Repeat([]byte{byte(i)}, 5000))
		}
	}
	return fs
}

// playBatchOnce does what the play loop does with one batch: take the
// frames (a reference each), chunk them (cached), write them, release them.
func playBatchOnce(w *batchWriter, ring, batch []media.Frame, dst io.Writer) error {
	for i := range ring {
		batch[i] = ring[i].Clone()
	}
	for i := range ring {
		w.add(&batch[i])
	}
	_, err := w.writeTo(dst)
	releaseFrames(batch[:len(ring)])
	return err
}

func TestBatchWriterChunks(t *testing.T) {
	ring := batchFrames(4)
	defer releaseAll(ring)
	var buf bytes.Buffer
	w := newBatchWriter(128)
	batch := make([]media.Frame, len(ring))
	for range 2 { // built, then cached
		buf.Reset()
		if err := playBatchOnce(w, ring, batch, &buf); err != nil {
			t.Fatal(err)
		}
		cr := NewChunkReader(&buf, ReaderOptions{})
		for i := range ring {
			m, err := cr.ReadMessage()
			if err != nil {
				t.Fatal(err)
			}
			wantType := TypeVideo
			hl := 5
			if ring[i].Codec == media.CodecAAC {
				wantType, hl = TypeAudio, 2
			}
			if m.Type != wantType || m.StreamID != streamID || m.Timestamp != uint32(i) ||
				!bytes.Equal(m.Payload[hl:], ring[i].Payload) {
				t.Fatalf("message %d: type %d sid %d ts %d len %d", i, m.Type, m.StreamID, m.Timestamp, len(m.Payload))
			}
			m.Release()
		}
		cr.Close()
	}
	if ring[0].Buf().Wire(media.WireRTMP, wireKey(128, streamID)) == nil {
		t.Error("chunks not cached on the frame")
	}
}

// TestPlayBatchAllocs pins the play hot path at zero allocations: cached
// chunks written with writev to a real TCP connection.
func TestPlayBatchAllocs(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
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
	nc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	ring := batchFrames(32)
	defer releaseAll(ring)
	w := newBatchWriter(DefaultOutChunkSize)
	batch := make([]media.Frame, len(ring))
	playBatchOnce(w, ring, batch, nc) // warm up: build the chunks
	allocs := testing.AllocsPerRun(100, func() {
		nc.SetWriteDeadline(time.Now().Add(time.Second))
		if err := playBatchOnce(w, ring, batch, nc); err != nil {
			t.Fatal(err)
		}
	})
	nc.Close()
	<-done
	if allocs != 0 {
		t.Errorf("%v allocs per batch, want 0", allocs)
	}
}

// BenchmarkRTMPPlayBatch measures a player's batch: 32 frames with cached
// chunks, one net.Buffers write to a discarding conn, release.
func BenchmarkRTMPPlayBatch(b *testing.B) {
	ring := batchFrames(32)
	defer releaseAll(ring)
	w := newBatchWriter(DefaultOutChunkSize)
	batch := make([]media.Frame, len(ring))
	conn := &discardConn{}
	playBatchOnce(w, ring, batch, conn)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		playBatchOnce(w, ring, batch, conn)
	}
	b.SetBytes(conn.n / int64(b.N+1))
}
