package hls

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/srs-lite/srs-lite/internal/media"
)

// Limits of a segment cut.
const (
	// A stream with video waits for a keyframe to cut; one whose keyframes
	// stop coming is cut anyway after maxSegmentFragments fragments, so
	// that memory stays bounded.
	maxSegmentFragments = 10
	// fileFlush is how much of a segment written to a folder is buffered
	// before it goes to the file.
	fileFlush = 64 << 10
	// maxFreeBufs memory segments' buffers are kept for reuse per stream.
	maxFreeBufs = 2
	// maxReuseCap: larger buffers go back to the garbage collector.
	maxReuseCap = 8 << 20
)

// segment is one media segment, in progress (Muxer.cur) or in the playlist.
type segment struct {
	seq     uint64
	slot    uint64        // ATC: the fragment slot of start
	start   time.Duration // DTS of its first frame
	dur     time.Duration
	disc    bool   // EXT-X-DISCONTINUITY before it
	initGen uint64 // fMP4: the init segment it needs
	frames  int
	done    time.Time // when it was completed: Last-Modified
	etag    string    // its entity tag, unique across publish sessions and restarts
	pdt     time.Time // low latency: the wall-clock time of its first frame
	parts   []part    // low latency: published so far, under Muxer.mu

	data []byte // memory: the whole segment; folder: what is not written yet
	size int64
	file string   // folder: the final path
	tmp  *os.File // folder, in progress: the temp file
	refs atomic.Int32
	mx   *Muxer
}

// release drops one reference; the last one recycles the buffer.
func (s *segment) release() {
	if s.refs.Add(-1) == 0 && s.data != nil {
		s.mx.putBuf(s.data)
		s.data = nil
	}
}

// Muxer is the HLS of one stream: its segments and playlist, across the
// publish sessions that come back within Dispose.
type Muxer struct {
	m                  *Manager
	vhost, app, stream string
	k                  string // vhost/app/stream, built once: compared on every viewer request
	// anon is the unix ns of the last request served without a viewer
	// session (hls_ctx = false): such viewers are seen only by their requests.
	anon atomic.Int64

	mu        sync.Mutex
	cfg       Config
	segs      []*segment // in the playlist, oldest first
	nextSeq   uint64
	discSeq   uint64 // discontinuities that left the playlist
	pendDisc  bool   // the next segment starts after a gap
	targetDur int    // EXT-X-TARGETDURATION: never decreases
	playlist  []byte
	cur       *segment      // low latency: the segment in progress once it has a part
	making    uint64        // low latency: 1 + the sequence of the segment in progress, 0 when none
	plTime    time.Time     // when the playlist last changed: Last-Modified
	changed   chan struct{} // closed and replaced when the playlist changes
	inits     map[uint64][]byte
	initGen   uint64
	sessions  int
	cancel    context.CancelFunc
	timer     *time.Timer
	disposed  bool
	free      [][]byte
	loggedErr map[string]bool
}

func newMuxer(m *Manager, vhost, app, stream string, cfg Config) *Muxer {
	mx := &Muxer{m: m, vhost: vhost, app: app, stream: stream, k: vhost + "/" + app + "/" + stream, cfg: cfg,
		changed: make(chan struct{}), inits: map[uint64][]byte{}, loggedErr: map[string]bool{}}
	mx.targetDur = int(math.Ceil(cfg.Fragment.Seconds()))
	return mx
}

func (mx *Muxer) key() string { return mx.k }

// reconfigure applies new durations for the coming session.
func (mx *Muxer) reconfigure(cfg Config) {
	mx.mu.Lock()
	mx.cfg = cfg
	mx.mu.Unlock()
}

// logOnce logs a problem of this stream once per kind.
func (mx *Muxer) logOnce(kind, msg string, args ...any) {
	mx.mu.Lock()
	seen := mx.loggedErr[kind]
	mx.loggedErr[kind] = true
	mx.mu.Unlock()
	if !seen {
		mx.m.log.Warn(msg, append([]any{"stream", mx.key()}, args...)...)
	}
}

// run reads one publish session of st into segments.
func (mx *Muxer) run(st *media.Stream, rd *media.Reader) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	mx.mu.Lock()
	if mx.timer != nil {
		mx.timer.Stop()
		mx.timer = nil
	}
	if mx.nextSeq > 0 || len(mx.segs) > 0 {
		mx.pendDisc = true
	}
	mx.cancel = cancel
	cfg := mx.cfg
	mx.mu.Unlock()

	ss := &session{mx: mx, st: st, cfg: cfg, tol: min(cfg.Fragment/10, 100*time.Millisecond)}
	ss.c = newContainer(cfg.Container)
	frames := make([]media.Frame, 64)
	if cfg.LowLatency {
		// A read of one frame returns as soon as it is there: the reader
		// does not hold frames back for a merged write (mw_latency), which
		// would delay each part by as much.
		frames = frames[:1]
	}
	var err error
	for err == nil {
		var n int
		n, err = rd.Read(ctx, frames)
		for i := range frames[:n] {
			if ss.err == nil {
				ss.frame(&frames[i])
			}
			frames[i].Release()
		}
	}
	rd.Close()
	ss.finish()
	if err != io.EOF && !errors.Is(err, context.Canceled) {
		mx.m.log.Warn("hls: session ended early", "stream", mx.key(), "err", err)
	}
	if ss.err != nil {
		mx.m.log.Error("hls: stopped for this publish", "stream", mx.key(), "err", ss.err)
	}

	mx.mu.Lock()
	mx.sessions--
	if mx.sessions == 0 && mx.cfg.LowLatency && !mx.disposed && mx.playlist != nil {
		// No more preload hint; blocked requests get the final playlist.
		mx.playlist = mx.render(make([]byte, 0, len(mx.playlist)), "")
		close(mx.changed)
		mx.changed = make(chan struct{})
	}
	if mx.sessions == 0 && !mx.disposed {
		d := mx.cfg.Dispose
		mx.timer = time.AfterFunc(d, func() {
			mx.mu.Lock()
			idle := mx.sessions == 0
			mx.mu.Unlock()
			if idle {
				mx.m.forget(mx)
				mx.dispose()
			}
		})
	}
	mx.mu.Unlock()
}

// stop ends the session in progress, if any.
func (mx *Muxer) stop() {
	mx.mu.Lock()
	if mx.cancel != nil {
		mx.cancel()
	}
	if mx.timer != nil {
		mx.timer.Stop()
	}
	mx.mu.Unlock()
}

// dispose drops every segment and file; the muxer is not used again.
func (mx *Muxer) dispose() {
	mx.mu.Lock()
	if mx.disposed {
		mx.mu.Unlock()
		return
	}
	mx.disposed = true
	segs := mx.segs
	mx.segs = nil
	mx.cur = nil
	mx.playlist = nil
	close(mx.changed)
	mx.changed = make(chan struct{})
	if mx.timer != nil {
		mx.timer.Stop()
	}
	mx.mu.Unlock()
	for _, s := range segs {
		mx.removeFile(s)
		s.release()
	}
	if mx.cfg.Dir != "" {
		_ = os.Remove(mx.playlistFile())
		for gen := range mx.inits {
			_ = os.Remove(mx.filePath(mx.initName(gen)))
		}
	}
	mx.m.log.Info("hls: disposed", "stream", mx.key())
}

func (mx *Muxer) getBuf() []byte {
	mx.mu.Lock()
	defer mx.mu.Unlock()
	if n := len(mx.free); n > 0 {
		b := mx.free[n-1]
		mx.free = mx.free[:n-1]
		return b[:0]
	}
	return nil
}

func (mx *Muxer) putBuf(b []byte) {
	if cap(b) > maxReuseCap {
		return
	}
	mx.mu.Lock()
	if len(mx.free) < maxFreeBufs && !mx.disposed {
		mx.free = append(mx.free, b[:0])
	}
	mx.mu.Unlock()
}

// Names and paths.

func (mx *Muxer) segName(seq uint64) string {
	ext := ".ts"
	if mx.cfg.Container == ContainerFMP4 {
		ext = ".m4s"
	}
	return mx.stream + "-" + strconv.FormatUint(seq, 10) + ext
}

func (mx *Muxer) initName(gen uint64) string {
	return mx.stream + "-init-" + strconv.FormatUint(gen, 10) + ".mp4"
}

func (mx *Muxer) dir() string {
	d := mx.cfg.Dir
	if mx.vhost != mx.m.defVhst {
		d = filepath.Join(d, mx.vhost)
	}
	return filepath.Join(d, filepath.FromSlash(mx.app))
}

func (mx *Muxer) filePath(name string) string { return filepath.Join(mx.dir(), name) }

func (mx *Muxer) playlistFile() string { return mx.filePath(mx.stream + ".m3u8") }

func (mx *Muxer) removeFile(s *segment) {
	if s.file != "" {
		if err := os.Remove(s.file); err != nil && !os.IsNotExist(err) {
			mx.logOnce("remove", "hls: cannot remove a segment file", "err", err)
		}
	}
}

// writeAtomic writes a small file through a temp file and a rename.
func writeAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// session is the state of one publish session.
type session struct {
	mx       *Muxer
	st       *media.Stream
	cfg      Config
	c        container
	tol      time.Duration
	cur      *segment
	hasVideo bool
	lastDTS  [2]time.Duration // video, audio
	lastDur  [2]time.Duration
	err      error // a write error: HLS stops for this session
	tables   bool  // TS: the track set changed inside the current segment
	newInit  bool  // fMP4: the track set changed; the next segment needs a new init

	vwait media.VideoWait // the first segment waits for the declared video

	// Low latency: the part in progress of cur.
	partOff    int           // where it starts in cur.data
	partStart  time.Duration // DTS of its first frame
	partFrames int
	partVideo  bool // it has a video frame
	partIndep  bool // its first video frame is a keyframe
	minGap     time.Duration
	wallBase   time.Time // wall clock at DTS 0, from the session's first frame
	haveBase   bool
}

func trackOf(f *media.Frame) int {
	if f.Codec.IsVideo() {
		return 0
	}
	return 1
}

// frame feeds one frame of the session.
func (ss *session) frame(f *media.Frame) {
	if f.Codec == media.CodecData {
		return
	}
	if !f.Codec.IsVideo() && !f.Codec.IsAudio() {
		return
	}
	if !ss.c.supports(f.Codec) {
		ss.mx.logOnce("codec-"+f.Codec.String(), "hls: codec not carried by this container, left out",
			"codec", f.Codec.String(), "container", ss.cfg.Container)
		return
	}
	if f.Codec.IsVideo() {
		ss.hasVideo = true
	}
	if changed := ss.c.track(f); changed {
		if ss.cfg.Container == ContainerFMP4 {
			// A new init segment: the segment in progress ends here, the
			// next one starts at the next keyframe (or audio frame).
			if ss.cur != nil {
				if ss.cur.frames > 0 {
					ss.close(f.DTS - ss.cur.start)
				} else {
					ss.drop()
				}
			}
			ss.newInit = true
		} else if ss.cur != nil {
			ss.tables = true
		}
	}
	if f.Flags&media.FlagConfig != 0 {
		ss.c.config(f)
		return
	}
	t := trackOf(f)
	if ss.lastDTS[t] != 0 && f.DTS > ss.lastDTS[t] {
		ss.lastDur[t] = f.DTS - ss.lastDTS[t]
	}
	ss.lastDTS[t] = f.DTS
	key := f.Codec.IsVideo() && f.Flags&media.FlagKey != 0
	if ss.cur == nil {
		if ss.hasVideo && !key {
			return // a segment of a stream with video starts at a keyframe
		}
		if !ss.hasVideo && ss.waitVideo(f.DTS) {
			return
		}
		ss.open(f.DTS)
	} else {
		elapsed := f.DTS - ss.cur.start
		due := elapsed+ss.tol >= ss.cfg.Fragment
		if ss.cfg.ATC {
			due = atcSlot(f.DTS, ss.tol, ss.cfg.Fragment) > ss.cur.slot
		}
		if ss.hasVideo {
			if due && key || elapsed >= maxSegmentFragments*ss.cfg.Fragment {
				if !key {
					ss.mx.logOnce("nokey", "hls: no keyframe for too long, cutting a segment without one",
						"gop_at_least", elapsed.String())
				}
				ss.cut(f.DTS)
			}
		} else if due {
			ss.cut(f.DTS)
		}
	}
	if ss.err != nil || ss.cur == nil {
		return
	}
	if ss.cfg.LowLatency && ss.partFrames > 0 && ss.partDue(f.DTS) {
		ss.endPart(f.DTS, false)
	}
	if ss.tables {
		ss.cur.data = ss.c.begin(ss.cur.data)
		ss.tables = false
	}
	var err error
	ss.cur.data, err = ss.c.frame(ss.cur.data, f)
	if err != nil {
		ss.mx.logOnce("mux", "hls: cannot mux a frame", "err", err)
		return
	}
	ss.cur.frames++
	if ss.cfg.LowLatency {
		ss.partFrame(f, key)
	}
	if ss.cur.tmp != nil && len(ss.cur.data) >= fileFlush && !ss.cfg.LowLatency {
		ss.flush()
	}
}

// waitVideo reports whether a frame at dts, before any video, is left out
// of HLS while the publisher's declared video has not come (media.VideoWait).
func (ss *session) waitVideo(dts time.Duration) bool {
	hold, gaveUp := ss.vwait.Hold(dts, func() bool { v, _ := ss.st.ExpectedTracks(); return v })
	if gaveUp {
		ss.mx.logOnce("novideo", "hls: the declared video did not come, segments start with audio alone",
			"waited", media.MaxVideoWait.String())
	}
	return hold
}

// atcSlot is the fragment slot of dts under ATC: floor((dts+tol)/fragment),
// 0 for negative times. tol counts a keyframe a hair early (timestamp
// rounding) as on the boundary. Segments are cut when a keyframe's slot
// passes the current segment's, so the cuts depend on the timestamps alone,
// never on when this server joined the stream. The sequence numbers of a
// fresh stream start at its first slot and then go up by one, as HLS needs
// (RFC 8216 §6.2.1); they equal the slots as long as each slot has a
// keyframe, that is with a keyframe interval that divides the fragment:
// with a longer GOP, two origins agree only if they started together.
func atcSlot(dts, tol, fragment time.Duration) uint64 {
	if dts+tol <= 0 || fragment <= 0 {
		return 0
	}
	return uint64((dts + tol) / fragment)
}

// open starts a segment at dts.
func (ss *session) open(dts time.Duration) {
	mx := ss.mx
	mx.mu.Lock()
	if !ss.haveBase {
		ss.wallBase, ss.haveBase = mx.m.now().Add(-dts), true
	}
	s := &segment{seq: mx.nextSeq, start: dts, disc: mx.pendDisc, mx: mx, pdt: ss.wallBase.Add(dts)}
	if ss.cfg.ATC {
		s.slot = atcSlot(dts, ss.tol, ss.cfg.Fragment)
		if mx.nextSeq == 0 && len(mx.segs) == 0 {
			s.seq = s.slot // a fresh stream starts at its absolute slot
		}
	}
	mx.nextSeq = s.seq + 1
	mx.making = s.seq + 1
	mx.pendDisc = false
	if ss.newInit || mx.cfg.Container == ContainerFMP4 && len(mx.inits) == 0 {
		mx.initGen++
		mx.inits[mx.initGen] = ss.c.init()
		ss.newInit = false
		if mx.cfg.Dir != "" {
			if err := os.MkdirAll(mx.dir(), 0o755); err == nil {
				_ = writeAtomic(mx.filePath(mx.initName(mx.initGen)), mx.inits[mx.initGen])
			}
		}
	}
	s.initGen = mx.initGen
	mx.mu.Unlock()
	s.refs.Store(1)
	s.data = mx.getBuf()
	if ss.cfg.Dir != "" {
		s.file = mx.filePath(mx.segName(s.seq))
		if err := os.MkdirAll(mx.dir(), 0o755); err != nil {
			ss.fail(err)
			return
		}
		f, err := os.Create(s.file + ".tmp")
		if err != nil {
			ss.fail(err)
			return
		}
		s.tmp = f
	}
	s.data = ss.c.begin(s.data)
	ss.tables = false
	ss.cur = s
	ss.partOff, ss.partFrames = len(s.data), 0
}

// flush writes the buffered part of a folder segment to its temp file.
func (ss *session) flush() {
	s := ss.cur
	if _, err := s.tmp.Write(s.data); err != nil {
		ss.fail(err)
		return
	}
	s.size += int64(len(s.data))
	s.data = s.data[:0]
}

func (ss *session) fail(err error) {
	ss.err = fmt.Errorf("cannot write segment: %w (check the free space of hls.path)", err)
	if s := ss.cur; s != nil {
		if s.tmp != nil {
			_ = s.tmp.Close()
			_ = os.Remove(s.tmp.Name())
		}
		ss.cur = nil
		ss.mx.mu.Lock()
		if ss.mx.cur == s {
			ss.mx.cur = nil
		}
		ss.mx.making = 0
		ss.mx.mu.Unlock()
	}
}

// cut closes the current segment at next (the DTS of the frame that starts
// the next one) and opens the next.
func (ss *session) cut(next time.Duration) {
	ss.close(next - ss.cur.start)
	if ss.err == nil {
		ss.open(next)
	}
}

// close completes the current segment with duration dur and publishes it.
func (ss *session) close(dur time.Duration) {
	s := ss.cur
	ss.cur = nil
	if s == nil {
		return
	}
	if ss.cfg.LowLatency && ss.partFrames > 0 {
		ss.cur = s
		ss.endPart(s.start+dur, true)
		ss.cur = nil
	} else {
		s.data = ss.c.end(s.data)
	}
	s.dur = max(dur, time.Millisecond)
	if s.tmp != nil && ss.cfg.LowLatency {
		// The parts are slices of s.data: it stays in memory (until the
		// segment leaves the window) and goes to the file whole.
		_, err := s.tmp.Write(s.data)
		if err == nil {
			err = s.tmp.Close()
		}
		if err == nil {
			err = os.Rename(s.tmp.Name(), s.file)
		}
		s.tmp = nil
		s.size = int64(len(s.data))
		if err != nil {
			ss.cur = s
			ss.fail(err)
			return
		}
	} else if s.tmp != nil {
		ss.cur = s
		ss.flush()
		ss.cur = nil
		if ss.err != nil {
			return
		}
		err := s.tmp.Close()
		if err == nil {
			err = os.Rename(s.tmp.Name(), s.file)
		}
		s.tmp = nil
		if err != nil {
			ss.cur = s
			ss.fail(err)
			return
		}
		s.mx.putBuf(s.data)
		s.data = nil
	} else {
		s.size = int64(len(s.data))
	}
	ss.mx.add(s)
}

// finish completes the last segment at the end of the session.
func (ss *session) finish() {
	ss.c.release()
	if ss.cur == nil {
		return
	}
	if ss.cur.frames == 0 {
		ss.drop()
		return
	}
	end := max(ss.lastDTS[0]+ss.lastDur[0], ss.lastDTS[1]+ss.lastDur[1])
	ss.close(end - ss.cur.start)
}

// drop abandons the current segment, which holds no frame.
func (ss *session) drop() {
	s := ss.cur
	ss.cur = nil
	if s.tmp != nil {
		_ = s.tmp.Close()
		_ = os.Remove(s.tmp.Name())
	}
	s.release()
	ss.mx.mu.Lock()
	ss.mx.making = 0
	if ss.mx.nextSeq == s.seq+1 {
		ss.mx.nextSeq = s.seq // nobody saw it
		if ss.cfg.ATC && len(ss.mx.segs) == 0 && s.seq == s.slot {
			ss.mx.nextSeq = 0 // still fresh: the next one takes its own slot
		}
		ss.mx.pendDisc = ss.mx.pendDisc || s.disc
	}
	ss.mx.mu.Unlock()
}

// add appends a completed segment to the playlist and slides the window.
func (mx *Muxer) add(s *segment) {
	mx.mu.Lock()
	if mx.disposed {
		mx.mu.Unlock()
		mx.removeFile(s)
		s.release()
		return
	}
	s.done = time.Now()
	if mx.cur == s {
		mx.cur = nil
	}
	if mx.making == s.seq+1 {
		mx.making = 0
	}
	// The completion time (ns) makes a segment name that a later publish
	// (after a restart) reuses a different entity.
	s.etag = "\"" + strconv.FormatUint(s.seq, 10) + "-" + strconv.FormatInt(s.done.UnixNano(), 36) + "\""
	mx.segs = append(mx.segs, s)
	if d := int(math.Round(s.dur.Seconds())); d > mx.targetDur { // RFC 8216 §4.3.3.1
		mx.targetDur = d
	}
	var gone []*segment
	total := time.Duration(0)
	for _, x := range mx.segs {
		total += x.dur
	}
	for len(mx.segs) > 1 && total > mx.cfg.Window {
		x := mx.segs[0]
		total -= x.dur
		if x.disc {
			mx.discSeq++
		}
		gone = append(gone, x)
		mx.segs[0] = nil
		mx.segs = mx.segs[1:]
	}
	mx.playlist = mx.render(make([]byte, 0, len(mx.playlist)+256), "") // fresh: the old one may be being served
	mx.plTime = s.done
	close(mx.changed)
	mx.changed = make(chan struct{})
	pl := mx.playlist
	dir := mx.cfg.Dir
	onSeg := mx.m.onSeg
	mx.mu.Unlock()
	if dir != "" {
		if err := writeAtomic(mx.playlistFile(), pl); err != nil {
			mx.logOnce("playlist", "hls: cannot write the playlist", "err", err)
		}
	}
	for _, x := range gone {
		mx.removeFile(x)
		x.release()
	}
	if onSeg != nil {
		onSeg(SegmentInfo{Vhost: mx.vhost, App: mx.app, Stream: mx.stream,
			URL: "/" + mx.app + "/" + mx.segName(s.seq), File: s.file, Seq: s.seq, Duration: s.dur.Seconds()})
	}
}

// render appends the media playlist (RFC 8216 §4.3). query, when not empty,
// is added to every URI ("?vhost=...").
func (mx *Muxer) render(b []byte, query string) []byte {
	if mx.cfg.LowLatency {
		return mx.renderLL(b, query)
	}
	version := 3
	if mx.cfg.Container == ContainerFMP4 {
		version = 7
	}
	b = append(b, "#EXTM3U\n#EXT-X-VERSION:"...)
	b = strconv.AppendInt(b, int64(version), 10)
	b = append(b, "\n#EXT-X-TARGETDURATION:"...)
	b = strconv.AppendInt(b, int64(mx.targetDur), 10)
	b = append(b, "\n#EXT-X-MEDIA-SEQUENCE:"...)
	first := mx.nextSeq
	if len(mx.segs) > 0 {
		first = mx.segs[0].seq
	}
	b = strconv.AppendUint(b, first, 10)
	b = append(b, '\n')
	if mx.discSeq > 0 {
		b = append(b, "#EXT-X-DISCONTINUITY-SEQUENCE:"...)
		b = strconv.AppendUint(b, mx.discSeq, 10)
		b = append(b, '\n')
	}
	var gen uint64
	for i, s := range mx.segs {
		if s.disc && i > 0 {
			b = append(b, "#EXT-X-DISCONTINUITY\n"...)
		}
		if mx.cfg.Container == ContainerFMP4 && s.initGen != gen {
			gen = s.initGen
			b = append(b, "#EXT-X-MAP:URI=\""...)
			b = append(b, mx.initName(gen)...)
			b = append(b, query...)
			b = append(b, "\"\n"...)
		}
		b = append(b, "#EXTINF:"...)
		b = strconv.AppendFloat(b, s.dur.Seconds(), 'f', 3, 64)
		b = append(b, ",\n"...)
		b = append(b, mx.segName(s.seq)...)
		b = append(b, query...)
		b = append(b, '\n')
	}
	return b
}

// stats reports the muxer's state.
func (mx *Muxer) stats() Stats {
	mx.mu.Lock()
	defer mx.mu.Unlock()
	st := Stats{Container: mx.cfg.Container, Segments: len(mx.segs), Target: mx.targetDur, MediaSeq: mx.nextSeq}
	if len(mx.segs) > 0 {
		st.MediaSeq = mx.segs[0].seq
	}
	for _, s := range mx.segs {
		st.Bytes += int64(cap(s.data))
		st.Seq = s.seq
		st.LastDuration = s.dur
	}
	for _, b := range mx.free {
		st.Bytes += int64(cap(b))
	}
	return st
}

// serve answers a playlist, segment or init request and returns the bytes
// of the body sent. ctx, when not empty, is the viewer's hls_ctx, which
// the playlist adds to its URIs.
func (mx *Muxer) serve(w http.ResponseWriter, r *http.Request, req Request, ctx string) int64 {
	cors(w)
	switch r.Method {
	case http.MethodGet, http.MethodHead:
	case http.MethodOptions:
		w.WriteHeader(http.StatusNoContent)
		return 0
	default:
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return 0
	}
	switch req.Kind {
	case KindPlaylist:
		return mx.servePlaylist(w, r, ctx)
	case KindInit:
		mx.mu.Lock()
		data := mx.inits[req.Seq]
		mx.mu.Unlock()
		if data == nil {
			http.Error(w, "no such init segment", http.StatusNotFound)
			return 0
		}
		w.Header().Set("Cache-Control", "public, max-age="+strconv.Itoa(segmentMaxAge)+", immutable")
		return serveBytes(w, r, "video/mp4", data)
	case KindSegment:
		return mx.serveSegment(w, r, req.Seq)
	case KindPart:
		return mx.servePart(w, r, req.Seq, req.Part)
	}
	return 0
}

// uriQuery returns the query the playlist adds to its URIs: the viewer's
// hls_ctx and the vhost a request names by parameter.
func uriQuery(r *http.Request, ctx string) string {
	q := ""
	if ctx != "" {
		q = "?" + CtxParam + "=" + ctx
	}
	if r.URL.RawQuery == "" {
		return q
	}
	if v := r.URL.Query().Get("vhost"); v != "" {
		if q == "" {
			q = "?"
		} else {
			q += "&"
		}
		// Escaped: the value goes into the playlist's lines.
		q += "vhost=" + url.QueryEscape(v)
	}
	return q
}

// servePlaylist answers the playlist; while a publish has produced no
// segment yet it waits for the first one, so that a player (or ffprobe)
// started with the publisher plays as soon as there is something to play.
// With low latency, a request with _HLS_msn waits for the part or segment
// it names (blocking reload, RFC 8216bis §6.2.5.2): 400 when that is too
// far ahead, 503 when it does not come within 3 target durations.
func (mx *Muxer) servePlaylist(w http.ResponseWriter, r *http.Request, ctx string) int64 {
	mx.mu.Lock()
	ll := mx.cfg.LowLatency
	wait := mx.cfg.Fragment*maxSegmentFragments/2 + 2*time.Second
	var br blockReq
	if ll {
		var err error
		if br, err = parseBlock(r.URL.RawQuery); err != nil {
			mx.mu.Unlock()
			http.Error(w, err.Error(), http.StatusBadRequest)
			return 0
		}
		if br.on {
			wait = mx.blockWait()
		}
	}
	mx.mu.Unlock()
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for {
		mx.mu.Lock()
		avail := len(mx.segs) > 0 || mx.cur != nil
		live := mx.sessions > 0 && !mx.disposed
		if br.on && avail && live && mx.tooFar(br) {
			mx.mu.Unlock()
			http.Error(w, "_HLS_msn/_HLS_part too far ahead", http.StatusBadRequest)
			return 0
		}
		if avail && (!br.on || !live || mx.has(br)) {
			pl := mx.playlist
			if q := uriQuery(r, ctx); q != "" {
				pl = mx.render(make([]byte, 0, len(pl)+(len(mx.segs)+16)*len(q)+64), q)
			}
			mod, frag := mx.plTime, mx.cfg.Fragment
			mx.mu.Unlock()
			h := w.Header()
			if ll {
				h.Set("Cache-Control", "no-cache")
			} else {
				h.Set("Cache-Control", playlistCacheControl(frag))
			}
			h.Set("Last-Modified", mod.UTC().Format(http.TimeFormat))
			return serveBytes(w, r, "application/vnd.apple.mpegurl", pl)
		}
		ch := mx.changed
		mx.mu.Unlock()
		if !live {
			http.Error(w, "stream not published", http.StatusNotFound)
			return 0
		}
		select {
		case <-ch:
		case <-deadline.C:
			if br.on && avail {
				http.Error(w, "the part asked was not produced in time", http.StatusServiceUnavailable)
				return 0
			}
			http.Error(w, "no segment yet", http.StatusNotFound)
			return 0
		case <-r.Context().Done():
			return 0
		}
	}
}

func (mx *Muxer) serveSegment(w http.ResponseWriter, r *http.Request, seq uint64) int64 {
	mx.mu.Lock()
	var s *segment
	for _, x := range mx.segs {
		if x.seq == seq {
			s = x
			break
		}
	}
	if s == nil {
		mx.mu.Unlock()
		http.Error(w, "no such segment (it left the window)", http.StatusNotFound)
		return 0
	}
	ctype := "video/mp2t"
	if mx.cfg.Container == ContainerFMP4 {
		ctype = "video/iso.segment"
	}
	if s.file != "" {
		// Opened under the lock: the file may be removed as soon as it is
		// unlocked, and the open descriptor keeps it readable.
		f, err := os.Open(s.file)
		mx.mu.Unlock()
		if err != nil {
			http.Error(w, "segment file gone", http.StatusNotFound)
			return 0
		}
		defer f.Close()
		setSegmentHeaders(w, s)
		w.Header().Set("Content-Type", ctype)
		return serveContent(w, r, f, s.done)
	}
	s.refs.Add(1)
	mx.mu.Unlock()
	defer s.release()
	setSegmentHeaders(w, s)
	if notModified(w, r, s.etag, s.done) {
		return 0
	}
	return serveBytes(w, r, ctype, s.data)
}

// serveContent serves a Range request or a file through http.ServeContent
// and returns the body bytes, read back from the Content-Length it set:
// wrapping w to count would hide its io.ReaderFrom (sendfile).
func serveContent(w http.ResponseWriter, r *http.Request, content io.ReadSeeker, mod time.Time) int64 {
	http.ServeContent(w, r, "", mod, content)
	if r.Method == http.MethodHead {
		return 0
	}
	n, _ := strconv.ParseInt(w.Header().Get("Content-Length"), 10, 64)
	return max(n, 0)
}

// serveBytes writes data as the body, straight from its buffer, and
// returns the body bytes written; a Range request goes through
// http.ServeContent.
func serveBytes(w http.ResponseWriter, r *http.Request, ctype string, data []byte) int64 {
	h := w.Header()
	h.Set("Content-Type", ctype)
	if r.Header.Get("Range") != "" {
		return serveContent(w, r, bytes.NewReader(data), time.Time{})
	}
	h.Set("Content-Length", strconv.Itoa(len(data)))
	h.Set("Accept-Ranges", "bytes")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return 0
	}
	n, _ := w.Write(data)
	return int64(n)
}

// Caching (issue 11 part 4): HLS fans out through any HTTP cache (nginx
// proxy_cache, a CDN). A live playlist changes once a fragment, so a cache
// may keep it for about half of one; a segment never changes under its
// name, so a cache keeps it as long as it can be in a playlist.

// playlistCacheControl is the Cache-Control of a live playlist whose
// fragments last frag: max-age of half a fragment, in whole seconds, at
// least 1 (a cache then asks the origin at most once a second, and a
// player is at most half a fragment behind).
func playlistCacheControl(frag time.Duration) string {
	return "public, max-age=" + strconv.Itoa(max(int(frag/time.Second)/2, 1))
}

// segmentMaxAge is the max-age of a segment: a day. Its name is never
// reused by this process (a republish continues the sequence numbers),
// and a restart that reuses it gives a new ETag (a cache revalidating
// sees the change).
const segmentMaxAge = 24 * 60 * 60

func setSegmentHeaders(w http.ResponseWriter, s *segment) {
	h := w.Header()
	h.Set("Cache-Control", "public, max-age="+strconv.Itoa(segmentMaxAge)+", immutable")
	h.Set("ETag", s.etag)
	h.Set("Last-Modified", s.done.UTC().Format(http.TimeFormat))
}

// notModified answers a conditional GET or HEAD of an entity with the tag
// etag, modified at mod, with 304 when the client has it (RFC 9110 §13.1.2:
// If-None-Match wins over If-Modified-Since).
func notModified(w http.ResponseWriter, r *http.Request, etag string, mod time.Time) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	if inm := r.Header.Get("If-None-Match"); inm != "" {
		for _, t := range strings.Split(inm, ",") {
			t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
			if t == etag || t == "*" {
				w.WriteHeader(http.StatusNotModified)
				return true
			}
		}
		return false
	}
	if ims, err := http.ParseTime(r.Header.Get("If-Modified-Since")); err == nil && !mod.Truncate(time.Second).After(ims) {
		w.WriteHeader(http.StatusNotModified)
		return true
	}
	return false
}
