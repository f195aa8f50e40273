package ts

import (
	"testing"

	"github.com/srs-lite/srs-lite/internal/format/codec/aac"
	"github.com/srs-lite/srs-lite/internal/media"
)

// BenchmarkMuxVideoFrame muxes a 20 KB H.264 frame (a 2 Mbit/s stream at 25
// fps, the parameter sets added on keyframes) into a reused buffer.
func BenchmarkMuxVideoFrame(b *testing.B) {
	m := NewMuxer()
	m.SetTracks(media.CodecH264, media.CodecAAC)
	cfg := testStream(media.CodecH264, 0, 0)[0]
	if _, err := m.AppendFrame(nil, &cfg); err != nil {
		b.Fatal(err)
	}
	frames := []media.Frame{
		{Codec: media.CodecH264, Flags: media.FlagKey, Payload: avcc(slice(20000, 0x65, 0x88))},
		{Codec: media.CodecH264, Payload: avcc(slice(20000, 0x41, 0x9a))},
	}
	buf := make([]byte, 0, 64<<10)
	b.SetBytes(20000)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		f := &frames[min(i%25, 1)]
		f.DTS = ms(40 * i)
		f.PTS = f.DTS
		var err error
		if buf, err = m.AppendFrame(buf[:0], f); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMuxAudioFrame muxes a 372-byte AAC frame (128 kbit/s at 44.1
// kHz) with its ADTS header into a reused buffer.
func BenchmarkMuxAudioFrame(b *testing.B) {
	m := NewMuxer()
	m.SetTracks(media.CodecH264, media.CodecAAC)
	cfg := media.Frame{Codec: media.CodecAAC, Flags: media.FlagConfig, Payload: aac.BuildASC(2, 44100, 2)}
	if _, err := m.AppendFrame(nil, &cfg); err != nil {
		b.Fatal(err)
	}
	f := media.Frame{Codec: media.CodecAAC, Payload: slice(372, 0x21)}
	buf := make([]byte, 0, 4<<10)
	b.SetBytes(372)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		f.DTS = ms(23 * i)
		f.PTS = f.DTS
		var err error
		if buf, err = m.AppendFrame(buf[:0], &f); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDemux demuxes a 2 Mbit/s-class H.264+AAC stream written in
// 1316-byte chunks (SRT payloads); per op: one second of media, 25 video
// and 43 audio frames.
func BenchmarkDemux(b *testing.B) {
	var in []media.Frame
	for _, f := range testStream(media.CodecH264, media.CodecAAC, 25) {
		if f.Codec.IsVideo() && !f.IsConfig() {
			size := 8000
			if f.IsKey() {
				size = 40000
			}
			f.Payload = avcc(slice(size, f.Payload[4+4+4]))
		}
		in = append(in, f)
	}
	data := mux(b, media.CodecH264, media.CodecAAC, in)
	frames := 0
	d := NewDemuxer(func(f *media.Frame) error {
		frames++
		return nil
	})
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		for p := data; len(p) > 0; {
			n := min(1316, len(p))
			d.Write(p[:n])
			p = p[n:]
		}
	}
	if frames == 0 {
		b.Fatal("no frames")
	}
}

// BenchmarkAppendShared is what a player pays for a 20 KB H.264 frame that
// another player encoded (the shared media.WireTS encoding): a copy with
// its own continuity counters, against BenchmarkMuxVideoFrame.
func BenchmarkAppendShared(b *testing.B) {
	enc, m := NewMuxer(), NewMuxer()
	for _, x := range []*Muxer{enc, m} {
		x.SetTracks(media.CodecH264, media.CodecAAC)
		cfg := testStream(media.CodecH264, 0, 0)[0]
		if _, err := x.AppendFrame(nil, &cfg); err != nil {
			b.Fatal(err)
		}
	}
	f := media.Frame{Codec: media.CodecH264, Payload: avcc(slice(20000, 0x41, 0x9a))}
	wire, err := enc.AppendFrame(nil, &f)
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 0, 64<<10)
	b.SetBytes(20000)
	b.ReportAllocs()
	for b.Loop() {
		buf = m.AppendShared(buf[:0], wire)
	}
}
