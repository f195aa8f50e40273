package http1

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unsafe"
)

// bufferSize is how much of a body is held before the header goes out:
// a response that ends within it gets a Content-Length, a longer one is
// chunked (HTTP/1.1) or ends with the connection (HTTP/1.0).
const bufferSize = 4096

// response is the http.ResponseWriter of one request.
type response struct {
	c      *conn
	req    *http.Request
	header http.Header
	body   *requestBody

	status      int
	wroteHeader bool // WriteHeader called (or implied by Write)
	committed   bool // the header is on the wire (in bw)
	buf         []byte
	chunked     bool
	noBody      bool  // HEAD, 204, 304
	length      int64 // the Content-Length the handler set, -1: none
	written     int64
	closeAfter  bool
	err         error
}

var (
	_ http.ResponseWriter = (*response)(nil)
	_ http.Flusher        = (*response)(nil)
	_ http.Hijacker       = (*response)(nil)
)

func (w *response) Header() http.Header { return w.header }

func (w *response) WriteHeader(code int) {
	if w.wroteHeader || w.c.hijacked {
		return
	}
	if code < 100 || code > 999 {
		panic("http1: invalid WriteHeader code " + strconv.Itoa(code))
	}
	if code >= 100 && code <= 199 && code != http.StatusSwitchingProtocols {
		return // informational answers are not sent
	}
	w.wroteHeader = true
	w.status = code
	w.length = -1
	if cl := w.header.Get("Content-Length"); cl != "" {
		if n, err := strconv.ParseInt(cl, 10, 64); err == nil && n >= 0 {
			w.length = n
		} else {
			w.header.Del("Content-Length")
		}
	}
	w.noBody = w.req.Method == http.MethodHead || code == http.StatusNoContent || code == http.StatusNotModified
}

func (w *response) Write(p []byte) (int, error) {
	if w.c.hijacked {
		return 0, http.ErrHijacked
	}
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if w.err != nil {
		return 0, w.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	if w.noBody {
		if w.req.Method == http.MethodHead {
			w.written += int64(len(p))
			return len(p), nil // counted for the Content-Length, not sent
		}
		return 0, http.ErrBodyNotAllowed
	}
	if w.length >= 0 && w.written+int64(len(p)) > w.length {
		return 0, http.ErrContentLength
	}
	w.written += int64(len(p))
	if !w.committed {
		if len(w.buf)+len(p) <= bufferSize {
			w.buf = append(w.buf, p...)
			return len(p), nil
		}
		w.commit(false)
	}
	if err := w.writeBody(p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// WriteString writes s without copying it first (io.WriteString's path):
// Write only reads p, and copies what it keeps.
func (w *response) WriteString(s string) (int, error) {
	return w.Write(unsafe.Slice(unsafe.StringData(s), len(s)))
}

// commit puts the header on the wire, with what is buffered of the body;
// final means the handler is done, so the buffered body is all of it.
func (w *response) commit(final bool) {
	if w.committed {
		return
	}
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	w.committed = true
	h := w.header
	if _, ok := h["Content-Type"]; !ok && len(w.buf) > 0 && !w.noBody && h.Get("Transfer-Encoding") == "" {
		h.Set("Content-Type", http.DetectContentType(w.buf))
	}
	if _, ok := h["Date"]; !ok {
		h.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	}
	switch {
	case w.status == http.StatusNoContent || w.status == http.StatusNotModified || w.status < 200:
		h.Del("Transfer-Encoding")
		if w.status != http.StatusNotModified {
			h.Del("Content-Length")
		}
	case w.length >= 0:
	case final && (w.req.Method != http.MethodHead || w.written > 0):
		h.Set("Content-Length", strconv.FormatInt(w.written, 10))
		w.length = w.written
	case w.req.Method == http.MethodHead:
	case w.req.ProtoAtLeast(1, 1):
		h.Set("Transfer-Encoding", "chunked")
		w.chunked = true
	default:
		w.closeAfter = true // HTTP/1.0: the end of the connection ends the body
	}
	if w.length >= 0 || w.chunked {
		// A Transfer-Encoding the handler set is ours to apply.
		if !w.chunked {
			h.Del("Transfer-Encoding")
		}
	}
	if w.closeAfter || w.c.s.shuttingDown() || hasToken(h.Get("Connection"), "close") {
		w.closeAfter = true
		h.Set("Connection", "close")
	} else if !w.req.ProtoAtLeast(1, 1) {
		h.Set("Connection", "keep-alive")
	}
	bw := w.c.bw
	proto := "HTTP/1.1 "
	_, _ = bw.WriteString(proto + strconv.Itoa(w.status) + " " + http.StatusText(w.status) + "\r\n")
	_ = h.Write(bw)
	_, _ = bw.WriteString("\r\n")
	buf := w.buf
	w.buf = nil
	if len(buf) > 0 && !w.noBody {
		w.err = w.writeBody(buf)
	}
}

func hasToken(v, token string) bool {
	for _, t := range strings.Split(v, ",") {
		if strings.EqualFold(strings.TrimSpace(t), token) {
			return true
		}
	}
	return false
}

func (w *response) writeBody(p []byte) error {
	if w.err != nil {
		return w.err
	}
	bw := w.c.bw
	var err error
	if w.chunked {
		_, _ = bw.WriteString(strconv.FormatInt(int64(len(p)), 16) + "\r\n")
		_, _ = bw.Write(p)
		_, err = bw.WriteString("\r\n")
	} else {
		_, err = bw.Write(p)
	}
	if err != nil {
		w.err = err
	}
	return err
}

// FlushError sends what is written so far (http.ResponseController's
// Flush).
func (w *response) FlushError() error {
	if w.c.hijacked {
		return http.ErrHijacked
	}
	w.commit(false)
	if w.err != nil {
		return w.err
	}
	if err := w.c.bw.Flush(); err != nil {
		w.err = err
	}
	return w.err
}

func (w *response) Flush() { _ = w.FlushError() }

// SetWriteDeadline and SetReadDeadline are http.ResponseController's.
func (w *response) SetWriteDeadline(t time.Time) error { return w.c.rw.SetWriteDeadline(t) }

func (w *response) SetReadDeadline(t time.Time) error {
	if w.c.r.bg {
		return errors.New("http1: read deadline while the connection is watched")
	}
	return w.c.rw.SetReadDeadline(t)
}

// finish ends the response once the handler has returned.
func (w *response) finish() error {
	w.commit(true)
	if w.err == nil && w.chunked {
		_, w.err = w.c.bw.WriteString("0\r\n\r\n")
	}
	if w.err == nil {
		w.err = w.c.bw.Flush()
	}
	if w.err == nil && w.length >= 0 && w.written != w.length && w.req.Method != http.MethodHead && !w.noBody {
		w.closeAfter = true // short of its Content-Length: the client can only tell by the close
	}
	_ = w.c.rw.SetWriteDeadline(time.Time{})
	return w.err
}

// Hijack hands the connection to the handler, as net/http's does: the
// deadlines are cleared and nothing more is written by the server.
func (w *response) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c := w.c
	if c.hijacked {
		return nil, nil, http.ErrHijacked
	}
	if w.committed {
		return nil, nil, errors.New("http1: hijack after the response began")
	}
	c.hijacked = true
	c.r.stopBackgroundRead()
	_ = c.rw.SetDeadline(time.Time{})
	c.s.untrack(c)
	return c.rw, bufio.NewReadWriter(c.br, c.bw), nil
}

// io.ReaderFrom would let io.Copy skip the buffer; the handlers that send
// files send them through http.ServeContent, whose io.CopyN writes 32 KiB
// at a time, which is fine on this path.
var _ io.Writer = (*response)(nil)
