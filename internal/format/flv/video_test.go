package flv

import (
	"errors"
	"testing"

	"github.com/srs-lite/srs-lite/internal/media"
)

func cat(parts ...any) []byte {
	var b []byte
	for _, p := range parts {
		switch p := p.(type) {
		case int:
			b = append(b, byte(p))
		case string:
			b = append(b, p...)
		case []byte:
			b = append(b, p...)
		}
	}
	return b
}

func TestParseVideo(t *testing.T) {
	tests := []struct {
		name string
		body []byte
		want VideoTag
		err  error
	}{
		{"avc seq header", cat(0x17, 0, 0, 0, 0, 1, 0x64), VideoTag{Codec: media.CodecH264, Key: true, Config: true, HeaderLen: 5}, nil},
		{"avc seq header ignores cts", cat(0x17, 0, 0, 0, 9), VideoTag{Codec: media.CodecH264, Key: true, Config: true, HeaderLen: 5}, nil},
		{"avc key nalu cts 40", cat(0x17, 1, 0, 0, 40, 0, 0, 0, 1, 0x65), VideoTag{Codec: media.CodecH264, Key: true, CTS: 40, HeaderLen: 5}, nil},
		{"avc inter negative cts", cat(0x27, 1, 0xff, 0xff, 0xd8), VideoTag{Codec: media.CodecH264, CTS: -40, HeaderLen: 5}, nil},
		{"avc disposable inter", cat(0x37, 1, 0, 0, 0), VideoTag{Codec: media.CodecH264, HeaderLen: 5}, nil},
		{"avc generated key", cat(0x47, 1, 0, 0, 0), VideoTag{Codec: media.CodecH264, Key: true, HeaderLen: 5}, nil},
		{"avc max cts", cat(0x27, 1, 0x7f, 0xff, 0xff), VideoTag{Codec: media.CodecH264, CTS: 1<<23 - 1, HeaderLen: 5}, nil},
		{"avc min cts", cat(0x27, 1, 0x80, 0, 0), VideoTag{Codec: media.CodecH264, CTS: -1 << 23, HeaderLen: 5}, nil},
		{"avc end of sequence", cat(0x17, 2, 0, 0, 0), VideoTag{Codec: media.CodecH264, Key: true, EndOfSequence: true, HeaderLen: 5}, nil},
		{"avc bad packet type", cat(0x17, 3, 0, 0, 0), VideoTag{}, ErrInvalid},
		{"avc info frame", cat(0x57, 0), VideoTag{}, ErrSkip},
		{"avc info frame short", cat(0x57), VideoTag{}, ErrSkip},
		{"legacy hevc seq header", cat(0x1c, 0, 0, 0, 0, 1), VideoTag{Codec: media.CodecH265, Key: true, Config: true, HeaderLen: 5}, nil},
		{"legacy hevc inter cts", cat(0x2c, 1, 0, 0x01, 0x00), VideoTag{Codec: media.CodecH265, CTS: 256, HeaderLen: 5}, nil},
		{"sorenson", cat(0x22, 0, 0), VideoTag{}, ErrUnsupported},
		{"vp6", cat(0x14, 0), VideoTag{}, ErrUnsupported},
		{"empty", nil, VideoTag{}, ErrTruncated},
		{"avc truncated 1", cat(0x17), VideoTag{}, ErrTruncated},
		{"avc truncated 4", cat(0x17, 1, 0, 0), VideoTag{}, ErrTruncated},

		{"ex hvc1 seq start", cat(0x90, "hvc1", 1, 2), VideoTag{Codec: media.CodecH265, Key: true, Config: true, HeaderLen: 5}, nil},
		{"ex hvc1 coded frames cts", cat(0x91, "hvc1", 0, 0, 0x21, 9), VideoTag{Codec: media.CodecH265, Key: true, CTS: 33, HeaderLen: 8}, nil},
		{"ex hvc1 coded frames negative cts", cat(0xa1, "hvc1", 0xff, 0xff, 0xff), VideoTag{Codec: media.CodecH265, CTS: -1, HeaderLen: 8}, nil},
		{"ex hvc1 coded frames x", cat(0xa3, "hvc1", 9), VideoTag{Codec: media.CodecH265, HeaderLen: 5}, nil},
		{"ex hvc1 sequence end", cat(0x92, "hvc1"), VideoTag{Codec: media.CodecH265, Key: true, EndOfSequence: true, HeaderLen: 5}, nil},
		{"ex avc1 coded frames", cat(0x91, "avc1", 0, 0, 1), VideoTag{Codec: media.CodecH264, Key: true, CTS: 1, HeaderLen: 8}, nil},
		{"ex av01 seq start", cat(0x90, "av01", 0x81), VideoTag{Codec: media.CodecAV1, Key: true, Config: true, HeaderLen: 5}, nil},
		{"ex av01 coded frames no cts", cat(0x91, "av01", 0x12, 0), VideoTag{Codec: media.CodecAV1, Key: true, HeaderLen: 5}, nil},
		{"ex av01 inter", cat(0xa1, "av01"), VideoTag{Codec: media.CodecAV1, HeaderLen: 5}, nil},
		{"ex metadata", cat(0x94, "hvc1", 2), VideoTag{}, ErrSkip},
		{"ex metadata unknown fourcc", cat(0x94, "zzzz"), VideoTag{}, ErrSkip},
		{"ex mpeg2ts sequence start", cat(0x95, "av01"), VideoTag{}, ErrSkip},
		{"ex command frame", cat(0xd1, 0), VideoTag{}, ErrSkip},
		{"ex multitrack", cat(0x96, "hvc1"), VideoTag{}, ErrUnsupported},
		{"ex modex", cat(0x97, "hvc1"), VideoTag{}, ErrUnsupported},
		{"ex bad packet type", cat(0x98, "hvc1"), VideoTag{}, ErrInvalid},
		{"ex vp09", cat(0x91, "vp09"), VideoTag{}, ErrUnsupported},
		{"ex truncated fourcc", cat(0x91, "hvc"), VideoTag{}, ErrTruncated},
		{"ex truncated cts", cat(0x91, "hvc1", 0, 0), VideoTag{}, ErrTruncated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseVideo(tt.body)
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
