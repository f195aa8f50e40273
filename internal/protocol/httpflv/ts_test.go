package httpflv

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/srs-lite/srs-lite/internal/format/codec/h264"
	"github.com/srs-lite/srs-lite/internal/format/ts"
	"github.com/srs-lite/srs-lite/internal/media"
)

var (
	testSPS = []byte{0x67, 0x42, 0x00, 0x1e, 0xaa}
	testPPS = []byte{0x68, 0xce, 0x3c, 0x80}
)

// tsHeaders writes H.264 and AAC sequence headers a TS muxer can use.
func (p *pub) tsHeaders() {
	p.write(media.CodecData, 0, p.at, metaBody)
	p.write(media.CodecH264, media.FlagConfig, p.at, h264.BuildConfig([][]byte{testSPS}, [][]byte{testPPS}))
	p.write(media.CodecAAC, media.FlagConfig, p.at, []byte{0x12, 0x10})
}

// TestTSPlay plays a stream as HTTP-TS: the body demuxes back into the
// stream's frames, from a keyframe with its parameter sets, PAT and PMT
// first; the play ends cleanly with the publisher.
func TestTSPlay(t *testing.T) {
	e := newEnv(t, Config{}, Deps{})
	p := publish(t, e.reg, "__defaultVhost__", "live", "s")
	p.tsHeaders()
	for range 5 {
		p.next(3) // keyframes at 0 and 3: the player joins at 3
	}
	resp := e.get(t, "/live/s.ts")
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "video/MP2T" {
		t.Fatalf("status %d, type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	go func() {
		for range 4 {
			p.next(3)
		}
		p.s.Unpublish()
	}()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if len(body)%ts.PacketSize != 0 || len(body) == 0 || body[0] != 0x47 || body[1]&0x1f != 0 || body[2] != 0 {
		t.Fatalf("%d bytes, not TS starting with the PAT: % x", len(body), body[:min(len(body), 8)])
	}
	var got []media.Frame
	d := ts.NewDemuxer(func(f *media.Frame) error {
		c := *f
		c.Payload = bytes.Clone(f.Payload)
		got = append(got, c)
		return nil
	})
	if _, err := d.Write(body); err != nil {
		t.Fatal(err)
	}
	if err := d.Flush(); err != nil {
		t.Fatal(err)
	}
	var video, audio int
	for i, f := range got {
		switch {
		case f.Codec == media.CodecH264 && f.IsConfig():
			if video != 0 {
				t.Errorf("frame %d: a config after video", i)
			}
		case f.Codec == media.CodecH264:
			n := 3 + video
			if video == 0 && !f.IsKey() {
				t.Errorf("first video frame is not a keyframe")
			}
			want := []byte{0, 0, 0, 2, 0x65, byte(n)}
			if !bytes.Equal(f.Payload, want) || f.DTS != time.Duration(n*40)*ms {
				t.Errorf("video %d: %x at %v, want %x at %v", n, f.Payload, f.DTS, want, n*40)
			}
			video++
		case f.Codec == media.CodecAAC:
			audio++
		}
	}
	if video != 6 || audio < 6 {
		t.Errorf("%d video and %d audio frames, want 6 and 6+: %v", video, audio, got)
	}
}

// newTSBatchBench is batchBench for an HTTP-TS play.
func newTSBatchBench(conn *countConn) *batchBench {
	bb := newBatchBench(conn, 32)
	bb.s.kind, bb.s.tags = kindTS, nil
	bb.s.mux = newTSRemux(slog.New(slog.DiscardHandler))
	cfg := newFrame(media.CodecH264, media.FlagConfig, 0, h264.BuildConfig([][]byte{testSPS}, [][]byte{testPPS}))
	asc := newFrame(media.CodecAAC, media.FlagConfig, 0, []byte{0x12, 0x10})
	for i := range bb.master {
		if bb.master[i].Codec == media.CodecH264 { // AVCC: one NAL unit
			p := bb.master[i].Payload
			p[0], p[1], p[2], p[3], p[4] = 0, 0, byte((len(p)-4)>>8), byte(len(p)-4), 0x65
		}
	}
	bb.s.write(context.Background(), []media.Frame{cfg, asc})
	return bb
}

func BenchmarkTSPlayBatch(b *testing.B) {
	conn := &countConn{}
	bb := newTSBatchBench(conn)
	defer bb.release()
	if err := bb.run(); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(conn.n / 2)
	for b.Loop() {
		if err := bb.run(); err != nil {
			b.Fatal(err)
		}
	}
}

// TestTSPlayBatchAllocs pins the steady path of an HTTP-TS play (muxing
// per player, written in chunks) at zero allocations.
func TestTSPlayBatchAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("-race: sync.Pool drops items at random (the count is pinned by the non-race run)")
	}
	conn := &countConn{}
	bb := newTSBatchBench(conn)
	defer bb.release()
	if err := bb.run(); err != nil {
		t.Fatal(err)
	}
	if allocs := testing.AllocsPerRun(100, func() {
		if err := bb.run(); err != nil {
			t.Fatal(err)
		}
	}); allocs != 0 {
		t.Errorf("%v allocs per batch, want 0", allocs)
	}
	if skipped := bb.s.mux.(*tsRemux).skipped; skipped != 0 {
		t.Errorf("%d frames not muxed", skipped)
	}
}
