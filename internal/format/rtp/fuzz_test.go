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
