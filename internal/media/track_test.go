package media

import (
	"context"
	"testing"
	"time"
)

// writeTrack writes a frame of track tr.
func writeTrack(s *Stream, c Codec, fl Flags, ms int, tr uint8) {
	f := frame(c, fl, ms, 16)
	f.Track = tr
	s.Write(&f)
}

type seen struct {
	c     Codec
	fl    Flags
	ms    int
	track uint8
}

func summary(fs []Frame) []seen {
	out := make([]seen, len(fs))
	for i, f := range fs {
		out[i] = seen{f.Codec, f.Flags, int(f.DTS.Milliseconds()), f.Track}
	}
	return out
}

func sameSeen(t *testing.T, who string, got, want []seen) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: got %v, want %v", who, got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("%s: frame %d: got %v, want %v (all: %v)", who, i, got[i], want[i], got)
		}
	}
}

// whipSession writes what a WHIP publisher with the audio bridge writes:
// the Opus track's config first, then video, its Opus and the bridge's AAC.
func whipSession(s *Stream) {
	writeTrack(s, CodecOpus, FlagConfig, 0, TrackOpus)
	writeTrack(s, CodecH264, FlagConfig, 0, TrackMain)
	writeTrack(s, CodecH264, FlagKey, 0, TrackMain)
	writeTrack(s, CodecOpus, 0, 0, TrackOpus)
	writeTrack(s, CodecAAC, FlagConfig, 10, TrackMain)
	writeTrack(s, CodecAAC, 0, 10, TrackMain)
	writeTrack(s, CodecOpus, 0, 20, TrackOpus)
	writeTrack(s, CodecH264, 0, 33, TrackMain)
	writeTrack(s, CodecAAC, 0, 31, TrackMain)
	writeTrack(s, CodecOpus, 0, 40, TrackOpus)
}

// TestTrackFiltering: a default reader sees the main track only (the
// bridge's AAC), a reader of TrackOpus the same video and the Opus, never
// the AAC.
func TestTrackFiltering(t *testing.T) {
	g := NewRegistry(func(string) Options { return noMerge() })
	k := Key{Vhost: "v", App: "live", Stream: "whip"}
	s, _ := g.Publish(k)
	def := g.Subscribe(k, nil)
	defer def.Close()
	opus := g.SubscribeWith(k, nil, SubscribeOptions{Track: TrackOpus})
	defer opus.Close()
	whipSession(s)

	got := readAll(t, def, 32)
	sameSeen(t, "default reader", summary(got), []seen{
		{CodecH264, FlagConfig, 0, 0}, {CodecH264, FlagKey, 0, 0}, {CodecAAC, FlagConfig, 10, 0},
		{CodecAAC, 0, 10, 0}, {CodecH264, 0, 33, 0}, {CodecAAC, 0, 31, 0}})
	releaseAll(got)
	got = readAll(t, opus, 32)
	sameSeen(t, "Opus reader", summary(got), []seen{
		{CodecOpus, FlagConfig, 0, 1}, {CodecH264, FlagConfig, 0, 0}, {CodecH264, FlagKey, 0, 0},
		{CodecOpus, 0, 0, 1}, {CodecOpus, 0, 20, 1}, {CodecH264, 0, 33, 0}, {CodecOpus, 0, 40, 1}})
	releaseAll(got)

	st := s.Stats()
	if !st.HasAudio || !st.HasOpusAudio || st.AudioFrames != 5 {
		t.Errorf("stats: has audio %v, has Opus %v, audio frames %d", st.HasAudio, st.HasOpusAudio, st.AudioFrames)
	}
	s.Unpublish()
}

// TestTrackLateJoiner: a reader that joins at the GOP cache gets its own
// track's config first, and the cache's frames of its track.
func TestTrackLateJoiner(t *testing.T) {
	g := NewRegistry(func(string) Options { return noMerge() })
	k := Key{Vhost: "v", App: "live", Stream: "whip"}
	s, _ := g.Publish(k)
	defer s.Unpublish()
	whipSession(s)
	writeTrack(s, CodecH264, FlagKey, 66, TrackMain)
	writeTrack(s, CodecAAC, 0, 52, TrackMain)
	writeTrack(s, CodecOpus, 0, 60, TrackOpus)
	writeTrack(s, CodecH264, 0, 100, TrackMain)

	opus := g.SubscribeWith(k, nil, SubscribeOptions{Track: TrackOpus})
	defer opus.Close()
	got := readAll(t, opus, 32)
	sameSeen(t, "late Opus reader", summary(got), []seen{
		{CodecH264, FlagConfig, 0, 0}, {CodecOpus, FlagConfig, 0, 1},
		{CodecH264, FlagKey, 66, 0}, {CodecOpus, 0, 60, 1}, {CodecH264, 0, 100, 0}})
	releaseAll(got)

	def := g.Subscribe(k, nil)
	defer def.Close()
	got = readAll(t, def, 32)
	sameSeen(t, "late default reader", summary(got), []seen{
		{CodecH264, FlagConfig, 0, 0}, {CodecAAC, FlagConfig, 10, 0},
		{CodecH264, FlagKey, 66, 0}, {CodecAAC, 0, 52, 0}, {CodecH264, 0, 100, 0}})
	releaseAll(got)

	c := s.OpusConfig()
	if c.Codec != CodecOpus || c.Track != TrackOpus {
		t.Errorf("OpusConfig: %v track %d", c.Codec, c.Track)
	}
	c.Release()
	if v, a := s.Configs(); a.Codec != CodecAAC || v.Codec != CodecH264 {
		t.Errorf("Configs: %v %v", v.Codec, a.Codec)
	} else {
		v.Release()
		a.Release()
	}
}

// TestTrackReaderWithoutOpus: on a stream with no second track, a reader
// of TrackOpus gets the main track whole (an RTMP stream's AAC), and
// without the bridge (no main audio) a default reader gets video only.
func TestTrackReaderWithoutOpus(t *testing.T) {
	g := NewRegistry(func(string) Options { return noMerge() })
	k := Key{Vhost: "v", App: "live", Stream: "rtmp"}
	s, _ := g.Publish(k)
	opus := g.SubscribeWith(k, nil, SubscribeOptions{Track: TrackOpus})
	defer opus.Close()
	writeTrack(s, CodecH264, FlagKey, 0, TrackMain)
	writeTrack(s, CodecAAC, FlagConfig, 0, TrackMain)
	writeTrack(s, CodecAAC, 0, 0, TrackMain)
	got := readAll(t, opus, 8)
	sameSeen(t, "Opus reader of AAC", summary(got), []seen{
		{CodecH264, FlagKey, 0, 0}, {CodecAAC, FlagConfig, 0, 0}, {CodecAAC, 0, 0, 0}})
	releaseAll(got)
	s.Unpublish()

	k = Key{Vhost: "v", App: "live", Stream: "nobridge"}
	s, _ = g.Publish(k)
	defer s.Unpublish()
	def := g.Subscribe(k, nil)
	defer def.Close()
	writeTrack(s, CodecOpus, FlagConfig, 0, TrackOpus)
	writeTrack(s, CodecH264, FlagKey, 0, TrackMain)
	writeTrack(s, CodecOpus, 0, 0, TrackOpus)
	writeTrack(s, CodecH264, 0, 33, TrackMain)
	got = readAll(t, def, 8)
	sameSeen(t, "default reader without the bridge", summary(got), []seen{
		{CodecH264, FlagKey, 0, 0}, {CodecH264, 0, 33, 0}})
	releaseAll(got)
	if st := s.Stats(); st.HasAudio || !st.HasOpusAudio {
		t.Errorf("stats: has audio %v, has Opus %v", st.HasAudio, st.HasOpusAudio)
	}
}

// TestTrackSteadyPathAllocs: reading a two-track stream costs no
// allocation either, for both kinds of readers.
func TestTrackSteadyPathAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool is not deterministic under -race")
	}
	o := noMerge()
	o.RingFrames = 16
	g := NewRegistry(func(string) Options { return o })
	k := Key{Vhost: "v", App: "live", Stream: "a"}
	s, _ := g.Publish(k)
	def := g.Subscribe(k, nil)
	defer def.Close()
	opus := g.SubscribeWith(k, nil, SubscribeOptions{Track: TrackOpus})
	defer opus.Close()
	dst := make([]Frame, 8)
	ctx := context.Background()
	writeTrack(s, CodecOpus, FlagConfig, 0, TrackOpus)
	writeTrack(s, CodecH264, FlagKey, 0, TrackMain)
	i := 0
	step := func() {
		i++
		f := frame(CodecH264, 0, i, 1000)
		s.Write(&f)
		f = frame(CodecAAC, 0, i, 200)
		s.Write(&f)
		f = frame(CodecOpus, 0, i, 200)
		f.Track = TrackOpus
		s.Write(&f)
		for _, rd := range []*Reader{def, opus} {
			n, _ := rd.Read(ctx, dst)
			releaseAll(dst[:n])
		}
	}
	for range 64 { // fill the ring so that it recycles
		step()
	}
	if allocs := testing.AllocsPerRun(1000, step); allocs != 0 {
		t.Fatalf("write+read+release of two tracks: %v allocs per step, want 0", allocs)
	}
}

// BenchmarkFanoutTracks is BenchmarkFanout on a WHIP-like stream of two
// audio tracks (video, the main track's AAC and the Opus track), read by
// 100 readers, half of each track; ns/op is per frame written.
func BenchmarkFanoutTracks(b *testing.B) {
	s, wait := benchReaders(100, func(r int) SubscribeOptions { return SubscribeOptions{Track: uint8(r % 2)} })
	cfg := frame(CodecOpus, FlagConfig, 0, 19)
	cfg.Track = TrackOpus
	s.Write(&cfg)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var f Frame
		switch i % 3 {
		case 0:
			fl := Flags(0)
			if i%180 == 0 {
				fl = FlagKey
			}
			f = frame(CodecH264, fl, i, 4096)
		case 1:
			f = frame(CodecAAC, 0, i, 300)
		default:
			f = frame(CodecOpus, 0, i, 160)
			f.Track = TrackOpus
		}
		s.Write(&f)
		if i%64 == 63 {
			b.StopTimer()
			time.Sleep(100 * time.Microsecond)
			b.StartTimer()
		}
	}
	s.Unpublish()
	wait()
}
