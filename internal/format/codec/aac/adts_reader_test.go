package aac

import (
	"bytes"
	"io"
	"os"
	"testing"
)

func TestADTSReader(t *testing.T) {
	b, err := os.ReadFile("testdata/a44.aac")
	if err != nil {
		t.Fatal(err)
	}
	// Junk before and between frames is skipped.
	_, n0, err := ParseADTS(b)
	if err != nil {
		t.Fatal(err)
	}
	_, n1, _ := ParseADTS(b[n0:])
	in := append([]byte{0xff, 0x00, 1, 2}, b[:n0+n1]...)
	in = append(in, 0x12, 0xff, 0xf1, 9) // a false syncword after junk
	in = append(in, b[n0+n1:]...)
	r := NewADTSReader(bytes.NewReader(in))
	frames, total := 0, 0
	for {
		h, p, err := r.ReadFrame()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("frame %d: %v", frames, err)
		}
		if h.SampleRate != 44100 || len(p) == 0 {
			t.Fatalf("frame %d: %+v, %d bytes", frames, h, len(p))
		}
		frames++
		total += len(p) + h.HeaderLen
	}
	if total != len(b) || r.Skipped != 8 {
		t.Fatalf("%d frames, %d of %d bytes, skipped %d", frames, total, len(b), r.Skipped)
	}
	// A frame cut short.
	r = NewADTSReader(bytes.NewReader(b[:n0-1]))
	if _, _, err := r.ReadFrame(); err != io.ErrUnexpectedEOF {
		t.Fatalf("truncated: %v", err)
	}
}

func TestADTSReaderNoAllocs(t *testing.T) {
	b, err := os.ReadFile("testdata/a44.aac")
	if err != nil {
		t.Fatal(err)
	}
	stream := bytes.Repeat(b, 50)
	r := NewADTSReader(bytes.NewReader(stream))
	if n := testing.AllocsPerRun(100, func() {
		if _, _, err := r.ReadFrame(); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("%v allocs per frame", n)
	}
}

func BenchmarkADTSReader(b *testing.B) {
	data, err := os.ReadFile("testdata/a44.aac")
	if err != nil {
		b.Fatal(err)
	}
	stream := bytes.Repeat(data, 20)
	br := bytes.NewReader(stream)
	r := NewADTSReader(br)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := r.ReadFrame(); err == io.EOF {
			br.Reset(stream)
			r = NewADTSReader(br)
		} else if err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzADTSReader reads arbitrary bytes as an ADTS stream: no panic, every
// frame's payload within the frame length its header states.
func FuzzADTSReader(f *testing.F) {
	if b, err := os.ReadFile("testdata/a44.aac"); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r := NewADTSReader(bytes.NewReader(b))
		for {
			h, p, err := r.ReadFrame()
			if err != nil {
				return
			}
			if len(p)+h.HeaderLen > maxADTSFrame {
				t.Fatalf("payload %d", len(p))
			}
		}
	})
}
