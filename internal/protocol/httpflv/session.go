package httpflv

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/srs-lite/srs-lite/internal/format/flv"
	"github.com/srs-lite/srs-lite/internal/log"
	"github.com/srs-lite/srs-lite/internal/media"
	sess "github.com/srs-lite/srs-lite/internal/session"
)

// session is one play: the reader, the reusable batch, and where it writes.
type session struct {
	h     *Handler
	kind  kind
	sess  *sess.Session
	rd    *media.Reader
	batch []media.Frame
	tags  [][]byte                  // the pieces of the current batch's tags (FLV)
	hdrs  [][flv.TagHeaderSize]byte // per frame: tag header retimed for this player (FLV)
	jit   flv.Jitter
	out   sink
	bytes uint64

	// The formats muxed per player (TS, AAC, MP3): the muxer, and the
	// buffer it appends to, reused across batches.
	mux remuxer
	buf []byte
	one [1][]byte // the vector of one flush
}

// sink writes the response body of a play.
type sink interface {
	// writeBatch writes tags, total bytes in all, as one unit (one chunk,
	// one writev when possible) within the write timeout. It returns the
	// bytes written on the wire.
	writeBatch(ctx context.Context, tags [][]byte, total int) (int, error)
	// interrupt makes a blocked writeBatch return now.
	interrupt()
	// finish ends the body: cleanly (the last chunk) when clean is set.
	// It returns the bytes written.
	finish(clean bool) int
}

// play runs one play until the publisher leaves, the client goes, it is
// kicked or the handler closes.
func (h *Handler) play(w http.ResponseWriter, r *http.Request, k kind, vhost, app, name string) {
	cid := log.NewTraceID()
	key := vhost + "/" + app + "/" + name
	proto := kinds[k].proto
	l := h.log.With("cid", cid, "proto", proto, "remote", r.RemoteAddr, "stream", key)
	var s *session
	defer func() {
		if v := recover(); v != nil {
			if s != nil && s.out != nil {
				s.out.finish(false) // a hijacked connection is ours to close
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			l.Error(proto+" play panic", "panic", v, "stack", string(debug.Stack()))
		}
	}()

	ctx, cancel := context.WithCancelCause(r.Context())
	defer cancel(nil)
	stop := context.AfterFunc(h.ctx, func() { cancel(errShutdown) })
	defer stop()

	// SRS remuxes audio to .aac and .mp3 by passthrough only: refuse the
	// other codec before the hook when the stream tells it already, else
	// on the first frames.
	if st := h.deps.Registry.Lookup(media.Key{Vhost: vhost, App: app, Stream: name}); st != nil {
		if err := checkAudio(k, st, nil); err != nil {
			http.Error(w, err.Error(), http.StatusUnsupportedMediaType)
			l.Info(proto+" play refused", "reason", err.Error())
			return
		}
	}
	url := requestURL(r)
	ip := r.RemoteAddr
	if host, _, err := net.SplitHostPort(ip); err == nil {
		ip = host
	}
	ss := sess.New(cid, proto, ip)
	param := ""
	if r.URL.RawQuery != "" {
		param = "?" + r.URL.RawQuery
	}
	ss.SetURL(url, param)
	ss.SetStream(media.Key{Vhost: vhost, App: app, Stream: name}, sess.Player)
	ss.SetKick(func() { cancel(errKicked) })
	ev := h.events()
	defer ev.Close(ss)
	if err := ev.Connect(ctx, ss); err != nil {
		l.Warn(proto+" play refused", "url", url, "err", err)
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	if _, err := ev.Play(ctx, ss); err != nil {
		l.Warn(proto+" play refused", "url", url, "err", err) // security rules or on_play
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	defer ev.Stop(ss)

	start := time.Now()
	var err error
	rd := h.deps.Registry.Subscribe(media.Key{Vhost: vhost, App: app, Stream: name}, l)
	defer rd.Close()
	s = &session{h: h, kind: k, rd: rd, sess: ss, batch: make([]media.Frame, h.cfg.BatchFrames)}
	switch k {
	case kindFLV:
		s.tags = make([][]byte, 0, 2*h.cfg.BatchFrames)
		s.hdrs = make([][flv.TagHeaderSize]byte, h.cfg.BatchFrames)
		s.jit = flv.NewJitter(rd.Stream().Options().TimeJitter)
	case kindTS:
		s.mux = newTSRemux(l)
	case kindAAC:
		s.mux = &adtsRemux{}
	case kindMP3:
		s.mux = mp3Remux{}
	}
	ss.SetStreamID(rd.Stream().ID)
	l.Info(proto+" play start", "url", url)

	// Answer only once there is something to play: a request for a stream
	// that nobody publishes (or that ends at once) gets a clean 404.
	rctx := ctx
	if h.cfg.WaitPublisher > 0 {
		var c context.CancelFunc
		rctx, c = context.WithTimeout(ctx, h.cfg.WaitPublisher)
		defer c()
	}
	var n int
	if h.cfg.WaitPublisher > 0 || rd.Stream().Publishing() {
		// Checked after Subscribe: a publisher that left between
		// ServeHTTP's check and Subscribe would make Read wait forever.
		n, err = rd.Read(rctx, s.batch)
	}
	if n == 0 {
		reason := s.reason(ctx, err)
		if ctx.Err() == nil {
			reason = "no publisher"
			http.Error(w, "stream not found", http.StatusNotFound)
		} else {
			http.Error(w, reason, http.StatusServiceUnavailable)
		}
		l.Info(proto+" play end", "reason", reason, "bytes", 0, "duration", time.Since(start).Round(time.Millisecond))
		return
	}
	if err := checkAudio(k, rd.Stream(), s.batch[:n]); err != nil {
		releaseFrames(s.batch[:n])
		http.Error(w, err.Error(), http.StatusUnsupportedMediaType)
		l.Info(proto+" play end", "reason", err.Error(), "bytes", 0, "duration", time.Since(start).Round(time.Millisecond))
		return
	}

	var done chan struct{}
	s.out, done, err = s.open(ctx, w, r, cancel)
	if err == nil {
		interrupted := make(chan struct{})
		stopInt := context.AfterFunc(ctx, func() {
			s.out.interrupt()
			close(interrupted)
		})
		err = s.loop(ctx, n)
		if !stopInt() {
			<-interrupted // never touch the sink after finish
		}
	} else {
		releaseFrames(s.batch[:n])
	}

	reason := s.reason(ctx, err)
	s.count(s.out.finish(errors.Is(err, io.EOF)))
	if done != nil {
		<-done
	}
	args := []any{"reason", reason, "bytes", s.bytes, "duration", time.Since(start).Round(time.Millisecond),
		"frames", rd.Delivered(), "dropped", rd.Dropped()}
	if errors.Is(err, media.ErrSlowReader) || errors.Is(err, os.ErrDeadlineExceeded) && ctx.Err() == nil {
		l.Warn(proto+" play end", args...)
	} else {
		l.Info(proto+" play end", args...)
	}
}

// loop writes the first batch of n frames, then reads and writes batches
// until an error ends the play.
func (s *session) loop(ctx context.Context, n int) error {
	for {
		if err := s.write(ctx, s.batch[:n]); err != nil {
			return err
		}
		var err error
		n, err = s.rd.Read(ctx, s.batch)
		if err != nil {
			releaseFrames(s.batch[:n])
			return err
		}
	}
}

// write encodes frames as FLV tags, writes them as one unit and releases
// them. Frames FLV cannot carry are skipped. The tags are the ones cached on
// the frames, with the publisher's timestamps; when the player's time jitter
// gives another timestamp, its own copy of the tag header goes out before
// the shared rest of the tag.
func (s *session) write(ctx context.Context, frames []media.Frame) error {
	if s.mux != nil {
		return s.writeMuxed(ctx, frames)
	}
	tags, total := s.tags[:0], 0
	for i := range frames {
		f := &frames[i]
		t := flv.EncodeTag(f)
		if t == nil {
			continue
		}
		if ts := s.jit.Timestamp(f, frames[i+1:]); ts != flv.Timestamp(f) {
			h := s.hdrs[i][:]
			copy(h, t)
			flv.SetTagTimestamp(h, ts)
			tags = append(tags, h, t[flv.TagHeaderSize:])
		} else {
			tags = append(tags, t)
		}
		total += len(t)
	}
	var err error
	if total > 0 {
		var n int
		n, err = s.out.writeBatch(ctx, tags, total)
		s.count(n)
	}
	clear(tags)
	s.tags = tags[:0]
	releaseFrames(frames)
	return err
}

// flushBytes is how much muxed media a play writes per chunk at most (plus
// one frame): it bounds a player's buffer when a batch holds a whole GOP.
const flushBytes = 32 << 10

// writeMuxed muxes frames with the player's own muxer, writes them in
// chunks of about flushBytes and releases them.
func (s *session) writeMuxed(ctx context.Context, frames []media.Frame) error {
	defer releaseFrames(frames)
	s.mux.batch(frames)
	out := s.buf[:0]
	var err error
	for i := range frames {
		if out, err = s.mux.append(out, &frames[i]); err != nil {
			break
		}
		if len(out) >= flushBytes {
			if err = s.flush(ctx, out); err != nil {
				break
			}
			out = out[:0]
		}
	}
	if err == nil && len(out) > 0 {
		err = s.flush(ctx, out)
	}
	s.buf = out[:0]
	return err
}

func (s *session) flush(ctx context.Context, b []byte) error {
	s.one[0] = b
	n, err := s.out.writeBatch(ctx, s.one[:], len(b))
	s.one[0] = nil
	s.count(n)
	return err
}

func (s *session) count(n int) {
	s.bytes += uint64(n)
	s.sess.BytesOut.Add(uint64(n))
}

// reason names why a play ended, for its last log line.
func (s *session) reason(ctx context.Context, err error) string {
	switch {
	case errors.Is(err, io.EOF):
		return "unpublished"
	case errors.Is(err, media.ErrSlowReader):
		return "slow reader"
	case errors.Is(err, os.ErrDeadlineExceeded) && ctx.Err() == nil:
		return "write timeout: player stopped reading"
	case ctx.Err() != nil:
		if c := context.Cause(ctx); c != context.Canceled {
			return c.Error()
		}
		return errClientGone.Error()
	case err != nil:
		return err.Error()
	}
	return "done"
}

func releaseFrames(fs []media.Frame) {
	for i := range fs {
		fs[i].Release()
	}
}

// requestURL rebuilds the URL the player asked for.
func requestURL(r *http.Request) string {
	scheme := "http://"
	if r.TLS != nil {
		scheme = "https://"
	}
	return scheme + r.Host + r.URL.RequestURI()
}

// open starts the response: it hijacks the connection when it can, writes
// the status line, the headers and the FLV header (FLV only), and returns
// the sink.
// For a hijacked connection it also starts the goroutine that watches for
// the client going away (it cancels the play) and returns a channel closed
// when that goroutine has returned.
func (s *session) open(ctx context.Context, w http.ResponseWriter, r *http.Request, cancel context.CancelCauseFunc) (sink, chan struct{}, error) {
	hd := w.Header()
	setPlayHeaders(hd, s.kind)
	var hdr []byte
	if s.kind == kindFLV {
		// FLV spec E.2: both flags set, as SRS does by default; players
		// wait for whatever the stream turns out to carry.
		hdr = flv.Header(true, true)
	}
	timeout := s.h.cfg.WriteTimeout

	var conn net.Conn
	if hj, ok := w.(http.Hijacker); ok && r.ProtoMajor == 1 {
		// Hijack also clears the server's read and write deadlines, which
		// must not apply to a stream.
		conn, _, _ = hj.Hijack()
	}
	if conn == nil {
		rs := &rwSink{w: w, rc: http.NewResponseController(w), timeout: timeout}
		w.WriteHeader(http.StatusOK)
		var err error
		if hdr != nil {
			var n int
			n, err = rs.writeBatch(ctx, [][]byte{hdr}, len(hdr))
			s.count(n)
		} else {
			err = rs.rc.Flush()
		}
		return rs, nil, err
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		// A player sends nothing after its request: any read result means
		// it has gone (or the play has closed the connection).
		var b [512]byte
		for {
			if _, err := conn.Read(b[:]); err != nil {
				break
			}
		}
		cancel(errClientGone)
	}()

	cs := &connSink{conn: conn, chunked: r.ProtoAtLeast(1, 1), timeout: timeout}
	hd.Set("Connection", "close")
	if cs.chunked {
		hd.Set("Transfer-Encoding", "chunked")
	}
	var b strings.Builder
	b.WriteString("HTTP/1.1 200 OK\r\n")
	_ = hd.Write(&b)
	b.WriteString("\r\n")
	n, err := cs.writeBatch(ctx, [][]byte{[]byte(b.String())}, -1)
	s.count(n)
	if err == nil && hdr != nil {
		n, err = cs.writeBatch(ctx, [][]byte{hdr}, len(hdr))
		s.count(n)
	}
	return cs, done, err
}

// crlf ends a chunk (RFC 9112 §7.1).
var crlf = []byte("\r\n")

// connSink writes to a hijacked connection: each batch is one chunk of a
// chunked body (RFC 9112 §7.1), written with one writev of the chunk size
// line, the tags and the CRLF. The vector and the size line are reused, so
// the steady path does not allocate.
type connSink struct {
	conn    net.Conn
	chunked bool
	timeout time.Duration
	vec     net.Buffers // backing array reused across batches
	size    [20]byte    // scratch for the chunk size line
}

// writeBatch writes tags as one chunk; total < 0 writes them raw (the
// response head).
func (c *connSink) writeBatch(ctx context.Context, tags [][]byte, total int) (int, error) {
	_ = c.conn.SetWriteDeadline(time.Now().Add(c.timeout))
	// interrupt sets the deadline to now once ctx is done: checking ctx
	// after setting ours means a cancel cannot slip in between.
	if ctx.Err() != nil {
		return 0, context.Cause(ctx)
	}
	vec := c.vec[:0]
	chunk := c.chunked && total >= 0
	if chunk {
		vec = append(vec, appendHex(c.size[:0], uint64(total)))
	}
	vec = append(vec, tags...)
	if chunk {
		vec = append(vec, crlf)
	}
	c.vec = vec
	var n int64
	var err error
	if _, tcp := c.conn.(*net.TCPConn); !tcp && len(vec) > 1 {
		n, err = media.WriteGathered(c.conn, vec) // HTTPS
	} else {
		n, err = c.vec.WriteTo(c.conn) // writev on a *net.TCPConn
	}
	clear(vec)
	c.vec = vec[:0]
	return int(n), err
}

func (c *connSink) interrupt() { _ = c.conn.SetWriteDeadline(time.Now()) }

func (c *connSink) finish(clean bool) int {
	n := 0
	if clean && c.chunked {
		// The last chunk and an empty trailer section (RFC 9112 §7.1).
		_ = c.conn.SetWriteDeadline(time.Now().Add(c.timeout))
		n, _ = c.conn.Write([]byte("0\r\n\r\n"))
	}
	_ = c.conn.Close()
	return n
}

// appendHex appends v in hexadecimal and CRLF: a chunk size line.
func appendHex(dst []byte, v uint64) []byte {
	const digits = "0123456789abcdef"
	var tmp [16]byte
	i := len(tmp)
	for {
		i--
		tmp[i] = digits[v&15]
		v >>= 4
		if v == 0 {
			break
		}
	}
	dst = append(dst, tmp[i:]...)
	return append(dst, '\r', '\n')
}

// rwSink writes through the http.ResponseWriter when the connection cannot
// be hijacked (HTTP/2, tests): net/http does the chunking, and a flush per
// batch pushes it out.
type rwSink struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
}

func (s *rwSink) writeBatch(ctx context.Context, tags [][]byte, _ int) (int, error) {
	_ = s.rc.SetWriteDeadline(time.Now().Add(s.timeout))
	if ctx.Err() != nil {
		return 0, context.Cause(ctx)
	}
	n := 0
	for _, t := range tags {
		m, err := s.w.Write(t)
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, s.rc.Flush()
}

func (s *rwSink) interrupt() { _ = s.rc.SetWriteDeadline(time.Now()) }

func (s *rwSink) finish(bool) int { return 0 }
