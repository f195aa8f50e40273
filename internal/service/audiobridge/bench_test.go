package audiobridge

import (
	"bytes"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/srs-lite/srs-lite/internal/format/codec/aac"
	"github.com/srs-lite/srs-lite/internal/format/ogg"
	"github.com/srs-lite/srs-lite/internal/media"
)

// BenchmarkFeedAAC is the per-frame input path of AAC->Opus: an AAC frame
// from the ring to ADTS on the child's pipe.
func BenchmarkFeedAAC(b *testing.B) {
	p := &opusPipe{}
	asc := aac.ASC{ObjectType: 2, CoreObjectType: 2, SampleRateIndex: 4, SampleRate: 44100, ChannelConfig: 2, Channels: 2, FrameLength: 1024}
	f := &feeder{p: p, asc: asc, tl: newTimeline(), buf: make([]byte, 0, 2048)}
	src := media.GetBuf(370) // 128 kbps
	b.ReportAllocs()
	var dts time.Duration
	for b.Loop() {
		src.Retain()
		fr := media.Frame{DTS: dts, Codec: media.CodecAAC}
		fr.SetBuf(src, 0, 370)
		if err := f.write(io.Discard, &fr); err != nil {
			b.Fatal(err)
		}
		dts += 1024 * time.Second / 44100
		f.tl.at(f.tl.pos) // the reader side drops the anchors behind
	}
}

// BenchmarkReadOpus is the per-frame output path of AAC->Opus: an Ogg page
// from the child to an Opus frame in the companion stream.
func BenchmarkReadOpus(b *testing.B) {
	const n = 1000
	w := ogg.Writer{Serial: 1}
	stream, _ := w.AppendPage(nil, ogg.AppendOpusHead(nil, ogg.OpusHead{Channels: 2, PreSkip: 120, InputRate: 48000}), 0, false)
	stream, _ = w.AppendPage(stream, ogg.AppendOpusTags(nil, "bench"), 0, false)
	pkt := bytes.Repeat([]byte{0xfc}, 160)
	for i := range n {
		stream, _ = w.AppendPage(stream, pkt, int64(960*(i+1)), false)
	}
	reg := media.NewRegistry(nil)
	st, _ := reg.Publish(media.Key{Vhost: "v", App: "a", Stream: "s"})
	p := &opusPipe{st: st}
	p.log = slog.New(slog.DiscardHandler)
	br := bytes.NewReader(stream)
	b.ReportAllocs()
	start := time.Now()
	for range b.N {
		// One op is a run of the reader over n pages (its setup
		// allocates); ns/frame is per page.
		tl := newTimeline()
		for k := range n {
			tl.in(time.Duration(k)*20*time.Millisecond, 960, 48000)
		}
		p.hasOut = false
		br.Reset(stream)
		if err := p.readOpus(br, tl); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(time.Since(start).Nanoseconds())/float64(b.N*n), "ns/frame")
}

// BenchmarkReadAAC is the per-frame output path of Opus->AAC: an ADTS frame
// from the child to an AAC frame handed to out.
func BenchmarkReadAAC(b *testing.B) {
	const n = 1000
	asc := aac.ASC{ObjectType: 2, CoreObjectType: 2, SampleRateIndex: 3, SampleRate: 48000, ChannelConfig: 2, Channels: 2, FrameLength: 1024}
	var stream []byte
	payload := bytes.Repeat([]byte{0x21}, 250)
	for range n {
		stream = aac.AppendADTS(stream, asc, len(payload))
		stream = append(stream, payload...)
	}
	j := &aacJob{out: func(f *media.Frame) { f.Release() }}
	br := bytes.NewReader(stream)
	b.ReportAllocs()
	start := time.Now()
	for range b.N {
		// One op is a run over n frames (its setup allocates); ns/frame is
		// per frame.
		tl := newTimeline()
		for k := range n + 1 {
			tl.in(time.Duration(k)*20*time.Millisecond, 960, 48000)
		}
		j.hasOut, j.cfgSent = false, false
		br.Reset(stream)
		if err := j.readAAC(br, tl); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(time.Since(start).Nanoseconds())/float64(b.N*n), "ns/frame")
}

// TestFeedNoAllocs pins the per-frame input path and the timeline at zero
// allocations.
func TestFeedNoAllocs(t *testing.T) {
	asc := aac.ASC{ObjectType: 2, CoreObjectType: 2, SampleRateIndex: 4, SampleRate: 44100, ChannelConfig: 2, Channels: 2, FrameLength: 1024}
	f := &feeder{p: &opusPipe{}, asc: asc, tl: newTimeline(), buf: make([]byte, 0, 2048)}
	src := media.GetBuf(370)
	var dts time.Duration
	if n := testing.AllocsPerRun(200, func() {
		src.Retain()
		fr := media.Frame{DTS: dts, Codec: media.CodecAAC}
		fr.SetBuf(src, 0, 370)
		if err := f.write(io.Discard, &fr); err != nil {
			t.Fatal(err)
		}
		dts += 1024 * time.Second / 44100
		if _, ok := f.tl.at(f.tl.pos - 960); !ok {
			t.Fatal("no anchor")
		}
	}); n != 0 {
		t.Errorf("%v allocs per frame", n)
	}
}
