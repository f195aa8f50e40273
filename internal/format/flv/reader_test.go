package flv

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"
	"time"

	"github.com/srs-lite/srs-lite/internal/media"
)

func TestReaderWriterRoundTrip(t *testing.T) {
	frames := []media.Frame{
		{Codec: media.CodecData, Payload: cat(2, 0, 10, "onMetaData", 8, 0, 0, 0, 0, 0, 0, 9)},
		{Codec: media.CodecH264, Flags: media.FlagConfig, Payload: cat(1, 0x64, 0, 0x1f, 0xff)},
		{Codec: media.CodecAAC, Flags: media.FlagConfig, Payload: cat(0x12, 0x10)},
		{Codec: media.CodecH264, Flags: media.FlagKey, PTS: 40 * ms, Payload: cat(0, 0, 0, 1, 0x65)},
		{Codec: media.CodecAAC, DTS: 23 * ms, PTS: 23 * ms, Payload: cat(0x21, 0x10)},
		{Codec: media.CodecH264, DTS: 33 * ms, PTS: 33 * ms, Payload: bytes.Repeat([]byte{7}, 200000)},
		{Codec: media.CodecH265, Flags: media.FlagKey, DTS: 0x1000000 * ms, PTS: (0x1000000 + 66) * ms, Payload: cat(0, 0, 0, 1, 0x26)},
		{Codec: media.CodecOpus, DTS: 20 * ms, PTS: 20 * ms, SampleRate: 48000, Payload: cat(0xfc, 1)},
		{Codec: media.CodecAV1, DTS: 0xfffffffe * ms, PTS: 0xfffffffe * ms, Payload: cat(0x12, 0)},
	}
	var buf bytes.Buffer
	w := NewWriter(&buf)
	if err := w.WriteHeader(true, true); err != nil {
		t.Fatal(err)
	}
	for i := range frames {
		f := pooledFrame(frames[i])
		if err := w.WriteFrame(&f); err != nil {
			t.Fatal(err)
		}
		f.Release()
	}

	// One byte per Read exercises every short read.
	r := NewReader(iotest.OneByteReader(&buf))
	hasAudio, hasVideo, err := r.ReadHeader()
	if err != nil || !hasAudio || !hasVideo {
		t.Fatalf("ReadHeader = %v, %v, %v", hasAudio, hasVideo, err)
	}
	for i, want := range frames {
		tag, err := r.ReadTag()
		if err != nil {
			t.Fatalf("tag %d: %v", i, err)
		}
		if tag.Type != TagType(&want) || tag.Timestamp != Timestamp(&want) {
			t.Errorf("tag %d: type %d ts %d", i, tag.Type, tag.Timestamp)
		}
		var f media.Frame
		if err := FrameFromTag(tag.Type, tag.Timestamp, tag.Body, &f); err != nil {
			t.Fatalf("tag %d: %v", i, err)
		}
		if f.Codec != want.Codec || f.Flags != want.Flags || f.DTS != want.DTS || f.PTS != want.PTS || !bytes.Equal(f.Payload, want.Payload) {
			t.Errorf("tag %d: got %v flags %d dts %v pts %v, want %v flags %d dts %v pts %v",
				i, f.Codec, f.Flags, f.DTS, f.PTS, want.Codec, want.Flags, want.DTS, want.PTS)
		}
	}
	if _, err := r.ReadTag(); err != io.EOF {
		t.Errorf("after last tag: %v, want io.EOF", err)
	}
}

func TestWriterErrors(t *testing.T) {
	w := NewWriter(io.Discard)
	if err := w.WriteFrame(&media.Frame{}); !errors.Is(err, ErrUnsupported) {
		t.Errorf("unknown codec: %v", err)
	}
	big := media.Frame{Codec: media.CodecAAC, Payload: make([]byte, MaxDataSize)}
	if err := w.WriteFrame(&big); !errors.Is(err, ErrTooLarge) {
		t.Errorf("too large: %v", err)
	}
	fail := errors.New("disk full")
	w = NewWriter(errWriter{fail})
	if err := w.WriteHeader(false, true); !errors.Is(err, fail) {
		t.Errorf("WriteHeader: %v", err)
	}
	if err := w.WriteFrame(&media.Frame{Codec: media.CodecPCMA}); !errors.Is(err, fail) {
		t.Errorf("WriteFrame: %v", err)
	}
}

type errWriter struct{ err error }

func (w errWriter) Write([]byte) (int, error) { return 0, w.err }

func TestReadHeader(t *testing.T) {
	tests := []struct {
		name         string
		data         []byte
		audio, video bool
		err          error
		next         []byte // what the stream holds after the header
	}{
		{"audio video", cat(Header(true, true), "x"), true, true, nil, cat(0, 0, 0, 0, "x")},
		{"video only", Header(false, true), false, true, nil, cat(0, 0, 0, 0)},
		{"data offset 12", cat("FLV", 1, 4, 0, 0, 0, 12, "abc", "rest"), true, false, nil, cat("rest")},
		{"bad signature", cat("FLW", 1, 5, 0, 0, 0, 9), false, false, ErrInvalid, nil},
		{"small data offset", cat("FLV", 1, 5, 0, 0, 0, 8), false, false, ErrInvalid, nil},
		{"huge data offset", cat("FLV", 1, 5, 0xff, 0, 0, 9), false, false, ErrInvalid, nil},
		{"truncated", cat("FLV", 1, 5), false, false, ErrTruncated, nil},
		{"truncated offset skip", cat("FLV", 1, 5, 0, 0, 0, 20, 1), false, false, ErrTruncated, nil},
		{"empty", nil, false, false, ErrTruncated, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := bytes.NewReader(tt.data)
			a, v, err := NewReader(src).ReadHeader()
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if err != nil {
				return
			}
			if a != tt.audio || v != tt.video {
				t.Errorf("got %v %v", a, v)
			}
			if rest, _ := io.ReadAll(src); !bytes.Equal(rest, tt.next) {
				t.Errorf("rest % x, want % x", rest, tt.next)
			}
		})
	}
}

func TestReadTag(t *testing.T) {
	tag := func(typ uint8, ts uint32, body []byte) []byte {
		b := AppendTagHeader(nil, typ, len(body), ts)
		b[0] = typ // keep the Filter and reserved bits AppendTagHeader masks
		return append(b, body...)
	}
	pts := cat(0, 0, 0, 0)
	tests := []struct {
		name string
		data []byte // after the FLV header
		max  int
		want []Tag
		err  error
	}{
		{"two tags", cat(pts, tag(9, 1, cat(0x17, 1)), cat(0, 0, 0, 13), tag(8, 0x12345678, cat(0xaf)), cat(0, 0, 0, 12)),
			0, []Tag{{9, 1, cat(0x17, 1)}, {8, 0x12345678, cat(0xaf)}}, io.EOF},
		{"missing final previous tag size", cat(pts, tag(18, 0, cat(2))), 0, []Tag{{18, 0, cat(2)}}, io.EOF},
		{"short final previous tag size", cat(pts, tag(18, 0, cat(2)), 0, 0), 0, []Tag{{18, 0, cat(2)}}, io.EOF},
		{"empty body", cat(pts, tag(8, 0, nil), 0, 0, 0, 11), 0, []Tag{{8, 0, cat()}}, io.EOF},
		{"no tags", pts, 0, nil, io.EOF},
		{"truncated header", cat(pts, 9, 0, 0), 0, nil, ErrTruncated},
		{"truncated body", cat(pts, 9, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0x17), 0, nil, ErrTruncated},
		{"lying size", cat(pts, 9, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0x17), 0, nil, ErrTruncated},
		{"over max", cat(pts, tag(9, 0, make([]byte, 101))), 100, nil, ErrTooLarge},
		{"at max", cat(pts, tag(9, 0, make([]byte, 100))), 100, []Tag{{9, 0, make([]byte, 100)}}, io.EOF},
		{"encrypted", cat(pts, tag(9|0x20, 0, cat(1))), 0, nil, ErrUnsupported},
		{"reserved bits ignored", cat(pts, tag(0xc8, 0, cat(1))), 0, []Tag{{8, 0, cat(1)}}, io.EOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewReader(bytes.NewReader(cat(Header(true, true)[:9], tt.data)))
			r.MaxTagSize = tt.max
			if _, _, err := r.ReadHeader(); err != nil {
				t.Fatal(err)
			}
			for i, want := range tt.want {
				got, err := r.ReadTag()
				if err != nil {
					t.Fatalf("tag %d: %v", i, err)
				}
				if got.Type != want.Type || got.Timestamp != want.Timestamp || !bytes.Equal(got.Body, want.Body) {
					t.Errorf("tag %d: got %+v, want %+v", i, got, want)
				}
			}
			if _, err := r.ReadTag(); !errors.Is(err, tt.err) {
				t.Errorf("last ReadTag: %v, want %v", err, tt.err)
			}
		})
	}
}

func TestReadTagReusesBody(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	w.WriteHeader(true, false)
	for i := range 4 {
		f := media.Frame{Codec: media.CodecAAC, DTS: ms * time.Duration(i), Payload: bytes.Repeat([]byte{byte(i)}, 1000)}
		w.WriteFrame(&f)
	}
	r := NewReader(&buf)
	r.ReadHeader()
	first, _ := r.ReadTag()
	if n := testing.AllocsPerRun(2, func() {
		if _, err := r.ReadTag(); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("ReadTag: %v allocs, want 0", n)
	}
	if first.Body[2] != 3 {
		t.Errorf("body not reused: % x", first.Body[:3])
	}
}
