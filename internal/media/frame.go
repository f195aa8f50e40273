// Package media is the heart of srs-lite: the frame every protocol speaks, the
// pooled buffers that carry payloads, and the per-stream ring that a publisher
// writes once and every player reads through its own cursor.
//
// It imports the standard library only.
package media

import (
	"time"
)

// Codec names the coding of a frame's payload.
type Codec uint8

// Codecs known to srs-lite. The zero value is CodecUnknown.
const (
	CodecUnknown Codec = iota
	// Video.
	CodecH264
	CodecH265
	CodecAV1
	// Audio.
	CodecAAC
	CodecMP3
	CodecOpus
	CodecPCMA // G.711 A-law
	CodecPCMU // G.711 µ-law
	// CodecData is script data: an AMF0 onMetaData body (the name and the
	// object, as an FLV script tag carries it). Protocols that have no use for
	// it skip it.
	CodecData
)

var codecNames = [...]string{
	CodecUnknown: "unknown",
	CodecH264:    "H264",
	CodecH265:    "H265",
	CodecAV1:     "AV1",
	CodecAAC:     "AAC",
	CodecMP3:     "MP3",
	CodecOpus:    "Opus",
	CodecPCMA:    "PCMA",
	CodecPCMU:    "PCMU",
	CodecData:    "data",
}

// String returns the codec's short name, as the HTTP API shows it.
func (c Codec) String() string {
	if int(c) < len(codecNames) {
		return codecNames[c]
	}
	return "unknown"
}

// IsVideo reports whether c is a video codec.
func (c Codec) IsVideo() bool { return c >= CodecH264 && c <= CodecAV1 }

// IsAudio reports whether c is an audio codec.
func (c Codec) IsAudio() bool { return c >= CodecAAC && c <= CodecPCMU }

// Tracks of a stream. Video, script data and the main audio are on
// TrackMain, which every reader gets. A stream may carry one more audio
// track beside it: readers that ask for it (Registry.SubscribeWith) get that
// track's audio instead of the main track's, and the same video.
const (
	// TrackMain is the track of every reader: the frames RTMP, HTTP-FLV,
	// TS and SRT players get.
	TrackMain uint8 = 0
	// TrackOpus is a WebRTC (WHIP) publisher's Opus as it came, beside the
	// main track's AAC made from it by the audio bridge (or no main audio
	// without ffmpeg). WHEP viewers and fMP4 HLS read it.
	TrackOpus uint8 = 1
)

// Flags mark special frames.
type Flags uint8

// Frame flags.
const (
	// FlagKey marks a video keyframe (an IDR or other random access point).
	FlagKey Flags = 1 << iota
	// FlagConfig marks a sequence header: AVCDecoderConfigurationRecord for
	// H.264, HEVCDecoderConfigurationRecord for H.265, AV1CodecConfigurationRecord
	// for AV1, AudioSpecificConfig for AAC. A Stream caches the latest one per
	// kind so that new readers receive it first.
	FlagConfig
	// FlagDiscontinuity marks the first frame after a gap in the timeline
	// (a republish, or a reader that skipped ahead).
	FlagDiscontinuity
)

// Frame is one access unit. Payload is valid until Release; readers must not
// modify it.
//
// Payload forms: AVCC/HVCC (4-byte length-prefixed NAL units) for H.264 and
// H.265, OBUs (low overhead bitstream format) for AV1, raw frames (no ADTS)
// for AAC, whole frames for MP3, Opus and G.711, the decoder configuration
// record for FlagConfig frames, and an AMF0 body for CodecData.
type Frame struct {
	DTS, PTS time.Duration // one clock for all codecs; convert at protocol edges
	Codec    Codec
	Flags    Flags
	// Track is TrackMain (0) for the frames every reader gets, or the
	// number of a second audio track that only readers asking for it see
	// (TrackOpus: a WebRTC publisher's Opus as it came).
	Track uint8
	// Audio parameters as the publisher's container states them (FLV sound
	// format bits, RTP clock rate): 0 when unknown. Codec config frames carry
	// the authoritative values.
	SampleRate uint32
	Channels   uint8
	Payload    []byte
	buf        *Buf // pooled, refcounted owner of Payload; nil when unowned
}

// IsKey reports whether f is a keyframe.
func (f *Frame) IsKey() bool { return f.Flags&FlagKey != 0 }

// IsConfig reports whether f is a sequence header.
func (f *Frame) IsConfig() bool { return f.Flags&FlagConfig != 0 }

// CTS returns the composition time offset, PTS-DTS.
func (f *Frame) CTS() time.Duration { return f.PTS - f.DTS }

// SetBuf makes b the owner of the frame's payload, taking over the caller's
// reference, and sets Payload to b's bytes [off:off+n].
func (f *Frame) SetBuf(b *Buf, off, n int) {
	f.buf = b
	f.Payload = b.b[off : off+n]
}

// Buf returns the pooled buffer that owns Payload, or nil.
func (f *Frame) Buf() *Buf { return f.buf }

// Retain takes one more reference on the frame's buffer. Every Retain is
// matched by one Release.
func (f *Frame) Retain() {
	if f.buf != nil {
		f.buf.Retain()
	}
}

// Release drops one reference on the frame's buffer and clears the frame.
// The payload must not be used afterwards.
func (f *Frame) Release() {
	if f.buf != nil {
		f.buf.Release()
	}
	*f = Frame{}
}

// Clone returns a copy of f that owns its own reference on the payload.
func (f *Frame) Clone() Frame {
	c := *f
	c.Retain()
	return c
}

// Own gives f a pooled buffer holding a copy of its current Payload when the
// payload is not pooled yet. Publishers that parse into scratch memory call it
// before Stream.Write.
func (f *Frame) Own() {
	if f.buf != nil {
		return
	}
	b := GetBuf(len(f.Payload))
	copy(b.b, f.Payload)
	f.SetBuf(b, 0, len(f.Payload))
}
