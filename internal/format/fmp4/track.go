package fmp4

import (
	"encoding/binary"
	"fmt"

	"github.com/srs-lite/srs-lite/internal/format/codec"
	"github.com/srs-lite/srs-lite/internal/format/codec/aac"
	"github.com/srs-lite/srs-lite/internal/format/codec/av1"
	"github.com/srs-lite/srs-lite/internal/format/codec/h264"
	"github.com/srs-lite/srs-lite/internal/format/codec/h265"
	"github.com/srs-lite/srs-lite/internal/media"
)

// Track IDs: one video and one audio track.
const (
	VideoTrackID = 1
	AudioTrackID = 2
)

// videoTimescale is the media timescale of video tracks, the MPEG 90 kHz
// clock.
const videoTimescale = 90000

// track is one track of the file: its sample entry parameters, its
// buffered samples and its timeline state.
type track struct {
	id        uint32
	codec     media.Codec
	timescale uint32
	config    []byte // decoder configuration (owned copy); nil for codecs without one
	width     uint16 // video
	height    uint16
	rate      uint32 // audio sample rate
	channels  uint16
	// frameLen is the fixed number of samples per audio frame (AAC); 0 when
	// durations come from the timestamps alone.
	frameLen int64
	defDur   int64 // duration of a lone first sample, in timescale units
	opus     opusHead

	samples []media.Frame // buffered, each holding a reference
	times   []int64       // scratch: decode times of samples, in timescale units

	// Timeline across fragments.
	lastDur int64 // duration of the last sample written
	next    int64 // AAC: expected decode time of the next sample
	hasNext bool
}

// opusHead holds the fields of an Opus identification header (RFC 7845
// §5.1) that the dOps box repeats.
type opusHead struct {
	preSkip    uint16
	inputRate  uint32
	gain       int16
	family     uint8
	streams    uint8
	coupled    uint8
	channelMap []byte
}

// newTrack builds a track from a config frame or, for codecs that have no
// configuration record, from a first frame.
func newTrack(f *media.Frame) (*track, error) {
	t := &track{codec: f.Codec}
	switch f.Codec {
	case media.CodecH264, media.CodecH265, media.CodecAV1:
		if !f.IsConfig() {
			return nil, fmt.Errorf("fmp4: %v track needs its sequence header (a config frame): %w", f.Codec, ErrNoConfig)
		}
		var err error
		switch f.Codec {
		case media.CodecH264:
			_, err = h264.ParseConfig(f.Payload)
		case media.CodecH265:
			_, err = h265.ParseConfig(f.Payload)
		case media.CodecAV1:
			_, err = av1.ParseConfig(f.Payload)
		}
		if err != nil {
			return nil, fmt.Errorf("fmp4: %v sequence header: %w", f.Codec, err)
		}
		t.id, t.timescale, t.defDur = VideoTrackID, videoTimescale, videoTimescale/30
		if v, ok := codec.VideoInfo(f); ok {
			t.width, t.height = clamp16(v.Width), clamp16(v.Height)
		}
	case media.CodecAAC:
		if !f.IsConfig() {
			return nil, fmt.Errorf("fmp4: AAC track needs its AudioSpecificConfig (a config frame): %w", ErrNoConfig)
		}
		asc, err := aac.ParseASC(f.Payload)
		if err != nil {
			return nil, fmt.Errorf("fmp4: AAC sequence header: %w", err)
		}
		t.id, t.rate, t.channels = AudioTrackID, uint32(asc.SampleRate), uint16(asc.Channels)
		t.frameLen = int64(asc.FrameLength)
	case media.CodecOpus:
		t.id, t.rate, t.channels = AudioTrackID, 48000, uint16(f.Channels)
		t.opus.inputRate = 48000
		if f.IsConfig() && parseOpusHead(f.Payload, &t.opus, &t.channels) {
			// channels and header fields set from the OpusHead
		} else if f.IsConfig() {
			return nil, fmt.Errorf("fmp4: Opus sequence header is not an OpusHead: %w", ErrInvalid)
		}
		t.defDur = 960 // 20 ms
	case media.CodecMP3:
		if f.IsConfig() {
			return nil, fmt.Errorf("fmp4: MP3 has no sequence header: %w", ErrInvalid)
		}
		rate, ch, spf, ok := mp3Header(f.Payload)
		if f.SampleRate != 0 {
			rate = f.SampleRate
		}
		if f.Channels != 0 {
			ch = uint16(f.Channels)
		}
		if rate == 0 || !ok && f.SampleRate == 0 {
			return nil, fmt.Errorf("fmp4: MP3 frame without a valid header: %w", ErrInvalid)
		}
		t.id, t.rate, t.channels, t.defDur = AudioTrackID, rate, ch, int64(spf)
	default:
		return nil, fmt.Errorf("fmp4: %v: %w", f.Codec, ErrUnsupported)
	}
	if t.id == AudioTrackID {
		if t.rate == 0 {
			return nil, fmt.Errorf("fmp4: %v sample rate 0: %w", f.Codec, ErrInvalid)
		}
		if t.channels == 0 {
			t.channels = 2
		}
		t.timescale = t.rate
		if t.frameLen > 0 {
			t.defDur = t.frameLen
		}
		if t.defDur == 0 {
			t.defDur = int64(t.rate) / 50
		}
	}
	if f.IsConfig() {
		t.config = append([]byte(nil), f.Payload...)
	}
	return t, nil
}

func clamp16(v int) uint16 {
	return uint16(max(0, min(v, 0xffff)))
}

// parseOpusHead reads an Opus identification header (RFC 7845 §5.1), whose
// multi-byte fields are little-endian.
func parseOpusHead(b []byte, h *opusHead, channels *uint16) bool {
	if len(b) < 19 || string(b[:8]) != "OpusHead" {
		return false
	}
	ch := b[9]
	if ch == 0 {
		return false
	}
	h.preSkip = binary.LittleEndian.Uint16(b[10:])
	h.inputRate = binary.LittleEndian.Uint32(b[12:])
	h.gain = int16(binary.LittleEndian.Uint16(b[16:]))
	h.family = b[18]
	if h.family != 0 {
		if len(b) < 21+int(ch) {
			return false
		}
		h.streams, h.coupled = b[19], b[20]
		h.channelMap = append([]byte(nil), b[21:21+int(ch)]...)
	}
	*channels = uint16(ch)
	return true
}

// mp3Header reads an MPEG audio frame header (ISO/IEC 11172-3 §2.4.1.3,
// 13818-3 for the lower rates): the sample rate, the channels and the
// samples per frame.
func mp3Header(b []byte) (rate uint32, channels uint16, samples int, ok bool) {
	if len(b) < 4 || b[0] != 0xff || b[1]&0xe0 != 0xe0 {
		return 0, 0, 0, false
	}
	version := b[1] >> 3 & 3 // 3 MPEG-1, 2 MPEG-2, 0 MPEG-2.5
	layer := b[1] >> 1 & 3   // 3 Layer I, 2 Layer II, 1 Layer III
	idx := b[2] >> 2 & 3
	if version == 1 || layer == 0 || idx == 3 {
		return 0, 0, 0, false
	}
	rates := [3]uint32{44100, 48000, 32000}
	rate = rates[idx]
	switch version {
	case 2:
		rate /= 2
	case 0:
		rate /= 4
	}
	channels = 2
	if b[3]>>6 == 3 {
		channels = 1
	}
	switch {
	case layer == 3:
		samples = 384
	case layer == 1 && version != 3:
		samples = 576
	default:
		samples = 1152
	}
	return rate, channels, samples, true
}
