package fmp4

import (
	"time"

	"github.com/srs-lite/srs-lite/internal/media"
)

// movieTimescale is the timescale of mvhd, tkhd and mehd durations.
const movieTimescale = 1000

// AppendInit appends the initialization segment: ftyp, then moov with one
// trak per track set so far and mvex/trex (ISO/IEC 14496-12 §8.8.1), with
// durations left at 0 (unknown), as a live fragmented file has them.
func (m *Muxer) AppendInit(dst []byte) []byte {
	return m.AppendInitDuration(dst, 0)
}

// AppendInitDuration appends the initialization segment with the given
// total duration in mvhd, tkhd, mdhd and mehd. Its size does not depend on d
// (the duration fields are 64-bit), so a recorder may write the init with 0
// first and overwrite it in place with the final duration at close.
func (m *Muxer) AppendInitDuration(dst []byte, d time.Duration) []byte {
	d = max(d, 0)
	// ftyp (§4.3): CMAF-compatible brands, as ffmpeg's HLS fMP4 writes them.
	dst, p := startBox(dst, "ftyp")
	dst = append(dst, "iso5"...)
	dst = u32(dst, 512)
	dst = append(dst, "iso5iso6mp41"...)
	dst = endBox(dst, p)

	dst, moov := startBox(dst, "moov")
	// mvhd (§8.2.2), version 1.
	dst, p = startFullBox(dst, "mvhd", 1, 0)
	dst = u64(dst, 0) // creation_time
	dst = u64(dst, 0) // modification_time
	dst = u32(dst, movieTimescale)
	dst = u64(dst, uint64(ticks(d, movieTimescale)))
	dst = u32(dst, 0x00010000) // rate 1.0
	dst = u16(dst, 0x0100)     // volume 1.0
	dst = zeros(dst, 10)
	dst = append(dst, matrix[:]...)
	dst = zeros(dst, 24) // pre_defined
	dst = u32(dst, 3)    // next_track_ID
	dst = endBox(dst, p)
	for _, t := range m.tracks() {
		dst = t.appendTrak(dst, d)
	}
	// mvex (§8.8.1): mehd (§8.8.2) and one trex (§8.8.3) per track.
	dst, mvex := startBox(dst, "mvex")
	dst, p = startFullBox(dst, "mehd", 1, 0)
	dst = u64(dst, uint64(ticks(d, movieTimescale)))
	dst = endBox(dst, p)
	for _, t := range m.tracks() {
		dst, p = startFullBox(dst, "trex", 0, 0)
		dst = u32(dst, t.id)
		dst = u32(dst, 1) // default_sample_description_index
		dst = u32(dst, 0) // default_sample_duration
		dst = u32(dst, 0) // default_sample_size
		dst = u32(dst, 0) // default_sample_flags
		dst = endBox(dst, p)
	}
	dst = endBox(dst, mvex)
	return endBox(dst, moov)
}

func (t *track) video() bool { return t.id == VideoTrackID }

// appendTrak appends the trak box of t (§8.3.1) with an empty sample table.
func (t *track) appendTrak(dst []byte, d time.Duration) []byte {
	dst, trak := startBox(dst, "trak")
	// tkhd (§8.3.2), version 1; flags: track_enabled | track_in_movie.
	dst, p := startFullBox(dst, "tkhd", 1, 3)
	dst = u64(dst, 0) // creation_time
	dst = u64(dst, 0) // modification_time
	dst = u32(dst, t.id)
	dst = u32(dst, 0) // reserved
	dst = u64(dst, uint64(ticks(d, movieTimescale)))
	dst = zeros(dst, 8) // reserved
	dst = u16(dst, 0)   // layer
	dst = u16(dst, 0)   // alternate_group
	if t.video() {
		dst = u16(dst, 0)
	} else {
		dst = u16(dst, 0x0100) // volume 1.0
	}
	dst = u16(dst, 0) // reserved
	dst = append(dst, matrix[:]...)
	dst = u32(dst, uint32(t.width)<<16) // 16.16 fixed point
	dst = u32(dst, uint32(t.height)<<16)
	dst = endBox(dst, p)

	dst, mdia := startBox(dst, "mdia")
	// mdhd (§8.4.2), version 1.
	dst, p = startFullBox(dst, "mdhd", 1, 0)
	dst = u64(dst, 0)
	dst = u64(dst, 0)
	dst = u32(dst, t.timescale)
	dst = u64(dst, uint64(ticks(d, t.timescale)))
	dst = u16(dst, 0x55c4) // language "und" (ISO 639-2/T, packed 5-bit)
	dst = u16(dst, 0)
	dst = endBox(dst, p)
	// hdlr (§8.4.3).
	dst, p = startFullBox(dst, "hdlr", 0, 0)
	dst = u32(dst, 0) // pre_defined
	if t.video() {
		dst = append(dst, "vide"...)
		dst = zeros(dst, 12)
		dst = append(dst, "VideoHandler\x00"...)
	} else {
		dst = append(dst, "soun"...)
		dst = zeros(dst, 12)
		dst = append(dst, "SoundHandler\x00"...)
	}
	dst = endBox(dst, p)

	dst, minf := startBox(dst, "minf")
	if t.video() {
		dst, p = startFullBox(dst, "vmhd", 0, 1) // §12.1.2
		dst = zeros(dst, 8)                      // graphicsmode, opcolor
	} else {
		dst, p = startFullBox(dst, "smhd", 0, 0) // §12.2.2
		dst = zeros(dst, 4)                      // balance, reserved
	}
	dst = endBox(dst, p)
	// dinf/dref (§8.7.1, §8.7.2): one self-contained 'url ' entry.
	dst, dinf := startBox(dst, "dinf")
	dst, dref := startFullBox(dst, "dref", 0, 0)
	dst = u32(dst, 1)
	dst, p = startFullBox(dst, "url ", 0, 1)
	dst = endBox(dst, p)
	dst = endBox(dst, dref)
	dst = endBox(dst, dinf)

	// stbl (§8.5.1): the sample description, and empty tables: the samples
	// are in the fragments.
	dst, stbl := startBox(dst, "stbl")
	dst, stsd := startFullBox(dst, "stsd", 0, 0)
	dst = u32(dst, 1)
	dst = t.appendSampleEntry(dst)
	dst = endBox(dst, stsd)
	for _, typ := range [...]string{"stts", "stsc", "stco"} {
		dst, p = startFullBox(dst, typ, 0, 0)
		dst = u32(dst, 0) // entry_count
		dst = endBox(dst, p)
	}
	dst, p = startFullBox(dst, "stsz", 0, 0)
	dst = u32(dst, 0) // sample_size
	dst = u32(dst, 0) // sample_count
	dst = endBox(dst, p)
	dst = endBox(dst, stbl)
	dst = endBox(dst, minf)
	dst = endBox(dst, mdia)
	return endBox(dst, trak)
}

// appendSampleEntry appends the track's sample entry: avc1/avcC
// (ISO/IEC 14496-15 §5.4.2), hvc1/hvcC (§8.4.1), av01/av1C (AV1-ISOBMFF
// §2.2), mp4a/esds (ISO/IEC 14496-14 §5.6) or Opus/dOps (Opus in ISOBMFF
// §4.3).
func (t *track) appendSampleEntry(dst []byte) []byte {
	var p, q int
	switch t.codec {
	case media.CodecH264, media.CodecH265, media.CodecAV1:
		typ, cfg := "avc1", "avcC"
		switch t.codec {
		case media.CodecH265:
			typ, cfg = "hvc1", "hvcC"
		case media.CodecAV1:
			typ, cfg = "av01", "av1C"
		}
		// VisualSampleEntry (14496-12 §12.1.3).
		dst, p = startBox(dst, typ)
		dst = zeros(dst, 6)
		dst = u16(dst, 1) // data_reference_index
		dst = zeros(dst, 16)
		dst = u16(dst, t.width)
		dst = u16(dst, t.height)
		dst = u32(dst, 0x00480000) // 72 dpi
		dst = u32(dst, 0x00480000)
		dst = u32(dst, 0)    // reserved
		dst = u16(dst, 1)    // frame_count
		dst = zeros(dst, 32) // compressorname
		dst = u16(dst, 0x0018)
		dst = u16(dst, 0xffff) // pre_defined = -1
		dst, q = startBox(dst, cfg)
		dst = append(dst, t.config...)
		dst = endBox(dst, q)
		return endBox(dst, p)
	case media.CodecOpus:
		dst, p = t.startAudioEntry(dst, "Opus")
		// dOps: OpusSpecificBox, big-endian fields.
		dst, q = startBox(dst, "dOps")
		dst = append(dst, 0, byte(t.channels))
		dst = u16(dst, t.opus.preSkip)
		dst = u32(dst, t.opus.inputRate)
		dst = u16(dst, uint16(t.opus.gain))
		dst = append(dst, t.opus.family)
		if t.opus.family != 0 {
			dst = append(dst, t.opus.streams, t.opus.coupled)
			dst = append(dst, t.opus.channelMap...)
		}
		dst = endBox(dst, q)
		return endBox(dst, p)
	}
	// AAC and MP3: mp4a with an ES_Descriptor (14496-1 §7.2.6.5).
	dst, p = t.startAudioEntry(dst, "mp4a")
	dst, q = startFullBox(dst, "esds", 0, 0)
	oti, streamType := byte(0x40), byte(0x05<<2|1) // Audio ISO/IEC 14496-3, AudioStream
	if t.codec == media.CodecMP3 {
		oti = 0x6b // Audio ISO/IEC 11172-3
		if t.rate < 32000 {
			oti = 0x69 // Audio ISO/IEC 13818-3
		}
	}
	dsi := 0
	if len(t.config) > 0 {
		dsi = descLen(len(t.config))
	}
	dcd := 13 + dsi
	es := 3 + descLen(dcd) + descLen(1)
	dst = appendDescHeader(dst, 0x03, es)  // ES_DescrTag
	dst = u16(dst, uint16(t.id))           // ES_ID
	dst = append(dst, 0)                   // flags
	dst = appendDescHeader(dst, 0x04, dcd) // DecoderConfigDescrTag
	dst = append(dst, oti, streamType, 0, 0, 0)
	dst = u32(dst, 0) // maxBitrate
	dst = u32(dst, 0) // avgBitrate
	if len(t.config) > 0 {
		dst = appendDescHeader(dst, 0x05, len(t.config)) // DecSpecificInfoTag
		dst = append(dst, t.config...)
	}
	dst = appendDescHeader(dst, 0x06, 1) // SLConfigDescrTag
	dst = append(dst, 2)                 // predefined: MP4
	dst = endBox(dst, q)
	return endBox(dst, p)
}

// startAudioEntry appends an AudioSampleEntry (14496-12 §12.2.3) header.
func (t *track) startAudioEntry(dst []byte, typ string) ([]byte, int) {
	dst, p := startBox(dst, typ)
	dst = zeros(dst, 6)
	dst = u16(dst, 1) // data_reference_index
	dst = zeros(dst, 8)
	dst = u16(dst, t.channels)
	dst = u16(dst, 16) // samplesize
	dst = zeros(dst, 4)
	rate := t.rate
	if rate > 0xffff {
		rate = 0 // does not fit 16.16; the timescale carries it
	}
	return u32(dst, rate<<16), p
}

// descLen returns the size of a descriptor with an n-byte body, header
// included (14496-1 §8.3.3 expandable size).
func descLen(n int) int {
	h := 2
	for v := n >> 7; v > 0; v >>= 7 {
		h++
	}
	return h + n
}

// appendDescHeader appends a descriptor tag and its expandable size.
func appendDescHeader(dst []byte, tag byte, n int) []byte {
	dst = append(dst, tag)
	shift := 0
	for v := n >> 7; v > 0; v >>= 7 {
		shift += 7
	}
	for ; shift > 0; shift -= 7 {
		dst = append(dst, byte(n>>shift)&0x7f|0x80)
	}
	return append(dst, byte(n)&0x7f)
}
