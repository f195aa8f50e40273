// Package hls turns live streams into HLS (RFC 8216): a sliding-window media
// playlist at /APP/STREAM.m3u8 and its segments, MPEG-TS (.ts) or CMAF
// fragmented MP4 (.m4s with an init segment), as SRS's hls does.
//
// Each publish session is read from the stream's ring by one Muxer, which
// cuts segments on keyframes once a segment holds Fragment of media (on any
// audio frame for audio-only streams), keeps the segments of the last Window,
// marks a publisher that comes back with EXT-X-DISCONTINUITY, and drops
// everything Dispose after the last publisher left.
//
// Segments live in memory by default: a router's flash wears out when a
// segment is written to it every two seconds. Memory segments are served
// straight from their buffers, which are reference counted and recycled once
// they leave the window and their last reader is done. With Config.Dir set
// (a tmpfs or a disk), segments are written there instead, through a temp
// file renamed into place so that no player reads half a segment.
//
// Given session.Events (Manager.SetEvents), HLS viewers are sessions as in
// SRS (hls_ctx): see viewer.go.
package hls

import (
	"errors"
	"log/slog"
	"net"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/srs-lite/srs-lite/internal/media"
	sess "github.com/srs-lite/srs-lite/internal/session"
)

// Containers.
const (
	ContainerTS   = "ts"
	ContainerFMP4 = "fmp4"
)

// Config holds a vhost's HLS settings; they apply to the next publish.
type Config struct {
	Fragment  time.Duration // target segment length
	Window    time.Duration // playlist length
	Dispose   time.Duration // how long a stream's HLS outlives its publisher
	Container string        // ContainerTS or ContainerFMP4
	// Dir, when set, is the folder segments and playlists are written to,
	// as Dir/APP/STREAM.m3u8 and Dir/APP/STREAM-SEQ.ts (Dir/VHOST/APP/...
	// for a vhost other than the default one); empty keeps them in memory.
	Dir string
	// NoCtx serves the stream without viewer sessions (SRS's hls_ctx off):
	// no 302 to ?hls_ctx=ID, and the same playlist for everyone, as an
	// HTTP cache in front wants. Viewers are then counted at the cache.
	NoCtx bool
	// ATC cuts and numbers segments on the publisher's timestamps (SRS's
	// atc): a segment starts at the first keyframe at or after each
	// multiple of Fragment, and a new stream's first segment is numbered
	// floor(DTS/Fragment). Origins fed by one encoder then give the same
	// segment names, sequence numbers and durations (see atcSlot).
	ATC bool
	// LowLatency makes low-latency HLS (RFC 8216bis, fMP4 only): each
	// segment is also published as parts of at most Part of media as they
	// are made, the playlist lists them (EXT-X-PART, EXT-X-PRELOAD-HINT)
	// and a playlist request with _HLS_msn/_HLS_part waits for the part it
	// names (blocking reload). See lowlatency.go.
	LowLatency bool
	Part       time.Duration
}

// Guard decides whether a client at ip may play a stream when no session
// is started for the request (hls_ctx off, an unknown hls_ctx, a segment
// asked without one): the server's security rules. A viewer session is
// checked once, by Events.Play, when it starts.
type Guard func(ip string, key media.Key) error

// ErrConfig reports an unusable Config.
var ErrConfig = errors.New("hls: invalid config")

func (c *Config) check() error {
	if c.Fragment <= 0 || c.Window < c.Fragment {
		return ErrConfig
	}
	if c.Container != ContainerTS && c.Container != ContainerFMP4 {
		return ErrConfig
	}
	if c.LowLatency && (c.Container != ContainerFMP4 || c.Part <= 0 || c.Part >= c.Fragment) {
		return ErrConfig
	}
	return nil
}

// Manager owns the HLS muxers of every stream and serves their files.
type Manager struct {
	log *slog.Logger

	mu      sync.Mutex
	muxers  map[string]*Muxer    // by vhost/app/stream
	seqs    map[string][2]uint64 // of disposed muxers: next media sequence, init generation
	closed  bool
	wg      sync.WaitGroup
	now     func() time.Time
	onSeg   func(SegmentInfo)
	defVhst string

	// Viewers (viewer.go), under their own lock: a segment request takes
	// it once, to find its session.
	vmu      sync.Mutex
	events   sess.Events
	guard    Guard
	vtimeout time.Duration
	viewers  map[string]*viewer // by hls_ctx, live and recently kicked
	nview    map[string]int     // live viewers by vhost/app/stream
	reaping  bool
	vclosed  bool
	vwake    chan struct{}
	vdone    chan struct{}
	vwg      sync.WaitGroup
}

// SegmentInfo describes a completed segment, for the on_hls hook.
type SegmentInfo struct {
	Vhost, App, Stream string
	URL                string  // the segment's path on the HTTP server
	File               string  // the file written, when segments go to a folder
	Seq                uint64  // media sequence number
	Duration           float64 // seconds
}

// NewManager returns a manager. defaultVhost is the vhost whose streams are
// written without a vhost folder; log may be nil.
func NewManager(defaultVhost string, log *slog.Logger) *Manager {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Manager{log: log, muxers: map[string]*Muxer{}, seqs: map[string][2]uint64{}, now: time.Now, defVhst: defaultVhost,
		viewers: map[string]*viewer{}, nview: map[string]int{},
		vwake: make(chan struct{}, 1), vdone: make(chan struct{})}
}

// OnSegment sets fn to be called, from a muxer's goroutine, after each
// segment is complete.
func (m *Manager) OnSegment(fn func(SegmentInfo)) {
	m.mu.Lock()
	m.onSeg = fn
	m.mu.Unlock()
}

// Publish starts HLS for a new publish session of st, read through rd (a
// reader subscribed when the session began, so that nothing is missed). A
// stream still remembered from an earlier session continues its playlist
// after a discontinuity. Publish returns at once; rd is closed when the
// session ends.
func (m *Manager) Publish(st *media.Stream, rd *media.Reader, cfg Config) error {
	if err := cfg.check(); err != nil {
		rd.Close()
		return err
	}
	key := st.Key().String()
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		rd.Close()
		return errors.New("hls: closed")
	}
	mx := m.muxers[key]
	if mx == nil || mx.cfg.Container != cfg.Container || mx.cfg.Dir != cfg.Dir || mx.cfg.LowLatency != cfg.LowLatency {
		if mx != nil {
			m.remember(mx)
			mx.dispose()
		}
		mx = newMuxer(m, st.Vhost, st.App, st.Name, cfg)
		// Segment and init names are never reused by this process, so that
		// an HTTP cache that keeps them long never serves an old one.
		if n, ok := m.seqs[key]; ok {
			mx.nextSeq, mx.initGen = n[0], n[1]
		}
		m.muxers[key] = mx
	} else {
		mx.reconfigure(cfg)
	}
	mx.sessions++
	m.wg.Add(1)
	m.mu.Unlock()
	go func() {
		defer m.wg.Done()
		mx.run(st, rd)
	}()
	return nil
}

// lookup returns the muxer of a stream, or nil.
func (m *Manager) lookup(vhost, app, name string) *Muxer {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.muxers[vhost+"/"+app+"/"+name]
}

// maxRemembered bounds the streams whose next sequence number is kept
// after their HLS is disposed.
const maxRemembered = 4096

// remember keeps the next media sequence and init generation of a muxer
// about to be dropped, for the stream's next publish. Called with m.mu.
func (m *Manager) remember(mx *Muxer) {
	mx.mu.Lock()
	n := [2]uint64{mx.nextSeq, mx.initGen}
	mx.mu.Unlock()
	if len(m.seqs) >= maxRemembered {
		clear(m.seqs) // rare; a name reused after a restart gets a new ETag anyway
	}
	m.seqs[mx.key()] = n
}

// forget removes mx once disposed.
func (m *Manager) forget(mx *Muxer) {
	m.mu.Lock()
	if m.muxers[mx.key()] == mx {
		delete(m.muxers, mx.key())
	}
	m.remember(mx)
	m.mu.Unlock()
}

// Stats describes the HLS of one stream.
type Stats struct {
	Container    string        // ContainerTS or ContainerFMP4
	Segments     int           // in the playlist
	Bytes        int64         // held in memory by segments (in the playlist and in progress)
	MediaSeq     uint64        // EXT-X-MEDIA-SEQUENCE: the oldest segment in the playlist
	Seq          uint64        // media sequence of the newest segment
	LastDuration time.Duration // of the newest segment
	Target       int           // EXT-X-TARGETDURATION, seconds
	Viewers      int           // live HLS sessions (hls_ctx) of the stream
}

// Stats returns the HLS state of a stream; ok is false when it has none.
func (m *Manager) Stats(key media.Key) (s Stats, ok bool) {
	mx := m.lookup(key.Vhost, key.App, key.Stream)
	if mx == nil {
		return s, false
	}
	s = mx.stats()
	s.Viewers = m.viewerCount(mx.key())
	return s, true
}

// Close ends every viewer's session and every muxer's sessions, waits for
// them and drops every segment (and the files written for them).
func (m *Manager) Close() {
	m.closeViewers()
	m.mu.Lock()
	m.closed = true
	all := make([]*Muxer, 0, len(m.muxers))
	for _, mx := range m.muxers {
		all = append(all, mx)
	}
	m.mu.Unlock()
	for _, mx := range all {
		mx.stop()
	}
	m.wg.Wait()
	for _, mx := range all {
		mx.dispose()
	}
	m.mu.Lock()
	m.muxers = map[string]*Muxer{}
	m.mu.Unlock()
}

// Request is an HLS request parsed from its URL path.
type Request struct {
	App, Stream string
	Kind        Kind
	Seq         uint64 // segment sequence, or init generation
	Part        int    // KindPart: the part's index in its segment
}

// Kind is what an HLS URL names.
type Kind int

// Kinds of HLS URLs.
const (
	KindPlaylist Kind = iota + 1 // /APP/STREAM.m3u8
	KindSegment                  // /APP/STREAM-SEQ.ts or .m4s
	KindInit                     // /APP/STREAM-init-GEN.mp4
	KindPart                     // /APP/STREAM-SEQ.PART.m4s (low-latency HLS)
)

// ParsePath parses an HLS URL path: /APP/STREAM.m3u8, /APP/STREAM-SEQ.ts,
// /APP/STREAM-SEQ.m4s, /APP/STREAM-SEQ.PART.m4s (a low-latency part) or
// /APP/STREAM-init-GEN.mp4. APP may hold slashes.
func ParsePath(p string) (r Request, ok bool) {
	if !strings.HasPrefix(p, "/") || strings.Contains(p, "//") || strings.Contains(p, "\\") {
		return r, false
	}
	dir, file := path.Split(p)
	app := strings.Trim(dir, "/")
	if app == "" || file == "" || path.Clean(p) != p {
		return r, false
	}
	r.App = app
	ext := path.Ext(file)
	base := strings.TrimSuffix(file, ext)
	switch ext {
	case ".m3u8":
		r.Kind, r.Stream = KindPlaylist, base
		return r, base != ""
	case ".ts", ".m4s":
		i := strings.LastIndexByte(base, '-')
		if i <= 0 {
			return r, false
		}
		num := base[i+1:]
		if sq, pt, ok := strings.Cut(num, "."); ok && ext == ".m4s" {
			n, err1 := strconv.ParseUint(sq, 10, 64)
			k, err2 := strconv.ParseUint(pt, 10, 16)
			if err1 != nil || err2 != nil {
				return r, false
			}
			r.Kind, r.Stream, r.Seq, r.Part = KindPart, base[:i], n, int(k)
			return r, true
		}
		n, err := strconv.ParseUint(num, 10, 64)
		if err != nil {
			return r, false
		}
		r.Kind, r.Stream, r.Seq = KindSegment, base[:i], n
		return r, true
	case ".mp4":
		i := strings.LastIndex(base, "-init-")
		if i <= 0 {
			return r, false
		}
		n, err := strconv.ParseUint(base[i+len("-init-"):], 10, 64)
		if err != nil {
			return r, false
		}
		r.Kind, r.Stream, r.Seq = KindInit, base[:i], n
		return r, true
	}
	return r, false
}

// ServeHTTP answers an HLS request for a stream of vhost; it reports false,
// writing nothing, when the URL is not an HLS URL of a stream it knows, so
// that the caller can try static files.
func (m *Manager) ServeHTTP(w http.ResponseWriter, r *http.Request, vhost string) bool {
	req, ok := ParsePath(r.URL.Path)
	if !ok {
		return false
	}
	mx := m.lookup(vhost, req.App, req.Stream)
	if mx == nil {
		return false // a static file of that name, or 404
	}
	id := queryValue(r.URL.RawQuery, CtxParam)
	m.vmu.Lock()
	ev, guard := m.events, m.guard
	v := m.viewers[id]
	m.vmu.Unlock()
	mx.mu.Lock()
	if mx.cfg.NoCtx {
		ev = nil
	}
	mx.mu.Unlock()
	if r.Method == http.MethodOptions {
		mx.serve(w, r, req, "")
		return true
	}
	// A request that starts a viewer session is checked by Events.Play;
	// one that belongs to a live session was checked when it started.
	starts := ev != nil && v == nil && req.Kind == KindPlaylist && r.Method == http.MethodGet
	if guard != nil && v == nil && !starts {
		if err := guard(clientIP(r), media.Key{Vhost: mx.vhost, App: mx.app, Stream: mx.stream}); err != nil {
			http.Error(w, "forbidden", http.StatusForbidden)
			return true
		}
	}
	if ev == nil && v == nil {
		mx.anon.Store(time.Now().UnixNano())
		mx.serve(w, r, req, "")
		return true
	}
	m.serveViewer(w, r, mx, req, ev, id, v)
	return true
}

// Watched reports whether the stream's HLS was requested without viewer
// sessions (hls_ctx = false) within the viewer timeout: someone is still
// watching, though no session says so. On-demand sources (GB28181
// channels, on-demand ingests) count it as a player.
func (m *Manager) Watched(vhost, app, stream string) bool {
	mx := m.lookup(vhost, app, stream)
	if mx == nil {
		return false
	}
	last := mx.anon.Load()
	if last == 0 {
		return false
	}
	mx.mu.Lock()
	target := mx.targetDur
	mx.mu.Unlock()
	return time.Since(time.Unix(0, last)) < m.viewerTimeout(target)
}

// SetGuard sets the check of requests served without a session; nil
// (the default) allows them.
func (m *Manager) SetGuard(g Guard) {
	m.vmu.Lock()
	m.guard = g
	m.vmu.Unlock()
}

// clientIP is the address of the HTTP client, without its port.
func clientIP(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

func cors(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS")
	h.Set("Access-Control-Allow-Headers", "Range, Origin, Accept")
	h.Set("Access-Control-Expose-Headers", "Content-Length, Content-Range")
}
