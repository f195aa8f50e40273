package http1

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Server serves HTTP/1.x on the listeners given to Serve, as net/http's
// Server does for what srs-lite's handlers use: keep-alive, Content-Length
// or chunked responses, Flush, Hijack, write deadlines through
// http.ResponseController, a request context cancelled when the client goes
// away, Expect: 100-continue, HEAD, and graceful Shutdown.
type Server struct {
	Handler           http.Handler
	ReadHeaderTimeout time.Duration // 0: 10 s
	IdleTimeout       time.Duration // between requests on a kept-alive connection; 0: 2 min
	MaxHeaderBytes    int           // 0: 1 MiB
	// BaseContext gives the base of every request's context; nil:
	// context.Background.
	BaseContext func(net.Listener) context.Context
	ErrorLog    *log.Logger // handler panics; nil: the log package's

	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	conns     map[*conn]struct{}
	closing   bool
	done      chan struct{} // closed with closing
	wg        sync.WaitGroup
}

// ErrServerClosed is what Serve returns after Shutdown or Close.
var ErrServerClosed = http.ErrServerClosed

func (s *Server) init() {
	if s.conns == nil {
		s.listeners = map[net.Listener]struct{}{}
		s.conns = map[*conn]struct{}{}
		s.done = make(chan struct{})
	}
}

// Serve accepts connections on ln and serves each in a goroutine of its
// own, until ln fails or the server is shut down.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	s.init()
	if s.closing {
		s.mu.Unlock()
		_ = ln.Close()
		return ErrServerClosed
	}
	s.listeners[ln] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, ln)
		s.mu.Unlock()
		_ = ln.Close()
	}()
	base := context.Background()
	if s.BaseContext != nil {
		base = s.BaseContext(ln)
	}
	var delay time.Duration
	for {
		rw, err := ln.Accept()
		if err != nil {
			if s.shuttingDown() {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				// As net/http: back off on a temporary failure (out of
				// file descriptors) rather than spin or give up.
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				time.Sleep(delay)
				continue
			}
			return err
		}
		delay = 0
		c := &conn{s: s, rw: rw, base: base}
		if !s.track(c) {
			_ = rw.Close()
			return ErrServerClosed
		}
		go c.serve()
	}
}

func (s *Server) shuttingDown() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closing
}

func (s *Server) track(c *conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	return true
}

func (s *Server) untrack(c *conn) {
	s.mu.Lock()
	_, ok := s.conns[c]
	delete(s.conns, c)
	s.mu.Unlock()
	if ok {
		s.wg.Done()
	}
}

// stop closes the listeners and marks the server closing; it reports the
// connections left.
func (s *Server) stop() []*conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.init()
	if !s.closing {
		s.closing = true
		close(s.done)
	}
	for ln := range s.listeners {
		_ = ln.Close()
	}
	cs := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		cs = append(cs, c)
	}
	return cs
}

// Shutdown stops accepting, closes the idle connections, and waits for the
// requests in progress to finish, until ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	s.stop()
	waited := make(chan struct{})
	go func() { s.wg.Wait(); close(waited) }()
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		// A connection that was reading its next request when the server
		// began closing is idle now or soon: close those each round.
		for _, c := range s.stop() {
			c.closeIfIdle()
		}
		select {
		case <-waited:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// Close closes the listeners and every connection at once (hijacked ones
// are their handlers').
func (s *Server) Close() error {
	for _, c := range s.stop() {
		_ = c.rw.Close()
	}
	return nil
}

func (s *Server) logf(format string, args ...any) {
	if s.ErrorLog != nil {
		s.ErrorLog.Printf(format, args...)
	} else {
		log.Printf(format, args...)
	}
}

// conn is one client connection.
type conn struct {
	s    *Server
	rw   net.Conn
	base context.Context
	r    connReader
	br   *bufio.Reader
	bw   *bufio.Writer

	wbuf []byte // the body held before the header goes, reused by each response

	// hijacked is the handler's: only the connection's goroutine, which
	// runs the handler, reads or sets it.
	hijacked bool

	mu   sync.Mutex
	idle bool // waiting for a request
}

// connReader is the reader under the connection's bufio.Reader: it bounds
// the header read, gives back a byte the background read took, and reports
// a closed connection to the request in progress.
type connReader struct {
	c       *conn
	limit   int64 // bytes left for the request's header; <0: no limit
	stash   []byte
	bg      bool // a background read is running
	bgDone  chan struct{}
	bgByte  [1]byte
	bgErr   error
	cancel  context.CancelCauseFunc
	aborted bool // the client went away during a request
}

func (r *connReader) Read(p []byte) (int, error) {
	if len(r.stash) > 0 {
		n := copy(p, r.stash)
		r.stash = r.stash[n:]
		return n, nil
	}
	if r.aborted {
		return 0, io.EOF
	}
	if r.limit == 0 {
		return 0, errHeaderTooLarge
	}
	if r.limit > 0 && int64(len(p)) > r.limit {
		p = p[:r.limit]
	}
	n, err := r.c.rw.Read(p)
	if r.limit > 0 {
		r.limit -= int64(n)
	}
	return n, err
}

var errHeaderTooLarge = errors.New("http1: request header too large")

// startBackgroundRead watches the idle connection while a handler runs: a
// read that ends in EOF or an error means the client is gone, and the
// request's context is cancelled, as net/http does.
func (r *connReader) startBackgroundRead(cancel context.CancelCauseFunc) {
	r.bg, r.cancel = true, cancel
	r.bgDone = make(chan struct{})
	r.bgErr = nil
	_ = r.c.rw.SetReadDeadline(time.Time{})
	go func() {
		defer close(r.bgDone)
		n, err := r.c.rw.Read(r.bgByte[:])
		if n == 1 {
			r.stash = append(r.stash[:0], r.bgByte[0])
			return
		}
		r.bgErr = err
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return // stopBackgroundRead's deadline
		}
		r.aborted = true
		cancel(errClientGone)
	}()
}

var errClientGone = errors.New("http1: client went away")

// stopBackgroundRead ends the background read and waits for it.
func (r *connReader) stopBackgroundRead() {
	if !r.bg {
		return
	}
	r.bg = false
	_ = r.c.rw.SetReadDeadline(aLongTimeAgo)
	<-r.bgDone
	_ = r.c.rw.SetReadDeadline(time.Time{})
}

var aLongTimeAgo = time.Unix(1, 0)

func (c *conn) setIdle(idle bool) {
	c.mu.Lock()
	c.idle = idle
	c.mu.Unlock()
}

// closeIfIdle ends a connection waiting for its next request.
func (c *conn) closeIfIdle() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.idle {
		_ = c.rw.SetReadDeadline(aLongTimeAgo)
	}
}

func (c *conn) serve() {
	defer func() {
		if !c.hijacked {
			_ = c.rw.Close()
		}
		c.s.untrack(c)
	}()
	c.r.c = c
	c.br = bufio.NewReaderSize(&c.r, 4096)
	c.bw = bufio.NewWriterSize(c.rw, 4096)
	maxHeader := c.s.MaxHeaderBytes
	if maxHeader <= 0 {
		maxHeader = 1 << 20
	}
	headerTimeout := c.s.ReadHeaderTimeout
	if headerTimeout <= 0 {
		headerTimeout = 10 * time.Second
	}
	idleTimeout := c.s.IdleTimeout
	if idleTimeout <= 0 {
		idleTimeout = 2 * time.Minute
	}
	for first := true; ; first = false {
		c.setIdle(true)
		if c.s.shuttingDown() {
			return
		}
		if !first {
			// Wait for the next request's first byte within the idle time,
			// then for the rest of its header within the header time.
			_ = c.rw.SetReadDeadline(time.Now().Add(idleTimeout))
			if _, err := c.br.Peek(1); err != nil {
				return
			}
		}
		_ = c.rw.SetReadDeadline(time.Now().Add(headerTimeout))
		c.r.limit = int64(maxHeader) + 4096
		req, err := http.ReadRequest(c.br)
		c.setIdle(false)
		if err != nil {
			c.refuse(err)
			return
		}
		c.r.limit = -1
		_ = c.rw.SetReadDeadline(time.Time{})
		if !c.handle(req) {
			return
		}
	}
}

// refuse answers a request that could not be read, as net/http does; a
// connection closed or timed out before a whole header gets nothing.
func (c *conn) refuse(err error) {
	var ne net.Error
	if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) || errors.As(err, &ne) || errors.Is(err, net.ErrClosed) {
		return
	}
	code := http.StatusBadRequest
	if errors.Is(err, errHeaderTooLarge) {
		code = http.StatusRequestHeaderFieldsTooLarge
	}
	c.refuseStatus(code)
}

// handle serves one request; it reports whether the connection can carry
// another.
func (c *conn) handle(req *http.Request) (keep bool) {
	if req.ProtoMajor != 1 {
		c.refuseStatus(http.StatusHTTPVersionNotSupported)
		return false
	}
	if req.ProtoAtLeast(1, 1) && req.Host == "" && len(req.Header["Host"]) == 0 {
		c.refuseStatus(http.StatusBadRequest) // RFC 9112 §3.2: HTTP/1.1 needs a Host
		return false
	}
	ctx, cancel := context.WithCancelCause(c.base)
	defer cancel(nil)
	req = req.WithContext(ctx)
	req.RemoteAddr = c.rw.RemoteAddr().String()
	if c.wbuf == nil {
		c.wbuf = make([]byte, 0, bufferSize)
	}
	w := &response{c: c, req: req, header: http.Header{}, buf: c.wbuf[:0]}
	w.closeAfter = req.Close // ReadRequest's: Connection: close, or HTTP/1.0 without keep-alive
	if req.Body != nil && req.Body != http.NoBody {
		body := &requestBody{rc: req.Body}
		if req.ProtoAtLeast(1, 1) && strings.EqualFold(req.Header.Get("Expect"), "100-continue") {
			body.w = w
		}
		req.Body = body
		w.body = body
	} else if c.br.Buffered() == 0 {
		c.r.startBackgroundRead(cancel)
	}
	if !c.run(w, req) {
		return false
	}
	if c.hijacked {
		return false
	}
	c.r.stopBackgroundRead()
	if err := w.finish(); err != nil || c.r.aborted {
		return false
	}
	if w.closeAfter || c.s.shuttingDown() {
		return false
	}
	// A body the handler left unread is drained, if short, so the next
	// request can be read.
	if w.body != nil && !w.body.eof {
		if w.body.w != nil && !w.body.sentContinue {
			return false // the client waits for 100 Continue: not sent, not read
		}
		n, _ := io.CopyN(io.Discard, w.body.rc, 256<<10+1)
		if n > 256<<10 || !w.body.drained() {
			return false
		}
	}
	return true
}

// run calls the handler; a panic is logged (but for http.ErrAbortHandler)
// and ends the connection.
func (c *conn) run(w *response, req *http.Request) (ok bool) {
	defer func() {
		if v := recover(); v != nil {
			ok = false
			if v != http.ErrAbortHandler {
				c.s.logf("http1: panic serving %s: %v\n%s", req.RemoteAddr, v, debug.Stack())
			}
			c.r.stopBackgroundRead()
		}
	}()
	c.s.Handler.ServeHTTP(w, req)
	return true
}

// refuseStatus answers code and nothing else; the connection then ends.
func (c *conn) refuseStatus(code int) {
	_ = c.rw.SetWriteDeadline(time.Now().Add(time.Second))
	status := strconv.Itoa(code) + " " + http.StatusText(code)
	_, _ = io.WriteString(c.rw, "HTTP/1.1 "+status+"\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"+status)
}

// requestBody is a request's body: it sends 100 Continue before the first
// read when the client asked for it, and notes the end.
type requestBody struct {
	rc           io.ReadCloser
	w            *response // set when 100 Continue is owed
	sentContinue bool
	eof          bool
}

func (b *requestBody) Read(p []byte) (int, error) {
	if b.w != nil && !b.sentContinue {
		b.sentContinue = true
		if !b.w.wroteHeader {
			c := b.w.c
			_, _ = c.bw.WriteString("HTTP/1.1 100 Continue\r\n\r\n")
			_ = c.bw.Flush()
		}
	}
	n, err := b.rc.Read(p)
	if err == io.EOF {
		b.eof = true
	}
	return n, err
}

func (b *requestBody) Close() error { return nil }

// drained reports whether the body was read to its end.
func (b *requestBody) drained() bool {
	if b.eof {
		return true
	}
	var one [1]byte
	_, err := b.rc.Read(one[:])
	b.eof = err == io.EOF
	return b.eof
}
