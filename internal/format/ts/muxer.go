package ts

import (
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/srs-lite/srs-lite/internal/format/codec/aac"
	"github.com/srs-lite/srs-lite/internal/format/codec/h264"
	"github.com/srs-lite/srs-lite/internal/format/codec/h265"
	"github.com/srs-lite/srs-lite/internal/media"
)

// maxADTSPayload is the largest raw AAC frame an ADTS header can frame: the
// 13-bit aac_frame_length counts the 7-byte header too.
const maxADTSPayload = 1<<13 - 1 - aac.ADTSHeaderLen

// Access unit delimiters written before every video frame: H.264 §7.3.2.4
// (primary_pic_type 7, any slice type) and H.265 §7.3.2.5 (pic_type 2).
var (
	audH264 = []byte{0, 0, 0, 1, 0x09, 0xf0}
	audH265 = []byte{0, 0, 0, 1, 0x46, 0x01, 0x50}
)

// stuffing holds the 0xFF bytes that fill adaptation fields and PSI packets.
var stuffing = func() (b [PacketSize]byte) {
	for i := range b {
		b[i] = 0xff
	}
	return b
}()

// Muxer writes frames as an MPEG-2 transport stream of one program. The
// zero value is not usable: call NewMuxer. A Muxer keeps the continuity
// counters and the last codec configs, so one Muxer writes one stream from
// start to end (HLS: one per stream, not per segment).
type Muxer struct {
	video, audio media.Codec
	version      uint8 // PMT version_number
	tables       [2 * PacketSize]byte

	patCC, pmtCC, videoCC, audioCC uint8

	// sets holds the parameter sets of the last video config frame in Annex
	// B form (start codes included); setsCodec is their codec.
	sets      []byte
	setsCodec media.Codec
	asc       aac.ASC
	hasASC    bool

	pes []byte // scratch for the PES being written

	key      uint32 // see Key; valid unless keyDirty
	keyDirty bool
}

// NewMuxer returns a Muxer with no tracks declared.
func NewMuxer() *Muxer {
	m := &Muxer{}
	m.buildTables()
	return m
}

// SetTracks declares the elementary streams: video CodecH264, CodecH265 or
// 0 for none, audio CodecAAC, CodecMP3 or 0. Codecs TS cannot carry count as
// none (their frames then fail with ErrUnsupported). A change bumps the PMT
// version_number (ISO 13818-1 §2.4.4.9) so that demuxers pick it up; the
// next AppendTables writes the new PMT.
func (m *Muxer) SetTracks(video, audio media.Codec) {
	if video != media.CodecH264 && video != media.CodecH265 {
		video = 0
	}
	if audio != media.CodecAAC && audio != media.CodecMP3 {
		audio = 0
	}
	if video == m.video && audio == m.audio {
		return
	}
	m.video, m.audio = video, audio
	m.version = (m.version + 1) & 0x1f
	m.buildTables()
	m.keyDirty = true
}

// Key identifies the state that AppendFrame's output depends on besides the
// continuity counters: the tracks, the stored parameter sets and the
// AudioSpecificConfig. Two Muxers with the same Key write the same packets
// for a frame, up to their continuity counters, so that one encoding can be
// shared by many (see AppendShared).
func (m *Muxer) Key() uint32 {
	if m.keyDirty || m.key == 0 {
		var hdr [12]byte
		b := append(hdr[:0], byte(m.video), byte(m.audio), byte(m.setsCodec), 0)
		if m.hasASC {
			b = append(b, 1, byte(m.asc.ObjectType), byte(m.asc.SampleRateIndex), byte(m.asc.ChannelConfig))
			b = binary.BigEndian.AppendUint32(b, uint32(m.asc.SampleRate))
		}
		h := fnv1a(2166136261, b)
		m.key = fnv1a(h, m.sets) | 1 // never 0
		m.keyDirty = false
	}
	return m.key
}

// fnv1a continues a 32-bit FNV-1a hash over b.
func fnv1a(h uint32, b []byte) uint32 {
	for _, c := range b {
		h = (h ^ uint32(c)) * 16777619
	}
	return h
}

// AppendShared appends enc, the packets another Muxer with the same Key
// wrote for a frame with AppendFrame, to dst with this Muxer's continuity
// counters, and returns the extended slice. enc is not modified: the
// payloads are shared and only each packet's counter is rewritten in dst.
func (m *Muxer) AppendShared(dst, enc []byte) []byte {
	at := len(dst)
	dst = append(dst, enc...)
	for b := dst[at:]; len(b) >= PacketSize; b = b[PacketSize:] {
		pid := uint16(b[1]&0x1f)<<8 | uint16(b[2])
		var cc *uint8
		switch pid {
		case pidVideo:
			cc = &m.videoCC
		case pidAudio:
			cc = &m.audioCC
		default:
			continue
		}
		b[3] = b[3]&0xf0 | *cc
		if b[3]&0x10 != 0 { // the counter counts packets with payload
			*cc = (*cc + 1) & 0x0f
		}
	}
	return dst
}

// Tracks returns the declared video and audio codecs (0 for none).
func (m *Muxer) Tracks() (video, audio media.Codec) { return m.video, m.audio }

// pcrPID is the PID whose packets carry the PCR: video when there is a
// video track, else audio.
func (m *Muxer) pcrPID() uint16 {
	switch {
	case m.video != 0:
		return pidVideo
	case m.audio != 0:
		return pidAudio
	}
	return pidNull
}

// buildTables renders the PAT and PMT packets once per track change;
// AppendTables copies them and sets the continuity counters.
func (m *Muxer) buildTables() {
	var streams [2]esInfo
	n := 0
	switch m.video {
	case media.CodecH264:
		streams[n] = esInfo{streamTypeH264, pidVideo}
		n++
	case media.CodecH265:
		streams[n] = esInfo{streamTypeH265, pidVideo}
		n++
	}
	switch m.audio {
	case media.CodecAAC:
		streams[n] = esInfo{streamTypeAAC, pidAudio}
		n++
	case media.CodecMP3:
		streams[n] = esInfo{streamTypeMPEG1Audio, pidAudio}
		n++
	}
	var sec [PacketSize]byte
	b := appendSectionPacket(m.tables[:0], pidPAT, 0, appendPAT(sec[:0]))
	appendSectionPacket(b, pidPMT, 0, appendPMT(sec[:0], m.version, m.pcrPID(), streams[:n]))
}

// AppendTables appends a PAT and a PMT packet (ISO 13818-1 §2.4.4.3,
// §2.4.4.8) to dst and returns the extended slice. Every HLS segment starts
// with them; a live stream repeats them from time to time.
func (m *Muxer) AppendTables(dst []byte) []byte {
	at := len(dst)
	dst = append(dst, m.tables[:]...)
	dst[at+3] = dst[at+3]&0xf0 | m.patCC
	dst[at+PacketSize+3] = dst[at+PacketSize+3]&0xf0 | m.pmtCC
	m.patCC = (m.patCC + 1) & 0x0f
	m.pmtCC = (m.pmtCC + 1) & 0x0f
	return dst
}

// AppendFrame appends the transport packets of one frame to dst and returns
// the extended slice. It does not allocate once dst and the Muxer's scratch
// have grown to the stream's frame sizes.
//
// Config frames (FlagConfig) store the AVC/HEVC decoder configuration
// record's parameter sets or the AudioSpecificConfig and append nothing, as
// do CodecData frames. Video is written as Annex B (H.264 Annex B) with an
// access unit delimiter first and, before every keyframe that does not carry
// them, the stored parameter sets (SPS, PPS; VPS, SPS, PPS for H.265). Raw
// AAC frames get an ADTS header (ISO 14496-3 §1.A.2.2) built from the stored
// AudioSpecificConfig, or from the frame's SampleRate and Channels before
// one arrives.
//
// Each frame is one PES (ISO 13818-1 §2.4.3.6) with its PTS, and its DTS
// when they differ, in 90 kHz units (33 bits, so they wrap every 26.5
// hours). The first packet of the PES carries the PCR (§2.4.3.5, equal to
// the DTS) when its PID is the PCR_PID, and the random_access_indicator
// (§2.4.3.4) on keyframes and, with no video track, on audio frames.
//
// It returns ErrUnsupported for codecs TS cannot carry, ErrNoTrack for a
// codec not declared with SetTracks and ErrInvalid for malformed payloads;
// dst is then returned unchanged.
func (m *Muxer) AppendFrame(dst []byte, f *media.Frame) ([]byte, error) {
	switch f.Codec {
	case media.CodecH264, media.CodecH265:
		if f.IsConfig() {
			return dst, m.setVideoConfig(f)
		}
		if f.Codec != m.video {
			return dst, fmt.Errorf("ts: %v frame with video track %v: %w", f.Codec, m.video, ErrNoTrack)
		}
		return m.appendVideo(dst, f)
	case media.CodecAAC, media.CodecMP3:
		if f.IsConfig() {
			if f.Codec == media.CodecAAC {
				return dst, m.setASC(f)
			}
			return dst, nil
		}
		if f.Codec != m.audio {
			return dst, fmt.Errorf("ts: %v frame with audio track %v: %w", f.Codec, m.audio, ErrNoTrack)
		}
		return m.appendAudio(dst, f)
	case media.CodecData:
		return dst, nil
	}
	return dst, fmt.Errorf("ts: %v frame: %w", f.Codec, ErrUnsupported)
}

// setVideoConfig stores the parameter sets of a decoder configuration
// record as Annex B.
func (m *Muxer) setVideoConfig(f *media.Frame) error {
	if len(f.Payload) == 0 {
		// An empty sequence header (ffmpeg's tee muxer, some cameras): the
		// parameter sets come in-band, and are written as they come.
		return nil
	}
	var sets [3][][]byte
	switch f.Codec {
	case media.CodecH264:
		c, err := h264.ParseConfig(f.Payload)
		if err != nil {
			return fmt.Errorf("ts: %w: %w", ErrInvalid, err)
		}
		sets[0], sets[1] = c.SPS, c.PPS
	case media.CodecH265:
		c, err := h265.ParseConfig(f.Payload)
		if err != nil {
			return fmt.Errorf("ts: %w: %w", ErrInvalid, err)
		}
		sets[0], sets[1], sets[2] = c.VPS, c.SPS, c.PPS
	}
	m.sets = m.sets[:0]
	for _, s := range sets {
		for _, n := range s {
			m.sets = append(m.sets, 0, 0, 0, 1)
			m.sets = append(m.sets, n...)
		}
	}
	m.setsCodec = f.Codec
	m.keyDirty = true
	return nil
}

// setASC stores an AudioSpecificConfig.
func (m *Muxer) setASC(f *media.Frame) error {
	a, err := aac.ParseASC(f.Payload)
	if err != nil {
		return fmt.Errorf("ts: %w: %w", ErrInvalid, err)
	}
	m.asc, m.hasASC = a, true
	m.keyDirty = true
	return nil
}

// appendVideo writes an AVCC access unit as one Annex B PES.
func (m *Muxer) appendVideo(dst []byte, f *media.Frame) ([]byte, error) {
	hevc := f.Codec == media.CodecH265
	hasSets := false
	for b := f.Payload; len(b) > 0; {
		if len(b) < 4 {
			return dst, fmt.Errorf("ts: %v frame: avcc length prefix: %w", f.Codec, ErrInvalid)
		}
		n := binary.BigEndian.Uint32(b)
		if uint64(n) > uint64(len(b)-4) {
			return dst, fmt.Errorf("ts: %v frame: avcc nalu of %d bytes: %w", f.Codec, n, ErrInvalid)
		}
		if n > 0 && isSPS(b[4], hevc) {
			hasSets = true
		}
		b = b[4+n:]
	}
	key := f.IsKey()
	pes := m.appendPESHeader(m.pes[:0], streamIDVideo, f)
	if hevc {
		pes = append(pes, audH265...)
	} else {
		pes = append(pes, audH264...)
	}
	if key && !hasSets && m.setsCodec == f.Codec {
		pes = append(pes, m.sets...)
	}
	for b := f.Payload; len(b) > 0; {
		n := binary.BigEndian.Uint32(b)
		nalu := b[4 : 4+n]
		b = b[4+n:]
		if len(nalu) == 0 || isAUD(nalu[0], hevc) {
			continue
		}
		pes = append(pes, 0, 0, 0, 1)
		pes = append(pes, nalu...)
	}
	m.pes = setPESLength(pes)
	return m.packetize(dst, pidVideo, &m.videoCC, m.pes, m.pcrPID() == pidVideo, key, ticks(f.DTS)), nil
}

// appendAudio writes one audio frame as one PES.
func (m *Muxer) appendAudio(dst []byte, f *media.Frame) ([]byte, error) {
	pes := m.appendPESHeader(m.pes[:0], streamIDAudio, f)
	if f.Codec == media.CodecAAC {
		if len(f.Payload) > maxADTSPayload {
			return dst, fmt.Errorf("ts: AAC frame of %d bytes is over the ADTS limit of %d: %w", len(f.Payload), maxADTSPayload, ErrInvalid)
		}
		if !m.hasASC {
			if f.SampleRate == 0 || f.Channels == 0 {
				return dst, fmt.Errorf("ts: AAC frame before its AudioSpecificConfig (send the config frame first): %w", ErrInvalid)
			}
			rate, ch := int(f.SampleRate), int(f.Channels)
			m.asc = aac.ASC{ObjectType: aac.ObjectLC, CoreObjectType: aac.ObjectLC,
				SampleRateIndex: aac.SampleRateIndex(rate), SampleRate: rate, ChannelConfig: ch, Channels: ch}
			m.hasASC = true
			m.keyDirty = true
		}
		pes = aac.AppendADTS(pes, m.asc, len(f.Payload))
	}
	pes = append(pes, f.Payload...)
	m.pes = setPESLength(pes)
	video := m.video != 0
	return m.packetize(dst, pidAudio, &m.audioCC, m.pes, !video, !video, ticks(f.DTS)), nil
}

func isSPS(hdr byte, hevc bool) bool {
	if hevc {
		return h265.NALUType(hdr>>1&0x3f) == h265.NALUSPS
	}
	return h264.NALUType(hdr&0x1f) == h264.NALUSPS
}

func isAUD(hdr byte, hevc bool) bool {
	if hevc {
		return h265.NALUType(hdr>>1&0x3f) == h265.NALUAUD
	}
	return h264.NALUType(hdr&0x1f) == h264.NALUAUD
}

// pesHeaderLen is the size of a PES header with PTS and DTS.
const pesHeaderLen = 9 + 10

// appendPESHeader appends a PES packet header (ISO 13818-1 §2.4.3.6) with
// the frame's PTS, and its DTS when it differs. PES_packet_length is set by
// setPESLength.
func (m *Muxer) appendPESHeader(dst []byte, streamID byte, f *media.Frame) []byte {
	pts, dts := ticks(f.PTS), ticks(f.DTS)
	if pts < dts {
		pts = dts // a PTS before its DTS cannot be presented: clamp
	}
	// '10', PES_scrambling_control 0, PES_priority 0,
	// data_alignment_indicator 1 (the PES starts with an access unit),
	// copyright 0, original_or_copy 0.
	if pts == dts {
		dst = append(dst, 0, 0, 1, streamID, 0, 0, 0x84, 0x80, 5)
		return appendTimestamp(dst, 0x2, pts)
	}
	dst = append(dst, 0, 0, 1, streamID, 0, 0, 0x84, 0xc0, 10)
	dst = appendTimestamp(dst, 0x3, pts)
	return appendTimestamp(dst, 0x1, dts)
}

// setPESLength fills in PES_packet_length, or 0 (unbounded, allowed for
// video only) when the packet is over 65535 bytes.
func setPESLength(pes []byte) []byte {
	n := len(pes) - 6
	if n > 0xffff {
		n = 0
	}
	binary.BigEndian.PutUint16(pes[4:], uint16(n))
	return pes
}

// appendTimestamp appends a 33-bit PTS or DTS as 5 bytes with its 4-bit
// prefix and marker bits (ISO 13818-1 §2.4.3.7).
func appendTimestamp(dst []byte, prefix byte, t int64) []byte {
	v := uint64(t) & tsMask
	return append(dst,
		prefix<<4|byte(v>>29)&0x0e|1,
		byte(v>>22),
		byte(v>>14)&0xfe|1,
		byte(v>>7),
		byte(v<<1)|1,
	)
}

// appendPCR appends a program_clock_reference (ISO 13818-1 §2.4.3.5): the
// 33-bit base in 90 kHz, 6 reserved bits and a 9-bit extension of 0.
func appendPCR(dst []byte, t int64) []byte {
	v := uint64(t) & tsMask
	return append(dst, byte(v>>25), byte(v>>17), byte(v>>9), byte(v>>1), byte(v<<7)|0x7e, 0)
}

// packetize splits a PES into transport packets (ISO 13818-1 §2.4.3.2):
// payload_unit_start_indicator on the first, the continuity_counter of the
// PID incremented on each, and the adaptation field (§2.4.3.4) carrying the
// PCR and the random_access_indicator on the first packet and stuffing on
// the last when the payload does not fill it.
func (m *Muxer) packetize(dst []byte, pid uint16, cc *uint8, pes []byte, withPCR, rai bool, pcr int64) []byte {
	dst = slices.Grow(dst, (len(pes)/(PacketSize-4)+2)*PacketSize)
	first := true
	for len(pes) > 0 {
		need := 0 // adaptation field bytes needed before stuffing
		if first && (withPCR || rai) {
			need = 2
			if withPCR {
				need += 6
			}
		}
		n := min(PacketSize-4-need, len(pes))
		af := PacketSize - 4 - n
		b1 := byte(pid>>8) & 0x1f
		if first {
			b1 |= 0x40
		}
		afc := byte(0x10) // payload only
		if af > 0 {
			afc = 0x30 // adaptation field and payload
		}
		dst = append(dst, syncByte, b1, byte(pid), afc|*cc)
		*cc = (*cc + 1) & 0x0f
		if af > 0 {
			dst = append(dst, byte(af-1)) // adaptation_field_length
			if af > 1 {
				flags, used := byte(0), 2
				if first && rai {
					flags |= 0x40
				}
				if first && withPCR {
					flags |= 0x10
					used += 6
				}
				dst = append(dst, flags)
				if first && withPCR {
					dst = appendPCR(dst, pcr)
				}
				dst = append(dst, stuffing[:af-used]...)
			}
		}
		dst = append(dst, pes[:n]...)
		pes = pes[n:]
		first = false
	}
	return dst
}
