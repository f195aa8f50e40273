package av1

import (
	"bytes"
	"encoding/hex"
	"errors"
	"os"
	"reflect"
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

// av1C records as ffmpeg's mp4 muxer writes them, checked with trace_headers.
const (
	av1C480  = "81040c00" + "0a0b00000024c4ffdf36be4010"       // libaom 640x480 Main L3.0 8-bit 4:2:0
	av1C1080 = "81084c00" + "0a0b00000042abbfc3700be101"       // SVT-AV1 1920x1080 Main L4.0 10-bit
	av1C444  = "81250000" + "0a0e2000002d4cffb3ccaf9202020220" // libaom 1280x720 High L3.1 4:4:4 BT.709
	// Hand-built and checked with trace_headers: timing info (60000/1001,
	// 2 ticks a picture), decoder model, two operating points (the first
	// with tier 1), frame ids, colour range and chroma sample position.
	seqTiming = "0a210400000fa40003a982af000003e94a611014e09a421c2c88194aaeff0de6800029"
)

func TestParseConfig(t *testing.T) {
	tests := []struct {
		name string
		rec  string
		want Config
		seq  SequenceHeader
	}{
		{"libaom 480p", av1C480,
			Config{SeqLevelIdx0: 4, BitDepth: 8, ChromaSubsamplingX: true, ChromaSubsamplingY: true},
			SequenceHeader{SeqLevelIdx0: 4, MaxFrameWidth: 640, MaxFrameHeight: 480, BitDepth: 8, ChromaSubsamplingX: true, ChromaSubsamplingY: true, ColorPrimaries: 2, TransferCharacteristics: 2, MatrixCoefficients: 2}},
		{"svt 1080p 10-bit", av1C1080,
			Config{SeqLevelIdx0: 8, BitDepth: 10, ChromaSubsamplingX: true, ChromaSubsamplingY: true},
			SequenceHeader{SeqLevelIdx0: 8, MaxFrameWidth: 1920, MaxFrameHeight: 1080, BitDepth: 10, ChromaSubsamplingX: true, ChromaSubsamplingY: true, ColorPrimaries: 2, TransferCharacteristics: 2, MatrixCoefficients: 2}},
		{"libaom 720p 4:4:4", av1C444,
			Config{SeqProfile: 1, SeqLevelIdx0: 5, BitDepth: 8},
			SequenceHeader{SeqProfile: 1, SeqLevelIdx0: 5, MaxFrameWidth: 1280, MaxFrameHeight: 720, BitDepth: 8, ColorPrimaries: 1, TransferCharacteristics: 1, MatrixCoefficients: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := unhex(t, tt.rec)
			c, err := ParseConfig(rec)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(c.ConfigOBUs, rec[4:]) {
				t.Errorf("ConfigOBUs = %x", c.ConfigOBUs)
			}
			c.ConfigOBUs = nil
			if !reflect.DeepEqual(c, tt.want) {
				t.Errorf("config = %+v\nwant     %+v", c, tt.want)
			}
			c.ConfigOBUs = rec[4:]
			s, err := c.SequenceHeader()
			if err != nil {
				t.Fatal(err)
			}
			if s != tt.seq {
				t.Errorf("seq = %+v\nwant  %+v", s, tt.seq)
			}
			built, err := BuildConfig(rec[4:])
			if err != nil || !bytes.Equal(built, rec) {
				t.Errorf("BuildConfig = %x, %v; want %x", built, err, rec)
			}
		})
	}
}

func TestSequenceHeaderTiming(t *testing.T) {
	s, err := ParseSequenceHeader(unhex(t, seqTiming))
	if err != nil {
		t.Fatal(err)
	}
	want := SequenceHeader{SeqLevelIdx0: 9, SeqTier0: 1, MaxFrameWidth: 1920, MaxFrameHeight: 1080, FPS: 60000.0 / 1001 / 2,
		BitDepth: 8, ChromaSubsamplingX: true, ChromaSubsamplingY: true, ChromaSamplePosition: 1, ColorRange: true,
		ColorPrimaries: 2, TransferCharacteristics: 2, MatrixCoefficients: 2}
	if s != want {
		t.Errorf("got  %+v\nwant %+v", s, want)
	}
	// A sequence header without its size field is given one.
	raw := unhex(t, seqTiming)
	noSize := append([]byte{raw[0] &^ 0x02}, raw[2:]...)
	rec, err := BuildConfig(noSize)
	if err != nil || !bytes.Equal(rec[4:], raw) || rec[1] != 9 || rec[2] != 0x8d {
		t.Errorf("BuildConfig = %x, %v", rec, err)
	}
}

func TestParseErrors(t *testing.T) {
	rec := unhex(t, av1C480)
	for i := range rec {
		if _, err := ParseConfig(rec[:i]); err == nil && i < 4 {
			t.Errorf("ParseConfig(rec[:%d]) succeeded", i)
		}
	}
	tests := []struct {
		name string
		fn   func() error
		want error
	}{
		{"bad marker", func() error { _, err := ParseConfig(unhex(t, "01040c00")); return err }, ErrInvalid},
		{"obu overruns", func() error { _, err := ParseConfig(unhex(t, "81040c000a0b0000")); return err }, ErrTruncated},
		{"no seq header", func() error { _, err := Config{}.SequenceHeader(); return err }, ErrInvalid},
		{"not a seq header", func() error { _, err := ParseSequenceHeader(unhex(t, "1200")); return err }, ErrInvalid},
		{"seq header cut", func() error { _, err := ParseSequenceHeader(unhex(t, "0a0300000024")); return err }, ErrTruncated},
		{"forbidden bit", func() error { _, _, err := ParseOBU([]byte{0x8a, 0}); return err }, ErrInvalid},
		{"leb128 too long", func() error { _, _, err := ReadLEB128(bytes.Repeat([]byte{0x80}, 9)); return err }, ErrInvalid},
		{"leb128 over 2^32-1", func() error { _, _, err := ReadLEB128(unhex(t, "8080808010")); return err }, ErrInvalid},
		{"leb128 cut", func() error { _, _, err := ReadLEB128([]byte{0x80}); return err }, ErrTruncated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.fn(); !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestLEB128(t *testing.T) {
	for _, v := range []uint64{0, 1, 127, 128, 300, 1<<21 - 1, 1 << 28, 1<<32 - 1} {
		b := AppendLEB128(nil, v)
		got, n, err := ReadLEB128(append(b, 0xff))
		if err != nil || got != v || n != len(b) {
			t.Errorf("%d: %x -> %d, %d, %v", v, b, got, n, err)
		}
	}
	// Non-minimal encodings are legal (§4.10.5: padded sizes).
	if v, n, err := ReadLEB128(unhex(t, "8500")); err != nil || v != 5 || n != 2 {
		t.Errorf("padded = %d, %d, %v", v, n, err)
	}
}

func TestIsKey(t *testing.T) {
	stream, err := os.ReadFile("testdata/a480.obu") // libaom, 3 frames, low overhead format
	if err != nil {
		t.Fatal(err)
	}
	// Cut the stream into temporal units at each temporal delimiter.
	var tus [][]byte
	start := 0
	b := stream
	for len(b) > 0 {
		o, rest, err := ParseOBU(b)
		if err != nil {
			t.Fatal(err)
		}
		if !o.HasSize {
			t.Fatal("obu without size")
		}
		at := len(stream) - len(b)
		if o.Type == OBUTemporalDelimiter && at > 0 {
			tus = append(tus, stream[start:at])
			start = at
		}
		b = rest
	}
	tus = append(tus, stream[start:])
	if len(tus) != 3 {
		t.Fatalf("%d temporal units", len(tus))
	}
	for i, tu := range tus {
		if got := IsKey(tu); got != (i == 0) {
			t.Errorf("IsKey(tu %d) = %v", i, got)
		}
	}
	tests := []struct {
		name string
		tu   string
		want bool
	}{
		{"key frame obu alone", "1200 3203 101010", true}, // TD, OBU_FRAME: show_existing 0, KEY_FRAME
		{"inter frame header", "1200 1a02 2000", false},   // OBU_FRAME_HEADER, frame_type 1
		{"show existing frame", "1a01 80", false},         // show_existing_frame 1
		{"extension header key", "3680 03 101010", true},  // OBU_FRAME with extension, temporal id 4
		{"last obu without size", "1200 30 101010", true}, // OBU_FRAME, no size field
		{"truncated", "0a0b0000", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsKey(unhex(t, stripSpaces(tt.tu))); got != tt.want {
				t.Errorf("IsKey = %v", got)
			}
		})
	}
	if n := testing.AllocsPerRun(100, func() { IsKey(stream) }); n != 0 {
		t.Errorf("IsKey: %v allocs", n)
	}
}

func stripSpaces(s string) string { return string(bytes.ReplaceAll([]byte(s), []byte(" "), nil)) }

func FuzzAV1Config(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseConfig(b)
		if err != nil {
			return
		}
		s, err := c.SequenceHeader()
		if err != nil {
			return
		}
		if s.MaxFrameWidth <= 0 || s.MaxFrameHeight <= 0 {
			t.Errorf("size %dx%d", s.MaxFrameWidth, s.MaxFrameHeight)
		}
		IsKey(c.ConfigOBUs)
	})
}
