package codec

import (
	"encoding/binary"

	"github.com/srs-lite/srs-lite/internal/format/codec/h264"
	"github.com/srs-lite/srs-lite/internal/format/codec/h265"
)

// AnnexBToAVCC converts one H.264 or H.265 access unit from Annex B (start
// codes, as MPEG-TS and MPEG-PS carry it) to AVCC: the length-prefixed NAL
// units are appended to out, except the parameter sets, which are appended
// to sets, and access unit delimiters and filler, which are dropped. key
// reports an IDR (H.265: an IRAP picture); complete reports that sets holds
// every kind a decoder configuration record needs (SPS and PPS, and VPS for
// H.265). out and sets are scratch the caller keeps: no allocation once
// they are large enough.
func AnnexBToAVCC(es []byte, hevc bool, out, sets []byte) (avcc, params []byte, key, complete bool) {
	var nVPS, nSPS, nPPS int
	h264.SplitAnnexB(es, func(n []byte) bool {
		var param bool
		if hevc {
			switch t := h265.Type(n); {
			case t == h265.NALUAUD || t == h265.NALUFD:
				return true
			case t == h265.NALUVPS:
				nVPS, param = nVPS+1, true
			case t == h265.NALUSPS:
				nSPS, param = nSPS+1, true
			case t == h265.NALUPPS:
				nPPS, param = nPPS+1, true
			case t.IsIRAP():
				key = true
			}
		} else {
			switch h264.Type(n) {
			case h264.NALUAUD, h264.NALUFiller:
				return true
			case h264.NALUSPS:
				nSPS, param = nSPS+1, true
			case h264.NALUPPS:
				nPPS, param = nPPS+1, true
			case h264.NALUIDR:
				key = true
			}
		}
		if param {
			sets = binary.BigEndian.AppendUint32(sets, uint32(len(n)))
			sets = append(sets, n...)
			return true
		}
		out = binary.BigEndian.AppendUint32(out, uint32(len(n)))
		out = append(out, n...)
		return true
	})
	return out, sets, key, nSPS > 0 && nPPS > 0 && (nVPS > 0 || !hevc)
}

// VideoConfig builds the decoder configuration record (AVCDecoderConfigurationRecord
// or HEVCDecoderConfigurationRecord) of the length-prefixed parameter sets
// in sets.
func VideoConfig(sets []byte, hevc bool) []byte {
	var vps, sps, pps [][]byte
	_ = h264.SplitAVCC(sets, func(n []byte) bool {
		if hevc {
			switch h265.Type(n) {
			case h265.NALUVPS:
				vps = append(vps, n)
			case h265.NALUSPS:
				sps = append(sps, n)
			case h265.NALUPPS:
				pps = append(pps, n)
			}
		} else {
			switch h264.Type(n) {
			case h264.NALUSPS:
				sps = append(sps, n)
			case h264.NALUPPS:
				pps = append(pps, n)
			}
		}
		return true
	})
	if hevc {
		return h265.BuildConfig(vps, sps, pps)
	}
	return h264.BuildConfig(sps, pps)
}
