package flv

import (
	"time"

	"github.com/srs-lite/srs-lite/internal/media"
)

// FrameFromTag fills f from an FLV tag (or RTMP message) of type typ with
// timestamp ts in milliseconds and the given body: DTS, PTS (DTS plus the
// video composition time), Codec, Flags, SampleRate, Channels and Payload,
// which is body[HeaderLen:] (no copy). A script tag (TagScript) becomes a
// CodecData frame whose Payload is the whole body.
//
// Flags are FlagConfig for sequence headers and FlagKey for coded keyframes
// only (a sequence header is not flagged as a keyframe). f's buffer and Track
// are left as they are: the caller attaches the buffer that holds body, e.g.
// with f.SetBuf(b, off+len(body)-len(f.Payload), len(f.Payload)) when body is
// b.Bytes()[off:off+len(body)]. ts is not unwrapped past 2^32 ms. On error f
// is unchanged.
//
// It returns ErrSkip for tags without a frame (including unknown tag types
// and video end of sequence) and the errors of ParseVideo and ParseAudio.
func FrameFromTag(typ uint8, ts uint32, body []byte, f *media.Frame) error {
	dts := time.Duration(ts) * time.Millisecond
	switch typ {
	case TagVideo:
		v, err := ParseVideo(body)
		if err != nil {
			return err
		}
		if v.EndOfSequence {
			return ErrSkip
		}
		var flags media.Flags
		if v.Config {
			flags = media.FlagConfig
		} else if v.Key {
			flags = media.FlagKey
		}
		f.DTS, f.PTS = dts, dts+time.Duration(v.CTS)*time.Millisecond
		f.Codec, f.Flags = v.Codec, flags
		f.SampleRate, f.Channels = 0, 0
		f.Payload = body[v.HeaderLen:]
	case TagAudio:
		a, err := ParseAudio(body)
		if err != nil {
			return err
		}
		var flags media.Flags
		if a.Config {
			flags = media.FlagConfig
		}
		f.DTS, f.PTS = dts, dts
		f.Codec, f.Flags = a.Codec, flags
		f.SampleRate, f.Channels = a.SampleRate, a.Channels
		f.Payload = body[a.HeaderLen:]
	case TagScript:
		f.DTS, f.PTS = dts, dts
		f.Codec, f.Flags = media.CodecData, 0
		f.SampleRate, f.Channels = 0, 0
		f.Payload = body
	default:
		return ErrSkip
	}
	return nil
}

// BodyHeaderLen returns the length of the tag body header AppendBodyHeader
// writes for f: 0 for CodecData and codecs FLV cannot carry.
func BodyHeaderLen(f *media.Frame) int {
	switch f.Codec {
	case media.CodecH264, media.CodecAV1, media.CodecOpus:
		return 5
	case media.CodecH265:
		if f.IsConfig() {
			return 5
		}
		return 8
	case media.CodecAAC:
		return 2
	case media.CodecMP3, media.CodecPCMA, media.CodecPCMU:
		return 1
	}
	return 0
}

// AppendBodyHeader appends the video or audio tag body header for f:
//   - H.264: legacy FrameType/CodecID 7, AVCPacketType, CompositionTime
//     (FLV spec E.4.3.1), 5 bytes;
//   - H.265: Enhanced RTMP 'hvc1' SequenceStart (5 bytes) or CodedFrames with
//     CompositionTime (8 bytes), as players without Enhanced RTMP support
//     still understand the legacy CodecID 12 poorly at best;
//   - AV1: Enhanced RTMP 'av01' SequenceStart or CodedFrames, 5 bytes;
//   - AAC: 0xAF and AACPacketType (E.4.2.1), 2 bytes;
//   - MP3, G.711: one byte of SoundFormat, SoundRate, SoundSize, SoundType;
//   - Opus: Enhanced RTMP audio 'Opus' SequenceStart or CodedFrames, 5 bytes.
//
// It appends nothing for CodecData and codecs FLV cannot carry.
func AppendBodyHeader(dst []byte, f *media.Frame) []byte {
	frameType := byte(frameInter)
	if f.IsKey() || f.IsConfig() {
		frameType = frameKey
	}
	switch f.Codec {
	case media.CodecH264:
		pkt := byte(avcNALU)
		c := cts(f)
		if f.IsConfig() {
			pkt, c = avcSeqHeader, 0
		}
		dst = append(dst, frameType<<4|codecIDAVC, pkt)
		return appendSI24(dst, c)
	case media.CodecH265:
		if f.IsConfig() {
			return appendExVideo(dst, frameType, pktSequenceStart, fourCCHEVC)
		}
		dst = appendExVideo(dst, frameType, pktCodedFrames, fourCCHEVC)
		return appendSI24(dst, cts(f))
	case media.CodecAV1:
		pkt := byte(pktCodedFrames)
		if f.IsConfig() {
			pkt = pktSequenceStart
		}
		return appendExVideo(dst, frameType, pkt, fourCCAV1)
	case media.CodecAAC:
		// SoundRate and SoundType are always 3 and 1 for AAC (E.4.2.1).
		pkt := byte(1)
		if f.IsConfig() {
			pkt = 0
		}
		return append(dst, soundAAC<<4|3<<2|1<<1|1, pkt)
	case media.CodecMP3:
		if f.SampleRate == 8000 {
			return append(dst, soundMP38kHz<<4|1<<1|soundType(f, 1))
		}
		return append(dst, soundMP3<<4|soundRate(f.SampleRate)<<2|1<<1|soundType(f, 1))
	case media.CodecPCMA:
		return append(dst, soundPCMA<<4|1<<1|soundType(f, 0))
	case media.CodecPCMU:
		return append(dst, soundPCMU<<4|1<<1|soundType(f, 0))
	case media.CodecOpus:
		pkt := byte(audioCodedFrames)
		if f.IsConfig() {
			pkt = audioSequenceStart
		}
		return appendFourCC(append(dst, soundExt<<4|pkt), fourCCOpus)
	}
	return dst
}

func appendExVideo(dst []byte, frameType, pkt byte, fc uint32) []byte {
	return appendFourCC(append(dst, exHeaderFlag|frameType<<4|pkt), fc)
}

func appendFourCC(dst []byte, fc uint32) []byte {
	return append(dst, byte(fc>>24), byte(fc>>16), byte(fc>>8), byte(fc))
}

// soundRate returns the SoundRate bits nearest below rate (44 kHz stands for
// 44.1 and 48 kHz too).
func soundRate(rate uint32) byte {
	switch {
	case rate >= 44100:
		return 3
	case rate >= 22050:
		return 2
	case rate >= 11025:
		return 1
	}
	if rate == 0 {
		return 3
	}
	return 0
}

// soundType returns the SoundType bit: 0 mono, 1 stereo; def when f does not
// state its channels.
func soundType(f *media.Frame, def byte) byte {
	switch f.Channels {
	case 0:
		return def
	case 1:
		return 0
	}
	return 1
}

// EncodeTag returns the whole FLV tag for f: the 11-byte tag header, the body
// header, the payload and the 4-byte PreviousTagSize. It returns nil when FLV
// cannot carry f (an unknown codec, or a body over MaxDataSize).
//
// Encode once: when f has a pooled buffer, the tag is built the first time
// into a media.GetBuf buffer and cached on f's buffer as its media.WireFLV
// encoding, keyed by the tag timestamp, so every player writing the same
// frame shares one copy. The returned bytes are then valid while the caller
// holds a reference on f and must not be modified. If a tag with another
// timestamp (a player that rewrote DTS) or another length (frames sharing one
// buffer) is cached already, or f has no buffer, the tag is built into a
// fresh allocation that the caller owns.
//
// In steady state (already cached) it does not allocate; building allocates
// only from the buffer pool.
func EncodeTag(f *media.Frame) []byte {
	typ := TagType(f)
	if typ == 0 {
		return nil
	}
	dataSize := BodyHeaderLen(f) + len(f.Payload)
	if dataSize > MaxDataSize {
		return nil
	}
	n := TagHeaderSize + dataSize + 4
	ts := Timestamp(f)
	owner := f.Buf()
	if owner == nil {
		return appendTag(make([]byte, 0, n), typ, dataSize, ts, f)
	}
	if w := owner.Wire(media.WireFLV, ts); w != nil {
		if len(w) == n {
			return w
		}
		return appendTag(make([]byte, 0, n), typ, dataSize, ts, f)
	}
	b := media.GetBuf(n)
	appendTag(b.Bytes()[:0], typ, dataSize, ts, f)
	w, ok := owner.SetWire(media.WireFLV, ts, b, n)
	if !ok {
		// Another timestamp won the cache; b stays ours. Its bytes cannot
		// outlive this call, so hand back a copy.
		out := make([]byte, n)
		copy(out, b.Bytes()[:n])
		b.Release()
		return out
	}
	if len(w) != n {
		// A concurrent builder cached the same timestamp with another length.
		return appendTag(make([]byte, 0, n), typ, dataSize, ts, f)
	}
	return w
}

func appendTag(dst []byte, typ uint8, dataSize int, ts uint32, f *media.Frame) []byte {
	dst = AppendTagHeader(dst, typ, dataSize, ts)
	dst = AppendBodyHeader(dst, f)
	dst = append(dst, f.Payload...)
	size := uint32(TagHeaderSize + dataSize)
	return append(dst, byte(size>>24), byte(size>>16), byte(size>>8), byte(size))
}
