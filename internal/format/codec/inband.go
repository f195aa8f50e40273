package codec

import (
	"bytes"

	"github.com/srs-lite/srs-lite/internal/format/codec/h264"
	"github.com/srs-lite/srs-lite/internal/format/codec/h265"
	"github.com/srs-lite/srs-lite/internal/media"
)

// InBand keeps one publisher's H.264 and H.265 video in the form every
// reader of a media.Stream expects (AVCC payloads after a decoder
// configuration record) when the publisher sends it otherwise. An FLV muxer
// without extradata (ffmpeg's tee muxer, some hardware encoders and cameras)
// sends an empty sequence header, or none, and frames in Annex B or AVCC
// with the parameter sets in-band; every remuxer (HLS, DVR, SRT, snapshots)
// and the API need the record, and TS and MP4 need AVCC.
//
// InBand converts Annex B frames to AVCC and, while the publisher has sent
// no usable sequence header, derives one from the in-band parameter sets:
// on the first frame that carries them, and again when they change. An
// empty sequence header still goes through: it tells the remuxers that the
// stream has video before its first keyframe comes. Publishers whose frames
// come from FLV (RTMP, ffmpeg pipes) run each frame through Fix before
// Stream.Write. The zero value is ready to use.
type InBand struct {
	codec media.Codec
	real  bool // the publisher sent a usable sequence header: derive nothing
	// The last parameter sets seen in-band (owned copies), and whether the
	// derived config is built from them.
	vps, sps, pps []byte
	done          bool
}

// Fix checks one frame before it is written. For an H.264/H.265 frame in
// Annex B it rewrites the payload as AVCC, in place when it can, else into a
// new pooled buffer that replaces the frame's (whose reference it drops). It
// returns a config frame to write before f when one was derived from f's
// parameter sets; cfg.Payload is nil otherwise, and cfg holds a reference
// the caller hands on or releases. Other frames pass unchanged. It does not
// allocate except to derive a config and to grow a payload.
func (x *InBand) Fix(f *media.Frame) (cfg media.Frame) {
	if f.Codec != media.CodecH264 && f.Codec != media.CodecH265 {
		return cfg
	}
	if f.Codec != x.codec {
		*x = InBand{codec: f.Codec, vps: x.vps[:0], sps: x.sps[:0], pps: x.pps[:0]}
	}
	if f.IsConfig() {
		x.real = hasSets(f.Codec, f.Payload)
		return cfg
	}
	if !h264.IsAVCC(f.Payload) && h264.IsAnnexB(f.Payload) {
		toAVCC(f)
	}
	if x.real || !x.scan(f) {
		return cfg
	}
	var rec []byte
	if f.Codec == media.CodecH264 {
		rec = h264.BuildConfig([][]byte{x.sps}, [][]byte{x.pps})
	} else {
		rec = h265.BuildConfig([][]byte{x.vps}, [][]byte{x.sps}, [][]byte{x.pps})
	}
	b := media.GetBuf(len(rec))
	copy(b.Bytes(), rec)
	cfg = media.Frame{DTS: f.DTS, PTS: f.DTS, Codec: f.Codec, Flags: media.FlagConfig, Track: f.Track}
	cfg.SetBuf(b, 0, len(rec))
	return cfg
}

// scan notes the parameter sets of an AVCC frame and reports whether a new
// config is due: every set the codec needs has been seen, and one differs
// from those of the last derived config.
func (x *InBand) scan(f *media.Frame) bool {
	hevc := f.Codec == media.CodecH265
	_ = h264.SplitAVCC(f.Payload, func(n []byte) bool {
		var dst *[]byte
		if hevc {
			switch h265.Type(n) {
			case h265.NALUVPS:
				dst = &x.vps
			case h265.NALUSPS:
				dst = &x.sps
			case h265.NALUPPS:
				dst = &x.pps
			}
		} else {
			switch h264.Type(n) {
			case h264.NALUSPS:
				dst = &x.sps
			case h264.NALUPPS:
				dst = &x.pps
			}
		}
		if dst != nil && !bytes.Equal(*dst, n) {
			*dst = append((*dst)[:0], n...)
			x.done = false
		}
		return true
	})
	if x.done || len(x.sps) == 0 || len(x.pps) == 0 || hevc && len(x.vps) == 0 {
		return false
	}
	x.done = true
	return true
}

// hasSets reports whether a decoder configuration record parses and holds
// an SPS.
func hasSets(c media.Codec, rec []byte) bool {
	if c == media.CodecH264 {
		cfg, err := h264.ParseConfig(rec)
		return err == nil && len(cfg.SPS) > 0
	}
	cfg, err := h265.ParseConfig(rec)
	return err == nil && len(cfg.SPS) > 0
}

// toAVCC rewrites f's Annex B payload as AVCC.
func toAVCC(f *media.Frame) {
	if h264.AnnexBToAVCCInPlace(f.Payload) {
		return
	}
	n := h264.AVCCLen(f.Payload)
	b := media.GetBuf(n)
	h264.AnnexBToAVCC(b.Bytes()[:0], f.Payload)
	old := f.Buf()
	f.SetBuf(b, 0, n)
	if old != nil {
		old.Release()
	}
}
