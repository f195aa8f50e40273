package aac

import (
	"bytes"
	"encoding/hex"
	"errors"
	"os"
	"testing"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseASC(t *testing.T) {
	tests := []struct {
		name string
		asc  string
		want ASC
	}{
		{"lc 44100 stereo", "1210", ASC{ObjectType: 2, SampleRateIndex: 4, SampleRate: 44100, ChannelConfig: 2, Channels: 2, CoreObjectType: 2, FrameLength: 1024}},
		{"lc 48000 stereo", "1190", ASC{ObjectType: 2, SampleRateIndex: 3, SampleRate: 48000, ChannelConfig: 2, Channels: 2, CoreObjectType: 2, FrameLength: 1024}},
		// ffmpeg's aac encoder in MP4: 48000 stereo plus a sync extension (0x2b7) that is ignored.
		{"ffmpeg esds", "119056e500", ASC{ObjectType: 2, SampleRateIndex: 3, SampleRate: 48000, ChannelConfig: 2, Channels: 2, CoreObjectType: 2, FrameLength: 1024}},
		{"lc 960", "1194", ASC{ObjectType: 2, SampleRateIndex: 3, SampleRate: 48000, ChannelConfig: 2, Channels: 2, CoreObjectType: 2, FrameLength: 960}},
		{"lc 5.1", "1198", ASC{ObjectType: 2, SampleRateIndex: 3, SampleRate: 48000, ChannelConfig: 3, Channels: 3, CoreObjectType: 2, FrameLength: 1024}},
		// HE-AAC with explicit hierarchical signalling (as FDK writes it): 24000 core, 48000 SBR.
		{"he-aac", "2b118800", ASC{ObjectType: 5, SampleRateIndex: 6, SampleRate: 24000, ChannelConfig: 2, Channels: 2, ExtSampleRate: 48000, CoreObjectType: 2, FrameLength: 1024}},
		{"he-aac v2", "eb098800", ASC{ObjectType: 29, SampleRateIndex: 6, SampleRate: 24000, ChannelConfig: 1, Channels: 1, ExtSampleRate: 48000, CoreObjectType: 2, FrameLength: 1024}},
		// HE-AAC with both rates coded explicitly (samplingFrequencyIndex 0xF).
		{"he-aac explicit rates", "2f802b11178056220800", ASC{ObjectType: 5, SampleRateIndex: 15, SampleRate: 22050, ChannelConfig: 2, Channels: 2, ExtSampleRate: 44100, CoreObjectType: 2, FrameLength: 1024}},
		{"lc explicit 44056 mono", "1780560c08", ASC{ObjectType: 2, SampleRateIndex: 15, SampleRate: 44056, ChannelConfig: 1, Channels: 1, CoreObjectType: 2, FrameLength: 1024}},
		{"escaped eld", "f8e630", ASC{ObjectType: 39, SampleRateIndex: 3, SampleRate: 48000, ChannelConfig: 1, Channels: 1, CoreObjectType: 39, FrameLength: 480}},
		{"8 channels", "11b8", ASC{ObjectType: 2, SampleRateIndex: 3, SampleRate: 48000, ChannelConfig: 7, Channels: 8, CoreObjectType: 2, FrameLength: 1024}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseASC(unhex(t, tt.asc))
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParseASCErrors(t *testing.T) {
	tests := []struct {
		name, asc string
		want      error
	}{
		{"empty", "", ErrTruncated},
		{"one byte", "12", ErrTruncated},
		{"truncated explicit rate", "1780", ErrTruncated},
		{"object type 0", "0210", ErrInvalid},
		{"reserved rate index", "16900000", ErrInvalid},
		{"explicit rate 0", "1780000000", ErrInvalid},
		{"he-aac truncated", "2b11", ErrTruncated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ParseASC(unhex(t, tt.asc)); !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestBuildASC(t *testing.T) {
	tests := []struct {
		ot, rate, ch int
		want         string
	}{
		{2, 44100, 2, "1210"},
		{2, 48000, 2, "1190"},
		{2, 44056, 1, "1780560c08"},
		{39, 48000, 1, "f8e620"},
		{2, 48000, 8, "11b8"},
		{2, 48000, 7, "1180"},
	}
	for _, tt := range tests {
		got := BuildASC(tt.ot, tt.rate, tt.ch)
		if hex.EncodeToString(got) != tt.want {
			t.Errorf("BuildASC(%d, %d, %d) = %x, want %s", tt.ot, tt.rate, tt.ch, got, tt.want)
		}
		a, err := ParseASC(got)
		if err != nil || a.ObjectType != tt.ot || a.SampleRate != tt.rate {
			t.Errorf("round trip = %+v, %v", a, err)
		}
	}
	if ObjectTypeName(2) != "LC" || ObjectTypeName(5) != "HE" || ObjectTypeName(29) != "HEv2" || ObjectTypeName(0) != "" {
		t.Error("ObjectTypeName")
	}
}

func TestADTS(t *testing.T) {
	stream, err := os.ReadFile("testdata/a44.aac") // ffmpeg aac encoder, 44100 stereo
	if err != nil {
		t.Fatal(err)
	}
	frames := 0
	for b := stream; len(b) > 0; frames++ {
		h, n, err := ParseADTS(b)
		if err != nil {
			t.Fatalf("frame %d: %v", frames, err)
		}
		if h.ObjectType != 2 || h.SampleRate != 44100 || h.Channels != 2 || h.CRC || h.MPEG2 || h.HeaderLen != 7 || h.RawBlocks != 1 || h.BufferFullness != 0x7ff {
			t.Fatalf("frame %d: %+v", frames, h)
		}
		if n > len(b) {
			t.Fatalf("frame %d: length %d > %d left", frames, n, len(b))
		}
		// AppendADTS rebuilds ffmpeg's header byte for byte.
		if got := AppendADTS(nil, h.ASC(), n-h.HeaderLen); !bytes.Equal(got, b[:7]) {
			t.Fatalf("frame %d: AppendADTS = %x, want %x", frames, got, b[:7])
		}
		b = b[n:]
	}
	if frames < 5 {
		t.Errorf("%d frames", frames)
	}

	t.Run("from asc", func(t *testing.T) {
		for _, tt := range []struct {
			name, asc string
			n         int
			want      string
		}{
			{"lc 48000", "1190", 100, "fff14c80 0d7ffc"},
			{"he-aac as core lc", "2b118800", 10, "fff15880 023ffc"},
			{"explicit rate to nearest", "1780560c08", 0, "fff15040 00fffc"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				a, err := ParseASC(unhex(t, tt.asc))
				if err != nil {
					t.Fatal(err)
				}
				got := AppendADTS([]byte{0xaa}, a, tt.n)
				want := append([]byte{0xaa}, unhex(t, stripSpaces(tt.want))...)
				if !bytes.Equal(got, want) {
					t.Errorf("got %x, want %x", got, want)
				}
				h, n, err := ParseADTS(got[1:])
				if err != nil || n != tt.n+7 || h.ChannelConfig != a.ChannelConfig {
					t.Errorf("parse back: %+v %d %v", h, n, err)
				}
			})
		}
	})

	t.Run("errors", func(t *testing.T) {
		for _, tt := range []struct {
			name, b string
			want    error
		}{
			{"short", "fff150802b3f", ErrTruncated},
			{"no sync", "fef150802b3ffc", ErrInvalid},
			{"layer 1 (mp3-like)", "fff350802b3ffc", ErrInvalid},
			{"rate index 13", "fff174802b3ffc", ErrInvalid},
			{"frame shorter than header", "fff1508000dffc", ErrInvalid},
			{"crc frame shorter than header", "fff0508001029c", ErrInvalid},
		} {
			t.Run(tt.name, func(t *testing.T) {
				if _, _, err := ParseADTS(unhex(t, tt.b)); !errors.Is(err, tt.want) {
					t.Errorf("err = %v, want %v", err, tt.want)
				}
			})
		}
	})
}

func stripSpaces(s string) string { return string(bytes.ReplaceAll([]byte(s), []byte(" "), nil)) }

func TestADTSNoAllocs(t *testing.T) {
	a := ASC{ObjectType: 2, CoreObjectType: 2, SampleRateIndex: 4, SampleRate: 44100, ChannelConfig: 2}
	dst := make([]byte, 0, 16)
	hdr := AppendADTS(nil, a, 300)
	if n := testing.AllocsPerRun(100, func() {
		dst = AppendADTS(dst[:0], a, 300)
		ParseADTS(hdr)
	}); n != 0 {
		t.Errorf("%v allocs", n)
	}
}

func FuzzAACASC(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := ParseASC(b)
		if err != nil {
			return
		}
		// A parsed config always yields a parseable ADTS header.
		h, n, err := ParseADTS(AppendADTS(nil, a, 10))
		if err != nil || n != 17 || h.ChannelConfig != a.ChannelConfig {
			t.Errorf("adts from %+v: %+v %d %v", a, h, n, err)
		}
	})
}

func FuzzADTS(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		h, n, err := ParseADTS(b)
		if err != nil {
			return
		}
		if n < h.HeaderLen || n > maxADTSFrame {
			t.Errorf("frame length %d", n)
		}
		if _, err := ParseASC(BuildASC(h.ObjectType, h.SampleRate, h.Channels)); err != nil {
			t.Errorf("asc from %+v: %v", h, err)
		}
	})
}
