package h265

import (
	"fmt"

	"github.com/srs-lite/srs-lite/internal/format/codec/bits"
)

// maxDim caps the coded width and height in pixels; larger values come only
// from corrupt input.
const maxDim = 1 << 15

// ProfileTierLevel is the general part of profile_tier_level() (H.265
// §7.3.3), which the HEVCDecoderConfigurationRecord repeats.
type ProfileTierLevel struct {
	ProfileSpace     uint8  // general_profile_space
	Tier             uint8  // general_tier_flag: 0 Main, 1 High
	ProfileIDC       uint8  // general_profile_idc
	ProfileCompat    uint32 // general_profile_compatibility_flag[0..31], flag 0 in the MSB
	ConstraintFlags  uint64 // the 48 bits from general_progressive_source_flag on
	LevelIDC         uint8  // general_level_idc, 30 times the level number
	MaxSubLayers     uint8  // sps_max_sub_layers_minus1 + 1
	TemporalIDNested bool   // sps_temporal_id_nesting_flag
}

// SPS holds the fields of a sequence parameter set (H.265 §7.3.2.2) that a
// streaming server needs.
type SPS struct {
	ProfileTierLevel
	ID              uint32 // sps_seq_parameter_set_id
	ChromaFormatIDC uint8  // 0 monochrome, 1 4:2:0, 2 4:2:2, 3 4:4:4
	BitDepthLuma    uint8
	BitDepthChroma  uint8
	Width, Height   int // display size, after the conformance window
}

// ParseSPS parses an SPS NAL unit, two-byte header included, up to the bit
// depths (H.265 §7.3.2.2.1).
func ParseSPS(sps []byte) (SPS, error) {
	var s SPS
	if len(sps) < 3 {
		return s, fmt.Errorf("h265: sps: %w", ErrTruncated)
	}
	if Type(sps) != NALUSPS {
		return s, fmt.Errorf("h265: sps: nal type %d: %w", Type(sps), ErrInvalid)
	}
	var tmp [256]byte
	r := bits.NewReader(bits.RemoveEmulation(tmp[:0], sps[2:]))

	r.Skip(4) // sps_video_parameter_set_id
	maxSub := uint8(r.U(3))
	s.MaxSubLayers = maxSub + 1
	s.TemporalIDNested = r.Flag()
	if maxSub == 7 {
		return s, fmt.Errorf("h265: sps: sps_max_sub_layers_minus1 7: %w", ErrInvalid)
	}
	readPTL(r, &s.ProfileTierLevel, int(maxSub))
	id := r.UE()
	if id > 15 {
		return s, fmt.Errorf("h265: sps: sps_seq_parameter_set_id %d: %w", id, ErrInvalid)
	}
	s.ID = uint32(id)
	cf := r.UE()
	if cf > 3 {
		return s, fmt.Errorf("h265: sps: chroma_format_idc %d: %w", cf, ErrInvalid)
	}
	s.ChromaFormatIDC = uint8(cf)
	separate := false
	if cf == 3 {
		separate = r.Flag() // separate_colour_plane_flag
	}
	w, h := r.UE(), r.UE() // pic_width_in_luma_samples, pic_height_in_luma_samples
	var cl, cr, ct, cb uint64
	if r.Flag() { // conformance_window_flag
		cl, cr, ct, cb = r.UE(), r.UE(), r.UE(), r.UE()
	}
	bl, bc := r.UE(), r.UE()
	if r.Err() != nil {
		return s, fmt.Errorf("h265: sps: %w", ErrTruncated)
	}
	if bl > 8 || bc > 8 {
		return s, fmt.Errorf("h265: sps: bit depth: %w", ErrInvalid)
	}
	s.BitDepthLuma, s.BitDepthChroma = uint8(bl+8), uint8(bc+8)

	// Conformance window offsets are in chroma units (§7.4.3.2.1, Table 6-1).
	subW, subH := uint64(1), uint64(1)
	if !separate && (cf == 1 || cf == 2) {
		subW = 2
	}
	if !separate && cf == 1 {
		subH = 2
	}
	if w == 0 || h == 0 || w > maxDim || h > maxDim || cl+cr > maxDim || ct+cb > maxDim ||
		subW*(cl+cr) >= w || subH*(ct+cb) >= h {
		return s, fmt.Errorf("h265: sps: size %dx%d window %d,%d,%d,%d: %w", w, h, cl, cr, ct, cb, ErrInvalid)
	}
	s.Width = int(w - subW*(cl+cr))
	s.Height = int(h - subH*(ct+cb))
	return s, nil
}

// readPTL reads profile_tier_level(1, maxSub) (H.265 §7.3.3), keeping the
// general fields and skipping the sub-layer ones.
func readPTL(r *bits.Reader, p *ProfileTierLevel, maxSub int) {
	p.ProfileSpace = uint8(r.U(2))
	p.Tier = uint8(r.U(1))
	p.ProfileIDC = uint8(r.U(5))
	p.ProfileCompat = uint32(r.U(32))
	p.ConstraintFlags = r.U(48)
	p.LevelIDC = uint8(r.U(8))
	var profile, level [8]bool
	for i := range maxSub {
		profile[i] = r.Flag() // sub_layer_profile_present_flag
		level[i] = r.Flag()   // sub_layer_level_present_flag
	}
	if maxSub > 0 {
		r.Skip(2 * (8 - maxSub)) // reserved_zero_2bits
	}
	for i := range maxSub {
		if profile[i] {
			r.Skip(88) // sub_layer profile space .. constraint flags
		}
		if level[i] {
			r.Skip(8) // sub_layer_level_idc
		}
	}
}
