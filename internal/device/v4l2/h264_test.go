package v4l2

import (
	"bytes"
	"testing"
	"time"

	"github.com/srs-lite/srs-lite/internal/media"
)

func annexB(nalus ...[]byte) []byte {
	var b []byte
	for _, n := range nalus {
		b = append(append(b, 0, 0, 0, 1), n...)
	}
	return b
}

func TestH264Packer(t *testing.T) {
	sps := []byte{0x67, 0x42, 0xc0, 0x0b, 0xda, 0x0a, 0x11}
	sps2 := []byte{0x67, 0x4d, 0x40, 0x1f, 0xaa}
	pps := []byte{0x68, 0xce, 0x0f, 0xc8}
	aud := []byte{0x09, 0x10}
	idr := []byte{0x65, 0x88, 0x84}
	p1 := []byte{0x41, 0x9a, 0x02}
	type out struct {
		flags media.Flags
		n     int // payload length
	}
	for _, tc := range []struct {
		name string
		aus  [][]byte
		want []out
	}{
		{"starts at a keyframe", [][]byte{annexB(aud, p1), annexB(aud, sps, pps, idr), annexB(aud, p1)},
			[]out{{media.FlagConfig, 0}, {media.FlagKey, 4 + len(idr)}, {0, 4 + len(p1)}}},
		{"no parameter sets yet", [][]byte{annexB(idr), annexB(sps, pps, idr)},
			[]out{{media.FlagConfig, 0}, {media.FlagKey, 4 + len(idr)}}},
		{"repeated sets", [][]byte{annexB(sps, pps, idr), annexB(p1), annexB(sps, pps, idr)},
			[]out{{media.FlagConfig, 0}, {media.FlagKey, 7}, {0, 7}, {media.FlagKey, 7}}},
		{"new sets", [][]byte{annexB(sps, pps, idr), annexB(sps2, pps, idr)},
			[]out{{media.FlagConfig, 0}, {media.FlagKey, 7}, {media.FlagConfig, 0}, {media.FlagKey, 7}}},
		{"sets alone", [][]byte{annexB(sps, pps), annexB(idr)}, []out{{media.FlagConfig, 0}, {media.FlagKey, 7}}},
		{"garbage", [][]byte{{1, 2, 3}, annexB([]byte{0xff, 1}), nil}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var p H264Packer
			var got []out
			for i, au := range tc.aus {
				err := p.Pack(au, time.Duration(i)*time.Second, func(f *media.Frame) error {
					o := out{f.Flags, len(f.Payload)}
					if f.IsConfig() {
						o.n = 0
						if !bytes.Contains(f.Payload, pps) {
							t.Error("config without the PPS")
						}
					}
					if f.DTS != time.Duration(i)*time.Second || f.Codec != media.CodecH264 {
						t.Errorf("frame %+v", f)
					}
					got = append(got, o)
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("got %v, want %v", got, tc.want)
				}
			}
		})
	}
}

func BenchmarkH264Packer(b *testing.B) {
	idr := append([]byte{0x65}, make([]byte, 30000)...)
	au := annexB([]byte{0x09, 0x10}, []byte{0x67, 0x42, 0xc0, 0x0b}, []byte{0x68, 0xce}, idr)
	var p H264Packer
	emit := func(*media.Frame) error { return nil }
	b.ReportAllocs()
	b.SetBytes(int64(len(au)))
	for b.Loop() {
		_ = p.Pack(au, 0, emit)
	}
}
