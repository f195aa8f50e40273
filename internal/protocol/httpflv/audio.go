package httpflv

import (
	"errors"
	"fmt"

	"github.com/srs-lite/srs-lite/internal/format/codec/aac"
	"github.com/srs-lite/srs-lite/internal/media"
)

// maxADTSPayload is the largest raw AAC frame an ADTS header can frame (its
// 13-bit aac_frame_length counts the header too).
const maxADTSPayload = 1<<13 - 1 - aac.ADTSHeaderLen

// errAudioCodec ends an audio play whose stream carries another codec.
var errAudioCodec = errors.New("audio codec")

// checkAudio refuses an .aac or .mp3 play of a stream whose audio is
// another codec, as far as the stream's info and the first batch tell: SRS
// passes the publisher's audio through and transcodes nothing.
func checkAudio(k kind, st *media.Stream, frames []media.Frame) error {
	want := media.CodecAAC
	switch k {
	case kindAAC:
	case kindMP3:
		want = media.CodecMP3
	default:
		return nil
	}
	got := media.CodecUnknown
	for i := range frames {
		if frames[i].Codec.IsAudio() {
			got = frames[i].Codec
			break
		}
	}
	if got == media.CodecUnknown {
		if s := st.Stats(); s.HasAudio {
			got = s.Audio.Codec
		}
	}
	if got != media.CodecUnknown && got != want {
		return fmt.Errorf("%s: the stream's audio is %v, this URL carries %v only (no transcoding)", kinds[k].ext, got, want)
	}
	return nil
}

// adtsRemux writes a stream's AAC frames with ADTS headers (ISO 14496-3
// §1.A.2), SRS's .aac remux; everything else is left out.
type adtsRemux struct {
	asc    aac.ASC
	hasASC bool
}

func (a *adtsRemux) batch([]media.Frame) {}

func (a *adtsRemux) append(dst []byte, f *media.Frame) ([]byte, error) {
	switch {
	case f.Codec == media.CodecAAC && f.IsConfig():
		if asc, err := aac.ParseASC(f.Payload); err == nil {
			a.asc, a.hasASC = asc, true
		}
	case f.Codec == media.CodecAAC:
		if !a.hasASC {
			if f.SampleRate == 0 || f.Channels == 0 {
				return dst, nil // no config yet: nothing to frame it with
			}
			rate, ch := int(f.SampleRate), int(f.Channels)
			a.asc = aac.ASC{ObjectType: aac.ObjectLC, CoreObjectType: aac.ObjectLC,
				SampleRateIndex: aac.SampleRateIndex(rate), SampleRate: rate, ChannelConfig: ch, Channels: ch}
			a.hasASC = true
		}
		if len(f.Payload) > maxADTSPayload {
			return dst, nil
		}
		dst = aac.AppendADTS(dst, a.asc, len(f.Payload))
		dst = append(dst, f.Payload...)
	case f.Codec.IsAudio():
		return dst, fmt.Errorf("%w: the stream's audio changed to %v", errAudioCodec, f.Codec)
	}
	return dst, nil
}

// mp3Remux writes a stream's MP3 frames as they are, SRS's .mp3 remux.
type mp3Remux struct{}

func (mp3Remux) batch([]media.Frame) {}

func (mp3Remux) append(dst []byte, f *media.Frame) ([]byte, error) {
	switch {
	case f.Codec == media.CodecMP3:
		if !f.IsConfig() {
			dst = append(dst, f.Payload...)
		}
	case f.Codec.IsAudio():
		return dst, fmt.Errorf("%w: the stream's audio changed to %v", errAudioCodec, f.Codec)
	}
	return dst, nil
}
