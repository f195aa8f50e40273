package http1

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// ErrHTTPS is the error of an https:// request: the tiny build has no TLS.
var ErrHTTPS = errors.New("http1: https is not in this build (tiny profile): use http://")

// maxRedirects is http.Client's default limit.
const maxRedirects = 10

// defaultDialTimeout is http.DefaultTransport's.
const defaultDialTimeout = 30 * time.Second

// ClientOptions are what the server's callers ask of a client; NewClient
// makes the client of the build from them.
type ClientOptions struct {
	Timeout     time.Duration // the whole exchange, body included; 0: none
	DialTimeout time.Duration // 0: 30s
	NoKeepAlive bool          // no idle connections kept (Client never keeps any)
}

// Client is a plain HTTP/1.1 client: one TCP connection per request, no
// TLS, no proxy, no compression, no pool. It follows redirects as
// http.Client does.
type Client struct {
	// Timeout bounds the whole exchange, redirects and the body's reads
	// included, as http.Client.Timeout does; 0: none.
	Timeout time.Duration
	// DialTimeout bounds each connect; 0: 30s.
	DialTimeout time.Duration
}

// Do sends req and returns the response. The caller must close its Body,
// which closes the connection. Errors are *url.Error, as http.Client's.
func (c *Client) Do(req *http.Request) (*http.Response, error) {
	ireq := req
	uerr := func(r *http.Request, err error) error {
		e := &url.Error{Op: urlOp(ireq.Method), Err: err}
		if r.URL != nil {
			e.URL = r.URL.Redacted()
		}
		return e
	}
	if req.URL == nil {
		closeBody(req)
		return nil, uerr(req, errors.New("http1: nil Request.URL"))
	}
	var deadline time.Time
	if c.Timeout > 0 {
		deadline = time.Now().Add(c.Timeout)
	}
	keepBody, strip := true, false
	for n := 1; ; n++ {
		resp, err := c.send(req, deadline)
		if err != nil {
			return nil, uerr(req, err)
		}
		method, follow, withBody := redirectBehavior(req.Method, resp.StatusCode, ireq)
		loc := resp.Header.Get("Location")
		if !follow || loc == "" { // a 3xx without Location is the answer, as net/http's
			return resp, nil
		}
		resp.Body.Close()
		if n >= maxRedirects {
			// http.Client also returns the (closed) response; nobody reads it.
			return nil, uerr(req, fmt.Errorf("stopped after %d redirects", maxRedirects))
		}
		u, err := req.URL.Parse(loc)
		if err != nil {
			return nil, uerr(req, fmt.Errorf("failed to parse Location header %q: %v", loc, err))
		}
		// Once a hop drops the body (a 303, or a POST's 301/302), it stays dropped.
		keepBody = keepBody && withBody
		next := (&http.Request{Method: method, URL: u, Header: make(http.Header),
			Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1}).WithContext(ireq.Context())
		if keepBody && ireq.GetBody != nil {
			if next.Body, err = ireq.GetBody(); err != nil {
				return nil, uerr(req, err)
			}
			next.GetBody, next.ContentLength = ireq.GetBody, ireq.ContentLength
		}
		// Credentials go to the first host only (net/http also lets them to
		// its subdomains; fewer is safer).
		strip = strip || !strings.EqualFold(u.Hostname(), ireq.URL.Hostname())
		for k, vv := range ireq.Header {
			switch http.CanonicalHeaderKey(k) {
			case "Authorization", "Www-Authenticate", "Cookie", "Cookie2", "Proxy-Authorization", "Proxy-Authenticate":
				if strip {
					continue
				}
			case "Content-Encoding", "Content-Language", "Content-Location", "Content-Type":
				if !keepBody {
					continue
				}
			}
			next.Header[k] = vv
		}
		req = next
	}
}

// redirectBehavior is net/http's: 301, 302 and 303 are followed with GET
// (HEAD stays HEAD) and no body; 307 and 308 with the same method and
// body, when the body can be sent again.
func redirectBehavior(method string, status int, ireq *http.Request) (next string, follow, withBody bool) {
	switch status {
	case 301, 302, 303:
		if method != http.MethodGet && method != http.MethodHead {
			method = http.MethodGet
		}
		return method, true, false
	case 307, 308:
		hasBody := ireq.Body != nil && ireq.Body != http.NoBody
		return method, ireq.GetBody != nil || !hasBody, true
	}
	return method, false, false
}

// send does one exchange on a new connection and returns the response
// with a Body that owns the connection.
func (c *Client) send(req *http.Request, deadline time.Time) (*http.Response, error) {
	ctx, u := req.Context(), req.URL
	switch {
	case u.Scheme == "https":
		closeBody(req)
		return nil, ErrHTTPS
	case u.Scheme != "http":
		closeBody(req)
		return nil, fmt.Errorf("http1: unsupported protocol scheme %q: use http://", u.Scheme)
	case u.Host == "":
		closeBody(req)
		return nil, errors.New("http1: no Host in request URL")
	}
	port := u.Port()
	if port == "" {
		port = "80"
	}
	d := net.Dialer{Timeout: c.DialTimeout, Deadline: deadline}
	if d.Timeout <= 0 {
		d.Timeout = defaultDialTimeout
	}
	// JoinHostPort brackets an IPv6 literal again (Hostname drops them).
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(u.Hostname(), port))
	if err != nil {
		closeBody(req)
		return nil, c.fail(ctx, deadline, err)
	}
	// The context may end at any time, the body's reads included: closing
	// the connection unblocks whatever waits on it.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	conn.SetDeadline(deadline) // zero: none
	out := *req                // a shallow copy: the caller's request is not changed
	out.Close = true           // Connection: close: the server ends the body by closing
	if ui := u.User; ui != nil && req.Header.Get("Authorization") == "" {
		// http.Client sends a URL's user:password as Basic auth.
		out.Header = req.Header.Clone()
		if out.Header == nil {
			out.Header = make(http.Header)
		}
		pw, _ := ui.Password()
		out.SetBasicAuth(ui.Username(), pw)
	}
	resp, err := exchange(conn, &out)
	if err != nil {
		stop()
		conn.Close()
		return nil, c.fail(ctx, deadline, err)
	}
	resp.Request = req
	resp.Body = &body{r: resp.Body, conn: conn, stop: stop, ctx: ctx, c: c, deadline: deadline}
	return resp, nil
}

// exchange writes req (closing its body) and reads the final response. A
// server that answers before reading the whole request body fails the
// write: the error is the write's, as the request was not sent.
func exchange(conn net.Conn, req *http.Request) (*http.Response, error) {
	if err := req.Write(conn); err != nil {
		return nil, err
	}
	br := bufio.NewReader(conn)
	for {
		resp, err := http.ReadResponse(br, req)
		// 1xx (103 Early Hints) come before the answer and have no body.
		if err != nil || resp.StatusCode >= 200 || resp.StatusCode == http.StatusSwitchingProtocols {
			return resp, err
		}
	}
}

// fail says why an exchange failed: the context's error when it ended
// (its closing of the connection is the cause), or Timeout.
func (c *Client) fail(ctx context.Context, deadline time.Time, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return cerr
	}
	if !deadline.IsZero() && !time.Now().Before(deadline) {
		return fmt.Errorf("http1: Client.Timeout (%s) exceeded: %w", c.Timeout, err)
	}
	return err
}

// body is a response's Body: http.ReadResponse's decoded body (chunked or
// Content-Length or to EOF) over the connection it closes.
type body struct {
	r        io.ReadCloser
	conn     net.Conn
	stop     func() bool
	ctx      context.Context
	c        *Client
	deadline time.Time
}

func (b *body) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF {
		err = b.c.fail(b.ctx, b.deadline, err)
	}
	return n, err
}

// Close closes the connection without reading the rest: the inner body's
// Close would read a response without Connection: close to its end, which
// for a live stream is never.
func (b *body) Close() error {
	b.stop()
	b.conn.Close() // a second Close's error says nothing
	return nil
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}

// urlOp is http.Client's url.Error Op: "Get", "Post".
func urlOp(method string) string {
	if method == "" {
		return "Get"
	}
	return method[:1] + strings.ToLower(method[1:])
}
