package rtp

import (
	"bytes"
	"encoding/binary"
	"testing"
	"time"

	"github.com/srs-lite/srs-lite/internal/format/codec/h264"
	"github.com/srs-lite/srs-lite/internal/format/codec/h265"
	"github.com/srs-lite/srs-lite/internal/media"
)

var (
	testSPS = []byte{0x67, 0x42, 0xc0, 0x0d, 0xda, 0x05, 0x07, 0xec, 0x05, 0xa8, 0x30, 0x30, 0x35, 0x28, 0x00, 0x00, 0x03, 0x00, 0x08, 0x00, 0x00, 0x03, 0x01, 0x94, 0x78, 0xa1, 0x55}
	testPPS = []byte{0x68, 0xce, 0x3c, 0x80}
)

// avcc returns a length-prefixed payload of the NAL units.
func avcc(nals ...[]byte) []byte {
	var b []byte
	for _, n := range nals {
		b = binary.BigEndian.AppendUint32(b, uint32(len(n)))
		b = append(b, n...)
	}
	return b
}

// nalOf returns a NAL unit of n bytes starting with header hdr.
func nalOf(n int, hdr ...byte) []byte {
	b := make([]byte, n)
	copy(b, hdr)
	for i := len(hdr); i < n; i++ {
		b[i] = byte(i*7 + 1)
	}
	return b
}

// pooled returns a frame that owns a pooled copy of payload.
func pooled(c media.Codec, flags media.Flags, pts time.Duration, payload []byte) media.Frame {
	f := media.Frame{Codec: c, Flags: flags, DTS: pts, PTS: pts, Payload: payload}
	f.Own()
	return f
}

// split walks wire into packets; each is copied.
func split(t testing.TB, wire []byte) [][]byte {
	t.Helper()
	var pkts [][]byte
	total := 0
	ForEach(wire, func(p []byte) bool {
		pkts = append(pkts, append([]byte(nil), p...))
		total += 2 + len(p)
		return true
	})
	if total != len(wire) {
		t.Fatalf("records cover %d of %d bytes", total, len(wire))
	}
	return pkts
}

// restamp makes the packets of consecutive frames one sequence, as a sender does.
func restamp(frames [][][]byte) [][]byte {
	var out [][]byte
	seq := uint16(1000)
	for _, pk := range frames {
		for _, p := range pk {
			q := append([]byte(nil), p...)
			Header(q, p, 96, seq, 0, 0x1234)
			seq++
			out = append(out, q)
		}
	}
	return out
}

func checkPackets(t *testing.T, pkts [][]byte, mtu int, ts uint32) {
	t.Helper()
	for i, p := range pkts {
		if len(p) > mtu {
			t.Errorf("packet %d: %d bytes > mtu %d", i, len(p), mtu)
		}
		if p[0] != 0x80 || p[1]&0x7f != 0 {
			t.Errorf("packet %d: header % x", i, p[:2])
		}
		if seq := binary.BigEndian.Uint16(p[2:]); int(seq) != i {
			t.Errorf("packet %d: seq %d", i, seq)
		}
		if got := binary.BigEndian.Uint32(p[4:]); got != ts {
			t.Errorf("packet %d: ts %d, want %d", i, got, ts)
		}
		if m := p[1]&0x80 != 0; m != (i == len(pkts)-1) {
			t.Errorf("packet %d of %d: marker %v", i, len(pkts), m)
		}
	}
}

func TestPackH264RoundTrip(t *testing.T) {
	cfg := media.Frame{Codec: media.CodecH264, Flags: media.FlagConfig,
		Payload: h264.BuildConfig([][]byte{testSPS}, [][]byte{testPPS})}
	p := NewPacketizer(media.CodecH264, 90000, 0)
	defer p.Close()
	p.SetConfig(&cfg)
	idr := nalOf(5000, 0x65)
	sei := nalOf(20, 0x06)
	small := nalOf(300, 0x41)
	aud := []byte{0x09, 0xf0}
	key := pooled(media.CodecH264, media.FlagKey, time.Second, avcc(aud, sei, idr))
	defer key.Release()
	inter := pooled(media.CodecH264, 0, time.Second+40*time.Millisecond, avcc(small))
	defer inter.Release()

	kp := split(t, p.Packets(&key))
	checkPackets(t, kp, DefaultMTU, 90000)
	if kp[0][12]&0x1f != h264STAPA {
		t.Errorf("first packet of a keyframe: type %d, want STAP-A", kp[0][12]&0x1f)
	}
	ip := split(t, p.Packets(&inter))
	checkPackets(t, ip, DefaultMTU, 90000+3600)
	if len(ip) != 1 {
		t.Errorf("inter frame: %d packets", len(ip))
	}

	r := run(t, fmtH264NoSprop, restamp([][][]byte{kp, ip}))
	if len(r.errs) > 0 {
		t.Fatal(r.errs)
	}
	if r.frames != 2 || r.keys != 1 {
		t.Fatalf("frames %d keys %d", r.frames, r.keys)
	}
	c, err := h264.ParseConfig(r.config)
	if err != nil || !bytes.Equal(c.SPS[0], testSPS) || !bytes.Equal(c.PPS[0], testPPS) {
		t.Fatalf("config %v %x", err, r.config)
	}
	var nals [][]byte
	h264.SplitAVCC(r.payloads[0], func(n []byte) bool { nals = append(nals, n); return true })
	if len(nals) == 0 || !bytes.Equal(nals[len(nals)-1], idr) {
		t.Errorf("idr not reassembled: %d nals", len(nals))
	}
	if !bytes.Equal(r.payloads[1], avcc(small)) {
		t.Error("inter frame differs")
	}
}

func TestPackH265RoundTrip(t *testing.T) {
	vps, _ := decodeSpropOne("QAEMAf//BAgAAAMAmAgAAAMAADy6AkA=")
	sps, _ := decodeSpropOne("QgEBBAgAAAMAmAgAAAMAADyQAUEB4ilLdJSYX/4AAgAC1BgYGBAAAAMAEAAAAwGQgA==")
	pps, _ := decodeSpropOne("RAHAcDBgMSA=")
	cfg := media.Frame{Codec: media.CodecH265, Flags: media.FlagConfig,
		Payload: h265.BuildConfig([][]byte{vps}, [][]byte{sps}, [][]byte{pps})}
	p := NewPacketizer(media.CodecH265, 90000, 600)
	defer p.Close()
	p.SetConfig(&cfg)
	idr := nalOf(3000, 19<<1, 1)
	key := pooled(media.CodecH265, media.FlagKey, 2*time.Second, avcc(idr))
	defer key.Release()
	kp := split(t, p.Packets(&key))
	checkPackets(t, kp, 600, 180000)
	if typ := kp[0][12] >> 1 & 0x3f; typ != h265AP {
		t.Errorf("first packet type %d, want AP", typ)
	}
	r := run(t, fmtH265, restamp([][][]byte{kp}))
	if len(r.errs) > 0 {
		t.Fatal(r.errs)
	}
	if r.frames != 1 || r.keys != 1 {
		t.Fatalf("frames %d keys %d", r.frames, r.keys)
	}
	var nals [][]byte
	h264.SplitAVCC(r.payloads[0], func(n []byte) bool { nals = append(nals, n); return true })
	if len(nals) == 0 || !bytes.Equal(nals[len(nals)-1], idr) {
		t.Errorf("irap not reassembled: %d nals", len(nals))
	}
}

func TestPackAACRoundTrip(t *testing.T) {
	p := NewPacketizer(media.CodecAAC, 44100, 0)
	defer p.Close()
	var frames [][][]byte
	var aus [][]byte
	for i, n := range []int{200, 371, 1500} { // the last one is fragmented
		au := nalOf(n, byte(i))
		aus = append(aus, au)
		f := pooled(media.CodecAAC, 0, time.Duration(i)*23*time.Millisecond, au)
		pk := split(t, p.Packets(&f))
		checkPackets(t, pk, DefaultMTU, Timestamp(f.PTS, 44100))
		frames = append(frames, pk)
		f.Release()
	}
	if len(frames[2]) != 2 {
		t.Errorf("1500-byte AU in %d packets, want 2", len(frames[2]))
	}
	r := run(t, fmtAAC, restamp(frames))
	if r.frames != 3 {
		t.Fatalf("frames %d, errs %v", r.frames, r.errs)
	}
	for i := range aus {
		if !bytes.Equal(r.payloads[i], aus[i]) {
			t.Errorf("AU %d differs", i)
		}
	}
}

func TestPackAudioOnePacket(t *testing.T) {
	for _, c := range []struct {
		codec media.Codec
		rate  uint32
		f     Format
	}{{media.CodecOpus, 48000, fmtOpus}, {media.CodecPCMU, 8000, fmtPCMU}} {
		p := NewPacketizer(c.codec, c.rate, 0)
		f := pooled(c.codec, 0, 20*time.Millisecond, nalOf(160, 0x78))
		pk := split(t, p.Packets(&f))
		checkPackets(t, pk, DefaultMTU, c.rate/50)
		r := run(t, c.f, restamp([][][]byte{pk}))
		if r.frames != 1 || !bytes.Equal(r.payloads[0], f.Payload) {
			t.Errorf("%v: frames %d", c.codec, r.frames)
		}
		f.Release()
		p.Close()
	}
}

func TestPackShared(t *testing.T) {
	a := NewPacketizer(media.CodecH264, 90000, 0)
	b := NewPacketizer(media.CodecH264, 90000, 0)
	c := NewPacketizer(media.CodecH264, 90000, 500)
	defer a.Close()
	defer b.Close()
	defer c.Close()
	f := pooled(media.CodecH264, 0, 0, avcc(nalOf(3000, 0x41)))
	defer f.Release()
	w1, w2 := a.Packets(&f), b.Packets(&f)
	if &w1[0] != &w2[0] {
		t.Error("two packetizers of one MTU did not share the packets")
	}
	w3 := c.Packets(&f) // another MTU: its own
	split(t, w3)
	if &w3[0] == &w1[0] {
		t.Error("another MTU got the cached packets")
	}
	cfg := media.Frame{Codec: media.CodecH264, Flags: media.FlagConfig, Payload: []byte{1, 2}}
	if a.Packets(&cfg) != nil {
		t.Error("config frame packetized")
	}
}

func TestTimestamp(t *testing.T) {
	want := uint64(100000*3600)*90000 + 29999 // a third of a second rounds down
	if got := Timestamp(100000*time.Hour+time.Second/3, 90000); got != uint32(want) {
		t.Errorf("got %d", got)
	}
	if Timestamp(-time.Second, 90000) != 0 {
		t.Error("negative")
	}
}

// TestPackAllocs pins the hot path: building and caching the packets of a
// frame, and a viewer walking them, allocate nothing after warm-up.
func TestPackAllocs(t *testing.T) {
	cfg := media.Frame{Codec: media.CodecH264, Flags: media.FlagConfig,
		Payload: h264.BuildConfig([][]byte{testSPS}, [][]byte{testPPS})}
	p := NewPacketizer(media.CodecH264, 90000, 0)
	defer p.Close()
	p.SetConfig(&cfg)
	payload := avcc(nalOf(20, 0x06), nalOf(30000, 0x65))
	var hdr [HeaderLen]byte
	f := pooled(media.CodecH264, media.FlagKey, 0, payload)
	p.Packets(&f)
	f.Release()
	n := testing.AllocsPerRun(100, func() {
		f := pooled(media.CodecH264, media.FlagKey, 0, payload)
		ForEach(p.Packets(&f), func(pkt []byte) bool {
			Header(hdr[:], pkt, 96, 1, 2, 3)
			return true
		})
		f.Release()
	})
	if n != 0 {
		t.Errorf("%v allocs per frame, want 0", n)
	}
}

func benchPack(b *testing.B, codec media.Codec, rate uint32, flags media.Flags, payload []byte) {
	p := NewPacketizer(codec, rate, 0)
	defer p.Close()
	if codec == media.CodecH264 {
		cfg := media.Frame{Codec: codec, Flags: media.FlagConfig, Payload: h264.BuildConfig([][]byte{testSPS}, [][]byte{testPPS})}
		p.SetConfig(&cfg)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(payload)))
	for b.Loop() {
		f := pooled(codec, flags, 0, payload)
		p.Packets(&f)
		f.Release()
	}
}

func BenchmarkPacketsH264Key(b *testing.B) {
	benchPack(b, media.CodecH264, 90000, media.FlagKey, avcc(nalOf(60000, 0x65)))
}
func BenchmarkPacketsH264Inter(b *testing.B) {
	benchPack(b, media.CodecH264, 90000, 0, avcc(nalOf(4000, 0x41)))
}
func BenchmarkPacketsAAC(b *testing.B) { benchPack(b, media.CodecAAC, 44100, 0, nalOf(370, 0x21)) }
func BenchmarkPacketsOpus(b *testing.B) {
	benchPack(b, media.CodecOpus, 48000, 0, nalOf(120, 0x78))
}

// BenchmarkPacketsCached is what every viewer after the first pays: the
// cache lookup and a walk rewriting each header.
func BenchmarkPacketsCached(b *testing.B) {
	p := NewPacketizer(media.CodecH264, 90000, 0)
	defer p.Close()
	f := pooled(media.CodecH264, 0, 0, avcc(nalOf(4000, 0x41)))
	defer f.Release()
	var hdr [HeaderLen]byte
	b.ReportAllocs()
	for b.Loop() {
		ForEach(p.Packets(&f), func(pkt []byte) bool {
			Header(hdr[:], pkt, 96, 1, 2, 3)
			return true
		})
	}
}
