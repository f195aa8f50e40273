package rtsp

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// conn is the RTSP control connection to a camera.
type conn struct {
	nc      net.Conn
	br      *bufio.Reader
	timeout time.Duration
	ua      string

	wmu  sync.Mutex // writes: requests, RTCP over TCP, answers to the server
	wbuf []byte

	cseq        int
	session     string
	sessTimeout time.Duration
	auth        auth
	public      string // the Public header of OPTIONS
}

// defaultPort is RTSP's well-known port (RFC 2326 §3.2).
const defaultPort = "554"

// dial connects to the camera of u.
func dial(ctx context.Context, u *url.URL, timeout time.Duration, ua string) (*conn, error) {
	if !strings.EqualFold(u.Scheme, "rtsp") {
		return nil, fmt.Errorf("rtsp: scheme %q: only rtsp:// is supported", u.Scheme)
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), defaultPort)
	}
	d := net.Dialer{Timeout: timeout}
	nc, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		return nil, fmt.Errorf("rtsp: connect %s: %w", host, err)
	}
	c := &conn{nc: nc, br: bufio.NewReaderSize(nc, 64<<10), timeout: timeout, ua: ua}
	if u.User != nil {
		c.auth.user = u.User.Username()
		c.auth.pass, _ = u.User.Password()
	}
	return c, nil
}

// close closes the connection.
func (c *conn) close() error { return c.nc.Close() }

// write writes bytes under the write lock, with a deadline.
func (c *conn) write(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.nc.SetWriteDeadline(time.Now().Add(c.timeout))
	_, err := c.nc.Write(b)
	return err
}

// send writes a request with CSeq, User-Agent, Session and Authorization.
func (c *conn) send(method, uri string, hdr [][2]string) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.cseq++
	r := request{method: method, url: uri}
	r.add("CSeq", strconv.Itoa(c.cseq))
	if a := c.auth.header(method, uri); a != "" {
		r.add("Authorization", a)
	}
	r.add("User-Agent", c.ua)
	if c.session != "" {
		r.add("Session", c.session)
	}
	r.header = append(r.header, hdr...)
	c.wbuf = r.appendTo(c.wbuf[:0])
	_ = c.nc.SetWriteDeadline(time.Now().Add(c.timeout))
	_, err := c.nc.Write(c.wbuf)
	return c.cseq, err
}

// do sends a request and reads its response. It is used before PLAY, while
// nothing else reads the connection. A 401 is answered once with the URL's
// credentials.
func (c *conn) do(ctx context.Context, method, uri string, hdr [][2]string) (*Message, error) {
	stop := context.AfterFunc(ctx, func() { _ = c.nc.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	for attempt := 0; ; attempt++ {
		cseq, err := c.send(method, uri, hdr)
		if err != nil {
			return nil, c.ctxErr(ctx, fmt.Errorf("rtsp: %s: %w", method, err))
		}
		m, err := c.readResponse(cseq)
		if err != nil {
			return nil, c.ctxErr(ctx, fmt.Errorf("rtsp: %s: %w", method, err))
		}
		if m.StatusCode != 401 {
			return m, nil
		}
		if c.auth.user == "" {
			return nil, fmt.Errorf("%w: %s: the camera wants credentials: put user:password@ in the input URL", ErrAuth, method)
		}
		if attempt > 0 {
			return nil, fmt.Errorf("%w: %s: the camera refused user %q: check the password in the input URL",
				ErrAuth, method, c.auth.user)
		}
		if err := c.auth.challenge(m.Header.Values("WWW-Authenticate")); err != nil {
			return nil, fmt.Errorf("rtsp: %s: %w", method, err)
		}
	}
}

func (c *conn) ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// readResponse reads until the response with the given CSeq, skipping
// interleaved frames and answering the server's requests. A response
// without CSeq is taken as the answer (some cameras leave it out).
func (c *conn) readResponse(cseq int) (*Message, error) {
	_ = c.nc.SetReadDeadline(time.Now().Add(c.timeout))
	defer c.nc.SetReadDeadline(time.Time{})
	var skip []byte
	for {
		_, data, m, err := c.next(skip[:0])
		if err != nil {
			return nil, err
		}
		if m == nil {
			skip = data
			continue
		}
		if m.Method != "" {
			c.answer(m)
			continue
		}
		if n := m.CSeq(); n == cseq || n < 0 {
			return m, nil
		}
	}
}

// answer replies to a server's request (RFC 2326 §10): 200 to the methods
// a client may get, 501 to the rest.
func (c *conn) answer(m *Message) {
	code, reason := 501, "Not Implemented"
	switch m.Method {
	case "OPTIONS", "GET_PARAMETER", "SET_PARAMETER", "ANNOUNCE":
		code, reason = 200, "OK"
	}
	cseq := m.Header.Get("CSeq")
	if cseq == "" {
		cseq = "0"
	}
	_ = c.write(appendResponse(nil, code, reason, sanitize(cseq)))
}

// sanitize keeps a header value from breaking out of its line.
func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' {
			return -1
		}
		return r
	}, s)
}

// maxJunk is how many bytes that are neither an interleaved frame nor a
// message next skips before it gives up on the stream.
const maxJunk = 64 << 10

// next reads the next interleaved frame (RFC 2326 §10.12) into buf, or the
// next message. Bytes that start neither are skipped: some cameras pad
// between frames.
func (c *conn) next(buf []byte) (ch int, data []byte, m *Message, err error) {
	for junk := 0; ; junk++ {
		b, err := c.br.Peek(1)
		if err != nil {
			return 0, nil, nil, err
		}
		switch {
		case b[0] == '$':
			var h [4]byte
			if _, err := io.ReadFull(c.br, h[:]); err != nil {
				return 0, nil, nil, err
			}
			n := int(h[2])<<8 | int(h[3])
			if cap(buf) < n {
				buf = make([]byte, n)
			}
			buf = buf[:n]
			if _, err := io.ReadFull(c.br, buf); err != nil {
				return 0, nil, nil, err
			}
			return int(h[1]), buf, nil, nil
		case b[0] >= 'A' && b[0] <= 'Z':
			m, err := ReadMessage(c.br)
			return 0, buf, m, err
		}
		if junk >= maxJunk {
			return 0, nil, nil, fmt.Errorf("%w: %d bytes that are neither RTSP nor interleaved RTP", ErrProtocol, junk)
		}
		_, _ = c.br.Discard(1)
	}
}
