package codec

import (
	"testing"

	"github.com/srs-lite/srs-lite/internal/format/codec/aac"
	"github.com/srs-lite/srs-lite/internal/format/codec/h264"
	"github.com/srs-lite/srs-lite/internal/media"
)

func TestVideoInfoH264(t *testing.T) {
	// x264 1280x720 High, level 3.1.
	sps := []byte{0x67, 0x64, 0x00, 0x1f, 0xac, 0xd9, 0x40, 0x50, 0x05, 0xbb, 0x01, 0x10, 0x00, 0x00, 0x03,
		0x00, 0x10, 0x00, 0x00, 0x03, 0x03, 0xc0, 0xf1, 0x83, 0x19, 0x60}
	pps := []byte{0x68, 0xeb, 0xe3, 0xcb, 0x22, 0xc0}
	f := media.Frame{Codec: media.CodecH264, Flags: media.FlagConfig, Payload: h264.BuildConfig([][]byte{sps}, [][]byte{pps})}
	v, ok := VideoInfo(&f)
	if !ok || v.Width != 1280 || v.Height != 720 || v.Profile != "High" || v.Level != "3.1" {
		t.Fatalf("got %+v %v", v, ok)
	}
	f.Flags = media.FlagKey
	if _, ok := VideoInfo(&f); ok {
		t.Fatal("a coded frame was described as a sequence header")
	}
}

func TestAudioInfo(t *testing.T) {
	tests := []struct {
		name string
		f    media.Frame
		want media.AudioInfo
	}{
		{"aac lc 44100 stereo", media.Frame{Codec: media.CodecAAC, Flags: media.FlagConfig, Payload: aac.BuildASC(2, 44100, 2)},
			media.AudioInfo{Codec: media.CodecAAC, Profile: "LC", SampleRate: 44100, Channels: 2}},
		{"opus head mono", media.Frame{Codec: media.CodecOpus, Flags: media.FlagConfig,
			Payload: []byte{'O', 'p', 'u', 's', 'H', 'e', 'a', 'd', 1, 1, 0, 0, 0x80, 0xbb, 0, 0, 0, 0, 0}},
			media.AudioInfo{Codec: media.CodecOpus, SampleRate: 48000, Channels: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := AudioInfo(&tt.f)
			if !ok || got != tt.want {
				t.Fatalf("got %+v %v, want %+v", got, ok, tt.want)
			}
		})
	}
	bad := media.Frame{Codec: media.CodecAAC, Flags: media.FlagConfig, Payload: []byte{0xff}}
	if _, ok := AudioInfo(&bad); ok {
		t.Fatal("a broken ASC was described")
	}
}
