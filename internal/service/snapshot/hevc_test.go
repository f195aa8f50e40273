package snapshot

import (
	"encoding/binary"
	"testing"

	"github.com/srs-lite/srs-lite/internal/format/codec/h264"
	"github.com/srs-lite/srs-lite/internal/format/codec/h265"
	"github.com/srs-lite/srs-lite/internal/media"
)

// hevcFrames turns an H.265 Annex B stream into a sequence header and one
// frame per picture (enough for a snapshot: the first keyframe).
func hevcFrames(t *testing.T, es []byte) []media.Frame {
	t.Helper()
	var vps, sps, pps [][]byte
	var au []byte
	key := false
	h264.SplitAnnexB(es, func(n []byte) bool {
		switch h265.Type(n) {
		case 32:
			vps = append(vps, n)
		case 33:
			sps = append(sps, n)
		case 34:
			pps = append(pps, n)
		default:
			if h265.Type(n).IsIRAP() {
				key = true
			}
			if h265.Type(n) < 32 && au == nil {
				au = binary.BigEndian.AppendUint32(au, uint32(len(n)))
				au = append(au, n...)
			}
		}
		return au == nil
	})
	if !key || len(sps) == 0 {
		t.Fatal("no keyframe in the H.265 clip")
	}
	return []media.Frame{
		{Codec: media.CodecH265, Flags: media.FlagConfig, Payload: h265.BuildConfig(vps, sps, pps)},
		{Codec: media.CodecH265, Flags: media.FlagKey, Payload: au},
	}
}
