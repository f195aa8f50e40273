package rtp

import (
	"encoding/binary"
	"testing"

	"github.com/pion/rtp"

	"github.com/srs-lite/srs-lite/internal/format/codec/h264"
	"github.com/srs-lite/srs-lite/internal/media"
)

// fuzzFormats are the formats FuzzRTPDepack picks from by its first byte.
var fuzzFormats = []Format{fmtH264, fmtH264NoSprop, fmtH265, fmtAAC, fmtLATM, fmtPCMU, fmtOpus,
	{Encoding: "MP4A-LATM", ClockRate: 48000, Params: map[string]string{}},
	{Encoding: "H265", ClockRate: 90000, Params: map[string]string{"sprop-max-don-diff": "1"}},
	{Encoding: "MPEG4-GENERIC", ClockRate: 16000, Params: ParseFmtp(
		"mode=AAC-hbr;config=1408;sizelength=6;indexlength=2;indexdeltalength=2;ctsdeltalength=4;dtsdeltalength=4;randomaccessindication=1;streamstateindication=3;auxiliarydatasizelength=5")},
}

// FuzzRTPDepack feeds packets (each after a 16-bit length) to the
// depacketizer of the format chosen by the first byte: no panic, and video
// frames are always well-formed AVCC.
func FuzzRTPDepack(f *testing.F) {
	for i, name := range []string{"h264aac-video.rtp", "h264pcmu-video.rtp", "h265-video.rtp",
		"h264aac-audio.rtp", "h264latm-audio.rtp", "h264pcmu-audio.rtp", "h264opus-audio.rtp"} {
		var b []byte
		for _, p := range readCapture(f, name)[:6] {
			b = binary.BigEndian.AppendUint16(b, uint16(len(p)))
			b = append(b, p...)
		}
		sel := []byte{0, 1, 2, 3, 4, 5, 6}[i]
		f.Add(append([]byte{sel}, b...))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 1 {
			return
		}
		fm := fuzzFormats[int(data[0])%len(fuzzFormats)]
		d, err := NewDepacketizer(fm)
		if err != nil {
			t.Fatal(err)
		}
		video := fm.Codec().IsVideo()
		emit := func(ts uint32, fr *media.Frame) {
			if video && !fr.IsConfig() {
				if err := h264.SplitAVCC(fr.Payload, func([]byte) bool { return true }); err != nil {
					t.Fatalf("bad AVCC frame: %v", err)
				}
			}
		}
		var p rtp.Packet
		b := data[1:]
		for len(b) >= 2 {
			n := min(int(binary.BigEndian.Uint16(b)), len(b)-2)
			if p.Unmarshal(b[2:2+n]) == nil {
				_ = d.Push(&p, emit)
			}
			b = b[2+n:]
		}
	})
}

// FuzzPacketize packetizes a frame (the config record and the payload of
// the codec the first byte picks, at an MTU the second picks) and walks the
// packets back through the depacketizer: no panic, every packet within the
// MTU, and what comes back is well-formed.
func FuzzPacketize(f *testing.F) {
	f.Add([]byte{0, 0}, h264.BuildConfig([][]byte{testSPS}, [][]byte{testPPS}), avcc(nalOf(3000, 0x65)), true)
	f.Add([]byte{1, 9}, []byte{1, 2, 3}, avcc(nalOf(900, 0x26, 1)), true)
	f.Add([]byte{2, 3}, []byte{0x12, 0x10}, nalOf(1600, 0x21), false)
	f.Add([]byte{3, 0}, []byte(nil), nalOf(120, 0x78), false)
	codecs := []struct {
		c    media.Codec
		rate uint32
		f    Format
	}{{media.CodecH264, 90000, fmtH264NoSprop}, {media.CodecH265, 90000, fmtH265}, {media.CodecAAC, 44100, fmtAAC},
		{media.CodecOpus, 48000, fmtOpus}, {media.CodecPCMU, 8000, fmtPCMU}}
	f.Fuzz(func(t *testing.T, sel, cfg, payload []byte, key bool) {
		if len(sel) < 2 || len(payload) > 1<<20 {
			return
		}
		c := codecs[int(sel[0])%len(codecs)]
		mtu := minMTU + int(sel[1])*8
		p := NewPacketizer(c.c, c.rate, mtu)
		defer p.Close()
		p.SetConfig(&media.Frame{Codec: c.c, Flags: media.FlagConfig, Payload: cfg})
		flags := media.Flags(0)
		if key {
			flags = media.FlagKey
		}
		fr := media.Frame{Codec: c.c, Flags: flags, Payload: payload}
		fr.Own()
		defer fr.Release()
		d, err := NewDepacketizer(c.f)
		if err != nil {
			t.Fatal(err)
		}
		var pk rtp.Packet
		seq := uint16(0)
		ForEach(p.Packets(&fr), func(b []byte) bool {
			if len(b) > mtu && c.c != media.CodecOpus && c.c != media.CodecPCMU {
				t.Fatalf("packet of %d bytes over mtu %d", len(b), mtu)
			}
			q := append([]byte(nil), b...)
			Header(q, b, c.f.PayloadType, seq, 0, 1)
			seq++
			if err := pk.Unmarshal(q); err != nil {
				t.Fatalf("our packet does not parse: %v", err)
			}
			_ = d.Push(&pk, func(ts uint32, f *media.Frame) {
				if f.Codec.IsVideo() && !f.IsConfig() && h264.SplitAVCC(f.Payload, func([]byte) bool { return true }) != nil {
					t.Fatalf("bad AVCC back")
				}
			})
			return true
		})
	})
}
