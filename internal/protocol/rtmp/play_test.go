package rtmp

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/srs-lite/srs-lite/internal/format/flv"
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
// frames (a reference each), time them, chunk them (cached), write them,
// release them.
func playBatchOnce(w *batchWriter, jit *flv.Jitter, ring, batch []media.Frame, dst io.Writer) error {
	for i := range ring {
		batch[i] = ring[i].Clone()
	}
	for i := range ring {
		w.add(&batch[i], jit.Timestamp(&batch[i], batch[i+1:len(ring)]))
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
	jit := flv.NewJitter(media.JitterOff)
	batch := make([]media.Frame, len(ring))
	for range 2 { // built, then cached
		buf.Reset()
		if err := playBatchOnce(w, &jit, ring, batch, &buf); err != nil {
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
	jit := flv.NewJitter(media.JitterFull) // from the second batch on: retimed
	batch := make([]media.Frame, len(ring))
	playBatchOnce(w, &jit, ring, batch, nc) // warm up: build the chunks
	allocs := testing.AllocsPerRun(100, func() {
		nc.SetWriteDeadline(time.Now().Add(time.Second))
		if err := playBatchOnce(w, &jit, ring, batch, nc); err != nil {
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
// chunks, one net.Buffers write to a discarding conn, release. With full
// time jitter every frame's timestamp differs from the cached one (the batch
// repeats: each run is a jump back) and its type 0 header is retimed; with
// off the cached chunks go as they are.
func BenchmarkRTMPPlayBatch(b *testing.B) {
	for _, mode := range []struct {
		name string
		mode media.TimeJitter
	}{{"jitter=full", media.JitterFull}, {"jitter=off", media.JitterOff}} {
		b.Run(mode.name, func(b *testing.B) {
			ring := batchFrames(32)
			defer releaseAll(ring)
			w := newBatchWriter(DefaultOutChunkSize)
			jit := flv.NewJitter(mode.mode)
			batch := make([]media.Frame, len(ring))
			conn := &discardConn{}
			playBatchOnce(w, &jit, ring, batch, conn)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				playBatchOnce(w, &jit, ring, batch, conn)
			}
			b.SetBytes(conn.n / int64(b.N+1))
		})
	}
}

// TestRetimeChunks: cached chunks retimed for a player read back as the
// message with the player's timestamp, whichever side needs the extended
// timestamp field, over several chunks.
func TestRetimeChunks(t *testing.T) {
	payload := make([]byte, 1000)
	for i := range payload {
		payload[i] = byte(i * 7)
	}
	for _, tc := range []struct {
		name     string
		csid     uint32
		pub, out uint32
	}{
		{"same", csidVideo, 4000, 4000},
		{"small", csidVideo, 4000, 0},
		{"pub extended", csidAudio, 0x1000000, 40},
		{"player extended", csidVideo, 40, 0x1000000},
		{"both extended", csidVideo, 0x1000000, 0xFFFFFF},
		{"3-byte basic header", 400, 4000, 0x1000001},
		{"2-byte basic header", 70, 0x1000000, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := MessageHeader{Timestamp: tc.pub, Type: TypeVideo, StreamID: streamID}
			wire := AppendChunks(nil, tc.csid, h, [][]byte{payload}, 128)
			var scratch [retimeScratch]byte
			vec := retimeChunks(nil, wire, tc.out, 128, scratch[:])
			var buf bytes.Buffer
			for _, p := range vec {
				buf.Write(p)
			}
			cr := NewChunkReader(&buf, ReaderOptions{})
			defer cr.Close()
			m, err := cr.ReadMessage()
			if err != nil {
				t.Fatal(err)
			}
			defer m.Release()
			if m.Timestamp != tc.out || m.Type != TypeVideo || m.StreamID != streamID || !bytes.Equal(m.Payload, payload) {
				t.Errorf("got ts %#x type %d sid %d len %d, want ts %#x and the payload", m.Timestamp, m.Type, m.StreamID, len(m.Payload), tc.out)
			}
			if buf.Len() != 0 {
				t.Errorf("%d bytes left over", buf.Len())
			}
			if tc.pub == tc.out && len(vec) != 1 {
				t.Errorf("same timestamp: %d pieces, want the cached chunks whole", len(vec))
			}
		})
	}
}

// TestPlayTimeJitter: a player joining at the GOP cache gets metadata,
// sequence headers and the GOP on its own timeline: from 0 with full and
// zero correction, at the GOP's timestamp with none. The publisher's
// timestamps start late, past the 24-bit field, so that the cached chunks
// carry extended timestamps and the player's do not.
func TestPlayTimeJitter(t *testing.T) {
	const base = 0x1000000 * time.Millisecond // about 4.7 h
	for _, tc := range []struct {
		mode media.TimeJitter
		zero bool // the timeline starts at 0
	}{{media.JitterFull, true}, {media.JitterZero, true}, {media.JitterOff, false}} {
		t.Run(fmt.Sprint(tc.mode), func(t *testing.T) {
			ts := startServer(t, ServerConfig{}, nil)
			ts.reg.Reconfigure(func(string) media.Options {
				o := media.DefaultOptions()
				o.TimeJitter = tc.mode
				return o
			})
			frames := testFrames(75)
			defer releaseAll(frames)
			key := 0 // the newest keyframe, where the player joins
			for i := range frames {
				if i >= 3 {
					frames[i].DTS += base
					frames[i].PTS += base
				}
				if frames[i].IsKey() {
					key = i
				}
			}
			pub := dialPublish(t, ts.url("jit"))
			defer pub.Close()
			for i := range frames {
				if err := pub.WriteFrame(&frames[i]); err != nil {
					t.Fatal(err)
				}
			}
			waitFor(t, "frames", func() bool {
				s := ts.reg.Lookup(media.Key{Vhost: media.DefaultVhost, App: "live", Stream: "jit"})
				return s != nil && s.Stats().FramesIn == uint64(len(frames))
			})
			p := dialPlay(t, ts.url("jit"))
			defer p.Close()
			want := len(frames) - key
			g, err := readFrames(p, want, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if len(g) != 3+want {
				t.Fatalf("%d frames, want %d", len(g), 3+want)
			}
			start := frames[key].DTS
			if tc.zero {
				start = 0
			}
			for i, f := range g {
				at := start // metadata and sequence headers: at the first frame
				src := &frames[i]
				if i >= 3 {
					src = &frames[key+i-3]
					at = src.DTS - frames[key].DTS + start
				}
				if f.dts != at || f.codec != src.Codec || f.flags != src.Flags || f.cts != src.CTS() ||
					(i >= 3 || f.codec != media.CodecData) && !bytes.Equal(f.data, src.Payload) {
					t.Fatalf("frame %d: %v %v at %v cts %v, want %v %v at %v cts %v", i, f.codec, f.flags, f.dts, f.cts, src.Codec, src.Flags, at, src.CTS())
				}
			}
		})
	}
}
