// Package codec describes a stream from its sequence headers: the codec,
// profile, level and picture size of its video, and the codec, profile,
// sample rate and channels of its audio, as the HTTP API shows them. Every
// publishing protocol (RTMP, RTSP, SRT, ...) calls it on its config frames;
// the bitstream parsing lives in the subpackages.
package codec

import (
	"strconv"

	"github.com/srs-lite/srs-lite/internal/format/codec/aac"
	"github.com/srs-lite/srs-lite/internal/format/codec/av1"
	"github.com/srs-lite/srs-lite/internal/format/codec/h264"
	"github.com/srs-lite/srs-lite/internal/format/codec/h265"
	"github.com/srs-lite/srs-lite/internal/media"
)

// VideoInfo describes a video sequence header (an AVC, HEVC or AV1 decoder
// configuration record). ok is false for other frames and for records that
// do not parse.
func VideoInfo(f *media.Frame) (v media.VideoInfo, ok bool) {
	if f.Flags&media.FlagConfig == 0 {
		return v, false
	}
	switch f.Codec {
	case media.CodecH264:
		cfg, err := h264.ParseConfig(f.Payload)
		if err != nil {
			return v, false
		}
		v = media.VideoInfo{Codec: f.Codec, Profile: h264.ProfileName(cfg.ProfileIDC),
			Level: level10(int(cfg.LevelIDC))}
		if len(cfg.SPS) > 0 {
			if sps, err := h264.ParseSPS(cfg.SPS[0]); err == nil {
				v.Width, v.Height = sps.Width, sps.Height
			}
		}
		return v, true
	case media.CodecH265:
		cfg, err := h265.ParseConfig(f.Payload)
		if err != nil {
			return v, false
		}
		l := int(cfg.LevelIDC) // thirty times the level (H.265 A.4)
		v = media.VideoInfo{Codec: f.Codec, Profile: h265.ProfileName(cfg.ProfileIDC),
			Level: strconv.Itoa(l/30) + "." + strconv.Itoa(l%30/3)}
		if len(cfg.SPS) > 0 {
			if sps, err := h265.ParseSPS(cfg.SPS[0]); err == nil {
				v.Width, v.Height = sps.Width, sps.Height
			}
		}
		return v, true
	case media.CodecAV1:
		cfg, err := av1.ParseConfig(f.Payload)
		if err != nil {
			return v, false
		}
		idx := int(cfg.SeqLevelIdx0) // AV1 A.3: level 2+(idx>>2).(idx&3)
		v = media.VideoInfo{Codec: f.Codec, Profile: av1.ProfileName(cfg.SeqProfile),
			Level: strconv.Itoa(2+idx>>2) + "." + strconv.Itoa(idx&3)}
		if sh, err := cfg.SequenceHeader(); err == nil {
			v.Width, v.Height = sh.MaxFrameWidth, sh.MaxFrameHeight
		}
		return v, true
	}
	return v, false
}

// AudioInfo describes an audio sequence header (an AAC AudioSpecificConfig
// or an OpusHead). ok is false for other frames.
func AudioInfo(f *media.Frame) (a media.AudioInfo, ok bool) {
	if f.Flags&media.FlagConfig == 0 {
		return a, false
	}
	switch f.Codec {
	case media.CodecAAC:
		asc, err := aac.ParseASC(f.Payload)
		if err != nil {
			return a, false
		}
		return media.AudioInfo{Codec: f.Codec, Profile: aac.ObjectTypeName(asc.ObjectType),
			SampleRate: asc.SampleRate, Channels: asc.Channels}, true
	case media.CodecOpus:
		a = media.AudioInfo{Codec: f.Codec, SampleRate: 48000, Channels: int(f.Channels)}
		if len(f.Payload) >= 10 { // OpusHead: channel count at byte 9 (RFC 7845 §5.1)
			a.Channels = int(f.Payload[9])
		}
		return a, true
	}
	return a, false
}

// level10 formats a level coded as ten times its number ("3.1").
func level10(l int) string { return strconv.Itoa(l/10) + "." + strconv.Itoa(l%10) }

// Described keeps a publisher's stream info (codecs, resolution, sample
// rate: what the API shows) up to date from the frames it writes: the
// sequence headers say it for H.264, H.265, AV1 and AAC, the first frame for
// the audio codecs that have none (G.711, Opus, MP3). The zero value is
// ready; one per publish session.
type Described struct{ audio bool }

// Note records what f says about st; call it before st.Write(f).
func (d *Described) Note(st *media.Stream, f *media.Frame) {
	if f.IsConfig() {
		if v, ok := VideoInfo(f); ok {
			st.SetVideoInfo(v)
		} else if a, ok := AudioInfo(f); ok {
			st.SetAudioInfo(a)
			d.audio = true
		}
	} else if f.Codec.IsAudio() && !d.audio && f.Codec != media.CodecAAC {
		d.audio = true
		st.SetAudioInfo(media.AudioInfo{Codec: f.Codec, SampleRate: int(f.SampleRate), Channels: int(f.Channels)})
	}
}
