package ts

import (
	"bytes"
	"encoding/binary"
	"time"

	"github.com/srs-lite/srs-lite/internal/format/codec"
	"github.com/srs-lite/srs-lite/internal/format/codec/aac"
	"github.com/srs-lite/srs-lite/internal/media"
)

// maxPES bounds the bytes a PES may gather; a larger one (garbage, or a
// stream that never starts a new PES) is dropped.
const maxPES = 16 << 20

// maxSection bounds a PSI section: section_length is at most 1021 for the
// PAT and PMT (ISO 13818-1 §2.4.4.3, §2.4.4.8).
const maxSection = 3 + 1021

// maxCarry bounds the bytes of an audio frame carried from one PES into the
// next: an ADTS frame is at most 8191 bytes, an MPEG audio frame less.
const maxCarry = 8192

// Demuxer reads an MPEG-2 transport stream and emits its frames. It follows
// the first program of the PAT and the first supported video (H.264,
// H.265) and audio (AAC in ADTS, MPEG-1/2 audio layer III) stream of its
// PMT; other streams are skipped. It never returns an error for malformed
// input: broken packets, sections and PES are dropped, and a PES that lost
// packets (a continuity_counter gap, ISO 13818-1 §2.4.3.3) is dropped
// whole.
type Demuxer struct {
	emit func(f *media.Frame) error

	// OnPMT, when set, is called with the video and audio codecs of each
	// new PMT's streams (0: none), before any frame of them: a publisher
	// declares its tracks from it.
	OnPMT func(video, audio media.Codec)

	in    [8 * PacketSize]byte // input not yet split into packets
	inLen int
	// aligned: the current Write started on a packet boundary and carries
	// whole packets; lost: bytes were skipped since the last packet checked
	// by the sync byte of the next one. Aligned input that is not lost has
	// its last packet taken at once.
	aligned, lost bool

	program    int // program_number followed, -1 before the PAT
	pmtPID     int // -1 before the PAT
	pmtVersion int // -1 before the PMT
	pat, pmt   psiBuf

	video, audio pesStream

	haveTS bool
	lastTS int64 // last DTS in unwrapped 90 kHz ticks

	frame media.Frame
	out   []byte // scratch for AVCC access units and carried audio
	sets  []byte // scratch for the parameter sets of the current access unit
}

// psiBuf gathers the sections of one PSI PID.
type psiBuf struct {
	cc      int8 // last continuity_counter, -1 when unknown
	started bool
	buf     []byte
}

// pesStream is the state of one elementary stream.
type pesStream struct {
	pid     int // -1 when the PMT has no such stream
	codec   media.Codec
	cc      int8
	started bool // buf holds the start of a PES
	want    int  // 6+PES_packet_length; 0 while unknown, -1 when unbounded
	buf     []byte

	// Timing: the last DTS (video) or the PTS of the next frame (audio).
	last, next time.Duration
	haveLast   bool

	cfgSent bool
	cfgKey  uint32 // AAC: object type, rate index and channel config of cfg
	sets    []byte // video: the parameter sets of the last config frame
	carry   []byte // audio: an incomplete frame at the end of the last PES
}

func (s *pesStream) reset(pid int, codec media.Codec) {
	*s = pesStream{pid: pid, codec: codec, cc: -1,
		buf: s.buf[:0], sets: s.sets[:0], carry: s.carry[:0]}
}

// drop forgets the PES in progress.
func (s *pesStream) drop() {
	s.started, s.want = false, 0
	s.buf = s.buf[:0]
	s.carry = s.carry[:0]
}

// NewDemuxer returns a Demuxer that calls emit for each complete frame, in
// stream order. The frame and its payload are valid only until emit
// returns: a caller that keeps it calls f.Own(). An error from emit is
// returned by the Write or Flush that called it.
//
// H.264 and H.265 frames come out as AVCC access units without access unit
// delimiters and parameter sets, with FlagKey on IDR (H.264) and IRAP
// (H.265) pictures. A FlagConfig frame holding the decoder configuration
// record comes before the first frame and again whenever the parameter sets
// change; video before the first parameter sets is dropped. AAC comes out as
// one raw frame per ADTS frame, after a FlagConfig AudioSpecificConfig
// frame that is repeated when the ADTS parameters change; MP3 as one frame
// per MPEG audio frame. Audio frames carry SampleRate and Channels.
//
// Timestamps are the PES PTS and DTS (ISO 13818-1 §2.4.3.7) converted to
// time.Duration, unwrapped past the 33-bit limit so that they keep
// increasing; the frames after the first within an audio PES are stamped
// from the sample count.
func NewDemuxer(emit func(f *media.Frame) error) *Demuxer {
	d := &Demuxer{emit: emit, program: -1, pmtPID: -1, pmtVersion: -1}
	d.pat.cc, d.pmt.cc = -1, -1
	d.video.reset(-1, 0)
	d.audio.reset(-1, 0)
	return d
}

// Write feeds transport stream bytes, in chunks of any size (1316-byte SRT
// payloads, single bytes, whole files). A packet is checked by the sync
// byte of the next one, which skips garbage and resyncs after lost bytes;
// the last packet of aligned input (whole packets, as SRT and UDP carry
// them) is taken at once, without waiting for the next one. It returns
// len(p) and the first error of emit, if any.
func (d *Demuxer) Write(p []byte) (int, error) {
	n := len(p)
	d.aligned = d.inLen == 0 && n%PacketSize == 0
	for len(p) > 0 {
		k := copy(d.in[d.inLen:], p)
		d.inLen += k
		p = p[k:]
		if err := d.drain(false); err != nil {
			return n, err
		}
	}
	return n, nil
}

// Flush ends the input: it emits the frames of the last PES of each stream
// (a video PES of unbounded length ends only at the next one). Audio bytes
// of an incomplete frame are dropped. The Demuxer may be written to again
// afterwards.
func (d *Demuxer) Flush() error {
	err := d.drain(true)
	d.inLen = 0
	for _, s := range []*pesStream{&d.video, &d.audio} {
		if s.started && s.want < 0 && err == nil { // a PES of known length ended already or is cut
			err = d.finishPES(s)
		}
		s.drop()
	}
	return err
}

// drain splits the buffered input into packets (ISO 13818-1 §2.4.3.2). A
// packet is taken when the sync byte of the next one follows it, so that
// garbage, or bytes lost inside a packet, cost the damaged packets only. The
// last buffered packet is taken at once when the Write was aligned (whole
// packets) and nothing was skipped since the last checked packet; else it
// waits for the next Write, or for Flush (final).
func (d *Demuxer) drain(final bool) error {
	b := d.in[:d.inLen]
	var err error
	for len(b) > 0 {
		if b[0] != syncByte {
			d.lost = true
			i := bytes.IndexByte(b, syncByte)
			if i < 0 {
				b = b[len(b):]
				break
			}
			b = b[i:]
			continue
		}
		if len(b) < PacketSize || len(b) == PacketSize && !final && (d.lost || !d.aligned) {
			break
		}
		if len(b) > PacketSize && b[PacketSize] != syncByte {
			d.lost = true
			b = b[1:] // not a packet boundary: look for the next sync byte
			continue
		}
		if len(b) > PacketSize {
			d.lost = false // checked by the next sync byte
		}
		err = d.packet(b[:PacketSize])
		b = b[PacketSize:]
		if err != nil {
			break
		}
	}
	d.inLen = copy(d.in[:], b)
	return err
}

// packet handles one transport packet (ISO 13818-1 §2.4.3.2, adaptation
// field §2.4.3.4).
func (d *Demuxer) packet(p []byte) error {
	if p[1]&0x80 != 0 { // transport_error_indicator
		return nil
	}
	pusi := p[1]&0x40 != 0
	pid := int(p[1]&0x1f)<<8 | int(p[2])
	afc := p[3] >> 4 & 3
	cc := int8(p[3] & 0x0f)
	if afc&1 == 0 { // no payload: adaptation field only, or reserved
		return nil
	}
	payload := p[4:]
	disc, stuffed := false, false
	if afc == 3 {
		n := int(p[4])
		if n > 182 {
			return nil
		}
		stuffed = n == 0 // a single stuffing byte
		if n > 0 {
			disc = p[5]&0x80 != 0 // discontinuity_indicator
			stuffed = afStuffed(p[5 : 5+n])
		}
		payload = p[5+n:]
	}
	switch {
	case pid == pidPAT:
		if ok, dup := checkCC(&d.pat.cc, cc, disc); !dup {
			d.psi(&d.pat, pid, pusi, ok, payload)
		}
	case pid == d.pmtPID:
		if ok, dup := checkCC(&d.pmt.cc, cc, disc); !dup {
			d.psi(&d.pmt, pid, pusi, ok, payload)
		}
	case pid == d.video.pid:
		if ok, dup := checkCC(&d.video.cc, cc, disc); !dup {
			return d.pes(&d.video, pusi, ok, stuffed, payload)
		}
	case pid == d.audio.pid:
		if ok, dup := checkCC(&d.audio.cc, cc, disc); !dup {
			return d.pes(&d.audio, pusi, ok, stuffed, payload)
		}
	}
	return nil
}

// afStuffed reports whether an adaptation field (its bytes after the
// length, ISO 13818-1 §2.4.3.4) ends with stuffing bytes: what its flags
// announce does not fill it. Muxers stuff the last packet of a PES, whose
// payload does not fill a packet.
func afStuffed(af []byte) bool {
	flags := af[0]
	used := 1
	if flags&0x10 != 0 { // PCR
		used += 6
	}
	if flags&0x08 != 0 { // OPCR
		used += 6
	}
	if flags&0x04 != 0 { // splice_countdown
		used++
	}
	if flags&0x02 != 0 { // transport_private_data
		if used >= len(af) {
			return false
		}
		used += 1 + int(af[used])
	}
	if flags&0x01 != 0 { // adaptation_field_extension
		if used >= len(af) {
			return false
		}
		used += 1 + int(af[used])
	}
	return used < len(af)
}

// checkCC checks the continuity_counter of a packet with payload (ISO
// 13818-1 §2.4.3.3): ok is false after lost packets, dup is true for a
// duplicate packet, which is skipped.
func checkCC(last *int8, cc int8, disc bool) (ok, dup bool) {
	prev := *last
	*last = cc
	switch {
	case prev < 0 || disc:
		return true, false
	case cc == prev:
		return true, true
	}
	return cc == (prev+1)&0x0f, false
}

// psi gathers the sections of a PSI PID (ISO 13818-1 §2.4.4.1, §2.4.4.2):
// a packet that starts a section has a pointer_field, and the bytes before
// the pointed-to section finish the previous one.
func (d *Demuxer) psi(s *psiBuf, pid int, pusi, ok bool, payload []byte) {
	if !ok {
		s.started, s.buf = false, s.buf[:0]
	}
	if pusi {
		if len(payload) < 1 {
			return
		}
		ptr := int(payload[0])
		payload = payload[1:]
		if ptr > len(payload) {
			s.started, s.buf = false, s.buf[:0]
			return
		}
		if s.started {
			s.buf = append(s.buf, payload[:ptr]...)
			d.sections(s, pid)
		}
		s.buf = append(s.buf[:0], payload[ptr:]...)
		s.started = true
	} else {
		if !s.started {
			return
		}
		s.buf = append(s.buf, payload...)
	}
	d.sections(s, pid)
}

// sections handles the complete sections at the start of s.buf.
func (d *Demuxer) sections(s *psiBuf, pid int) {
	for s.started && len(s.buf) >= 3 {
		b := s.buf
		if b[0] == 0xff { // stuffing: no more sections in this packet
			s.started, s.buf = false, b[:0]
			return
		}
		n := 3 + int(binary.BigEndian.Uint16(b[1:])&0x0fff)
		if n > maxSection {
			s.started, s.buf = false, b[:0]
			return
		}
		if len(b) < n {
			return
		}
		if sec, ok := parseSection(b[:n]); ok && sec.current {
			switch {
			case pid == pidPAT && sec.tableID == tableIDPAT:
				d.handlePAT(sec)
			case pid == d.pmtPID && sec.tableID == tableIDPMT && int(sec.idExt) == d.program:
				d.handlePMT(sec)
			}
		}
		s.buf = b[:copy(b, b[n:])]
	}
}

// handlePAT follows the first program of a program_association_section
// (ISO 13818-1 §2.4.4.3).
func (d *Demuxer) handlePAT(sec section) {
	for b := sec.body; len(b) >= 4; b = b[4:] {
		prog := int(binary.BigEndian.Uint16(b))
		pid := int(binary.BigEndian.Uint16(b[2:]) & 0x1fff)
		if prog == 0 { // network_PID
			continue
		}
		if pid == pidPAT || pid == pidNull {
			return
		}
		if prog != d.program || pid != d.pmtPID {
			d.program, d.pmtPID, d.pmtVersion = prog, pid, -1
			d.pmt = psiBuf{cc: -1, buf: d.pmt.buf[:0]}
		}
		return
	}
}

// handlePMT picks the first video and audio stream of a
// TS_program_map_section (ISO 13818-1 §2.4.4.8).
func (d *Demuxer) handlePMT(sec section) {
	if int(sec.version) == d.pmtVersion {
		return
	}
	b := sec.body
	if len(b) < 4 {
		return
	}
	info := int(binary.BigEndian.Uint16(b[2:]) & 0x0fff)
	if 4+info > len(b) {
		return
	}
	d.pmtVersion = int(sec.version)
	b = b[4+info:]
	vpid, apid := -1, -1
	var vcodec, acodec media.Codec
	for len(b) >= 5 {
		typ := b[0]
		pid := int(binary.BigEndian.Uint16(b[1:]) & 0x1fff)
		n := int(binary.BigEndian.Uint16(b[3:]) & 0x0fff)
		if 5+n > len(b) {
			break
		}
		b = b[5+n:]
		if pid == pidPAT || pid == d.pmtPID || pid == pidNull {
			continue
		}
		switch c := codecOf(typ); {
		case c.IsVideo() && vpid < 0 && pid != apid:
			vpid, vcodec = pid, c
		case c.IsAudio() && apid < 0 && pid != vpid:
			apid, acodec = pid, c
		}
	}
	if vpid != d.video.pid || vcodec != d.video.codec {
		d.video.reset(vpid, vcodec)
	}
	if apid != d.audio.pid || acodec != d.audio.codec {
		d.audio.reset(apid, acodec)
	}
	if d.OnPMT != nil {
		d.OnPMT(vcodec, acodec)
	}
}

// codecOf maps a stream_type (ISO 13818-1 Table 2-34) to a codec, 0 for the
// ones not demuxed.
func codecOf(streamType uint8) media.Codec {
	switch streamType {
	case streamTypeH264:
		return media.CodecH264
	case streamTypeH265:
		return media.CodecH265
	case streamTypeAAC:
		return media.CodecAAC
	case streamTypeMPEG1Audio, streamTypeMPEG2Audio:
		return media.CodecMP3
	}
	return 0
}

// pes gathers the packets of one PES (ISO 13818-1 §2.4.3.6). A PES ends
// when its PES_packet_length is reached or, when that is 0, at a packet
// stuffed short (stuffed: the muxer's last packet of the PES, so the frame
// goes on at once rather than one frame interval later), or else at the
// next payload_unit_start_indicator.
func (d *Demuxer) pes(s *pesStream, pusi, ok, stuffed bool, payload []byte) error {
	if !ok {
		s.drop()
	}
	if pusi {
		if s.started {
			if err := d.finishPES(s); err != nil {
				return err
			}
		}
		s.started, s.want = true, 0
		s.buf = append(s.buf[:0], payload...)
	} else {
		if !s.started {
			return nil
		}
		if len(s.buf)+len(payload) > maxPES {
			s.drop()
			return nil
		}
		s.buf = append(s.buf, payload...)
	}
	if s.want == 0 && len(s.buf) >= 6 {
		if n := int(binary.BigEndian.Uint16(s.buf[4:])); n > 0 {
			s.want = 6 + n
		} else {
			s.want = -1 // unbounded
		}
	}
	if s.want > 0 && len(s.buf) >= s.want {
		s.buf = s.buf[:s.want]
		return d.finishPES(s)
	}
	if s.want < 0 && stuffed && s.started {
		return d.finishPES(s)
	}
	return nil
}

// finishPES parses the PES header and emits the frames of its payload.
func (d *Demuxer) finishPES(s *pesStream) error {
	s.started, s.want = false, 0
	h, ok := parsePES(s.buf)
	if !ok {
		s.carry = s.carry[:0]
		return nil
	}
	var pts, dts time.Duration
	if h.hasPTS {
		dtsTicks := h.pts
		if h.hasDTS {
			dtsTicks = h.dts
		}
		u := d.unwrap(dtsTicks)
		dts = duration(u)
		pts = duration(u + max(signed33(h.pts-dtsTicks), 0)) // a PTS before its DTS is invalid: clamp
	}
	switch s.codec {
	case media.CodecH264, media.CodecH265:
		if !h.hasPTS {
			if !s.haveLast {
				return nil
			}
			dts, pts = s.last, s.last
		}
		s.last, s.haveLast = dts, true
		return d.videoPES(s, h.payload, dts, pts)
	case media.CodecAAC, media.CodecMP3:
		return d.audioPES(s, h.payload, pts, h.hasPTS)
	}
	return nil
}

// pesHeader is the part of a PES header the demuxer uses.
type pesHeader struct {
	pts, dts       int64 // 33-bit values
	hasPTS, hasDTS bool
	payload        []byte
}

// parsePES parses a PES packet header (ISO 13818-1 §2.4.3.6, §2.4.3.7).
func parsePES(b []byte) (h pesHeader, ok bool) {
	if len(b) < 9 || b[0] != 0 || b[1] != 0 || b[2] != 1 {
		return h, false
	}
	if b[6]&0xc0 != 0x80 { // '10': streams without the optional header carry no media here
		return h, false
	}
	flags := b[7] >> 6
	n := int(b[8])
	if 9+n > len(b) {
		return h, false
	}
	opt := b[9 : 9+n]
	if flags&2 != 0 && len(opt) >= 5 {
		h.pts, h.hasPTS = readTimestamp(opt), true
		if flags == 3 && len(opt) >= 10 {
			h.dts, h.hasDTS = readTimestamp(opt[5:]), true
		}
	}
	h.payload = b[9+n:]
	return h, true
}

// readTimestamp reads a 33-bit PTS or DTS (ISO 13818-1 §2.4.3.7); the
// marker bits are not checked.
func readTimestamp(b []byte) int64 {
	return int64(b[0]>>1&7)<<30 | int64(b[1])<<22 | int64(b[2]>>1)<<15 | int64(b[3])<<7 | int64(b[4]>>1)
}

// signed33 maps a 33-bit difference to [-2^32, 2^32).
func signed33(v int64) int64 {
	v &= tsMask
	if v >= 1<<32 {
		v -= 1 << 33
	}
	return v
}

// unwrap turns a 33-bit timestamp into ticks on a line that keeps
// increasing past the wraparound: the value nearest to the last one.
func (d *Demuxer) unwrap(v int64) int64 {
	if !d.haveTS {
		d.haveTS, d.lastTS = true, v&tsMask
		return d.lastTS
	}
	d.lastTS += signed33(v - d.lastTS)
	return d.lastTS
}

// videoPES turns an Annex B access unit into an AVCC frame, with a config
// frame first when its parameter sets are new.
func (d *Demuxer) videoPES(s *pesStream, es []byte, dts, pts time.Duration) error {
	hevc := s.codec == media.CodecH265
	out, sets, key, complete := codec.AnnexBToAVCC(es, hevc, d.out[:0], d.sets[:0])
	d.out, d.sets = out, sets
	if complete && (!s.cfgSent || !bytes.Equal(sets, s.sets)) {
		s.sets = append(s.sets[:0], sets...)
		s.cfgSent = true
		d.frame = media.Frame{DTS: dts, PTS: dts, Codec: s.codec, Flags: media.FlagConfig,
			Payload: codec.VideoConfig(s.sets, hevc)}
		if err := d.emit(&d.frame); err != nil {
			return err
		}
	}
	if !s.cfgSent || len(out) == 0 {
		return nil
	}
	d.frame = media.Frame{DTS: dts, PTS: pts, Codec: s.codec, Payload: out}
	if key {
		d.frame.Flags = media.FlagKey
	}
	return d.emit(&d.frame)
}

// audioPES splits an audio PES into frames: ADTS frames (ISO 14496-3
// §1.A.2) for AAC, MPEG audio frames (ISO 11172-3 §2.4.1.3, ISO 13818-3)
// for MP3. A frame cut by the end of the PES is completed from the next
// one. The first frame that starts in this PES gets its PTS, the others the
// PTS of the frame before plus its duration. Bytes that do not start a
// frame are skipped up to the next syncword.
func (d *Demuxer) audioPES(s *pesStream, es []byte, pts time.Duration, hasPTS bool) error {
	if !hasPTS && !s.haveLast {
		s.carry = s.carry[:0]
		return nil
	}
	s.haveLast = true
	b := es
	start := 0 // offset in b of the bytes of this PES
	if len(s.carry) > 0 {
		d.out = append(append(d.out[:0], s.carry...), es...)
		b, start = d.out, len(s.carry)
		s.carry = s.carry[:0]
	}
	ptsUsed := !hasPTS
	for i := 0; i < len(b); {
		if b[i] != 0xff {
			j := bytes.IndexByte(b[i:], 0xff)
			if j < 0 {
				break
			}
			i += j
		}
		if !ptsUsed && i >= start {
			s.next, ptsUsed = pts, true
		}
		rest := b[i:]
		if len(rest) < 4 || s.codec == media.CodecAAC && len(rest) < aac.ADTSHeaderLen {
			if len(rest) < 2 || rest[1]&0xe0 == 0xe0 {
				s.carry = append(s.carry[:0], rest...) // a header cut by the end of the PES
			}
			break
		}
		var (
			hlen, flen, rate, samples int
			ch                        uint8
			key                       uint32
			skip                      bool
		)
		if s.codec == media.CodecAAC {
			if rest[1]&0xf6 != 0xf0 {
				i++
				continue
			}
			h, n, err := aac.ParseADTS(rest)
			if err != nil {
				i++
				continue
			}
			hlen, flen, rate, ch, samples = h.HeaderLen, n, h.SampleRate, uint8(h.Channels), 1024
			key = uint32(h.ObjectType)<<16 | uint32(h.SampleRateIndex)<<8 | uint32(h.ChannelConfig)
			skip = h.RawBlocks != 1 // several raw_data_blocks in one frame: not supported
		} else {
			h, ok := parseMPA(rest)
			if !ok {
				i++
				continue
			}
			flen, rate, ch, samples = h.frameLen, h.rate, h.channels, h.samples
			skip = h.layer != 3 // layer I or II: not supported
		}
		if flen > len(rest) {
			if len(rest) <= maxCarry {
				s.carry = append(s.carry[:0], rest...)
			}
			break
		}
		if !skip {
			if err := d.audioFrame(s, rest[hlen:flen], rate, ch, key); err != nil {
				return err
			}
		}
		s.next += time.Duration(samples) * time.Second / time.Duration(rate)
		i += flen
	}
	return nil
}

// audioFrame emits one audio frame, after an AudioSpecificConfig frame when
// the AAC parameters are new.
func (d *Demuxer) audioFrame(s *pesStream, payload []byte, rate int, ch uint8, key uint32) error {
	if s.codec == media.CodecAAC && (!s.cfgSent || key != s.cfgKey) {
		s.cfgSent, s.cfgKey = true, key
		d.frame = media.Frame{DTS: s.next, PTS: s.next, Codec: s.codec, Flags: media.FlagConfig,
			SampleRate: uint32(rate), Channels: ch,
			Payload: aac.BuildASC(int(key>>16), rate, int(ch))}
		if err := d.emit(&d.frame); err != nil {
			return err
		}
	}
	d.frame = media.Frame{DTS: s.next, PTS: s.next, Codec: s.codec,
		SampleRate: uint32(rate), Channels: ch, Payload: payload}
	return d.emit(&d.frame)
}
