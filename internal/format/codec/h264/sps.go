package h264

import (
	"fmt"

	"github.com/srs-lite/srs-lite/internal/format/codec/bits"
)

// maxDim caps the coded width and height in pixels; larger values come only
// from corrupt input.
const maxDim = 1 << 15

// SPS holds the fields of a sequence parameter set (H.264 §7.3.2.1.1) that
// a streaming server needs.
type SPS struct {
	ProfileIDC      uint8
	ConstraintFlags uint8 // constraint_set0_flag..constraint_set5_flag and reserved bits, as coded
	LevelIDC        uint8
	ID              uint32 // seq_parameter_set_id
	ChromaFormatIDC uint8  // 0 monochrome, 1 4:2:0, 2 4:2:2, 3 4:4:4
	BitDepthLuma    uint8
	BitDepthChroma  uint8
	FrameMBSOnly    bool // false for interlaced (field or MBAFF) coding
	Width, Height   int  // display size, after frame cropping
	// FPS is time_scale/(2*num_units_in_tick) from the VUI timing info, or 0
	// when the SPS has none (H.264 §E.2.1).
	FPS float64
}

// hasChromaInfo lists the profile_idc values whose SPS carries
// chroma_format_idc, bit depths and scaling lists (H.264 §7.3.2.1.1).
func hasChromaInfo(p uint8) bool {
	switch p {
	case 100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135:
		return true
	}
	return false
}

// ParseSPS parses an SPS NAL unit, header byte included, as found in an
// AVCDecoderConfigurationRecord or an access unit. A malformed VUI is
// ignored (FPS stays 0); any other malformation is an error.
func ParseSPS(sps []byte) (SPS, error) {
	var s SPS
	if len(sps) < 4 {
		return s, fmt.Errorf("h264: sps: %w", ErrTruncated)
	}
	if Type(sps) != NALUSPS {
		return s, fmt.Errorf("h264: sps: nal type %d: %w", Type(sps), ErrInvalid)
	}
	var tmp [256]byte
	rbsp := bits.RemoveEmulation(tmp[:0], sps[1:])
	r := bits.NewReader(rbsp)

	// §7.3.2.1.1 seq_parameter_set_data.
	s.ProfileIDC = uint8(r.U(8))
	s.ConstraintFlags = uint8(r.U(8))
	s.LevelIDC = uint8(r.U(8))
	id := r.UE()
	if id > 31 {
		return s, fmt.Errorf("h264: sps: seq_parameter_set_id %d: %w", id, ErrInvalid)
	}
	s.ID = uint32(id)
	s.ChromaFormatIDC = 1
	s.BitDepthLuma, s.BitDepthChroma = 8, 8
	separateColourPlane := false
	if hasChromaInfo(s.ProfileIDC) {
		cf := r.UE()
		if cf > 3 {
			return s, fmt.Errorf("h264: sps: chroma_format_idc %d: %w", cf, ErrInvalid)
		}
		s.ChromaFormatIDC = uint8(cf)
		if cf == 3 {
			separateColourPlane = r.Flag()
		}
		bl, bc := r.UE(), r.UE()
		if bl > 6 || bc > 6 {
			return s, fmt.Errorf("h264: sps: bit depth: %w", ErrInvalid)
		}
		s.BitDepthLuma, s.BitDepthChroma = uint8(bl+8), uint8(bc+8)
		r.Skip(1)     // qpprime_y_zero_transform_bypass_flag
		if r.Flag() { // seq_scaling_matrix_present_flag
			n := 8
			if cf == 3 {
				n = 12
			}
			for i := 0; i < n && r.Err() == nil; i++ {
				if r.Flag() { // seq_scaling_list_present_flag[i]
					size := 16
					if i >= 6 {
						size = 64
					}
					skipScalingList(r, size)
				}
			}
		}
	}
	if r.UE() > 12 { // log2_max_frame_num_minus4
		return s, fmt.Errorf("h264: sps: log2_max_frame_num: %w", ErrInvalid)
	}
	switch r.UE() { // pic_order_cnt_type
	case 0:
		if r.UE() > 12 { // log2_max_pic_order_cnt_lsb_minus4
			return s, fmt.Errorf("h264: sps: log2_max_pic_order_cnt_lsb: %w", ErrInvalid)
		}
	case 1:
		r.Skip(1) // delta_pic_order_always_zero_flag
		r.SE()    // offset_for_non_ref_pic
		r.SE()    // offset_for_top_to_bottom_field
		n := r.UE()
		if n > 255 {
			return s, fmt.Errorf("h264: sps: num_ref_frames_in_pic_order_cnt_cycle %d: %w", n, ErrInvalid)
		}
		for i := uint64(0); i < n && r.Err() == nil; i++ {
			r.SE() // offset_for_ref_frame[i]
		}
	case 2:
	default:
		if r.Err() == nil {
			return s, fmt.Errorf("h264: sps: pic_order_cnt_type: %w", ErrInvalid)
		}
	}
	r.UE()    // max_num_ref_frames
	r.Skip(1) // gaps_in_frame_num_value_allowed_flag
	wMBs := r.UE() + 1
	hMapUnits := r.UE() + 1
	s.FrameMBSOnly = r.Flag()
	if !s.FrameMBSOnly {
		r.Skip(1) // mb_adaptive_frame_field_flag
	}
	r.Skip(1) // direct_8x8_inference_flag
	var cropL, cropR, cropT, cropB uint64
	if r.Flag() { // frame_cropping_flag
		cropL, cropR, cropT, cropB = r.UE(), r.UE(), r.UE(), r.UE()
	}
	vui := r.Flag()
	if err := r.Err(); err != nil {
		return s, fmt.Errorf("h264: sps: %w", ErrTruncated)
	}

	// Frame size and cropping, §7.4.2.1.1 (frame_crop_*_offset semantics).
	fieldMul := uint64(2)
	if s.FrameMBSOnly {
		fieldMul = 1
	}
	cropX, cropY := uint64(1), fieldMul
	if !separateColourPlane && s.ChromaFormatIDC != 0 {
		subW, subH := uint64(2), uint64(1)
		if s.ChromaFormatIDC == 3 {
			subW = 1
		}
		if s.ChromaFormatIDC == 1 {
			subH = 2
		}
		cropX, cropY = subW, subH*fieldMul
	}
	w, h := wMBs*16, fieldMul*hMapUnits*16
	if w > maxDim || h > maxDim || cropL+cropR > maxDim || cropT+cropB > maxDim ||
		cropX*(cropL+cropR) >= w || cropY*(cropT+cropB) >= h {
		return s, fmt.Errorf("h264: sps: size %dx%d crop %d,%d,%d,%d: %w", w, h, cropL, cropR, cropT, cropB, ErrInvalid)
	}
	s.Width = int(w - cropX*(cropL+cropR))
	s.Height = int(h - cropY*(cropT+cropB))

	if vui {
		s.FPS = parseVUITiming(r)
	}
	return s, nil
}

// skipScalingList consumes scaling_list() (H.264 §7.3.2.1.1.1).
func skipScalingList(r *bits.Reader, size int) {
	last, next := int64(8), int64(8)
	for j := 0; j < size && r.Err() == nil; j++ {
		if next != 0 {
			next = (last + r.SE() + 256) % 256
		}
		if next != 0 {
			last = next
		}
	}
}

// parseVUITiming reads vui_parameters() up to the timing info (H.264 §E.1.1)
// and returns the frame rate, or 0 if absent or unreadable.
func parseVUITiming(r *bits.Reader) float64 {
	if r.Flag() { // aspect_ratio_info_present_flag
		if r.U(8) == 255 { // Extended_SAR
			r.Skip(32) // sar_width, sar_height
		}
	}
	if r.Flag() { // overscan_info_present_flag
		r.Skip(1)
	}
	if r.Flag() { // video_signal_type_present_flag
		r.Skip(4) // video_format, video_full_range_flag
		if r.Flag() {
			r.Skip(24) // colour_primaries, transfer_characteristics, matrix_coefficients
		}
	}
	if r.Flag() { // chroma_loc_info_present_flag
		r.UE()
		r.UE()
	}
	if !r.Flag() { // timing_info_present_flag
		return 0
	}
	units, scale := r.U(32), r.U(32)
	if r.Err() != nil || units == 0 || scale == 0 {
		return 0
	}
	return float64(scale) / float64(2*units)
}

// ProfileName returns the name of a profile_idc (H.264 Annex A), such as
// "Baseline", "Main" or "High", or "" if unknown.
func ProfileName(idc uint8) string {
	switch idc {
	case 66:
		return "Baseline"
	case 77:
		return "Main"
	case 88:
		return "Extended"
	case 100:
		return "High"
	case 110:
		return "High 10"
	case 122:
		return "High 4:2:2"
	case 244:
		return "High 4:4:4 Predictive"
	case 44:
		return "CAVLC 4:4:4 Intra"
	case 83:
		return "Scalable Baseline"
	case 86:
		return "Scalable High"
	case 118:
		return "Multiview High"
	case 128:
		return "Stereo High"
	case 134:
		return "MFC High"
	case 135:
		return "MFC Depth High"
	case 138:
		return "Multiview Depth High"
	case 139:
		return "Enhanced Multiview Depth High"
	}
	return ""
}
