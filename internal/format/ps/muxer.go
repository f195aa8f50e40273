package ps

import (
	"encoding/binary"
	"fmt"

	"github.com/srs-lite/srs-lite/internal/format/codec/aac"
	"github.com/srs-lite/srs-lite/internal/format/codec/h264"
	"github.com/srs-lite/srs-lite/internal/format/codec/h265"
	"github.com/srs-lite/srs-lite/internal/media"
)

// muxRate is the program_mux_rate of the pack header, in units of 50
// bytes/s: 20 Mbit/s, above any camera stream.
const muxRate = 20_000_000 / 8 / 50

// maxPESPayload is the most ES bytes one PES carries: PES_packet_length is
// 16 bits and counts the 3 fixed header bytes and up to 10 timestamp bytes.
const maxPESPayload = 65535 - 3 - 10

// Muxer writes frames as a program stream the way GB28181 cameras do: every
// frame in a pack of its own, the system header and program stream map
// before each keyframe (and the first frame), video as Annex B with the parameter sets in front
// of keyframes, split into PES packets of at most 64 KB (the first one
// with the PTS and DTS), AAC with an ADTS header, G.711 as is.
type Muxer struct {
	video, audio media.Codec
	params       []byte // Annex B parameter sets of the last video config
	asc          aac.ASC
	haveASC      bool
	version      uint8 // of the program stream map
	started      bool  // the headers were written once
	es           []byte
}

// NewMuxer returns a Muxer. The program stream map lists the tracks seen
// so far, or the ones given to SetTracks.
func NewMuxer() *Muxer { return &Muxer{} }

// SetTracks declares the video and audio codecs (0 for none) of the program
// stream map.
func (m *Muxer) SetTracks(video, audio media.Codec) {
	m.video, m.audio = video, audio
}

// AppendFrame appends f as program stream bytes to dst and returns the
// extended slice. A config frame is kept for the frames after it and
// appends nothing. dst's bytes for one frame are what a camera puts in the
// RTP packets of that frame.
func (m *Muxer) AppendFrame(dst []byte, f *media.Frame) ([]byte, error) {
	if typeOf(f.Codec) == 0 {
		return dst, fmt.Errorf("%w: %v", ErrCodec, f.Codec)
	}
	if f.IsConfig() {
		return dst, m.config(f)
	}
	if f.Codec.IsVideo() {
		if m.video != f.Codec {
			m.video = f.Codec
			m.version++
		}
		scr := Ticks(f.DTS)
		dst = appendPack(dst, scr)
		if f.IsKey() || !m.started {
			dst = m.appendHeaders(dst)
		}
		es := append(m.es[:0], 0, 0, 0, 1)
		if f.Codec == media.CodecH264 {
			es = append(es, 0x09, 0xf0) // access unit delimiter
		} else {
			es = append(es, 0x46, 0x01, 0x50)
		}
		if f.IsKey() {
			es = append(es, m.params...)
		}
		es = h264.AVCCToAnnexB(es, f.Payload)
		m.es = es
		return appendPES(dst, idVideo, es, Ticks(f.PTS), scr), nil
	}
	if m.audio != f.Codec {
		m.audio = f.Codec
		m.version++
	}
	es := f.Payload
	if f.Codec == media.CodecAAC {
		if !m.haveASC {
			return dst, fmt.Errorf("%w: AAC before its AudioSpecificConfig", ErrCodec)
		}
		m.es = aac.AppendADTS(m.es[:0], m.asc, len(f.Payload))
		m.es = append(m.es, f.Payload...)
		es = m.es
	}
	t := Ticks(f.DTS)
	dst = appendPack(dst, t)
	if !m.started {
		dst = m.appendHeaders(dst)
	}
	return appendPES(dst, idAudio, es, t, t), nil
}

// config keeps a sequence header.
func (m *Muxer) config(f *media.Frame) error {
	switch f.Codec {
	case media.CodecH264:
		c, err := h264.ParseConfig(f.Payload)
		if err != nil {
			return err
		}
		m.params = appendSets(m.params[:0], c.SPS, c.PPS)
	case media.CodecH265:
		c, err := h265.ParseConfig(f.Payload)
		if err != nil {
			return err
		}
		m.params = appendSets(m.params[:0], c.VPS, c.SPS, c.PPS)
	case media.CodecAAC:
		a, err := aac.ParseASC(f.Payload)
		if err != nil {
			return err
		}
		m.asc, m.haveASC = a, true
	}
	if f.Codec.IsVideo() && m.video != f.Codec {
		m.video = f.Codec
		m.version++
	}
	if f.Codec.IsAudio() && m.audio != f.Codec {
		m.audio = f.Codec
		m.version++
	}
	return nil
}

func appendSets(b []byte, lists ...[][]byte) []byte {
	for _, l := range lists {
		for _, n := range l {
			b = append(b, 0, 0, 0, 1)
			b = append(b, n...)
		}
	}
	return b
}

// appendPack appends an MPEG-2 pack header (ISO 13818-1 §2.5.3.3) with the
// system clock reference scr (90 kHz) and no stuffing.
func appendPack(b []byte, scr int64) []byte {
	scr &= tsMask
	const ext = 0
	return append(b, 0, 0, 1, idPack,
		0x40|byte(scr>>27)&0x38|0x04|byte(scr>>28)&0x03,
		byte(scr>>20),
		byte(scr>>12)&0xf8|0x04|byte(scr>>13)&0x03,
		byte(scr>>5),
		byte(scr<<3)&0xf8|0x04|byte(ext>>7)&0x03,
		byte(ext<<1)|1,
		byte(muxRate>>14&0xff), byte(muxRate>>6&0xff), byte(muxRate<<2&0xff)|3,
		0xf8) // reserved, pack_stuffing_length 0
}

// appendHeaders appends the system header (ISO 13818-1 §2.5.3.5) and the
// program stream map (§2.5.4) of the declared tracks.
func (m *Muxer) appendHeaders(b []byte) []byte {
	var ids [2]byte
	var types [2]byte
	n := 0
	if t := typeOf(m.video); t != 0 {
		ids[n], types[n] = idVideo, t
		n++
	}
	if t := typeOf(m.audio); t != 0 {
		ids[n], types[n] = idAudio, t
		n++
	}
	m.started = true
	// System header.
	const rateBound = muxRate
	b = append(b, 0, 0, 1, idSystem, 0, byte(6+3*n),
		0x80|byte(rateBound>>15), byte(rateBound>>7&0xff), byte(rateBound<<1&0xff)|1,
		1<<2, // audio_bound 1, fixed_flag 0, CSPS_flag 0
		0xe1, // system_audio_lock, system_video_lock, marker, video_bound 1
		0x7f) // packet_rate_restriction_flag 0, reserved
	for i := range n {
		if ids[i] == idVideo {
			b = append(b, idVideo, 0xe0|1024>>8, 1024&0xff) // scale 1: 1024 KB
		} else {
			b = append(b, idAudio, 0xc0, 32) // scale 0: 32 x 128 B
		}
	}
	// Program stream map.
	start := len(b)
	psmLen := 10 + 4*n
	b = append(b, 0, 0, 1, idPSM, byte(psmLen>>8), byte(psmLen),
		0x80|m.version&0x1f, // current_next_indicator, version
		0xff,                // reserved, marker
		0, 0,                // program_stream_info_length
		0, byte(4*n)) // elementary_stream_map_length
	for i := range n {
		b = append(b, types[i], ids[i], 0, 0)
	}
	return binary.BigEndian.AppendUint32(b, crc32(b[start:]))
}

// appendPES appends es as PES packets of stream id (ISO 13818-1 §2.4.3.6),
// the first one with the PTS and, when it differs, the DTS.
func appendPES(b []byte, id byte, es []byte, pts, dts int64) []byte {
	first := true
	for first || len(es) > 0 {
		hl := 0
		if first {
			hl = 5
			if dts != pts {
				hl = 10
			}
		}
		n := min(len(es), maxPESPayload)
		l := 3 + hl + n
		flags := byte(0)
		if first {
			flags = 0x80
			if hl == 10 {
				flags = 0xc0
			}
		}
		b = append(b, 0, 0, 1, id, byte(l>>8), byte(l), 0x80, flags, byte(hl))
		if first {
			if hl == 10 {
				b = appendTimestamp(b, 3, pts)
				b = appendTimestamp(b, 1, dts)
			} else {
				b = appendTimestamp(b, 2, pts)
			}
		}
		b = append(b, es[:n]...)
		es = es[n:]
		first = false
	}
	return b
}
