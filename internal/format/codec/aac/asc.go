// Package aac holds AAC bitstream helpers: the AudioSpecificConfig that RTMP,
// FLV and MP4 carry as the sequence header (ISO 14496-3 §1.6.2.1), and the
// ADTS framing that MPEG-TS and raw .aac streams use (ISO 14496-3 §1.A.2).
package aac

import (
	"errors"
	"fmt"

	"github.com/srs-lite/srs-lite/internal/format/codec/bits"
)

// Errors returned by the parsers, wrapped with context.
var (
	// ErrTruncated reports input that ends inside a field.
	ErrTruncated = errors.New("aac: truncated")
	// ErrInvalid reports a value the specification does not allow.
	ErrInvalid = errors.New("aac: invalid")
)

// Audio object types (ISO 14496-3 Table 1.17) that streaming meets.
const (
	ObjectMain   = 1
	ObjectLC     = 2
	ObjectSSR    = 3
	ObjectLTP    = 4
	ObjectSBR    = 5 // HE-AAC
	ObjectERLC   = 17
	ObjectLD     = 23
	ObjectPS     = 29 // HE-AAC v2
	ObjectELD    = 39
	ObjectUSAC   = 42 // xHE-AAC
	objectEscape = 31
)

// sampleRates is the samplingFrequencyIndex table (ISO 14496-3 Table 1.18).
var sampleRates = [13]int{96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350}

// explicitRate is the samplingFrequencyIndex that announces a 24-bit rate.
const explicitRate = 0xf

// ASC is an AudioSpecificConfig (ISO 14496-3 §1.6.2.1).
type ASC struct {
	// ObjectType is the first audioObjectType: 2 for AAC LC, 5 for HE-AAC
	// and 29 for HE-AAC v2 with explicit hierarchical signalling.
	ObjectType int
	// SampleRateIndex is samplingFrequencyIndex, 0xF if the rate is coded
	// explicitly.
	SampleRateIndex int
	// SampleRate is the (core) sampling frequency in Hz.
	SampleRate int
	// ChannelConfig is channelConfiguration; 0 means a program config
	// element defines the channels.
	ChannelConfig int
	// Channels is the channel count that ChannelConfig implies (0 for 0).
	Channels int
	// ExtSampleRate is the SBR output rate for ObjectType 5 and 29, else 0.
	ExtSampleRate int
	// CoreObjectType is the object type under SBR/PS (ObjectType 5 or 29),
	// else equal to ObjectType.
	CoreObjectType int
	// FrameLength is samples per frame: 1024 or 960 (frameLengthFlag), 512
	// or 480 for LD and ELD.
	FrameLength int
}

// channelCounts maps channelConfiguration to channels (Table 1.19).
var channelCounts = [8]int{0, 1, 2, 3, 4, 5, 6, 8}

// ParseASC parses an AudioSpecificConfig (ISO 14496-3 §1.6.2.1). Bytes after
// the GASpecificConfig frame length flag (extensions, program config
// elements, backward compatible SBR signalling) are ignored.
func ParseASC(asc []byte) (ASC, error) {
	var a ASC
	r := bits.NewReader(asc)
	a.ObjectType = readObjectType(r)
	a.SampleRateIndex, a.SampleRate = readSampleRate(r)
	a.ChannelConfig = int(r.U(4))
	a.CoreObjectType = a.ObjectType
	if a.ObjectType == ObjectSBR || a.ObjectType == ObjectPS {
		// §1.6.2.1: explicit hierarchical SBR signalling.
		_, a.ExtSampleRate = readSampleRate(r)
		a.CoreObjectType = readObjectType(r)
	}
	a.FrameLength = 1024
	switch a.CoreObjectType {
	case ObjectMain, ObjectLC, ObjectSSR, ObjectLTP, 6, 7, ObjectERLC, 19, 20, 21, 22:
		if r.Flag() { // GASpecificConfig frameLengthFlag (§4.4.1)
			a.FrameLength = 960
		}
	case ObjectLD, ObjectELD:
		a.FrameLength = 512
		if r.Flag() { // frameLengthFlag of GASpecificConfig / ELDSpecificConfig
			a.FrameLength = 480
		}
	}
	if r.Err() != nil {
		return a, fmt.Errorf("aac: asc: %w", ErrTruncated)
	}
	if a.ObjectType == 0 || a.CoreObjectType == 0 {
		return a, fmt.Errorf("aac: asc: object type 0: %w", ErrInvalid)
	}
	if a.SampleRate == 0 || ((a.ObjectType == ObjectSBR || a.ObjectType == ObjectPS) && a.ExtSampleRate == 0) {
		return a, fmt.Errorf("aac: asc: sampling frequency index %d: %w", a.SampleRateIndex, ErrInvalid)
	}
	if a.ChannelConfig > 7 {
		return a, fmt.Errorf("aac: asc: channel configuration %d: %w", a.ChannelConfig, ErrInvalid)
	}
	a.Channels = channelCounts[a.ChannelConfig]
	return a, nil
}

// readObjectType reads GetAudioObjectType() (§1.6.2.1.1).
func readObjectType(r *bits.Reader) int {
	t := int(r.U(5))
	if t == objectEscape {
		t = 32 + int(r.U(6))
	}
	return t
}

// readSampleRate reads samplingFrequencyIndex and, for 0xF, the explicit
// 24-bit samplingFrequency. The rate is 0 for a reserved index.
func readSampleRate(r *bits.Reader) (idx, rate int) {
	idx = int(r.U(4))
	if idx == explicitRate {
		return idx, int(r.U(24))
	}
	if idx < len(sampleRates) {
		return idx, sampleRates[idx]
	}
	return idx, 0
}

// SampleRateIndex returns the samplingFrequencyIndex of rate, or 0xF if the
// table has no such rate.
func SampleRateIndex(rate int) int {
	for i, r := range sampleRates {
		if r == rate {
			return i
		}
	}
	return explicitRate
}

// BuildASC returns a minimal AudioSpecificConfig (ISO 14496-3 §1.6.2.1) with
// a GASpecificConfig of 1024-sample frames. A rate missing from the index
// table is coded explicitly, object types from 31 up with the escape, and a
// channel count with no channelConfiguration (7, or over 8) as 0.
func BuildASC(objectType, sampleRate, channels int) []byte {
	var w writer
	if objectType >= objectEscape {
		w.put(5, objectEscape)
		w.put(6, uint64(objectType-32))
	} else {
		w.put(5, uint64(objectType))
	}
	idx := SampleRateIndex(sampleRate)
	w.put(4, uint64(idx))
	if idx == explicitRate {
		w.put(24, uint64(sampleRate))
	}
	cc := 0
	switch {
	case channels >= 1 && channels <= 6:
		cc = channels
	case channels == 8:
		cc = 7
	}
	w.put(4, uint64(cc))
	w.put(3, 0) // frameLengthFlag, dependsOnCoreCoder, extensionFlag
	return w.bytes()
}

// writer is a tiny MSB-first bit writer for BuildASC.
type writer struct {
	b []byte
	n int // bits used
}

func (w *writer) put(n int, v uint64) {
	for i := n - 1; i >= 0; i-- {
		if w.n%8 == 0 {
			w.b = append(w.b, 0)
		}
		w.b[len(w.b)-1] |= byte(v>>i&1) << (7 - w.n%8)
		w.n++
	}
}

func (w *writer) bytes() []byte { return w.b }

// ObjectTypeName returns a short name for an audio object type, such as "LC"
// or "HE", or "" if unknown.
func ObjectTypeName(t int) string {
	switch t {
	case ObjectMain:
		return "Main"
	case ObjectLC:
		return "LC"
	case ObjectSSR:
		return "SSR"
	case ObjectLTP:
		return "LTP"
	case ObjectSBR:
		return "HE"
	case ObjectERLC:
		return "ER LC"
	case ObjectLD:
		return "LD"
	case ObjectPS:
		return "HEv2"
	case ObjectELD:
		return "ELD"
	case ObjectUSAC:
		return "xHE"
	}
	return ""
}
