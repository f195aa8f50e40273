package ts

// mpaHeader is an MPEG audio frame header (ISO 11172-3 §2.4.1.3, with the
// lower sampling frequencies of ISO 13818-3 and the unofficial MPEG 2.5).
type mpaHeader struct {
	layer    int // 1, 2 or 3
	rate     int // Hz
	channels uint8
	samples  int // per frame
	frameLen int // bytes, header included
}

// mpaBitrates holds the bitrates in kbit/s by [MPEG-1 or not][layer-1][index].
var mpaBitrates = [2][3][15]int{
	{ // MPEG-1
		{0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448},
		{0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384},
		{0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320},
	},
	{ // MPEG-2 and 2.5 (ISO 13818-3 Table 2.4.2.3)
		{0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256},
		{0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160},
		{0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160},
	},
}

// mpaRates holds the sampling frequencies by version bits (0 MPEG 2.5,
// 2 MPEG-2, 3 MPEG-1) and index.
var mpaRates = [4][3]int{
	{11025, 12000, 8000},
	{},
	{22050, 24000, 16000},
	{44100, 48000, 32000},
}

// parseMPA parses the 4-byte header at the start of b. Free-format frames
// (bitrate_index 0) and reserved values are rejected.
func parseMPA(b []byte) (h mpaHeader, ok bool) {
	if len(b) < 4 || b[0] != 0xff || b[1]&0xe0 != 0xe0 {
		return h, false
	}
	version := b[1] >> 3 & 3
	layerBits := b[1] >> 1 & 3
	brIdx := int(b[2] >> 4)
	rateIdx := int(b[2] >> 2 & 3)
	if version == 1 || layerBits == 0 || brIdx == 0 || brIdx == 15 || rateIdx == 3 {
		return h, false
	}
	h.layer = 4 - int(layerBits)
	mpeg1 := version == 3
	v := 1
	if mpeg1 {
		v = 0
	}
	br := mpaBitrates[v][h.layer-1][brIdx] * 1000
	h.rate = mpaRates[version][rateIdx]
	pad := int(b[2] >> 1 & 1)
	h.channels = 2
	if b[3]>>6 == 3 { // single_channel
		h.channels = 1
	}
	switch {
	case h.layer == 1:
		h.samples = 384
		h.frameLen = (12*br/h.rate + pad) * 4
	case h.layer == 2 || mpeg1:
		h.samples = 1152
		h.frameLen = 144*br/h.rate + pad
	default: // layer III of MPEG-2 and 2.5
		h.samples = 576
		h.frameLen = 72*br/h.rate + pad
	}
	return h, h.frameLen >= 4
}
