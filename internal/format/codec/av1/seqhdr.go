package av1

import (
	"fmt"

	"github.com/srs-lite/srs-lite/internal/format/codec/bits"
)

// SequenceHeader holds the fields of a sequence header OBU (AV1 §5.5) that a
// streaming server needs.
type SequenceHeader struct {
	SeqProfile                uint8 // 0 Main, 1 High, 2 Professional
	StillPicture              bool
	ReducedStillPictureHeader bool
	SeqLevelIdx0              uint8 // seq_level_idx[0]: 4 is level 3.0, 8 is 4.0
	SeqTier0                  uint8 // seq_tier[0]
	MaxFrameWidth             int   // max_frame_width_minus_1 + 1
	MaxFrameHeight            int   // max_frame_height_minus_1 + 1
	// FPS is time_scale / (num_units_in_display_tick * ticks per picture)
	// when the timing info gives an equal picture interval, else 0.
	FPS                     float64
	BitDepth                uint8 // 8, 10 or 12
	Monochrome              bool
	ChromaSubsamplingX      bool
	ChromaSubsamplingY      bool
	ChromaSamplePosition    uint8
	ColorPrimaries          uint8 // 2 (unspecified) if absent
	TransferCharacteristics uint8
	MatrixCoefficients      uint8
	ColorRange              bool // full range
}

// ParseSequenceHeader parses a sequence header OBU, its OBU header
// included (AV1 §5.5.1), up to film_grain_params_present.
func ParseSequenceHeader(obu []byte) (SequenceHeader, error) {
	var s SequenceHeader
	o, _, err := ParseOBU(obu)
	if err != nil {
		return s, err
	}
	if o.Type != OBUSequenceHeader {
		return s, fmt.Errorf("av1: sequence header: obu type %v: %w", o.Type, ErrInvalid)
	}
	r := bits.NewReader(o.Payload)
	s.SeqProfile = uint8(r.U(3))
	if s.SeqProfile > 2 {
		return s, fmt.Errorf("av1: seq_profile %d: %w", s.SeqProfile, ErrInvalid)
	}
	s.StillPicture = r.Flag()
	s.ReducedStillPictureHeader = r.Flag()
	if s.ReducedStillPictureHeader {
		s.SeqLevelIdx0 = uint8(r.U(5))
	} else {
		decoderModelInfo := false
		bufferDelayLen := 0
		if r.Flag() { // timing_info_present_flag, §5.5.3 timing_info()
			units, scale := r.U(32), r.U(32)
			if r.Flag() { // equal_picture_interval
				ticks := uvlc(r) + 1
				if units != 0 && scale != 0 {
					s.FPS = float64(scale) / (float64(units) * float64(ticks))
				}
			}
			decoderModelInfo = r.Flag()
			if decoderModelInfo { // §5.5.4 decoder_model_info()
				bufferDelayLen = int(r.U(5)) + 1
				r.Skip(32 + 5 + 5) // num_units_in_decoding_tick, buffer_removal_time_length_minus_1, frame_presentation_time_length_minus_1
			}
		}
		initialDisplayDelay := r.Flag()
		n := int(r.U(5)) + 1 // operating_points_cnt_minus_1
		for i := 0; i < n && r.Err() == nil; i++ {
			r.Skip(12) // operating_point_idc[i]
			level := uint8(r.U(5))
			var tier uint8
			if level > 7 {
				tier = uint8(r.U(1))
			}
			if i == 0 {
				s.SeqLevelIdx0, s.SeqTier0 = level, tier
			}
			if decoderModelInfo && r.Flag() { // decoder_model_present_for_this_op[i]
				r.Skip(2*bufferDelayLen + 1) // §5.5.5 operating_parameters_info()
			}
			if initialDisplayDelay && r.Flag() { // initial_display_delay_present_for_this_op[i]
				r.Skip(4)
			}
		}
	}
	wBits, hBits := int(r.U(4))+1, int(r.U(4))+1
	s.MaxFrameWidth = int(r.U(wBits)) + 1
	s.MaxFrameHeight = int(r.U(hBits)) + 1
	if !s.ReducedStillPictureHeader && r.Flag() { // frame_id_numbers_present_flag
		r.Skip(4 + 3)
	}
	r.Skip(3) // use_128x128_superblock, enable_filter_intra, enable_intra_edge_filter
	if !s.ReducedStillPictureHeader {
		r.Skip(4) // enable_interintra_compound, masked_compound, warped_motion, dual_filter
		orderHint := r.Flag()
		if orderHint {
			r.Skip(2) // enable_jnt_comp, enable_ref_frame_mvs
		}
		forceSCT := uint64(2) // SELECT_SCREEN_CONTENT_TOOLS
		if !r.Flag() {        // seq_choose_screen_content_tools
			forceSCT = r.U(1)
		}
		if forceSCT > 0 && !r.Flag() { // seq_choose_integer_mv
			r.Skip(1) // seq_force_integer_mv
		}
		if orderHint {
			r.Skip(3) // order_hint_bits_minus_1
		}
	}
	r.Skip(3) // enable_superres, enable_cdef, enable_restoration
	readColorConfig(r, &s)
	if r.Err() != nil {
		return s, fmt.Errorf("av1: sequence header: %w", ErrTruncated)
	}
	return s, nil
}

// readColorConfig reads color_config() (AV1 §5.5.2).
func readColorConfig(r *bits.Reader, s *SequenceHeader) {
	high := r.Flag()
	s.BitDepth = 8
	if s.SeqProfile == 2 && high {
		s.BitDepth = 10
		if r.Flag() { // twelve_bit
			s.BitDepth = 12
		}
	} else if high {
		s.BitDepth = 10
	}
	if s.SeqProfile != 1 {
		s.Monochrome = r.Flag()
	}
	s.ColorPrimaries, s.TransferCharacteristics, s.MatrixCoefficients = 2, 2, 2 // unspecified
	if r.Flag() {                                                               // color_description_present_flag
		s.ColorPrimaries = uint8(r.U(8))
		s.TransferCharacteristics = uint8(r.U(8))
		s.MatrixCoefficients = uint8(r.U(8))
	}
	switch {
	case s.Monochrome:
		s.ColorRange = r.Flag()
		s.ChromaSubsamplingX, s.ChromaSubsamplingY = true, true
		return
	case s.ColorPrimaries == 1 && s.TransferCharacteristics == 13 && s.MatrixCoefficients == 0:
		// BT.709 primaries, sRGB transfer, identity matrix: 4:4:4 full range.
		s.ColorRange = true
	default:
		s.ColorRange = r.Flag()
		switch s.SeqProfile {
		case 0:
			s.ChromaSubsamplingX, s.ChromaSubsamplingY = true, true
		case 1:
		default:
			if s.BitDepth == 12 {
				s.ChromaSubsamplingX = r.Flag()
				if s.ChromaSubsamplingX {
					s.ChromaSubsamplingY = r.Flag()
				}
			} else {
				s.ChromaSubsamplingX = true
			}
		}
		if s.ChromaSubsamplingX && s.ChromaSubsamplingY {
			s.ChromaSamplePosition = uint8(r.U(2))
		}
	}
	r.Skip(1) // separate_uv_delta_q
}

// uvlc reads uvlc() (AV1 §4.10.3).
func uvlc(r *bits.Reader) uint64 {
	zeros := 0
	for !r.Flag() {
		if r.Err() != nil {
			return 0
		}
		zeros++
	}
	if zeros >= 32 {
		return 1<<32 - 1
	}
	return r.U(zeros) + 1<<zeros - 1
}
