package flv

import (
	"errors"
	"testing"

	"github.com/srs-lite/srs-lite/internal/media"
)

func TestParseAudio(t *testing.T) {
	opusHead := cat("OpusHead", 1, 2, 0x38, 1, 0x80, 0xbb, 0, 0, 0, 0, 0)
	tests := []struct {
		name string
		body []byte
		want AudioTag
		err  error
	}{
		{"aac config", cat(0xaf, 0, 0x12, 0x10), AudioTag{Codec: media.CodecAAC, Config: true, SampleRate: 44100, Channels: 2, HeaderLen: 2}, nil},
		{"aac raw", cat(0xaf, 1, 0x21), AudioTag{Codec: media.CodecAAC, SampleRate: 44100, Channels: 2, HeaderLen: 2}, nil},
		{"aac mono 22k", cat(0xaa, 1), AudioTag{Codec: media.CodecAAC, SampleRate: 22050, Channels: 1, HeaderLen: 2}, nil},
		{"aac bad packet type", cat(0xaf, 2), AudioTag{}, ErrInvalid},
		{"aac truncated", cat(0xaf), AudioTag{}, ErrTruncated},
		{"mp3 44k stereo", cat(0x2f, 0xff, 0xfb), AudioTag{Codec: media.CodecMP3, SampleRate: 44100, Channels: 2, HeaderLen: 1}, nil},
		{"mp3 5.5k mono", cat(0x22), AudioTag{Codec: media.CodecMP3, SampleRate: 5512, Channels: 1, HeaderLen: 1}, nil},
		{"mp3 11k", cat(0x27), AudioTag{Codec: media.CodecMP3, SampleRate: 11025, Channels: 2, HeaderLen: 1}, nil},
		{"mp3 8k", cat(0xe2), AudioTag{Codec: media.CodecMP3, SampleRate: 8000, Channels: 1, HeaderLen: 1}, nil},
		{"pcma", cat(0x72, 0xd5), AudioTag{Codec: media.CodecPCMA, SampleRate: 8000, Channels: 1, HeaderLen: 1}, nil},
		{"pcmu", cat(0x82, 0xff), AudioTag{Codec: media.CodecPCMU, SampleRate: 8000, Channels: 1, HeaderLen: 1}, nil},
		{"pcmu rate bits ignored", cat(0x8e), AudioTag{Codec: media.CodecPCMU, SampleRate: 8000, Channels: 1, HeaderLen: 1}, nil},
		{"adpcm", cat(0x1f), AudioTag{}, ErrUnsupported},
		{"speex", cat(0xb2), AudioTag{}, ErrUnsupported},
		{"empty", nil, AudioTag{}, ErrTruncated},

		{"ex opus head", cat(0x90, "Opus", opusHead), AudioTag{Codec: media.CodecOpus, Config: true, SampleRate: 48000, Channels: 2, HeaderLen: 5}, nil},
		{"ex opus short head", cat(0x90, "Opus", "OpusHe"), AudioTag{Codec: media.CodecOpus, Config: true, SampleRate: 48000, HeaderLen: 5}, nil},
		{"ex opus coded", cat(0x91, "Opus", 0xfc), AudioTag{Codec: media.CodecOpus, SampleRate: 48000, HeaderLen: 5}, nil},
		{"ex mp4a config", cat(0x90, "mp4a", 0x12, 0x10), AudioTag{Codec: media.CodecAAC, Config: true, HeaderLen: 5}, nil},
		{"ex mp4a coded", cat(0x91, "mp4a", 0x21), AudioTag{Codec: media.CodecAAC, HeaderLen: 5}, nil},
		{"ex mp3 coded", cat(0x91, ".mp3", 0xff), AudioTag{Codec: media.CodecMP3, HeaderLen: 5}, nil},
		{"ex sequence end", cat(0x92, "Opus"), AudioTag{}, ErrSkip},
		{"ex multichannel config", cat(0x94, "Opus", 1, 2), AudioTag{}, ErrSkip},
		{"ex multitrack", cat(0x95, "Opus"), AudioTag{}, ErrUnsupported},
		{"ex modex", cat(0x97, "Opus"), AudioTag{}, ErrUnsupported},
		{"ex reserved packet type", cat(0x93, "Opus"), AudioTag{}, ErrInvalid},
		{"ex flac", cat(0x91, "fLaC"), AudioTag{}, ErrUnsupported},
		{"ex truncated", cat(0x91, "Op"), AudioTag{}, ErrTruncated},
		{"ex only byte", cat(0x90), AudioTag{}, ErrTruncated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseAudio(tt.body)
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if err != nil {
				return
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
			if got.HeaderLen > len(tt.body) {
				t.Errorf("HeaderLen %d > body %d", got.HeaderLen, len(tt.body))
			}
		})
	}
}
