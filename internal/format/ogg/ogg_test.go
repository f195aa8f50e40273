package ogg

import (
	"bytes"
	"errors"
	"io"
	"os"
	"testing"
)

func TestWriteRead(t *testing.T) {
	w := Writer{Serial: 0x1234}
	var b []byte
	var err error
	head := AppendOpusHead(nil, OpusHead{Channels: 2, PreSkip: 312, InputRate: 48000})
	b, _ = w.AppendPage(b, head, 0, false)
	b, _ = w.AppendPage(b, AppendOpusTags(nil, "test"), 0, false)
	pkts := [][]byte{{0xfc, 1, 2, 3}, bytes.Repeat([]byte{0xfc}, 255), bytes.Repeat([]byte{0x7c}, 600), {}}
	g := int64(0)
	for i, p := range pkts {
		g += 960
		if b, err = w.AppendPage(b, p, g, i == len(pkts)-1); err != nil {
			t.Fatal(err)
		}
	}
	r := NewReader(bytes.NewReader(b))
	p, pg, last, err := r.ReadPacket()
	if err != nil || pg.Flags&FlagBOS == 0 || !last || pg.Serial != 0x1234 {
		t.Fatalf("head: %v %+v", err, pg)
	}
	h, err := ParseOpusHead(p)
	if err != nil || h.Channels != 2 || h.PreSkip != 312 || h.InputRate != 48000 {
		t.Fatalf("OpusHead %+v %v", h, err)
	}
	if p, _, _, err = r.ReadPacket(); err != nil || !IsOpusTags(p) {
		t.Fatalf("tags %q %v", p, err)
	}
	for i, want := range pkts {
		p, pg, _, err := r.ReadPacket()
		if err != nil || !bytes.Equal(p, want) || pg.Granule != int64(960*(i+1)) {
			t.Fatalf("packet %d: %v granule %d len %d", i, err, pg.Granule, len(p))
		}
	}
	if _, _, _, err := r.ReadPacket(); err != io.EOF {
		t.Fatalf("end: %v", err)
	}
	if _, err := w.AppendPage(nil, make([]byte, MaxPageData), 0, false); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("huge packet: %v", err)
	}
}

// TestSpanning builds a page whose last packet continues on the next page,
// and a page with two packets, as muxers write them.
func TestSpanning(t *testing.T) {
	a := bytes.Repeat([]byte{1}, 300) // segments 255, 45
	c := bytes.Repeat([]byte{3}, 10)
	// Page 1: packet a, then the first 255 bytes of packet bb (lacing 255, no end).
	bb := bytes.Repeat([]byte{2}, 255+20)
	p1 := rawPage(0, FlagBOS, 100, []byte{255, 45, 255}, append(append([]byte{}, a...), bb[:255]...))
	p2 := rawPage(1, FlagContinued, 200, []byte{20, 10}, append(append([]byte{}, bb[255:]...), c...))
	r := NewReader(bytes.NewReader(append(append([]byte("junk"), p1...), p2...)))
	for i, want := range [][]byte{a, bb, c} {
		p, _, _, err := r.ReadPacket()
		if err != nil || !bytes.Equal(p, want) {
			t.Fatalf("packet %d: %v %d bytes", i, err, len(p))
		}
	}
	if r.Skipped != 4 || r.Pages != 2 {
		t.Fatalf("skipped %d pages %d", r.Skipped, r.Pages)
	}
	// A lost first page: the continued packet's tail is skipped.
	r = NewReader(bytes.NewReader(p2))
	if p, _, _, err := r.ReadPacket(); err != nil || !bytes.Equal(p, c) {
		t.Fatalf("after loss: %v %d", err, len(p))
	}
	// A broken checksum.
	bad := append([]byte(nil), p1...)
	bad[len(bad)-1] ^= 1
	if _, _, _, err := NewReader(bytes.NewReader(bad)).ReadPacket(); !errors.Is(err, ErrCRC) {
		t.Fatalf("crc: %v", err)
	}
	if _, _, _, err := NewReader(bytes.NewReader(p1[:40])).ReadPacket(); err != io.ErrUnexpectedEOF {
		t.Fatalf("truncated: %v", err)
	}
}

func rawPage(seq uint32, flags byte, granule int64, lacing, data []byte) []byte {
	w := Writer{Serial: 7, seq: seq}
	b, _ := w.AppendPage(nil, nil, granule, false)
	b = b[:26]
	b[5] = flags
	b = append(b, byte(len(lacing)))
	b = append(b, lacing...)
	b = append(b, data...)
	b[22], b[23], b[24], b[25] = 0, 0, 0, 0
	crc := crcUpdate(0, b)
	b[22], b[23], b[24], b[25] = byte(crc), byte(crc>>8), byte(crc>>16), byte(crc>>24)
	return b
}

// TestFFmpegFile reads an Ogg Opus file ffmpeg wrote (0.2 s, 20 ms frames).
func TestFFmpegFile(t *testing.T) {
	b, err := os.ReadFile("testdata/sine.opus")
	if err != nil {
		t.Fatal(err)
	}
	r := NewReader(bytes.NewReader(b))
	p, _, _, err := r.ReadPacket()
	h, herr := ParseOpusHead(p)
	if err != nil || herr != nil || h.Channels != 2 {
		t.Fatalf("head %+v %v %v", h, err, herr)
	}
	samples, n := 0, 0
	var granule int64
	for {
		p, pg, last, err := r.ReadPacket()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if IsOpusTags(p) {
			continue
		}
		if d := OpusSamples(p); d != 960 {
			t.Fatalf("packet %d: %d samples", n, d)
		}
		samples += 960
		n++
		if last {
			granule = pg.Granule
		}
	}
	// 0.2 s plus the encoder's pre-skip, rounded up to whole frames; the
	// last page's granule is the end of the audio plus the pre-skip.
	if n < 10 || granule < 9600 || granule > int64(samples) {
		t.Fatalf("%d packets, %d samples, last granule %d, preskip %d", n, samples, granule, h.PreSkip)
	}
}

func TestOpusSamples(t *testing.T) {
	for _, c := range []struct {
		p    []byte
		want int
	}{
		{nil, 0},
		{[]byte{0xfc}, 960},        // CELT FB 20 ms, one frame
		{[]byte{0xe0}, 120},        // CELT FB 2.5 ms (config 28)
		{[]byte{0x00}, 480},        // SILK NB 10 ms
		{[]byte{0x01}, 960},        // two frames of 10 ms
		{[]byte{0x0b, 0x03}, 2880}, // SILK NB 20 ms (config 1), code 3: three frames
		{[]byte{0x03}, 0},          // code 3 without its frame count byte
		{[]byte{0x1b, 0x3f}, 0},    // 63 frames of 60 ms: over 120 ms
	} {
		if got := OpusSamples(c.p); got != c.want {
			t.Errorf("%x: %d, want %d", c.p, got, c.want)
		}
	}
}

func TestNoAllocs(t *testing.T) {
	w := Writer{Serial: 1}
	pkt := bytes.Repeat([]byte{0xfc}, 160)
	dst := make([]byte, 0, 512)
	page, _ := w.AppendPage(nil, pkt, 960, false)
	stream := bytes.Repeat(page, 200)
	br := bytes.NewReader(stream)
	r := NewReader(br)
	if n := testing.AllocsPerRun(100, func() {
		dst, _ = w.AppendPage(dst[:0], pkt, 960, false)
		if _, _, _, err := r.ReadPacket(); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("%v allocs per page", n)
	}
}

func BenchmarkReadPacket(b *testing.B) {
	w := Writer{Serial: 1}
	pkt := bytes.Repeat([]byte{0xfc}, 160) // 64 kbps, 20 ms
	var stream []byte
	for i := range 1000 {
		stream, _ = w.AppendPage(stream, pkt, int64(960*(i+1)), false)
	}
	br := bytes.NewReader(stream)
	r := NewReader(br)
	b.ReportAllocs()
	b.SetBytes(int64(len(pkt)))
	for b.Loop() {
		if _, _, _, err := r.ReadPacket(); err == io.EOF {
			br.Reset(stream)
			r = NewReader(br)
		} else if err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendPage(b *testing.B) {
	w := Writer{Serial: 1}
	pkt := bytes.Repeat([]byte{0xfc}, 160)
	dst := make([]byte, 0, 512)
	b.ReportAllocs()
	b.SetBytes(int64(len(pkt)))
	for b.Loop() {
		dst, _ = w.AppendPage(dst[:0], pkt, 960, false)
	}
}

// FuzzOggReader reads arbitrary bytes as an Ogg stream: no panic, packets
// within bounds, and a packet re-muxed reads back the same.
func FuzzOggReader(f *testing.F) {
	if b, err := os.ReadFile("testdata/sine.opus"); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r := NewReader(bytes.NewReader(b))
		for range 1000 {
			p, _, _, err := r.ReadPacket()
			if err != nil {
				return
			}
			if len(p) > MaxPacket {
				t.Fatalf("packet of %d bytes", len(p))
			}
			OpusSamples(p)
			ParseOpusHead(p)
			if len(p) < MaxPageData-1 {
				var w Writer
				pg, err := w.AppendPage(nil, p, 1, false)
				if err != nil {
					t.Fatal(err)
				}
				q, _, _, err := NewReader(bytes.NewReader(pg)).ReadPacket()
				if err != nil || !bytes.Equal(p, q) {
					t.Fatalf("remux: %v", err)
				}
			}
		}
	})
}
