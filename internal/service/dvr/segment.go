package dvr

import (
	"bufio"
	"errors"
	"time"

	"github.com/srs-lite/srs-lite/internal/format/flv"
	"github.com/srs-lite/srs-lite/internal/format/fmp4"
	"github.com/srs-lite/srs-lite/internal/format/ts"
	"github.com/srs-lite/srs-lite/internal/media"
)

// bufferSize is the write buffer of a recording: small, for routers, and
// flushed every FlushInterval anyway.
const bufferSize = 32 << 10

// jumpBack is how far back a frame's DTS may be behind the stream's latest
// before it counts as a clock reset (audio and video interleave within
// less).
const jumpBack = 3 * time.Second

// errNeedCut reports a change the file format cannot follow (an fMP4 track
// added or reconfigured after the init segment): the recording goes on in a
// new file from the next keyframe.
var errNeedCut = errors.New("dvr: needs a new file")

// segment is one file being written.
type segment struct {
	out        Output
	bw         *bufio.Writer
	tmp, final string
	start      time.Time
	cfg        Config
	base       time.Duration // DTS of the first frame: the file's time 0
	written    int64         // bytes handed to bw
	lastFlush  time.Time
	closed     bool
	format     format
	cur        media.Frame   // the frame being written, rebased (no allocation per frame)
	lastRaw    time.Duration // the highest DTS of the stream's frames so far
	seenRaw    bool

	// End of the media, for the duration: the last DTS and interval of
	// each kind.
	lastV, lastA time.Duration
	dV, dA       time.Duration
	seenV, seenA bool
}

// format writes one file format.
type format interface {
	// begin writes the file header with the stream's metadata and
	// sequence headers (each may be empty), for a file that starts with
	// first (written next, with frame).
	begin(s *segment, meta, vcfg, acfg, first *media.Frame) error
	frame(s *segment, f *media.Frame) error
	config(s *segment, f *media.Frame) error // a new sequence header or metadata
	pending() bool                           // frames held back (an fMP4 fragment)
	flush(s *segment) error                  // write what is held back
	patch(s *segment) error                  // after the last write: fix the header in place
	drop()                                   // release what is held back
}

func newSegment(out Output, final string, now time.Time, base time.Duration, cfg Config) *segment {
	return &segment{out: out, bw: bufio.NewWriterSize(out, bufferSize), tmp: final + tmpExt, final: final,
		start: now, cfg: cfg, base: base, lastFlush: time.Now()}
}

// Write writes p through the buffer.
func (s *segment) Write(p []byte) (int, error) {
	n, err := s.bw.Write(p)
	s.written += int64(n)
	return n, err
}

func (s *segment) begin(meta, vcfg, acfg, first *media.Frame, mp4, mpegts bool) error {
	switch {
	case mp4:
		s.format = &mp4Format{m: fmp4.NewMuxer()}
	case mpegts:
		s.format = &tsFormat{m: ts.NewMuxer()}
	default:
		s.format = &flvFormat{}
	}
	var mc, vc, ac media.Frame
	for _, p := range [...]struct{ dst, src *media.Frame }{{&mc, meta}, {&vc, vcfg}, {&ac, acfg}} {
		if p.src.Payload != nil {
			*p.dst = s.rebase(p.src)
		}
	}
	return s.format.begin(s, &mc, &vc, &ac, first)
}

// rebase returns f on the file's timeline, which starts at 0: frames older
// than the file's first frame are put at 0, keeping their composition
// offset. The copy shares f's payload and reference.
func (s *segment) rebase(f *media.Frame) media.Frame {
	g := *f
	cts := max(f.PTS-f.DTS, 0)
	g.DTS = max(f.DTS-s.base, 0)
	g.PTS = g.DTS + cts
	return g
}

func (s *segment) track(g *media.Frame) {
	switch {
	case g.Codec.IsVideo():
		if s.seenV && g.DTS > s.lastV {
			s.dV = g.DTS - s.lastV
		}
		s.lastV, s.seenV = max(s.lastV, g.DTS), true
	case g.Codec.IsAudio():
		if s.seenA && g.DTS > s.lastA {
			s.dA = g.DTS - s.lastA
		}
		s.lastA, s.seenA = max(s.lastA, g.DTS), true
	}
}

// duration returns the length of the file's media.
func (s *segment) duration() time.Duration {
	var d time.Duration
	if s.seenV {
		d = s.lastV + s.dV
	}
	if s.seenA {
		d = max(d, s.lastA+s.dA)
	}
	return d
}

func (s *segment) frame(f *media.Frame) error {
	// A publisher whose clock jumps back (a restarted encoder behind a
	// relay) would fold the rest of the file onto its start: the file's
	// timeline goes on from where it was instead.
	switch {
	case !s.seenRaw || f.DTS > s.lastRaw:
		s.lastRaw, s.seenRaw = f.DTS, true
	case f.DTS < s.lastRaw-jumpBack:
		step := s.dV // one frame after the last
		if !s.seenV {
			step = s.dA
		}
		s.base -= s.lastRaw - f.DTS + step
		s.lastRaw = f.DTS
	}
	s.cur = s.rebase(f)
	s.track(&s.cur)
	err := s.format.frame(s, &s.cur)
	s.cur = media.Frame{} // a copy: the caller keeps the reference
	return err
}

func (s *segment) config(f *media.Frame) error {
	s.cur = s.rebase(f)
	err := s.format.config(s, &s.cur)
	s.cur = media.Frame{}
	return err
}

// dirty reports whether data waits to be written out.
func (s *segment) dirty() bool { return s.bw.Buffered() > 0 || s.format.pending() }

// tick flushes the buffer to the OS when FlushInterval has passed since the
// last flush; idle (no frame came for that long) also writes the frames an
// fMP4 fragment holds back.
func (s *segment) tick(now time.Time, idle bool) error {
	if now.Sub(s.lastFlush) < s.cfg.FlushInterval && !idle {
		return nil
	}
	if idle && s.format.pending() {
		if err := s.format.flush(s); err != nil {
			return err
		}
	}
	s.lastFlush = now
	return s.bw.Flush()
}

// close writes what is held back, fixes the header, fsyncs and closes the
// file.
func (s *segment) close() error {
	err := s.format.flush(s)
	if err == nil {
		err = s.bw.Flush()
	}
	if err == nil {
		err = s.format.patch(s)
	}
	if err == nil {
		err = s.out.Sync()
	}
	s.format.drop()
	s.closed = true
	if cerr := s.out.Close(); err == nil {
		err = cerr
	}
	return err
}

// abort releases the segment after a write error.
func (s *segment) abort() {
	if s.format != nil {
		s.format.drop()
	}
	if !s.closed {
		s.closed = true
		_ = s.out.Close()
	}
}

// flvFormat writes FLV: the header, a script tag with the stream's
// metadata, the sequence headers, then one tag per frame (FLV spec E.2-E.4).
type flvFormat struct {
	hasAudio, hasVideo bool // the header's TypeFlags
	audio, video       bool // tags written
	hdr                [flv.TagHeaderSize + 8]byte
	pts                [4]byte
}

func (w *flvFormat) begin(s *segment, meta, vcfg, acfg, first *media.Frame) error {
	w.hasVideo = vcfg.Codec.IsVideo() || first.Codec.IsVideo()
	w.hasAudio = acfg.Codec.IsAudio() || first.Codec.IsAudio()
	if _, err := s.Write(flv.Header(w.hasAudio, w.hasVideo)); err != nil {
		return err
	}
	for _, f := range [...]*media.Frame{meta, vcfg, acfg} {
		if f.Payload != nil {
			if err := w.frame(s, f); err != nil {
				return err
			}
		}
	}
	return nil
}

// frame writes f as one tag and its PreviousTagSize. Frames FLV cannot
// carry are skipped.
func (w *flvFormat) frame(s *segment, f *media.Frame) error {
	typ := flv.TagType(f)
	size := flv.BodyHeaderLen(f) + len(f.Payload)
	if typ == 0 || size > flv.MaxDataSize {
		return nil
	}
	w.audio = w.audio || typ == flv.TagAudio
	w.video = w.video || typ == flv.TagVideo
	h := flv.AppendTagHeader(w.hdr[:0], typ, size, flv.Timestamp(f))
	h = flv.AppendBodyHeader(h, f)
	if _, err := s.Write(h); err != nil {
		return err
	}
	if _, err := s.Write(f.Payload); err != nil {
		return err
	}
	n := uint32(flv.TagHeaderSize + size)
	w.pts = [4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}
	_, err := s.Write(w.pts[:])
	return err
}

func (w *flvFormat) config(s *segment, f *media.Frame) error { return w.frame(s, f) }
func (w *flvFormat) pending() bool                           { return false }
func (w *flvFormat) flush(*segment) error                    { return nil }
func (w *flvFormat) drop()                                   {}

// patch sets the header's TypeFlags for a kind of tags that came after it.
func (w *flvFormat) patch(s *segment) error {
	if w.audio && !w.hasAudio || w.video && !w.hasVideo {
		_, err := s.out.WriteAt(flv.Header(w.audio || w.hasAudio, w.video || w.hasVideo)[4:5], 4)
		return err
	}
	return nil
}

// mp4Format writes fragmented MP4: the init segment once the first
// fragment is due (so that a sequence header arriving a little after the
// first frames still gets its track), then a fragment every
// Config.Fragment, handed to the OS as soon as it is complete. At close the
// init is rewritten in place with the duration.
type mp4Format struct {
	m       *fmp4.Muxer
	init    bool
	initLen int
	buf     []byte
}

func (w *mp4Format) begin(_ *segment, _, vcfg, acfg, _ *media.Frame) error {
	for _, f := range [...]*media.Frame{vcfg, acfg} {
		if f.Payload != nil {
			_ = w.m.SetTrack(f) // a bad sequence header: that track's frames are dropped
		}
	}
	return nil
}

func (w *mp4Format) frame(s *segment, f *media.Frame) error {
	if !w.init && w.m.Track(f.Codec.IsVideo()) == media.CodecUnknown {
		_ = w.m.SetTrack(f) // codecs without a sequence header (MP3, Opus)
	}
	if d, _ := w.m.Buffered(); d >= s.cfg.Fragment {
		if err := w.flush(s); err != nil {
			return err
		}
	}
	err := w.m.Add(f)
	switch {
	case errors.Is(err, fmp4.ErrConfigChanged):
		return errNeedCut
	case errors.Is(err, fmp4.ErrNoTrack):
		return nil // no usable sequence header for it; new tracks come with one (config)
	}
	return err
}

func (w *mp4Format) config(s *segment, f *media.Frame) error {
	if f.Codec == media.CodecData {
		return nil
	}
	if !w.init {
		_ = w.m.SetTrack(f)
		return nil
	}
	if err := w.m.Add(f); err != nil {
		return errNeedCut
	}
	return nil
}

func (w *mp4Format) pending() bool {
	_, n := w.m.Buffered()
	return n > 0
}

func (w *mp4Format) flush(s *segment) error {
	if !w.pending() {
		return nil
	}
	if !w.init {
		w.buf = w.m.AppendInit(w.buf[:0])
		if _, err := s.Write(w.buf); err != nil {
			w.m.Drop()
			return err
		}
		w.init, w.initLen = true, len(w.buf)
	}
	if _, err := w.m.WriteFragment(s, false); err != nil {
		return err
	}
	// A complete fragment goes to the OS at once: a crash loses at most
	// the one being gathered.
	s.lastFlush = time.Now()
	return s.bw.Flush()
}

// patch rewrites the init segment with the file's duration (mvhd, tkhd,
// mdhd, mehd), for players that read it from there.
func (w *mp4Format) patch(s *segment) error {
	if !w.init {
		return nil
	}
	w.buf = w.m.AppendInitDuration(w.buf[:0], s.duration())
	if len(w.buf) != w.initLen {
		return nil
	}
	_, err := s.out.WriteAt(w.buf, 0)
	return err
}

func (w *mp4Format) drop() { w.m.Drop() }

// tsFormat writes MPEG-TS (ISO/IEC 13818-1): PAT and PMT, then the PES
// packets of each frame; a track that appears later gets new tables.
// Codecs TS does not carry (AV1, Opus, G.711) are left out.
type tsFormat struct {
	m            *ts.Muxer
	buf          []byte
	video, audio media.Codec
}

func (w *tsFormat) begin(s *segment, _, vcfg, acfg, first *media.Frame) error {
	for _, f := range [...]*media.Frame{vcfg, acfg, first} {
		w.track(f)
	}
	w.m.SetTracks(w.video, w.audio)
	for _, f := range [...]*media.Frame{vcfg, acfg} {
		if f.Payload != nil {
			_, _ = w.m.AppendFrame(nil, f) // keeps the parameter sets
		}
	}
	w.buf = w.m.AppendTables(w.buf[:0])
	_, err := s.Write(w.buf)
	return err
}

// track notes f's codec; it reports whether the track set changed.
func (w *tsFormat) track(f *media.Frame) bool {
	switch {
	case f.Codec.IsVideo() && f.Codec != w.video:
		w.video = f.Codec
		return true
	case f.Codec.IsAudio() && f.Codec != w.audio:
		w.audio = f.Codec
		return true
	}
	return false
}

func (w *tsFormat) frame(s *segment, f *media.Frame) error {
	w.buf = w.buf[:0]
	if w.track(f) {
		w.m.SetTracks(w.video, w.audio)
		w.buf = w.m.AppendTables(w.buf)
	}
	// A frame the muxer refuses (a codec TS cannot carry, a bad payload)
	// is skipped.
	if b, err := w.m.AppendFrame(w.buf, f); err == nil {
		w.buf = b
	}
	if len(w.buf) == 0 {
		return nil
	}
	_, werr := s.Write(w.buf)
	return werr
}

func (w *tsFormat) config(s *segment, f *media.Frame) error {
	if f.Codec == media.CodecData {
		return nil
	}
	return w.frame(s, f)
}

func (w *tsFormat) pending() bool        { return false }
func (w *tsFormat) flush(*segment) error { return nil }
func (w *tsFormat) patch(*segment) error { return nil }
func (w *tsFormat) drop()                {}
