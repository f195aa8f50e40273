package http1

import (
	"bytes"
	"context"
	"io"
	"log"
	"net"
	"net/http"
	"testing"
	"time"
)

// fakeConn is a connection whose client sent in and then closed.
type fakeConn struct {
	in  *bytes.Reader
	out bytes.Buffer
}

func (c *fakeConn) Read(p []byte) (int, error)       { return c.in.Read(p) }
func (c *fakeConn) Write(p []byte) (int, error)      { return c.out.Write(p) }
func (c *fakeConn) Close() error                     { return nil }
func (c *fakeConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (c *fakeConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (c *fakeConn) SetDeadline(time.Time) error      { return nil }
func (c *fakeConn) SetReadDeadline(time.Time) error  { return nil }
func (c *fakeConn) SetWriteDeadline(time.Time) error { return nil }

// FuzzServe serves whatever a client may send on one connection: requests
// good and bad, pipelined, with bodies chunked or not, to a handler that
// reads, streams, flushes and sets lengths. Nothing may panic or hang.
func FuzzServe(f *testing.F) {
	for _, s := range []string{
		"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /a HTTP/1.0\r\n\r\nGET /b HTTP/1.1\r\nHost: y\r\n\r\n",
		"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\nabc",
		"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
		"HEAD /stream HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /length HTTP/1.1\r\nHost: x\r\n\r\n",
		"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
		"\x16\x03\x01\x00",
	} {
		f.Add([]byte(s))
	}
	s := &Server{ErrorLog: log.New(io.Discard, "", 0), MaxHeaderBytes: 4096,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch r.URL.Path {
			case "/echo":
				_, _ = io.Copy(w, r.Body)
			case "/stream":
				for range 3 {
					_, _ = w.Write(bytes.Repeat([]byte("s"), 3000))
					w.(http.Flusher).Flush()
				}
			case "/length":
				w.Header().Set("Content-Length", "4")
				_, _ = w.Write([]byte("abcdef"))
			default:
				_, _ = io.WriteString(w, r.URL.Path)
			}
		})}
	s.init()
	f.Fuzz(func(t *testing.T, in []byte) {
		c := &conn{s: s, rw: &fakeConn{in: bytes.NewReader(in)}, base: context.Background()}
		if !s.track(c) {
			t.Fatal("server closed")
		}
		c.serve()
	})
}
