package flv

import (
	"fmt"

	"github.com/srs-lite/srs-lite/internal/media"
)

// VideoTag is the parsed header of an FLV video tag body.
type VideoTag struct {
	Codec media.Codec
	// Key is set for keyframes (FrameType 1, or 4 "generated keyframe").
	// Sequence headers are normally sent with FrameType 1 and have it set.
	Key bool
	// Config marks a sequence header (AVCPacketType 0, PacketTypeSequenceStart).
	Config bool
	// EndOfSequence marks an end of sequence (AVCPacketType 2,
	// PacketTypeSequenceEnd); such a tag has no useful payload.
	EndOfSequence bool
	// CTS is the composition time offset in milliseconds (signed 24-bit).
	CTS int32
	// HeaderLen is the offset of the payload in the body.
	HeaderLen int
}

// FLV spec E.4.3.1 VIDEODATA.
const (
	frameKey     = 1
	frameInter   = 2
	frameGenKey  = 4 // generated keyframe, reserved for server use
	frameCommand = 5 // video info/command frame
	codecIDAVC   = 7
	codecIDHEVC  = 12 // SRS/Chinese extension of the legacy CodecID
	avcSeqHeader = 0
	avcNALU      = 1
	avcEndOfSeq  = 2
	exHeaderFlag = 0x80
)

// Enhanced RTMP v1 "PacketType" (v2 "VideoPacketType").
const (
	pktSequenceStart        = 0
	pktCodedFrames          = 1
	pktSequenceEnd          = 2
	pktCodedFramesX         = 3
	pktMetadata             = 4
	pktMPEG2TSSequenceStart = 5
	pktMultitrack           = 6 // v2
	pktModEx                = 7 // v2
)

// ParseVideo parses the header of an FLV video tag body, legacy (FLV spec
// E.4.3.1 VIDEODATA, CodecID 7 AVC and 12 HEVC) or Enhanced RTMP
// (IsExHeader, FourCC 'avc1', 'hvc1', 'av01'). The payload is
// body[HeaderLen:]; nothing is copied.
//
// It returns ErrSkip for tags that carry no frame (video info/command frames,
// Enhanced RTMP Metadata and MPEG2TSSequenceStart), ErrUnsupported for other
// codecs and packet types, and ErrTruncated or ErrInvalid for malformed
// bodies.
func ParseVideo(body []byte) (VideoTag, error) {
	var v VideoTag
	if len(body) < 1 {
		return v, ErrTruncated
	}
	b0 := body[0]
	if b0&exHeaderFlag != 0 {
		return parseExVideo(body)
	}

	// Legacy: FrameType UB[4], CodecID UB[4] (E.4.3.1).
	frameType, codecID := b0>>4, b0&0x0f
	if frameType == frameCommand {
		return v, ErrSkip
	}
	switch codecID {
	case codecIDAVC:
		v.Codec = media.CodecH264
	case codecIDHEVC:
		v.Codec = media.CodecH265
	default:
		return v, fmt.Errorf("flv: video codec id %d: %w", codecID, ErrUnsupported)
	}
	// AVCPacketType UI8, CompositionTime SI24 (E.4.3.1 IF CodecID == 7).
	if len(body) < 5 {
		return v, ErrTruncated
	}
	v.Key = frameType == frameKey || frameType == frameGenKey
	v.HeaderLen = 5
	switch body[1] {
	case avcSeqHeader:
		v.Config = true
	case avcNALU:
		v.CTS = si24(body[2:5]) // zero unless AVCPacketType == 1
	case avcEndOfSeq:
		v.EndOfSequence = true
	default:
		return v, fmt.Errorf("flv: avc packet type %d: %w", body[1], ErrInvalid)
	}
	return v, nil
}

// parseExVideo parses an Enhanced RTMP video header (enhanced-rtmp v1
// "ExVideoTagHeader"): IsExHeader UB[1], FrameType UB[3], PacketType UB[4],
// FourCC UI32, then SI24 CompositionTime for CodedFrames of avc1/hvc1.
func parseExVideo(body []byte) (VideoTag, error) {
	var v VideoTag
	b0 := body[0]
	frameType, pkt := (b0>>4)&0x07, b0&0x0f
	switch {
	case pkt == pktMetadata, pkt == pktMPEG2TSSequenceStart:
		return v, ErrSkip
	case frameType == frameCommand:
		// v2: a command frame carries a VideoCommand byte and no payload.
		return v, ErrSkip
	case pkt == pktMultitrack, pkt == pktModEx:
		return v, fmt.Errorf("flv: video packet type %d: %w", pkt, ErrUnsupported)
	case pkt > pktModEx:
		return v, fmt.Errorf("flv: video packet type %d: %w", pkt, ErrInvalid)
	}
	if len(body) < 5 {
		return v, ErrTruncated
	}
	fc := fourCC(body[1:5])
	switch fc {
	case fourCCAVC:
		v.Codec = media.CodecH264
	case fourCCHEVC:
		v.Codec = media.CodecH265
	case fourCCAV1:
		v.Codec = media.CodecAV1
	default:
		return v, fmt.Errorf("flv: video fourcc %q: %w", string(body[1:5]), ErrUnsupported)
	}
	v.Key = frameType == frameKey || frameType == frameGenKey
	v.HeaderLen = 5
	switch pkt {
	case pktSequenceStart:
		v.Config = true
	case pktCodedFrames:
		// Only AVC and HEVC carry a CompositionTime; for AV1 CodedFrames
		// are the OBUs themselves.
		if fc == fourCCAVC || fc == fourCCHEVC {
			if len(body) < 8 {
				return v, ErrTruncated
			}
			v.CTS = si24(body[5:8])
			v.HeaderLen = 8
		}
	case pktSequenceEnd:
		v.EndOfSequence = true
	case pktCodedFramesX:
		// CodedFrames with an implied CompositionTime of zero.
	}
	return v, nil
}
