package fmp4

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/srs-lite/srs-lite/internal/format/codec/aac"
	"github.com/srs-lite/srs-lite/internal/format/codec/h264"
	"github.com/srs-lite/srs-lite/internal/media"
)

// A 1280x720 High profile SPS and its PPS (from codec/h264/testdata).
var (
	testSPS = []byte{0x67, 0x64, 0x00, 0x1f, 0xac, 0xd9, 0x40, 0x50, 0x05, 0xbb, 0x01, 0x10, 0x00, 0x00,
		0x03, 0x00, 0x10, 0x00, 0x00, 0x03, 0x03, 0xc0, 0xf1, 0x83, 0x19, 0x60}
	testPPS = []byte{0x68, 0xeb, 0xe3, 0xcb, 0x22, 0xc0}
)

// frame returns a frame whose payload is a pooled copy of p.
func frame(c media.Codec, fl media.Flags, dts, pts time.Duration, p []byte) media.Frame {
	f := media.Frame{Codec: c, Flags: fl, DTS: dts, PTS: pts, Payload: p}
	f.Own()
	return f
}

func avcConfig() media.Frame {
	return frame(media.CodecH264, media.FlagConfig, 0, 0, h264.BuildConfig([][]byte{testSPS}, [][]byte{testPPS}))
}

func ascConfig() media.Frame {
	return frame(media.CodecAAC, media.FlagConfig, 0, 0, aac.BuildASC(aac.ObjectLC, 44100, 2))
}

// box is a parsed box, for the tests.
type box struct {
	typ  string
	body []byte
}

func boxes(t *testing.T, b []byte) []box {
	t.Helper()
	var out []box
	for len(b) > 0 {
		if len(b) < 8 {
			t.Fatalf("trailing %d bytes", len(b))
		}
		n := int(binary.BigEndian.Uint32(b))
		if n < 8 || n > len(b) {
			t.Fatalf("box %q size %d of %d", b[4:8], n, len(b))
		}
		out = append(out, box{string(b[4:8]), b[8:n]})
		b = b[n:]
	}
	return out
}

func child(t *testing.T, b []byte, path ...string) []byte {
	t.Helper()
	for _, p := range path {
		found := false
		for _, c := range boxes(t, b) {
			if c.typ == p {
				b, found = c.body, true
				break
			}
		}
		if !found {
			t.Fatalf("no %q box", p)
		}
	}
	return b
}

type sample struct {
	dur, size, flags uint32
	cts              int32
}

// parseTrun returns the data offset and samples of a trun body.
func parseTrun(t *testing.T, b []byte) (int, []sample) {
	t.Helper()
	flags := binary.BigEndian.Uint32(b) & 0xffffff
	n := int(binary.BigEndian.Uint32(b[4:]))
	p := b[8:]
	off := 0
	if flags&1 != 0 {
		off = int(int32(binary.BigEndian.Uint32(p)))
		p = p[4:]
	}
	var out []sample
	for range n {
		var s sample
		if flags&0x100 != 0 {
			s.dur, p = binary.BigEndian.Uint32(p), p[4:]
		}
		if flags&0x200 != 0 {
			s.size, p = binary.BigEndian.Uint32(p), p[4:]
		}
		if flags&0x400 != 0 {
			s.flags, p = binary.BigEndian.Uint32(p), p[4:]
		}
		if flags&0x800 != 0 {
			s.cts, p = int32(binary.BigEndian.Uint32(p)), p[4:]
		}
		out = append(out, s)
	}
	if len(p) != 0 {
		t.Fatalf("trun: %d trailing bytes", len(p))
	}
	return off, out
}

func TestInit(t *testing.T) {
	m := NewMuxer()
	v, a := avcConfig(), ascConfig()
	defer v.Release()
	defer a.Release()
	if err := m.SetTrack(&v); err != nil {
		t.Fatal(err)
	}
	if err := m.SetTrack(&a); err != nil {
		t.Fatal(err)
	}
	init := m.AppendInit(nil)
	top := boxes(t, init)
	if len(top) != 2 || top[0].typ != "ftyp" || top[1].typ != "moov" {
		t.Fatalf("top boxes %v", top)
	}
	moov := top[1].body
	var traks [][]byte
	for _, c := range boxes(t, moov) {
		if c.typ == "trak" {
			traks = append(traks, c.body)
		}
	}
	if len(traks) != 2 {
		t.Fatalf("%d traks", len(traks))
	}
	tkhd := child(t, traks[0], "tkhd")
	if id := binary.BigEndian.Uint32(tkhd[20:]); id != 1 {
		t.Errorf("video track id %d", id)
	}
	if w, h := binary.BigEndian.Uint32(tkhd[len(tkhd)-8:])>>16, binary.BigEndian.Uint32(tkhd[len(tkhd)-4:])>>16; w != 1280 || h != 720 {
		t.Errorf("video size %dx%d", w, h)
	}
	mdhd := child(t, traks[1], "mdia", "mdhd")
	if ts := binary.BigEndian.Uint32(mdhd[20:]); ts != 44100 {
		t.Errorf("audio timescale %d", ts)
	}
	stsd := child(t, traks[0], "mdia", "minf", "stbl", "stsd")
	avc1 := child(t, stsd[8:], "avc1")
	avcC := child(t, avc1[78:], "avcC")
	if !bytes.Equal(avcC, v.Payload) {
		t.Errorf("avcC differs from the config frame")
	}
	stsd = child(t, traks[1], "mdia", "minf", "stbl", "stsd")
	mp4a := child(t, stsd[8:], "mp4a")
	esds := child(t, mp4a[28:], "esds")
	if !bytes.Contains(esds, append([]byte{0x05, byte(len(a.Payload))}, a.Payload...)) {
		t.Errorf("esds lacks the AudioSpecificConfig: % x", esds)
	}
	trexes := 0
	for _, c := range boxes(t, child(t, moov, "mvex")) {
		if c.typ == "trex" {
			trexes++
		}
	}
	if trexes != 2 {
		t.Errorf("%d trex", trexes)
	}
	// The duration variant has the same size.
	if d := m.AppendInitDuration(nil, time.Hour); len(d) != len(init) {
		t.Errorf("init with duration: %d bytes, want %d", len(d), len(init))
	}
}

func TestFragment(t *testing.T) {
	m := NewMuxer()
	v, a := avcConfig(), ascConfig()
	defer v.Release()
	defer a.Release()
	_ = m.SetTrack(&v)
	_ = m.SetTrack(&a)
	ms := time.Millisecond
	type in struct {
		c        media.Codec
		key      bool
		dts, pts time.Duration
		size     int
	}
	frames := []in{
		{media.CodecH264, true, 0, 66 * ms, 100},
		{media.CodecAAC, false, 0, 0, 10},
		{media.CodecH264, false, 33 * ms, 133 * ms, 50},
		{media.CodecAAC, false, 23 * ms, 23 * ms, 11},
		{media.CodecH264, false, 66 * ms, 99 * ms, 40},
		{media.CodecAAC, false, 46 * ms, 46 * ms, 12},
		{media.CodecAAC, false, 70 * ms, 70 * ms, 13},
	}
	var want [2][]byte
	for i, fi := range frames {
		p := bytes.Repeat([]byte{byte(i + 1)}, fi.size)
		var fl media.Flags
		if fi.key {
			fl = media.FlagKey
		}
		f := frame(fi.c, fl, fi.dts, fi.pts, p)
		if err := m.Add(&f); err != nil {
			t.Fatal(err)
		}
		f.Release() // the muxer holds its own reference
		k := 1
		if fi.c.IsVideo() {
			k = 0
		}
		want[k] = append(want[k], p...)
	}
	if d, n := m.Buffered(); d != 70*ms || n != 7 {
		t.Fatalf("Buffered = %v, %d", d, n)
	}
	out := m.AppendFragment([]byte("prefix"), true)
	if _, n := m.Buffered(); n != 0 {
		t.Fatalf("%d frames still buffered", n)
	}
	out = out[len("prefix"):]
	top := boxes(t, out)
	if len(top) != 3 || top[0].typ != "styp" || top[1].typ != "moof" || top[2].typ != "mdat" {
		t.Fatalf("top boxes %v", top)
	}
	moofStart := 8 + len(top[0].body)
	mfhd := child(t, top[1].body, "mfhd")
	if seq := binary.BigEndian.Uint32(mfhd[4:]); seq != 1 {
		t.Errorf("sequence number %d", seq)
	}
	var trafs [][]byte
	for _, c := range boxes(t, top[1].body) {
		if c.typ == "traf" {
			trafs = append(trafs, c.body)
		}
	}
	if len(trafs) != 2 {
		t.Fatalf("%d trafs", len(trafs))
	}
	wantSamples := [2][]sample{
		{{2970, 100, flagsSync, 5940}, {2970, 50, flagsNonSync, 9000}, {2970, 40, flagsNonSync, 2970}},
		{{1024, 10, 0, 0}, {1024, 11, 0, 0}, {1024, 12, 0, 0}, {1024, 13, 0, 0}},
	}
	for i, traf := range trafs {
		tfdt := child(t, traf, "tfdt")
		if tfdt[0] != 1 || binary.BigEndian.Uint64(tfdt[4:]) != 0 {
			t.Errorf("track %d tfdt % x", i+1, tfdt)
		}
		off, samples := parseTrun(t, child(t, traf, "trun"))
		if len(samples) != len(wantSamples[i]) {
			t.Fatalf("track %d: %d samples", i+1, len(samples))
		}
		for j, s := range samples {
			if s != wantSamples[i][j] {
				t.Errorf("track %d sample %d = %+v, want %+v", i+1, j, s, wantSamples[i][j])
			}
		}
		got := out[moofStart+off : moofStart+off+len(want[i])]
		if !bytes.Equal(got, want[i]) {
			t.Errorf("track %d: data offset %d does not point at its samples", i+1, off)
		}
	}
	// The next fragment continues the sequence and the timeline.
	f := frame(media.CodecH264, 0, 99*ms, 99*ms, []byte{1, 2, 3})
	_ = m.Add(&f)
	f.Release()
	out = m.AppendFragment(nil, false)
	top = boxes(t, out)
	if top[0].typ != "moof" {
		t.Fatalf("first box %q", top[0].typ)
	}
	traf := child(t, top[0].body, "traf")
	if dt := binary.BigEndian.Uint64(child(t, traf, "tfdt")[4:]); dt != 8910 {
		t.Errorf("second fragment tfdt %d, want 8910", dt)
	}
	if _, s := parseTrun(t, child(t, traf, "trun")); s[0].dur != 2970 {
		t.Errorf("lone sample duration %d, want the previous 2970", s[0].dur)
	}
}

func TestAddErrors(t *testing.T) {
	m := NewMuxer()
	f := frame(media.CodecH264, media.FlagKey, 0, 0, []byte{0, 0, 0, 1, 0x65})
	defer f.Release()
	if err := m.Add(&f); !errors.Is(err, ErrNoTrack) {
		t.Errorf("Add without track: %v", err)
	}
	if err := m.SetTrack(&f); !errors.Is(err, ErrNoConfig) {
		t.Errorf("SetTrack from a frame: %v", err)
	}
	v := avcConfig()
	defer v.Release()
	_ = m.SetTrack(&v)
	other := frame(media.CodecH264, media.FlagConfig, 0, 0, h264.BuildConfig([][]byte{testSPS}, [][]byte{testPPS, testPPS}))
	defer other.Release()
	for _, tc := range []struct {
		name string
		f    *media.Frame
		want error
	}{
		{"same config", &v, nil},
		{"new config", &other, ErrConfigChanged},
		{"other codec", &media.Frame{Codec: media.CodecH265, Payload: []byte{1}}, ErrConfigChanged},
		{"script data", &media.Frame{Codec: media.CodecData, Payload: []byte{1}}, nil},
		{"no audio track", &media.Frame{Codec: media.CodecAAC, Payload: []byte{1}}, ErrNoTrack},
	} {
		if err := m.Add(tc.f); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	for _, tc := range []struct {
		name string
		f    media.Frame
		want error
	}{
		{"bad avcC", media.Frame{Codec: media.CodecH264, Flags: media.FlagConfig, Payload: []byte{1, 2}}, nil},
		{"bad asc", media.Frame{Codec: media.CodecAAC, Flags: media.FlagConfig, Payload: []byte{0}}, nil},
		{"pcma", media.Frame{Codec: media.CodecPCMA, Payload: []byte{1}}, ErrUnsupported},
		{"mp3 garbage", media.Frame{Codec: media.CodecMP3, Payload: []byte{1, 2, 3, 4}}, ErrInvalid},
		{"opus not a head", media.Frame{Codec: media.CodecOpus, Flags: media.FlagConfig, Payload: []byte{1}}, ErrInvalid},
	} {
		err := NewMuxer().SetTrack(&tc.f)
		if err == nil || tc.want != nil && !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
}

func TestAudioCodecs(t *testing.T) {
	opusHead := []byte("OpusHead\x01\x02\x38\x01\x80\xbb\x00\x00\x00\x00\x00")
	mp3 := []byte{0xff, 0xfb, 0x90, 0x64, 0, 0, 0, 0}
	for _, tc := range []struct {
		name   string
		f      media.Frame
		entry  string
		rate   uint32
		chans  uint16
		defDur int64
	}{
		{"opus head", media.Frame{Codec: media.CodecOpus, Flags: media.FlagConfig, Payload: opusHead}, "Opus", 48000, 2, 960},
		{"opus frame", media.Frame{Codec: media.CodecOpus, Channels: 1, Payload: []byte{0xfc}}, "Opus", 48000, 1, 960},
		{"mp3 frame", media.Frame{Codec: media.CodecMP3, Payload: mp3}, "mp4a", 44100, 2, 1152},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := NewMuxer()
			if err := m.SetTrack(&tc.f); err != nil {
				t.Fatal(err)
			}
			if m.a.rate != tc.rate || m.a.channels != tc.chans || m.a.defDur != tc.defDur {
				t.Errorf("rate %d channels %d default duration %d", m.a.rate, m.a.channels, m.a.defDur)
			}
			init := m.AppendInit(nil)
			stsd := child(t, boxes(t, init)[1].body, "trak", "mdia", "minf", "stbl", "stsd")
			child(t, stsd[8:], tc.entry)
			f := media.Frame{Codec: tc.f.Codec, Payload: []byte{1, 2, 3}}
			if err := m.Add(&f); err != nil {
				t.Fatal(err)
			}
			out := m.AppendFragment(init, false)
			if n, err := Scan(bytes.NewReader(out), int64(len(out))); n != int64(len(out)) || err != nil {
				t.Errorf("Scan = %d, %v; want %d", n, err, len(out))
			}
		})
	}
}

// muxFile returns init + n fragments of 30 video and 43 audio frames each.
func muxFile(t testing.TB, n int) ([]byte, []int) {
	return muxFileSize(t, n, 30, 200)
}

// muxFileSize returns init + n fragments of perFrag video frames of size
// bytes, and the audio frames of their span.
func muxFileSize(t testing.TB, n, perFrag, size int) ([]byte, []int) {
	m := NewMuxer()
	v, a := avcConfig(), ascConfig()
	defer v.Release()
	defer a.Release()
	_ = m.SetTrack(&v)
	_ = m.SetTrack(&a)
	out := m.AppendInit(nil)
	ends := []int{len(out)}
	payload := bytes.Repeat([]byte{7}, size)
	vi, ai := 0, 0
	for range n {
		for range perFrag {
			d := time.Duration(vi) * time.Second / 30
			fl := media.Flags(0)
			if vi%30 == 0 {
				fl = media.FlagKey
			}
			f := frame(media.CodecH264, fl, d, d, payload)
			_ = m.Add(&f)
			f.Release()
			vi++
			for time.Duration(ai)*time.Second*1024/44100 <= d {
				ad := time.Duration(ai) * time.Second * 1024 / 44100
				f := frame(media.CodecAAC, 0, ad, ad, payload[:min(20, size)])
				_ = m.Add(&f)
				f.Release()
				ai++
			}
		}
		out = m.AppendFragment(out, false)
		ends = append(ends, len(out))
	}
	return out, ends
}

func TestScan(t *testing.T) {
	file, ends := muxFile(t, 3)
	if n, err := Scan(bytes.NewReader(file), int64(len(file))); n != int64(len(file)) || err != nil {
		t.Fatalf("Scan whole file = %d, %v; want %d", n, err, len(file))
	}
	// Cut anywhere: the scan keeps the init and the complete fragments.
	for cut := 0; cut <= len(file); cut++ {
		want := 0
		for _, e := range ends {
			if e <= cut {
				want = e
			}
		}
		n, _ := Scan(bytes.NewReader(file[:cut]), int64(cut))
		if n != int64(want) {
			t.Fatalf("cut at %d: kept %d, want %d", cut, n, want)
		}
	}
	// A zero-filled tail (a crash after the file grew) is cut off.
	z := append(append([]byte(nil), file...), make([]byte, 4096)...)
	if n, err := Scan(bytes.NewReader(z), int64(len(z))); n != int64(len(file)) || err == nil {
		t.Errorf("zero tail: kept %d, %v", n, err)
	}
	// A moof with broken children stops the scan before it.
	bad := append([]byte(nil), file...)
	binary.BigEndian.PutUint32(bad[ends[1]+8:], 3) // mfhd size
	if n, _ := Scan(bytes.NewReader(bad), int64(len(bad))); n != int64(ends[1]) {
		t.Errorf("broken moof: kept %d, want %d", n, ends[1])
	}
	// A 64-bit size box is read.
	large := append(append([]byte(nil), file...), 0, 0, 0, 1, 'f', 'r', 'e', 'e', 0, 0, 0, 0, 0, 0, 0, 16)
	if n, err := Scan(bytes.NewReader(large), int64(len(large))); n != int64(len(large)) || err != nil {
		t.Errorf("largesize: kept %d, %v", n, err)
	}
}

type errReaderAt struct{}

func (errReaderAt) ReadAt([]byte, int64) (int, error) { return 0, io.ErrClosedPipe }

func TestScanIOError(t *testing.T) {
	if _, err := Scan(errReaderAt{}, 100); !errors.Is(err, io.ErrClosedPipe) {
		t.Errorf("Scan: %v", err)
	}
}

func TestZeroAllocs(t *testing.T) {
	m := NewMuxer()
	v, a := avcConfig(), ascConfig()
	defer v.Release()
	defer a.Release()
	_ = m.SetTrack(&v)
	_ = m.SetTrack(&a)
	vf := frame(media.CodecH264, media.FlagKey, 0, 0, make([]byte, 1000))
	af := frame(media.CodecAAC, 0, 0, 0, make([]byte, 100))
	defer vf.Release()
	defer af.Release()
	dst := make([]byte, 0, 1<<20)
	var d time.Duration
	run := func() {
		for range 30 {
			vf.DTS, vf.PTS, af.DTS, af.PTS = d, d, d, d
			_ = m.Add(&vf)
			_ = m.Add(&af)
			d += 33 * time.Millisecond
		}
		dst = m.AppendFragment(dst[:0], false)
		_, _ = m.WriteFragment(io.Discard, false)
	}
	run()
	if n := testing.AllocsPerRun(50, run); n != 0 {
		t.Errorf("%v allocations per fragment", n)
	}
}

func BenchmarkMuxer(b *testing.B) {
	m := NewMuxer()
	v, a := avcConfig(), ascConfig()
	defer v.Release()
	defer a.Release()
	_ = m.SetTrack(&v)
	_ = m.SetTrack(&a)
	vf := frame(media.CodecH264, media.FlagKey, 0, 0, make([]byte, 4000))
	defer vf.Release()
	b.ReportAllocs()
	b.SetBytes(int64(len(vf.Payload)))
	var d time.Duration
	w := io.Discard
	for i := 0; b.Loop(); i++ {
		vf.DTS, vf.PTS = d, d
		_ = m.Add(&vf)
		d += 33 * time.Millisecond
		if i%30 == 29 {
			_, _ = m.WriteFragment(w, false)
		}
	}
}

func TestAACTimeline(t *testing.T) {
	m := NewMuxer()
	a := ascConfig()
	defer a.Release()
	_ = m.SetTrack(&a)
	ms := time.Millisecond
	// Millisecond timestamps jitter around 1024 samples; a gap resyncs.
	for _, d := range []time.Duration{0, 23 * ms, 46 * ms, 70 * ms, 1000 * ms, 1023 * ms} {
		f := frame(media.CodecAAC, 0, d, d, []byte{1})
		_ = m.Add(&f)
		f.Release()
	}
	traf := child(t, boxes(t, m.AppendFragment(nil, false))[0].body, "traf")
	_, s := parseTrun(t, child(t, traf, "trun"))
	want := []uint32{1024, 1024, 1024, 44100 - 3*1024, 1024, 1024}
	for i := range want {
		if s[i].dur != want[i] {
			t.Errorf("sample %d duration %d, want %d", i, s[i].dur, want[i])
		}
	}
}
