package flv

import (
	"fmt"

	"github.com/srs-lite/srs-lite/internal/media"
)

// AudioTag is the parsed header of an FLV audio tag body.
type AudioTag struct {
	Codec media.Codec
	// Config marks a sequence header (AACPacketType 0, AudioPacketType
	// SequenceStart): an AudioSpecificConfig for AAC, an OpusHead for Opus.
	Config bool
	// SampleRate and Channels are what the header states (the legacy
	// SoundRate and SoundType bits, fixed values for G.711 and Opus); 0 when
	// it states nothing. For AAC the legacy bits are always 44 kHz stereo:
	// the AudioSpecificConfig is authoritative.
	SampleRate uint32
	Channels   uint8
	// HeaderLen is the offset of the payload in the body.
	HeaderLen int
}

// FLV spec E.4.2.1 AUDIODATA SoundFormat.
const (
	soundMP3     = 2
	soundPCMA    = 7
	soundPCMU    = 8
	soundExt     = 9 // Enhanced RTMP v2 ExHeader (reserved in FLV 10.1)
	soundAAC     = 10
	soundMP38kHz = 14
)

// Enhanced RTMP v2 AudioPacketType.
const (
	audioSequenceStart      = 0
	audioCodedFrames        = 1
	audioSequenceEnd        = 2
	audioMultichannelConfig = 4
	audioMultitrack         = 5
	audioModEx              = 7
)

// soundRates maps the SoundRate bits (E.4.2.1) to Hz.
var soundRates = [4]uint32{5512, 11025, 22050, 44100}

// ParseAudio parses the header of an FLV audio tag body, legacy (FLV spec
// E.4.2.1 AUDIODATA: AAC, MP3, G.711 A-law and µ-law) or Enhanced RTMP
// (SoundFormat 9, FourCC 'Opus', 'mp4a', '.mp3'). The payload is
// body[HeaderLen:]; nothing is copied.
//
// It returns ErrSkip for tags that carry no frame (SequenceEnd,
// MultichannelConfig), ErrUnsupported for other codecs and packet types, and
// ErrTruncated or ErrInvalid for malformed bodies.
func ParseAudio(body []byte) (AudioTag, error) {
	var a AudioTag
	if len(body) < 1 {
		return a, ErrTruncated
	}
	// SoundFormat UB[4], SoundRate UB[2], SoundSize UB[1], SoundType UB[1].
	b0 := body[0]
	format := b0 >> 4
	if format == soundExt {
		return parseExAudio(body)
	}
	a.SampleRate = soundRates[(b0>>2)&3]
	a.Channels = 1 + b0&1
	a.HeaderLen = 1
	switch format {
	case soundAAC:
		a.Codec = media.CodecAAC
		// AACPacketType UI8 (E.4.2.1 IF SoundFormat == 10).
		if len(body) < 2 {
			return a, ErrTruncated
		}
		switch body[1] {
		case 0:
			a.Config = true
		case 1:
		default:
			return a, fmt.Errorf("flv: aac packet type %d: %w", body[1], ErrInvalid)
		}
		a.HeaderLen = 2
	case soundMP3:
		a.Codec = media.CodecMP3
	case soundMP38kHz:
		a.Codec = media.CodecMP3
		a.SampleRate = 8000
	case soundPCMA, soundPCMU:
		a.Codec = media.CodecPCMA
		if format == soundPCMU {
			a.Codec = media.CodecPCMU
		}
		a.SampleRate = 8000 // the SoundRate bits do not apply to G.711
	default:
		return a, fmt.Errorf("flv: sound format %d: %w", format, ErrUnsupported)
	}
	return a, nil
}

// parseExAudio parses an Enhanced RTMP audio header (enhanced-rtmp v2
// "ExAudioTagHeader"): SoundFormat UB[4] == 9, AudioPacketType UB[4],
// AudioFourCC UI32.
func parseExAudio(body []byte) (AudioTag, error) {
	var a AudioTag
	pkt := body[0] & 0x0f
	switch pkt {
	case audioSequenceStart:
		a.Config = true
	case audioCodedFrames:
	case audioSequenceEnd, audioMultichannelConfig:
		return a, ErrSkip
	case audioMultitrack, audioModEx:
		return a, fmt.Errorf("flv: audio packet type %d: %w", pkt, ErrUnsupported)
	default:
		return a, fmt.Errorf("flv: audio packet type %d: %w", pkt, ErrInvalid)
	}
	if len(body) < 5 {
		return a, ErrTruncated
	}
	a.HeaderLen = 5
	switch fourCC(body[1:5]) {
	case fourCCOpus:
		a.Codec = media.CodecOpus
		a.SampleRate = 48000 // Opus always decodes at 48 kHz (RFC 7845 §5.1)
		// OpusHead: "OpusHead", version, channel count ... (RFC 7845 §5.1).
		if p := body[5:]; a.Config && len(p) >= 10 && string(p[:8]) == "OpusHead" {
			a.Channels = p[9]
		}
	case fourCCAAC:
		a.Codec = media.CodecAAC
	case fourCCMP3:
		a.Codec = media.CodecMP3
	default:
		return a, fmt.Errorf("flv: audio fourcc %q: %w", string(body[1:5]), ErrUnsupported)
	}
	return a, nil
}
