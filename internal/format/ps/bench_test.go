package ps

import (
	"bytes"
	"encoding/binary"
	"testing"
	"time"

	"github.com/srs-lite/srs-lite/internal/media"
)

// benchPackets returns two seconds of a 2 Mbit/s-class camera stream (25
// fps H.264, 10 KB frames and 40 KB keyframes, plus gstFile's AAC) as RTP
// payloads of at most 1400 bytes with their marker bits, and its frame
// count.
func benchPackets(b *testing.B) (pkts [][]byte, markers []bool, frames int) {
	m := NewMuxer()
	for _, f := range demuxedGStreamer(b) {
		if f.Codec.IsVideo() && !f.IsConfig() {
			size := 10000
			if f.IsKey() {
				size = 40000
			}
			p := binary.BigEndian.AppendUint32(nil, uint32(size))
			p = append(p, f.Payload[4])
			f.Payload = append(p, bytes.Repeat([]byte{0x9a}, size-1)...)
		}
		out, err := m.AppendFrame(nil, &f)
		if err != nil {
			b.Fatal(err)
		}
		if len(out) > 0 {
			frames++
		}
		for len(out) > 0 {
			k := min(len(out), 1400)
			pkts = append(pkts, out[:k])
			markers = append(markers, k == len(out))
			out = out[k:]
		}
	}
	return pkts, markers, frames
}

// BenchmarkDemux demuxes a camera stream packet by packet; per op: two
// seconds of media (50 video and 41 audio frames).
func BenchmarkDemux(b *testing.B) {
	pkts, markers, frames := benchPackets(b)
	var size int64
	for _, p := range pkts {
		size += int64(len(p))
	}
	d := &Demuxer{}
	n := 0
	emit := func(*media.Frame) { n++ }
	b.SetBytes(size)
	b.ReportAllocs()
	start := time.Now()
	for b.Loop() {
		for i, p := range pkts {
			_ = d.Write(p, markers[i], emit)
		}
	}
	b.ReportMetric(float64(time.Since(start).Nanoseconds())/float64(b.N*frames), "ns/frame")
}

// BenchmarkMux muxes the same stream; per op: 91 frames.
func BenchmarkMux(b *testing.B) {
	frames := demuxedGStreamer(b)
	m := NewMuxer()
	buf := make([]byte, 0, 1<<20)
	b.ReportAllocs()
	for b.Loop() {
		buf = buf[:0]
		for i := range frames {
			buf, _ = m.AppendFrame(buf, &frames[i])
		}
	}
}
