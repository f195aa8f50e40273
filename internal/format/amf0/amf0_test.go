package amf0

import (
	"bytes"
	"encoding/hex"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestVectors checks encodings against the byte layouts of the AMF0
// specification, both ways.
func TestVectors(t *testing.T) {
	tests := []struct {
		name string
		v    any
		hex  string
	}{
		{"number", 1.0, "00 3ff0000000000000"},
		{"number negative", -2.5, "00 c004000000000000"},
		{"true", true, "01 01"},
		{"false", false, "01 00"},
		{"string", "ab", "02 0002 6162"},
		{"empty string", "", "02 0000"},
		{"null", nil, "05"},
		{"undefined", Undefined{}, "06"},
		{"object", Object{{"a", 1.0}}, "03 0001 61 00 3ff0000000000000 000009"},
		{"empty object", Object{}, "03 000009"},
		{"ecma array", ECMAArray{{"w", true}}, "08 00000001 0001 77 0101 000009"},
		{"strict array", StrictArray{"x", nil}, "0a 00000002 02 0001 78 05"},
		{"date", Date{Millis: 2, TimeZone: 0}, "0b 4000000000000000 0000"},
		{"xml", XMLDocument("<a/>"), "0f 00000004 3c612f3e"},
		{"nested", Object{{"o", Object{{"n", nil}}}}, "03 0001 6f 03 0001 6e 05 000009 000009"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := unhex(t, tt.hex)
			got, err := Append(nil, tt.v)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("Append = % x, want % x", got, want)
			}
			v, n, err := Decode(append(want, 0xEE)) // a trailing byte is not consumed
			if err != nil {
				t.Fatal(err)
			}
			if n != len(want) {
				t.Fatalf("Decode took %d bytes, want %d", n, len(want))
			}
			if !reflect.DeepEqual(v, tt.v) {
				t.Fatalf("Decode = %#v, want %#v", v, tt.v)
			}
		})
	}
}

func TestLongString(t *testing.T) {
	s := strings.Repeat("x", 70000)
	b := AppendString(nil, s)
	if b[0] != markerLongString || len(b) != 5+len(s) {
		t.Fatalf("marker %x len %d", b[0], len(b))
	}
	v, _, err := Decode(b)
	if err != nil || v != s {
		t.Fatalf("Decode: %v", err)
	}
}

func TestDecodeSpecialMarkers(t *testing.T) {
	tests := []struct {
		name string
		hex  string
		want any
	}{
		{"unsupported is undefined", "0d", Undefined{}},
		{"typed object drops class", "10 0003 416263 0001 61 05 000009", Object{{"a", nil}}},
		{"ecma array without end marker", "08 00000001 0001 61 0101", ECMAArray{{"a", true}}},
		{"ecma count is advisory", "08 00000000 0001 61 0101 000009", ECMAArray{{"a", true}}},
		{"empty key property", "03 0000 05 000009", Object{{"", nil}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, _, err := Decode(unhex(t, tt.hex))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(v, tt.want) {
				t.Fatalf("got %#v, want %#v", v, tt.want)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	deep := strings.Repeat("0a00000001", MaxDepth+1) + "05"
	okDeep := strings.Repeat("0a00000001", MaxDepth) + "05"
	if _, _, err := Decode(unhex(t, okDeep)); err != nil {
		t.Fatalf("depth %d: %v", MaxDepth, err)
	}
	tests := []struct {
		name string
		hex  string
		want error
	}{
		{"empty", "", ErrTruncated},
		{"short number", "00 3ff0", ErrTruncated},
		{"short bool", "01", ErrTruncated},
		{"short string", "02 0005 6162", ErrTruncated},
		{"bogus long string", "0c ffffffff 61", ErrTruncated},
		{"bogus strict array", "0a ffffffff 05", ErrTruncated},
		{"object without end", "03 0001 61 05", ErrTruncated},
		{"ecma without end", "08 00000002 0001 61 05", ErrTruncated},
		{"short date", "0b 4000000000000000 00", ErrTruncated},
		{"amf3", "11 01", ErrAMF3},
		{"amf3 inside object", "03 0001 61 11", ErrAMF3},
		{"reference", "07 0001", ErrMarker},
		{"movie clip", "04", ErrMarker},
		{"record set", "0e", ErrMarker},
		{"stray object end", "09", ErrMarker},
		{"unknown marker", "42", ErrMarker},
		{"too deep", deep, ErrDepth},
		{"object too deep", strings.Repeat("030001 61", MaxDepth+1) + "05", ErrDepth},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Decode(unhex(t, tt.hex))
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

// TestTruncations decodes every proper prefix of valid encodings: each must
// fail cleanly.
func TestTruncations(t *testing.T) {
	for _, f := range []string{"ffmpeg_connect_publish.amf0", "ffmpeg_onmetadata.amf0"} {
		b, err := os.ReadFile("testdata/" + f)
		if err != nil {
			t.Fatal(err)
		}
		for n := range len(b) {
			if _, err := DecodeAll(b[:n]); err == nil && n > 0 {
				vs, _ := DecodeAll(b)
				cut, _ := DecodeAll(b[:n])
				// An ECMA array cut just before its end marker is accepted
				// on purpose (see properties).
				lenient := strings.Contains(f, "onmetadata") && n == len(b)-3
				if !lenient && reflect.DeepEqual(cut, vs) {
					t.Fatalf("%s: prefix %d decodes to the whole", f, n)
				}
			}
		}
	}
}

func TestFFmpegConnect(t *testing.T) {
	b, err := os.ReadFile("testdata/ffmpeg_connect_publish.amf0")
	if err != nil {
		t.Fatal(err)
	}
	vs, err := DecodeAll(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 3 || vs[0] != "connect" || vs[1] != 1.0 {
		t.Fatalf("values %#v", vs)
	}
	obj, ok := vs[2].(Object)
	if !ok {
		t.Fatalf("command object %T", vs[2])
	}
	if app, _ := obj.String("app"); app != "live" {
		t.Errorf("app = %q", app)
	}
	if tc, _ := obj.String("tcUrl"); !strings.HasPrefix(tc, "rtmp://") {
		t.Errorf("tcUrl = %q", tc)
	}
	// Re-encoding gives the same bytes.
	out, err := AppendAll(nil, vs...)
	if err != nil || !bytes.Equal(out, b) {
		t.Fatalf("re-encode differs: %v", err)
	}
}

func TestFFmpegOnMetaData(t *testing.T) {
	b, err := os.ReadFile("testdata/ffmpeg_onmetadata.amf0")
	if err != nil {
		t.Fatal(err)
	}
	vs, err := DecodeAll(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 2 || vs[0] != "onMetaData" {
		t.Fatalf("values %#v", vs)
	}
	md := Properties(vs[1])
	if md == nil {
		t.Fatalf("metadata is %T", vs[1])
	}
	a := ECMAArray(md)
	if w, _ := a.Number("width"); w != 320 {
		t.Errorf("width = %v", w)
	}
	if h, _ := a.Number("height"); h != 240 {
		t.Errorf("height = %v", h)
	}
	if st, ok := a.Bool("stereo"); !ok || st {
		t.Errorf("stereo = %v %v", st, ok)
	}
	if enc, _ := a.String("encoder"); !strings.HasPrefix(enc, "Lavf") {
		t.Errorf("encoder = %q", enc)
	}
	out, err := AppendAll(nil, vs...)
	if err != nil || !bytes.Equal(out, b) {
		t.Fatalf("re-encode differs: %v", err)
	}
}

func TestAppendErrors(t *testing.T) {
	deep := any(nil)
	for range MaxDepth + 1 {
		deep = StrictArray{deep}
	}
	tests := []struct {
		name string
		v    any
		want error
	}{
		{"channel", make(chan int), ErrType},
		{"map", map[string]any{}, ErrType},
		{"long key", Object{{strings.Repeat("k", 70000), nil}}, ErrTooLong},
		{"too deep", deep, ErrDepth},
		{"bad nested value", ECMAArray{{"a", struct{}{}}}, ErrType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := []byte{1, 2}
			out, err := Append(dst, tt.v)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if !bytes.Equal(out, dst) {
				t.Fatalf("dst changed on error: % x", out)
			}
		})
	}
}

func TestAppendHelpers(t *testing.T) {
	b := AppendString(nil, "connect")
	b = AppendNumber(b, 1)
	b, err := AppendObject(b, Property{"app", "live"}, Property{"n", 3}, Property{"ok", true})
	if err != nil {
		t.Fatal(err)
	}
	b = AppendNull(b)
	b = AppendBool(b, false)
	vs, err := DecodeAll(b)
	if err != nil {
		t.Fatal(err)
	}
	want := []any{"connect", 1.0, Object{{"app", "live"}, {"n", 3.0}, {"ok", true}}, nil, false}
	if !reflect.DeepEqual(vs, want) {
		t.Fatalf("got %#v", vs)
	}
}

func TestDateTime(t *testing.T) {
	d := Date{Millis: 1700000000123}
	if got := d.Time().UnixMilli(); got != 1700000000123 {
		t.Fatalf("Time = %d", got)
	}
}

func FuzzAMF0(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		vs, err := DecodeAll(b)
		if err != nil {
			return
		}
		// What decodes re-encodes, and the encoding is stable.
		enc, err := AppendAll(nil, vs...)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		vs2, err := DecodeAll(enc)
		if err != nil {
			t.Fatalf("decode re-encoded: %v", err)
		}
		enc2, err := AppendAll(nil, vs2...)
		if err != nil || !bytes.Equal(enc, enc2) {
			t.Fatalf("unstable encoding: %v", err)
		}
	})
}

func BenchmarkDecodeConnect(b *testing.B) {
	p, err := os.ReadFile("testdata/ffmpeg_connect_publish.amf0")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(p)))
	for b.Loop() {
		if _, err := DecodeAll(p); err != nil {
			b.Fatal(err)
		}
	}
}
