// Package rtp turns RTP packets into srs-lite frames: depacketizers for the
// payload formats IP cameras send (H.264 RFC 6184, H.265 RFC 7798, AAC RFC
// 3640 and RFC 6416, G.711 RFC 3551, Opus RFC 7587), a reorder buffer for
// packets that arrive out of order, and a timeline that maps each track's
// 32-bit RTP clock onto the one clock of a media.Frame (RFC 3550 §5.1, §6.4.1).
//
// Packets are parsed with pion/rtp; pion types stay inside this package and
// its callers in the protocol layer (rtsp, rtc). Nothing here does I/O or
// starts goroutines.
package rtp

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/pion/rtp"

	"github.com/srs-lite/srs-lite/internal/media"
)

// Errors of the depacketizers. Push returns them wrapped with detail; the
// caller counts them and logs each kind once, then aggregated.
var (
	// ErrLoss reports a gap in the sequence numbers: the access unit being
	// assembled, if any, was dropped.
	ErrLoss = errors.New("rtp: packets lost")
	// ErrMalformed reports a payload that does not follow its format.
	ErrMalformed = errors.New("rtp: malformed payload")
	// ErrUnsupported reports a payload format, or a mode of one, that srs-lite
	// does not depacketize.
	ErrUnsupported = errors.New("rtp: unsupported payload")
	// ErrNoParams reports video that cannot be decoded yet because its
	// parameter sets (SPS/PPS, VPS) are missing from the SDP and have not
	// come in band so far: frames are dropped until they do.
	ErrNoParams = errors.New("rtp: waiting for parameter sets")
	// ErrTooLarge reports an access unit larger than MaxFrameSize.
	ErrTooLarge = errors.New("rtp: access unit too large")
)

// MaxFrameSize bounds an access unit being assembled (16 MiB): a stream of
// fragments without an end is dropped rather than growing memory.
const MaxFrameSize = 16 << 20

// Format is an RTP payload format as an SDP media description states it:
// the payload type, the rtpmap (RFC 4566 §6) and the fmtp parameters.
type Format struct {
	PayloadType uint8
	Encoding    string // encoding name, upper case: "H264", "MPEG4-GENERIC", ...
	ClockRate   int
	Channels    int               // 0 when the rtpmap gives none
	Params      map[string]string // fmtp parameters, keys lower case
}

// ParseFmtp parses the value of an a=fmtp attribute after the payload type
// ("packetization-mode=1; sprop-parameter-sets=Z0IA,aM4=") into lower-case
// keys and their values.
func ParseFmtp(s string) map[string]string {
	m := map[string]string{}
	for kv := range strings.SplitSeq(s, ";") {
		kv = strings.TrimSpace(kv)
		if kv == "" {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		m[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
	}
	return m
}

// staticFormats are the static payload types of RFC 3551 §6 that cameras
// use without an rtpmap.
var staticFormats = map[uint8]Format{
	0: {PayloadType: 0, Encoding: "PCMU", ClockRate: 8000, Channels: 1},
	8: {PayloadType: 8, Encoding: "PCMA", ClockRate: 8000, Channels: 1},
}

// StaticFormat returns the format of a static payload type (RFC 3551 §6)
// that srs-lite depacketizes, and false for any other type.
func StaticFormat(pt uint8) (Format, bool) {
	f, ok := staticFormats[pt]
	return f, ok
}

// ParseRtpmap fills the encoding, clock rate and channels of f from an
// a=rtpmap value after the payload type ("H264/90000", "MPEG4-GENERIC/44100/2").
func (f *Format) ParseRtpmap(s string) error {
	parts := strings.Split(strings.TrimSpace(s), "/")
	if len(parts) < 2 {
		return fmt.Errorf("%w: rtpmap %q", ErrMalformed, s)
	}
	rate, err := strconv.Atoi(strings.TrimSpace(parts[1]))
	if err != nil || rate <= 0 {
		return fmt.Errorf("%w: rtpmap %q: clock rate", ErrMalformed, s)
	}
	f.Encoding = strings.ToUpper(strings.TrimSpace(parts[0]))
	f.ClockRate = rate
	f.Channels = 0
	if len(parts) > 2 {
		if ch, err := strconv.Atoi(strings.TrimSpace(parts[2])); err == nil && ch > 0 && ch < 256 {
			f.Channels = ch
		}
	}
	return nil
}

// Codec returns the media codec of the format, or media.CodecUnknown when
// srs-lite has no depacketizer for it.
func (f Format) Codec() media.Codec {
	switch f.Encoding {
	case "H264":
		return media.CodecH264
	case "H265", "HEVC":
		return media.CodecH265
	case "MPEG4-GENERIC":
		if strings.HasPrefix(strings.ToLower(f.Params["mode"]), "aac") || f.Params["config"] != "" {
			return media.CodecAAC
		}
	case "MP4A-LATM":
		return media.CodecAAC
	case "PCMU":
		return media.CodecPCMU
	case "PCMA":
		return media.CodecPCMA
	case "OPUS":
		return media.CodecOpus
	}
	return media.CodecUnknown
}

// Emit receives one access unit assembled by a depacketizer: ts is its RTP
// timestamp (the presentation time, RFC 3550 §5.1), f has Codec, Flags and,
// for audio, SampleRate and Channels; f.Payload is scratch memory valid
// during the call only (call f.Own to keep it). Config frames (FlagConfig)
// come before the first frame and whenever the configuration changes.
type Emit func(ts uint32, f *media.Frame)

// Depacketizer reassembles the access units of one payload format.
type Depacketizer interface {
	// Push consumes one packet, in sequence order, and calls emit for each
	// access unit it completes. A non-nil error says what was wrong with
	// the packet or the stream so far; the depacketizer stays usable.
	Push(p *rtp.Packet, emit Emit) error
}

// NewDepacketizer returns the depacketizer of a format, or an error wrapping
// ErrUnsupported or ErrMalformed (a bad fmtp parameter).
func NewDepacketizer(f Format) (Depacketizer, error) {
	switch f.Encoding {
	case "H264":
		return newH264(f)
	case "H265", "HEVC":
		return newH265(f)
	case "MPEG4-GENERIC":
		if f.Codec() == media.CodecAAC {
			return newAAC(f)
		}
	case "MP4A-LATM":
		return newLATM(f)
	case "PCMU", "PCMA":
		return newG711(f), nil
	case "OPUS":
		return newOpus(f), nil
	}
	return nil, fmt.Errorf("%w: %s/%d", ErrUnsupported, f.Encoding, f.ClockRate)
}

// seqTracker notices gaps in sequence numbers (RFC 3550 §5.1).
type seqTracker struct {
	started bool
	last    uint16
}

// next records seq and reports whether packets were lost before it.
func (s *seqTracker) next(seq uint16) (lost bool) {
	lost = s.started && seq != s.last+1
	s.started, s.last = true, seq
	return lost
}
