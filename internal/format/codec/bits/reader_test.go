package bits

import (
	"bytes"
	"errors"
	"testing"
)

func TestReadBits(t *testing.T) {
	r := NewReader([]byte{0xa5, 0xff, 0x00, 0x81})
	steps := []struct {
		n    int
		want uint64
	}{{1, 1}, {3, 2}, {4, 5}, {0, 0}, {12, 0xff0}, {8, 0x08}, {4, 1}}
	for i, s := range steps {
		got, err := r.ReadBits(s.n)
		if err != nil || got != s.want {
			t.Fatalf("step %d: ReadBits(%d) = %#x, %v; want %#x", i, s.n, got, err, s.want)
		}
	}
	if r.Left() != 0 || r.Pos() != 32 {
		t.Errorf("Left = %d, Pos = %d", r.Left(), r.Pos())
	}
	if _, err := r.ReadBits(1); !errors.Is(err, ErrOverrun) {
		t.Errorf("overrun err = %v", err)
	}
	if r.Err() == nil || r.U(1) != 0 || r.Flag() {
		t.Error("error is not sticky")
	}
	r = NewReader(bytes.Repeat([]byte{0xff}, 9))
	if v, err := r.ReadBits(64); err != nil || v != ^uint64(0) {
		t.Errorf("ReadBits(64) = %#x, %v", v, err)
	}
	if _, err := r.ReadBits(65); err == nil {
		t.Error("ReadBits(65) succeeded")
	}
}

func TestExpGolomb(t *testing.T) {
	// H.264 Table 9-2 and 9-3: codeNum 0..8 and their se(v) mappings.
	// Bits: 1 010 011 00100 00101 00110 00111 0001000 0001001
	r := NewReader([]byte{0xa6, 0x42, 0x98, 0xe2, 0x04, 0x80})
	for i, want := range []uint64{0, 1, 2, 3, 4, 5, 6, 7, 8} {
		if got, err := r.ReadUE(); err != nil || got != want {
			t.Fatalf("ue %d = %d, %v", i, got, err)
		}
	}
	r = NewReader([]byte{0xa6, 0x42, 0x98, 0xe2, 0x04, 0x80})
	for i, want := range []int64{0, 1, -1, 2, -2, 3, -3, 4, -4} {
		if got, err := r.ReadSE(); err != nil || got != want {
			t.Fatalf("se %d = %d, %v", i, got, err)
		}
	}
	tests := []struct {
		name string
		b    []byte
		want error
	}{
		{"all zeros", make([]byte, 8), ErrGolomb},
		{"truncated suffix", []byte{0x00, 0x01}, ErrOverrun},
		{"empty", nil, ErrOverrun},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewReader(tt.b).ReadUE(); !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
	// 31 leading zeros is the longest legal code: 2^32-2.
	max := []byte{0, 0, 0, 1, 0xff, 0xff, 0xff, 0xfe}
	if v, err := NewReader(max).ReadUE(); err != nil || v != 1<<32-2 {
		t.Errorf("max ue = %d, %v", v, err)
	}
}

func TestSkip(t *testing.T) {
	r := NewReader([]byte{0x0f})
	if err := r.Skip(4); err != nil || r.U(4) != 0xf {
		t.Fatal("skip 4")
	}
	if err := r.Skip(1); !errors.Is(err, ErrOverrun) {
		t.Errorf("err = %v", err)
	}
}

func TestRemoveEmulation(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"none", "\x67\x64\x00\x1f", "\x67\x64\x00\x1f"},
		{"one", "\x00\x00\x03\x01", "\x00\x00\x01"},
		{"two in a row", "\x00\x00\x03\x00\x00\x03\x00", "\x00\x00\x00\x00\x00"},
		{"trailing", "\xaa\x00\x00\x03", "\xaa\x00\x00"},
		{"single zero", "\x00\x03\x00", "\x00\x03\x00"},
		{"03 not after two zeros", "\x00\x03\x00\x00\x02", "\x00\x03\x00\x00\x02"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := RemoveEmulation([]byte("x"), []byte(tt.in))
			if string(got) != "x"+tt.want {
				t.Errorf("got %q, want %q", got, "x"+tt.want)
			}
		})
	}
}
