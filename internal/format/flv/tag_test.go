package flv

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/srs-lite/srs-lite/internal/media"
)

const ms = time.Millisecond

func TestHeader(t *testing.T) {
	tests := []struct {
		audio, video bool
		flags        byte
	}{
		{false, false, 0},
		{true, false, 4},
		{false, true, 1},
		{true, true, 5},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("audio=%v,video=%v", tt.audio, tt.video), func(t *testing.T) {
			want := []byte{'F', 'L', 'V', 1, tt.flags, 0, 0, 0, 9, 0, 0, 0, 0}
			if got := Header(tt.audio, tt.video); !bytes.Equal(got, want) {
				t.Errorf("got % x, want % x", got, want)
			}
		})
	}
}

func TestAppendTagHeader(t *testing.T) {
	got := AppendTagHeader([]byte{0xee}, TagVideo, 0x010203, 0x89abcdef)
	want := []byte{0xee, 9, 1, 2, 3, 0xab, 0xcd, 0xef, 0x89, 0, 0, 0}
	if !bytes.Equal(got, want) {
		t.Errorf("got % x, want % x", got, want)
	}
}

func TestTimestamp(t *testing.T) {
	tests := []struct {
		dts  time.Duration
		want uint32
	}{
		{0, 0},
		{1500 * time.Microsecond, 1},
		{40 * ms, 40},
		{(1<<32 + 5) * ms, 5},
		{-1 * ms, 0xffffffff},
	}
	for _, tt := range tests {
		t.Run(tt.dts.String(), func(t *testing.T) {
			if got := Timestamp(&media.Frame{DTS: tt.dts}); got != tt.want {
				t.Errorf("got %d, want %d", got, tt.want)
			}
		})
	}
}

func TestTagType(t *testing.T) {
	tests := []struct {
		c    media.Codec
		want uint8
	}{
		{media.CodecH264, TagVideo}, {media.CodecH265, TagVideo}, {media.CodecAV1, TagVideo},
		{media.CodecAAC, TagAudio}, {media.CodecMP3, TagAudio}, {media.CodecOpus, TagAudio},
		{media.CodecPCMA, TagAudio}, {media.CodecPCMU, TagAudio},
		{media.CodecData, TagScript}, {media.CodecUnknown, 0}, {media.Codec(200), 0},
	}
	for _, tt := range tests {
		t.Run(tt.c.String(), func(t *testing.T) {
			if got := TagType(&media.Frame{Codec: tt.c}); got != tt.want {
				t.Errorf("got %d, want %d", got, tt.want)
			}
		})
	}
}

func TestAppendBodyHeader(t *testing.T) {
	tests := []struct {
		name string
		f    media.Frame
		want []byte
	}{
		{"h264 config", media.Frame{Codec: media.CodecH264, Flags: media.FlagConfig, PTS: 80 * ms}, cat(0x17, 0, 0, 0, 0)},
		{"h264 key cts 40", media.Frame{Codec: media.CodecH264, Flags: media.FlagKey, DTS: 10 * ms, PTS: 50 * ms}, cat(0x17, 1, 0, 0, 40)},
		{"h264 inter cts -40", media.Frame{Codec: media.CodecH264, DTS: 50 * ms, PTS: 10 * ms}, cat(0x27, 1, 0xff, 0xff, 0xd8)},
		{"h264 cts clamped", media.Frame{Codec: media.CodecH264, PTS: time.Hour * 10}, cat(0x27, 1, 0x7f, 0xff, 0xff)},
		{"h264 cts clamped negative", media.Frame{Codec: media.CodecH264, DTS: time.Hour * 10}, cat(0x27, 1, 0x80, 0, 0)},
		{"h265 config", media.Frame{Codec: media.CodecH265, Flags: media.FlagConfig}, cat(0x90, "hvc1")},
		{"h265 key", media.Frame{Codec: media.CodecH265, Flags: media.FlagKey, PTS: 33 * ms}, cat(0x91, "hvc1", 0, 0, 33)},
		{"h265 inter", media.Frame{Codec: media.CodecH265}, cat(0xa1, "hvc1", 0, 0, 0)},
		{"av1 config", media.Frame{Codec: media.CodecAV1, Flags: media.FlagConfig}, cat(0x90, "av01")},
		{"av1 key", media.Frame{Codec: media.CodecAV1, Flags: media.FlagKey, PTS: 33 * ms}, cat(0x91, "av01")},
		{"av1 inter", media.Frame{Codec: media.CodecAV1}, cat(0xa1, "av01")},
		{"aac config", media.Frame{Codec: media.CodecAAC, Flags: media.FlagConfig, SampleRate: 48000, Channels: 1}, cat(0xaf, 0)},
		{"aac raw", media.Frame{Codec: media.CodecAAC}, cat(0xaf, 1)},
		{"mp3 44.1k stereo", media.Frame{Codec: media.CodecMP3, SampleRate: 44100, Channels: 2}, cat(0x2f)},
		{"mp3 48k mono", media.Frame{Codec: media.CodecMP3, SampleRate: 48000, Channels: 1}, cat(0x2e)},
		{"mp3 22k", media.Frame{Codec: media.CodecMP3, SampleRate: 22050, Channels: 2}, cat(0x2b)},
		{"mp3 11k", media.Frame{Codec: media.CodecMP3, SampleRate: 11025, Channels: 1}, cat(0x26)},
		{"mp3 5.5k", media.Frame{Codec: media.CodecMP3, SampleRate: 5512, Channels: 1}, cat(0x22)},
		{"mp3 8k", media.Frame{Codec: media.CodecMP3, SampleRate: 8000, Channels: 1}, cat(0xe2)},
		{"mp3 unknown", media.Frame{Codec: media.CodecMP3}, cat(0x2f)},
		{"pcma", media.Frame{Codec: media.CodecPCMA, SampleRate: 8000, Channels: 1}, cat(0x72)},
		{"pcma unknown channels", media.Frame{Codec: media.CodecPCMA}, cat(0x72)},
		{"pcmu stereo", media.Frame{Codec: media.CodecPCMU, Channels: 2}, cat(0x83)},
		{"opus config", media.Frame{Codec: media.CodecOpus, Flags: media.FlagConfig}, cat(0x90, "Opus")},
		{"opus", media.Frame{Codec: media.CodecOpus}, cat(0x91, "Opus")},
		{"data", media.Frame{Codec: media.CodecData}, nil},
		{"unknown", media.Frame{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := AppendBodyHeader([]byte{0xee}, &tt.f)
			if !bytes.Equal(got[1:], tt.want) || got[0] != 0xee {
				t.Errorf("got % x, want % x", got[1:], tt.want)
			}
			if n := BodyHeaderLen(&tt.f); n != len(tt.want) {
				t.Errorf("BodyHeaderLen = %d, want %d", n, len(tt.want))
			}
		})
	}
}

// TestBodyRoundTrip encodes a body header for each codec and flag
// combination and parses it back.
func TestBodyRoundTrip(t *testing.T) {
	codecs := []media.Codec{
		media.CodecH264, media.CodecH265, media.CodecAV1,
		media.CodecAAC, media.CodecMP3, media.CodecOpus, media.CodecPCMA, media.CodecPCMU,
	}
	flagSets := []media.Flags{0, media.FlagKey, media.FlagConfig}
	ctss := []time.Duration{0, 40 * ms, -80 * ms, (1<<23 - 1) * ms}
	for _, c := range codecs {
		for _, fl := range flagSets {
			for _, ct := range ctss {
				if c.IsAudio() && (fl == media.FlagKey || ct != 0) {
					continue
				}
				if fl == media.FlagConfig && (c == media.CodecMP3 || c == media.CodecPCMA || c == media.CodecPCMU) {
					continue // no sequence header in FLV
				}
				name := fmt.Sprintf("%v/flags=%d/cts=%v", c, fl, ct)
				t.Run(name, func(t *testing.T) {
					payload := []byte{1, 2, 3}
					f := media.Frame{Codec: c, Flags: fl, DTS: 1000 * ms, PTS: 1000*ms + ct, Payload: payload}
					body := append(AppendBodyHeader(nil, &f), payload...)
					typ := TagType(&f)
					var g media.Frame
					if err := FrameFromTag(typ, Timestamp(&f), body, &g); err != nil {
						t.Fatal(err)
					}
					wantCTS := ct
					if c == media.CodecAV1 || fl == media.FlagConfig {
						wantCTS = 0 // not carried
					}
					if g.Codec != c || g.Flags != fl || g.DTS != f.DTS || g.CTS() != wantCTS || !bytes.Equal(g.Payload, payload) {
						t.Errorf("got %+v", g)
					}
					if c.IsVideo() {
						v, err := ParseVideo(body)
						if err != nil {
							t.Fatal(err)
						}
						if v.Codec != c || v.Config != (fl == media.FlagConfig) || v.Key != (fl != 0) || v.CTS != int32(wantCTS/ms) || v.HeaderLen != BodyHeaderLen(&f) {
							t.Errorf("ParseVideo = %+v", v)
						}
					} else {
						a, err := ParseAudio(body)
						if err != nil {
							t.Fatal(err)
						}
						if a.Codec != c || a.Config != (fl == media.FlagConfig) || a.HeaderLen != BodyHeaderLen(&f) {
							t.Errorf("ParseAudio = %+v", a)
						}
					}
				})
			}
		}
	}
}

func TestFrameFromTag(t *testing.T) {
	tests := []struct {
		name string
		typ  uint8
		ts   uint32
		body []byte
		want media.Frame
		off  int
		err  error
	}{
		{"avc key", TagVideo, 1000, cat(0x17, 1, 0, 0, 40, 9, 9), media.Frame{DTS: time.Second, PTS: time.Second + 40*ms, Codec: media.CodecH264, Flags: media.FlagKey}, 5, nil},
		{"avc config not key", TagVideo, 0, cat(0x17, 0, 0, 0, 0, 1), media.Frame{Codec: media.CodecH264, Flags: media.FlagConfig}, 5, nil},
		{"hevc inter negative cts", TagVideo, 100, cat(0xa1, "hvc1", 0xff, 0xff, 0xec, 7), media.Frame{DTS: 100 * ms, PTS: 80 * ms, Codec: media.CodecH265}, 8, nil},
		{"aac config", TagAudio, 5, cat(0xaf, 0, 0x12, 0x10), media.Frame{DTS: 5 * ms, PTS: 5 * ms, Codec: media.CodecAAC, Flags: media.FlagConfig, SampleRate: 44100, Channels: 2}, 2, nil},
		{"pcmu", TagAudio, 0xffffffff, cat(0x82, 1, 2), media.Frame{DTS: 0xffffffff * ms, PTS: 0xffffffff * ms, Codec: media.CodecPCMU, SampleRate: 8000, Channels: 1}, 1, nil},
		{"script", TagScript, 0, cat(2, 0, 10, "onMetaData"), media.Frame{Codec: media.CodecData}, 0, nil},
		{"avc end of sequence", TagVideo, 0, cat(0x17, 2, 0, 0, 0), media.Frame{}, 0, ErrSkip},
		{"unknown tag type", 15, 0, cat(0), media.Frame{}, 0, ErrSkip},
		{"truncated video", TagVideo, 0, cat(0x17, 1), media.Frame{}, 0, ErrTruncated},
		{"truncated audio", TagAudio, 0, nil, media.Frame{}, 0, ErrTruncated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := media.Frame{Track: 3, Flags: media.FlagDiscontinuity, SampleRate: 1, Channels: 9}
			orig := f
			err := FrameFromTag(tt.typ, tt.ts, tt.body, &f)
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if err != nil {
				if f.Track != orig.Track || f.Flags != orig.Flags || f.Payload != nil {
					t.Errorf("frame changed on error: %+v", f)
				}
				return
			}
			if &f.Payload[0] != &tt.body[tt.off] || len(f.Payload) != len(tt.body)-tt.off {
				t.Errorf("payload is not body[%d:]", tt.off)
			}
			tt.want.Track = 3
			if f.DTS != tt.want.DTS || f.PTS != tt.want.PTS || f.Codec != tt.want.Codec || f.Flags != tt.want.Flags ||
				f.Track != tt.want.Track || f.SampleRate != tt.want.SampleRate || f.Channels != tt.want.Channels {
				t.Errorf("got %+v, want %+v", f, tt.want)
			}
		})
	}
}

func pooledFrame(f media.Frame) media.Frame {
	p := f.Payload
	f.Payload = nil
	b := media.GetBuf(len(p))
	copy(b.Bytes(), p)
	f.SetBuf(b, 0, len(p))
	return f
}

func TestEncodeTag(t *testing.T) {
	tests := []struct {
		name string
		f    media.Frame
		want []byte
	}{
		{"h264 key", media.Frame{Codec: media.CodecH264, Flags: media.FlagKey, DTS: 0x01234567 * ms, PTS: (0x01234567 + 40) * ms, Payload: cat(0, 0, 0, 1, 0x65)},
			cat(9, 0, 0, 10, 0x23, 0x45, 0x67, 0x01, 0, 0, 0, 0x17, 1, 0, 0, 40, 0, 0, 0, 1, 0x65, 0, 0, 0, 21)},
		{"aac", media.Frame{Codec: media.CodecAAC, DTS: 23 * ms, PTS: 23 * ms, Payload: cat(0x21, 0x22)},
			cat(8, 0, 0, 4, 0, 0, 23, 0, 0, 0, 0, 0xaf, 1, 0x21, 0x22, 0, 0, 0, 15)},
		{"script", media.Frame{Codec: media.CodecData, Payload: cat(2, 0, 1, "x")},
			cat(18, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 2, 0, 1, "x", 0, 0, 0, 15)},
		{"empty payload", media.Frame{Codec: media.CodecPCMA},
			cat(8, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0x72, 0, 0, 0, 12)},
		{"unknown codec", media.Frame{Payload: cat(1)}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := EncodeTag(&tt.f); !bytes.Equal(got, tt.want) {
				t.Errorf("unpooled: got % x, want % x", got, tt.want)
			}
			f := pooledFrame(tt.f)
			defer f.Release()
			got := EncodeTag(&f)
			if !bytes.Equal(got, tt.want) {
				t.Errorf("pooled: got % x, want % x", got, tt.want)
			}
			if tt.want == nil {
				return
			}
			if again := EncodeTag(&f); &again[0] != &got[0] {
				t.Error("second EncodeTag did not return the cached tag")
			}
		})
	}
}

func TestEncodeTagTooLarge(t *testing.T) {
	f := media.Frame{Codec: media.CodecH264, Payload: make([]byte, MaxDataSize-4)}
	if got := EncodeTag(&f); got != nil {
		t.Errorf("got %d bytes, want nil", len(got))
	}
	f.Payload = f.Payload[:MaxDataSize-5]
	if got := EncodeTag(&f); len(got) != TagHeaderSize+MaxDataSize+4 {
		t.Errorf("got %d bytes", len(got))
	}
}

// TestEncodeTagCacheMismatch covers a frame whose buffer already caches the
// tag of another timestamp (a player that rewrote DTS) or of another length
// (frames sharing one buffer).
func TestEncodeTagCacheMismatch(t *testing.T) {
	f := pooledFrame(media.Frame{Codec: media.CodecAAC, DTS: 10 * ms, PTS: 10 * ms, Payload: cat(1, 2, 3)})
	defer f.Release()
	first := EncodeTag(&f)

	g := f // same buffer, rewritten timestamp
	g.DTS, g.PTS = 20*ms, 20*ms
	got := EncodeTag(&g)
	want := cat(8, 0, 0, 5, 0, 0, 20, 0, 0, 0, 0, 0xaf, 1, 1, 2, 3, 0, 0, 0, 16)
	if !bytes.Equal(got, want) {
		t.Errorf("rewritten ts: got % x, want % x", got, want)
	}
	if !bytes.Equal(EncodeTag(&f), first) || first[6] != 10 {
		t.Error("cached tag changed")
	}

	h := f // same buffer and timestamp, shorter payload
	h.Payload = h.Payload[:1]
	want = cat(8, 0, 0, 3, 0, 0, 10, 0, 0, 0, 0, 0xaf, 1, 1, 0, 0, 0, 14)
	if got := EncodeTag(&h); !bytes.Equal(got, want) {
		t.Errorf("shared buffer: got % x, want % x", got, want)
	}
}

func TestEncodeTagAllocs(t *testing.T) {
	payload := make([]byte, 3000)
	f := pooledFrame(media.Frame{Codec: media.CodecH264, Flags: media.FlagKey, DTS: 40 * ms, PTS: 80 * ms, Payload: payload})
	defer f.Release()
	EncodeTag(&f)
	if n := testing.AllocsPerRun(100, func() { EncodeTag(&f) }); n != 0 {
		t.Errorf("cached EncodeTag: %v allocs, want 0", n)
	}
	if raceEnabled {
		t.Skip("sync.Pool drops items under the race detector")
	}
	n := testing.AllocsPerRun(100, func() {
		b := media.GetBuf(len(payload))
		g := media.Frame{Codec: media.CodecH264, DTS: 40 * ms, PTS: 40 * ms}
		g.SetBuf(b, 0, len(payload))
		EncodeTag(&g)
		g.Release()
	})
	if n != 0 {
		t.Errorf("building EncodeTag: %v allocs, want 0", n)
	}
}

func TestParseAllocs(t *testing.T) {
	video := cat(0x17, 1, 0, 0, 40, 0, 0, 0, 1, 0x65)
	audio := cat(0xaf, 1, 0x21)
	var f media.Frame
	n := testing.AllocsPerRun(100, func() {
		ParseVideo(video)
		ParseAudio(audio)
		FrameFromTag(TagVideo, 40, video, &f)
		FrameFromTag(TagAudio, 40, audio, &f)
	})
	if n != 0 {
		t.Errorf("%v allocs, want 0", n)
	}
}
