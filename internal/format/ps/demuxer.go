package ps

import (
	"bytes"
	"encoding/binary"
	"time"

	"github.com/srs-lite/srs-lite/internal/format/codec"
	"github.com/srs-lite/srs-lite/internal/format/codec/aac"
	"github.com/srs-lite/srs-lite/internal/format/codec/h264"
	"github.com/srs-lite/srs-lite/internal/media"
)

// Where the body bytes of the current unit go.
const (
	toSkip = iota
	toVideo
	toAudio
)

// codecSniff marks an audio stream whose codec the first payload decides.
const codecSniff media.Codec = 0xff

// inSize is the header buffer: the largest header is a program stream map
// (6+1018 bytes); a PES header is at most 9+255.
const inSize = 2048

// Stats counts what a Demuxer has seen.
type Stats struct {
	Packs   uint64 // pack headers
	Frames  uint64 // frames emitted, config frames not counted
	Errors  uint64 // malformed headers, unsupported PES, oversized frames
	Resyncs uint64 // times garbage was skipped to the next start code
	Skipped uint64 // garbage bytes skipped
	Dropped uint64 // access units dropped (loss, no timestamp, too large)
}

// Demuxer reads an MPEG-2 program stream and emits its frames: the first
// video stream (H.264 or H.265) and the first audio stream (AAC in ADTS,
// G.711 A-law or µ-law) it meets. Stream types come from the program stream
// map when one was seen; before that, or for a stream id the map leaves
// out, 0xE0-0xEF is video (H.264, or H.265 when its parameter sets say so)
// and 0xC0-0xDF audio (AAC when it starts with an ADTS syncword, else
// G.711 A-law, the GB28181 default). private_stream_1 (0xBD: Hikvision's own
// data) is read only when the map gives it an audio type.
//
// A video access unit ends at the RTP marker bit (Write's marker), at the
// next video PES that carries a different PTS, or at Flush; the PES packets
// of one frame (a frame over 64 KB needs several) are joined; a video PES
// of unbounded length (PES_packet_length 0) runs to the next start code.
// Bytes that do not start a pack, a header or a PES are skipped up to the
// next start code.
//
// The zero Demuxer is ready to use.
type Demuxer struct {
	emit func(*media.Frame)

	inBuf [inSize]byte
	in    []byte // header bytes not yet parsed, in inBuf
	scan  bool   // the next start code is looked for in the input
	lost  bool   // garbage was met since the last unit taken
	body  int    // bytes of the current unit's body still to come
	to    int    // where they go
	err   error  // first error of the current Write

	// The program stream map: stream type by stream id.
	psm     [256]uint8
	havePSM bool

	vid, aid uint8 // stream ids followed, 0 before the first
	vcodec   media.Codec
	acodec   media.Codec

	// The video access unit being gathered (Annex B).
	au         []byte
	auPTS      int64
	auDTS      int64
	auHasPTS   bool
	auOpen     bool // a video PES header was seen for it
	auBad      bool // part of it was lost or it grew too large: dropped at its end
	vwait      bool // after a loss: video waits for a PES with a PTS or a pack
	haveLastTS bool
	lastDTS    time.Duration // of the last video access unit

	// The audio PES being gathered.
	apes      []byte
	apesPTS   int64
	apesHas   bool
	anext     time.Duration // PTS of the next audio frame
	haveANext bool
	aCfgSent  bool
	aCfgKey   uint32

	haveTS bool
	lastTS int64 // last timestamp in unwrapped 90 kHz ticks

	vCfgSent bool
	vSets    []byte // the parameter sets of the last video config frame
	out      []byte // scratch: AVCC access unit
	sets     []byte // scratch: parameter sets of the current access unit

	frame media.Frame
	stats Stats
}

// Stats returns the counters so far.
func (d *Demuxer) Stats() Stats { return d.stats }

// Write feeds program stream bytes: the payload of one RTP packet (marker
// is its marker bit, set on the last packet of a frame), or any chunk of a
// .ps file (marker false). emit is called for each complete frame, in
// stream order; the frame and its payload are valid only until emit
// returns (call f.Own to keep it).
//
// Video comes out as AVCC access units without access unit delimiters and
// parameter sets, FlagKey on IDR (H.264) and IRAP (H.265) pictures, after a
// FlagConfig frame holding the decoder configuration record, which is
// repeated when the parameter sets change; video before the first parameter
// sets is dropped. AAC comes out as raw frames after a FlagConfig
// AudioSpecificConfig; G.711 as the PES payload. Timestamps are the PES
// PTS and DTS unwrapped past the 33-bit limit.
//
// Write returns the first problem met in p (ErrGarbage, ErrMalformed, ...);
// it is never fatal and the counters in Stats keep the totals.
func (d *Demuxer) Write(p []byte, marker bool, emit func(*media.Frame)) error {
	d.emit, d.err = emit, nil
	if d.in == nil {
		d.in = d.inBuf[:0]
	}
	for {
		if d.body > 0 {
			src := &p
			if len(d.in) > 0 {
				src = &d.in
			}
			if len(*src) == 0 {
				break
			}
			n := min(d.body, len(*src))
			d.route((*src)[:n])
			*src = (*src)[n:]
			d.body -= n
			if d.body == 0 {
				d.endPES()
			}
			continue
		}
		if d.body < 0 {
			if !d.unbounded(&p) {
				break
			}
			continue
		}
		if len(d.in) == 0 && d.scan && len(p) > 0 {
			p = d.skipGarbage(p)
			continue
		}
		need := d.parse()
		if need == 0 {
			d.lost, d.scan = false, false // a unit was taken
			continue
		}
		if need < 0 {
			continue // garbage skipped
		}
		if len(p) == 0 {
			break
		}
		// Move the bytes the header needs from p; at least one.
		n := min(len(p), max(need-len(d.in), 1))
		if len(d.in)+n > inSize {
			n = inSize - len(d.in)
		}
		d.compact()
		d.in = append(d.in, p[:n]...)
		p = p[n:]
	}
	if marker && d.body < 0 { // the frame, and its unbounded PES, end here
		d.route(d.in)
		d.in = d.inBuf[:0]
		d.body = 0
		d.endPES()
	}
	if marker && d.body == 0 && len(d.in) == 0 {
		d.endAU() // RTP marker: the frame is complete
	}
	d.emit = nil
	return d.err
}

// Flush ends the input: the access unit in progress is emitted, a PES cut
// short is dropped. The Demuxer may be written to again afterwards.
func (d *Demuxer) Flush(emit func(*media.Frame)) {
	d.emit = emit
	if d.body < 0 { // an unbounded PES ends with the input
		d.route(d.in)
		d.in = d.inBuf[:0]
		d.body = 0
		d.endPES()
	}
	if d.body > 0 {
		if d.to == toVideo && d.auOpen {
			d.auBad = true
		}
		d.body = 0
		d.apes = d.apes[:0]
	}
	d.endAU()
	d.in = d.inBuf[:0]
	d.emit = nil
}

// Loss tells the demuxer that bytes were lost before the next Write (RTP
// packets that never came): the access unit in progress is dropped and
// parsing resumes at the next start code.
func (d *Demuxer) Loss() {
	if d.auOpen {
		d.auBad = true
	}
	d.vwait = true
	d.body = 0
	d.apes = d.apes[:0]
	d.in = d.inBuf[:0]
	d.scan, d.lost = true, true
}

func (d *Demuxer) fail(err error) {
	if d.err == nil {
		d.err = err
	}
}

// compact moves the pending header bytes to the start of inBuf.
func (d *Demuxer) compact() {
	if len(d.in) == 0 {
		d.in = d.inBuf[:0]
		return
	}
	if &d.in[0] != &d.inBuf[0] {
		n := copy(d.inBuf[:], d.in)
		d.in = d.inBuf[:n]
	}
}

// skipGarbage skips input up to the next 00 00 01, keeping the last two
// bytes when there is none (a start code may straddle two writes).
func (d *Demuxer) skipGarbage(p []byte) []byte {
	i := bytes.Index(p, []byte{0, 0, 1})
	if i < 0 {
		i = max(len(p)-2, 0)
		for i < len(p) && p[i] != 0 {
			i++
		}
	}
	d.stats.Skipped += uint64(i)
	p = p[i:]
	if len(p) < 3 {
		d.in = append(d.inBuf[:0], p...)
		return nil
	}
	d.scan = false
	return p
}

// garbage marks the first byte of d.in as garbage: it is dropped and the
// next start code looked for. It returns -1, parse's value for it.
func (d *Demuxer) garbage() int {
	if !d.lost {
		d.stats.Resyncs++
		d.fail(ErrGarbage)
	}
	d.lost = true
	d.stats.Skipped++
	d.in = d.in[1:]
	if i := bytes.Index(d.in, []byte{0, 0, 1}); i >= 0 {
		d.stats.Skipped += uint64(i)
		d.in = d.in[i:]
		return -1
	}
	d.scan = true
	// Keep a possible start of a start code.
	k := max(len(d.in)-2, 0)
	for k < len(d.in) && d.in[k] != 0 {
		k++
	}
	d.stats.Skipped += uint64(k)
	d.in = d.in[k:]
	return -1
}

// parse handles the unit whose header starts d.in: it returns 0 when one
// was taken (or garbage skipped), else the header length it needs.
func (d *Demuxer) parse() int {
	b := d.in
	if len(b) >= 3 && b[0] == 0 && b[1] == 0 && b[2] == 0 {
		// A zero byte before a start code (a 4-byte start code, or zero
		// padding after a PES): skipped without counting it as garbage.
		d.stats.Skipped++
		d.in = b[1:]
		return -1
	}
	if len(b) < 4 {
		if len(b) > 0 && !isPrefix(b) {
			return d.garbage()
		}
		return 4
	}
	if b[0] != 0 || b[1] != 0 || b[2] != 1 || b[3] < idEnd {
		return d.garbage()
	}
	id := b[3]
	switch {
	case id == idEnd:
		d.in = b[4:]
		return 0
	case id == idPack: // ISO 13818-1 §2.5.3.3
		if len(b) < 5 {
			return 5
		}
		if b[4]&0xf1 == 0x21 { // MPEG-1 pack (ISO 11172-1 §2.4.3.2)
			if len(b) < 12 {
				return 12
			}
			d.stats.Packs++
			d.vwait = false
			d.in = b[12:]
			return 0
		}
		if b[4]&0xc4 != 0x44 {
			return d.garbage()
		}
		if len(b) < 14 {
			return 14
		}
		n := 14 + int(b[13]&7)
		if len(b) < n {
			return n
		}
		d.stats.Packs++
		d.vwait = false
		d.in = b[n:]
		return 0
	}
	if len(b) < 6 {
		return 6
	}
	n := int(binary.BigEndian.Uint16(b[4:]))
	switch {
	case id == idPSM && n >= 10 && n <= maxPSM:
		if len(b) < 6+n {
			return 6 + n
		}
		d.parsePSM(b[6 : 6+n])
		d.in = b[6+n:]
		return 0
	case id >= idAudio || id == idPrivate1:
		return d.pesHeader(b, id, n)
	}
	d.in, d.body, d.to = b[6:], n, toSkip // system header, padding, private 2, others
	return 0
}

// isPrefix reports whether b could begin a start code.
func isPrefix(b []byte) bool {
	switch len(b) {
	case 1:
		return b[0] == 0
	case 2:
		return b[0] == 0 && b[1] == 0
	}
	return b[0] == 0 && b[1] == 0 && b[2] == 1
}

// parsePSM reads a program_stream_map after its length (ISO 13818-1
// §2.5.4.1). Its CRC is not checked: cameras get it wrong.
func (d *Demuxer) parsePSM(b []byte) {
	info := int(binary.BigEndian.Uint16(b[2:]))
	if 4+info+2 > len(b) {
		d.stats.Errors++
		d.fail(ErrMalformed)
		return
	}
	b = b[4+info:]
	n := int(binary.BigEndian.Uint16(b))
	b = b[2:]
	if n > len(b) {
		d.stats.Errors++
		d.fail(ErrMalformed)
		return
	}
	b = b[:n]
	d.psm = [256]uint8{}
	d.havePSM = true
	for len(b) >= 4 {
		typ, id := b[0], b[1]
		l := int(binary.BigEndian.Uint16(b[2:]))
		d.psm[id] = typ
		if 4+l > len(b) {
			break
		}
		b = b[4+l:]
	}
	// A followed stream whose type changed starts over.
	if d.vid != 0 {
		if c := codecOf(d.psm[d.vid]); c.IsVideo() && c != d.vcodec {
			d.endAU()
			d.vcodec, d.vCfgSent = c, false
		}
	}
	if d.aid != 0 {
		if c := codecOf(d.psm[d.aid]); c.IsAudio() && c != d.acodec {
			d.acodec, d.aCfgSent, d.haveANext = c, false, false
		}
	}
}

// streamCodec returns the codec of the PES stream id per the map, the
// default by id, or 0 to skip it.
func (d *Demuxer) streamCodec(id uint8) media.Codec {
	if d.havePSM && d.psm[id] != 0 {
		return codecOf(d.psm[id])
	}
	switch {
	case id >= idVideo && id <= 0xef:
		return media.CodecH264 // refined from the parameter sets
	case id >= idAudio && id <= 0xdf:
		return codecSniff // decided from the first payload
	}
	return 0
}

// pesHeader parses the header of a PES packet (ISO 13818-1 §2.4.3.6) of
// length n (after the length field).
func (d *Demuxer) pesHeader(b []byte, id uint8, n int) int {
	if len(b) < 9 {
		return 9
	}
	if b[6]&0xc0 != 0x80 { // MPEG-1 PES syntax: not read
		d.stats.Errors++
		d.fail(ErrUnsupported)
		d.in, d.body, d.to = b[6:], n, toSkip
		return 0
	}
	hl := int(b[8])
	video := id >= idVideo && id <= 0xef
	if n == 0 && !video || n > 0 && 3+hl > n {
		d.stats.Errors++
		d.fail(ErrMalformed)
		return d.garbage()
	}
	if len(b) < 9+hl {
		return 9 + hl
	}
	flags := b[7] >> 6
	opt := b[9 : 9+hl]
	var pts, dts int64
	hasPTS := false
	if flags&2 != 0 && len(opt) >= 5 {
		pts, hasPTS = readTimestamp(opt), true
		dts = pts
		if flags == 3 && len(opt) >= 10 {
			dts = readTimestamp(opt[5:])
		}
	}
	d.in, d.body, d.to = b[9+hl:], n-3-hl, toSkip
	if n == 0 {
		d.body = -1 // unbounded: up to the next start code
	}
	c := d.streamCodec(id)
	switch {
	case c.IsVideo() && (d.vid == 0 || d.vid == id):
		if d.vid == 0 {
			d.vid, d.vcodec = id, c
		} else if d.havePSM && d.psm[id] != 0 {
			d.vcodec = c
		}
		if hasPTS {
			d.vwait = false
			if d.auOpen && (!d.auHasPTS || pts != d.auPTS) {
				d.endAU()
			}
		}
		if d.vwait {
			break
		}
		d.to = toVideo
		if !d.auOpen {
			d.auOpen = true
			d.auPTS, d.auDTS, d.auHasPTS = pts, dts, hasPTS
		}
	case (c.IsAudio() || c == codecSniff) && (d.aid == 0 || d.aid == id):
		if d.aid == 0 {
			d.aid = id
			if c != codecSniff {
				d.acodec = c
			}
		}
		d.to = toAudio
		d.apes = d.apes[:0]
		d.apesPTS, d.apesHas = pts, hasPTS
	}
	if d.body == 0 {
		d.endPES()
	}
	return 0
}

// unbounded routes the body of a video PES whose PES_packet_length is 0
// (ISO 13818-1 §2.4.3.7 allows it for video; muxers write it for frames
// over 64 KB): it runs to the next start code of a pack, header or PES,
// which video NAL units cannot contain (their first byte is below 0x80).
// It returns false when it needs more input.
func (d *Demuxer) unbounded(p *[]byte) bool {
	if len(d.in) > 0 && len(d.in) < 4 && len(*p) > 0 {
		// A start code may be cut by the end of the last write.
		k := min(4-len(d.in), len(*p))
		d.compact()
		d.in = append(d.in, (*p)[:k]...)
		*p = (*p)[k:]
		return true
	}
	src := p
	if len(d.in) > 0 {
		src = &d.in
	}
	b := *src
	if len(b) == 0 {
		return false
	}
	if i := unitStart(b); i >= 0 {
		d.route(b[:i])
		*src = b[i:]
		d.body = 0
		d.endPES()
		return true
	}
	k := len(b) - partialStart(b)
	d.route(b[:k])
	*src = b[k:]
	if src == p && len(*p) > 0 {
		d.compact()
		d.in = append(d.in, (*p)...)
		*p = nil
		return true
	}
	return k > 0
}

// unitStart returns the index of the first start code of a pack, header
// or PES in b, or -1.
func unitStart(b []byte) int {
	off := 0
	for {
		i := bytes.Index(b[off:], []byte{0, 0, 1})
		if i < 0 || off+i+3 >= len(b) {
			return -1
		}
		if b[off+i+3] >= idEnd {
			return off + i
		}
		off += i + 1
	}
}

// partialStart returns how many bytes at the end of b may begin a start
// code.
func partialStart(b []byte) int {
	n := len(b)
	switch {
	case n >= 3 && b[n-3] == 0 && b[n-2] == 0 && b[n-1] == 1:
		return 3
	case n >= 2 && b[n-2] == 0 && b[n-1] == 0:
		return 2
	case n >= 1 && b[n-1] == 0:
		return 1
	}
	return 0
}

// route appends body bytes to the stream they belong to.
func (d *Demuxer) route(b []byte) {
	switch d.to {
	case toVideo:
		if d.auBad {
			return
		}
		if len(d.au)+len(b) > MaxFrameSize {
			d.stats.Errors++
			d.fail(ErrTooLarge)
			d.auBad = true
			d.au = d.au[:0]
			return
		}
		d.au = append(d.au, b...)
	case toAudio:
		d.apes = append(d.apes, b...)
	}
}

// endPES ends the body of the current unit.
func (d *Demuxer) endPES() {
	if d.to == toAudio {
		d.audioPES()
	}
	d.to = toSkip
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

// endAU emits the video access unit gathered so far.
func (d *Demuxer) endAU() {
	if !d.auOpen {
		return
	}
	au, bad, hasPTS := d.au, d.auBad, d.auHasPTS
	d.au, d.auBad, d.auHasPTS, d.auOpen = d.au[:0], false, false, false
	if bad {
		d.stats.Dropped++
		return
	}
	if len(au) == 0 {
		return
	}
	var dts, pts time.Duration
	switch {
	case hasPTS:
		u := d.unwrap(d.auDTS)
		dts = duration(u)
		pts = duration(u + max(signed33(d.auPTS-d.auDTS), 0))
	case d.haveLastTS:
		dts, pts = d.lastDTS, d.lastDTS
	default:
		d.stats.Dropped++
		return
	}
	d.lastDTS, d.haveLastTS = dts, true
	d.videoAU(au, dts, pts)
}

// videoAU turns an Annex B access unit into an AVCC frame, after a config
// frame when its parameter sets are new.
func (d *Demuxer) videoAU(es []byte, dts, pts time.Duration) {
	if !d.havePSM || d.psm[d.vid] == 0 {
		d.sniffVideo(es)
	}
	hevc := d.vcodec == media.CodecH265
	out, sets, key, complete := codec.AnnexBToAVCC(es, hevc, d.out[:0], d.sets[:0])
	d.out, d.sets = out, sets
	if complete && (!d.vCfgSent || !bytes.Equal(sets, d.vSets)) {
		d.vSets = append(d.vSets[:0], sets...)
		d.vCfgSent = true
		d.frame = media.Frame{DTS: dts, PTS: dts, Codec: d.vcodec, Flags: media.FlagConfig,
			Payload: codec.VideoConfig(d.vSets, hevc)}
		d.emit(&d.frame)
	}
	if !d.vCfgSent || len(out) == 0 {
		if len(out) > 0 {
			d.stats.Dropped++
		}
		return
	}
	d.frame = media.Frame{DTS: dts, PTS: pts, Codec: d.vcodec, Payload: out}
	if key {
		d.frame.Flags = media.FlagKey
	}
	d.stats.Frames++
	d.emit(&d.frame)
}

// sniffVideo tells H.265 from H.264 by the parameter sets of a stream the
// program stream map does not type: an H.265 VPS, SPS or PPS NAL header
// (types 32-34, layer 0, temporal id 1) is 40 01, 42 01 or 44 01, which no
// H.264 parameter set starts with.
func (d *Demuxer) sniffVideo(es []byte) {
	h264.SplitAnnexB(es, func(n []byte) bool {
		if len(n) < 2 {
			return true
		}
		if n[1] == 1 && (n[0] == 0x40 || n[0] == 0x42 || n[0] == 0x44) {
			if d.vcodec != media.CodecH265 {
				d.vcodec, d.vCfgSent = media.CodecH265, false
			}
			return false
		}
		if t := h264.Type(n); n[0]&0x80 == 0 && (t == h264.NALUSPS || t == h264.NALUIDR) {
			if d.vcodec != media.CodecH264 {
				d.vcodec, d.vCfgSent = media.CodecH264, false
			}
			return false
		}
		return true
	})
}

// audioPES emits the frames of a complete audio PES.
func (d *Demuxer) audioPES() {
	es := d.apes
	d.apes = d.apes[:0]
	if len(es) == 0 {
		return
	}
	if d.acodec == 0 { // no map: ADTS or G.711
		d.acodec = media.CodecPCMA
		if len(es) >= 2 && es[0] == 0xff && es[1]&0xf6 == 0xf0 {
			d.acodec = media.CodecAAC
		}
	}
	if d.apesHas {
		u := d.unwrap(d.apesPTS)
		d.anext, d.haveANext = duration(u), true
	}
	if !d.haveANext {
		d.stats.Dropped++
		return
	}
	switch d.acodec {
	case media.CodecPCMA, media.CodecPCMU:
		d.frame = media.Frame{DTS: d.anext, PTS: d.anext, Codec: d.acodec,
			SampleRate: 8000, Channels: 1, Payload: es}
		d.stats.Frames++
		d.emit(&d.frame)
		d.anext += time.Duration(len(es)) * time.Second / 8000
	case media.CodecAAC:
		d.adts(es)
	}
}

// adts splits a PES of ADTS frames (ISO 14496-3 §1.A.2); the frames after
// the first are stamped from the sample count.
func (d *Demuxer) adts(b []byte) {
	for len(b) >= aac.ADTSHeaderLen {
		if b[0] != 0xff || b[1]&0xf6 != 0xf0 {
			i := bytes.IndexByte(b[1:], 0xff)
			if i < 0 {
				break
			}
			b = b[1+i:]
			continue
		}
		h, n, err := aac.ParseADTS(b)
		if err != nil || n > len(b) {
			d.stats.Errors++
			d.fail(ErrMalformed)
			return
		}
		if h.RawBlocks == 1 {
			key := uint32(h.ObjectType)<<16 | uint32(h.SampleRateIndex)<<8 | uint32(h.ChannelConfig)
			if !d.aCfgSent || key != d.aCfgKey {
				d.aCfgSent, d.aCfgKey = true, key
				d.frame = media.Frame{DTS: d.anext, PTS: d.anext, Codec: media.CodecAAC,
					Flags: media.FlagConfig, SampleRate: uint32(h.SampleRate), Channels: uint8(h.Channels),
					Payload: aac.BuildASC(h.ObjectType, h.SampleRate, h.Channels)}
				d.emit(&d.frame)
			}
			d.frame = media.Frame{DTS: d.anext, PTS: d.anext, Codec: media.CodecAAC,
				SampleRate: uint32(h.SampleRate), Channels: uint8(h.Channels), Payload: b[h.HeaderLen:n]}
			d.stats.Frames++
			d.emit(&d.frame)
		}
		d.anext += time.Duration(1024*h.RawBlocks) * time.Second / time.Duration(h.SampleRate)
		b = b[n:]
	}
}
