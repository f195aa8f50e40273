package http1

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// countingListener counts the connections accepted.
type countingListener struct {
	net.Listener
	n atomic.Int32
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}

// serve starts a Server with h on 127.0.0.1 and returns its base URL.
func serve(t *testing.T, h http.Handler, opts ...func(*Server)) (*Server, *countingListener, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cl := &countingListener{Listener: ln}
	s := &Server{Handler: h, ErrorLog: log.New(io.Discard, "", 0)}
	for _, o := range opts {
		o(s)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(cl) }()
	t.Cleanup(func() {
		_ = s.Close()
		if err := <-done; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
	})
	return s, cl, "http://" + ln.Addr().String()
}

// rawRequest sends a request as written and returns everything the server
// answers until it closes the connection or a second passes.
func rawRequest(t *testing.T, base, req string) string {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(c)
	return string(b)
}

// fetch asks url of a client, net/http's or ours, and reads the answer.
func fetch(t *testing.T, client Doer, method, url string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, string(b)
}

// TestServeNetHTTPClient: net/http's client gets short answers with a
// Content-Length, long ones chunked, HEAD without a body, and keeps one
// connection for all of them.
func TestServeNetHTTPClient(t *testing.T) {
	long := strings.Repeat("x", 3*bufferSize)
	mux := http.NewServeMux()
	mux.HandleFunc("/short", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Test", "1")
		_, _ = io.WriteString(w, "hello")
	})
	mux.HandleFunc("/long", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, long) })
	mux.HandleFunc("/none", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	mux.HandleFunc("POST /echo", func(w http.ResponseWriter, r *http.Request) { _, _ = io.Copy(w, r.Body) })
	_, ln, base := serve(t, mux)
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()

	res, body := fetch(t, client, "GET", base+"/short")
	if res.StatusCode != 200 || body != "hello" || res.ContentLength != 5 || res.Header.Get("X-Test") != "1" ||
		res.Header.Get("Content-Type") != "text/plain; charset=utf-8" || res.Header.Get("Date") == "" {
		t.Errorf("short: %d %q length %d header %v", res.StatusCode, body, res.ContentLength, res.Header)
	}
	res, body = fetch(t, client, "GET", base+"/long")
	if body != long || res.ContentLength != -1 || len(res.TransferEncoding) != 1 {
		t.Errorf("long: %d bytes, length %d, encoding %v", len(body), res.ContentLength, res.TransferEncoding)
	}
	res, body = fetch(t, client, "HEAD", base+"/short")
	if res.StatusCode != 200 || body != "" || res.ContentLength != 5 {
		t.Errorf("HEAD: %d %q length %d", res.StatusCode, body, res.ContentLength)
	}
	res, _ = fetch(t, client, "GET", base+"/none")
	if res.StatusCode != 204 {
		t.Errorf("204: %d", res.StatusCode)
	}
	res, _ = fetch(t, client, "GET", base+"/missing")
	if res.StatusCode != 404 {
		t.Errorf("missing: %d", res.StatusCode)
	}
	in := strings.Repeat("body", 5000)
	res, err := client.Post(base+"/echo", "text/plain", strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if string(b) != in {
		t.Errorf("echo: %d bytes back of %d", len(b), len(in))
	}
	if n := ln.n.Load(); n != 1 {
		t.Errorf("%d connections for six requests, want one kept alive", n)
	}
}

// TestServeStream: a handler that flushes is read as it writes, and the
// request's context ends when the client goes away.
func TestServeStream(t *testing.T) {
	gone := make(chan error, 1)
	_, _, base := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		for i := 0; ; i++ {
			_ = rc.SetWriteDeadline(time.Now().Add(time.Second))
			if _, err := io.WriteString(w, "tick\n"); err != nil {
				gone <- err
				return
			}
			if err := rc.Flush(); err != nil {
				gone <- err
				return
			}
			select {
			case <-r.Context().Done():
				gone <- context.Cause(r.Context())
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}))
	res, err := http.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(res.Body).ReadString('\n')
	if line != "tick\n" || err != nil {
		t.Fatalf("first line %q, %v", line, err)
	}
	res.Body.Close()
	select {
	case err := <-gone:
		if err == nil {
			t.Error("the handler ended without an error")
		}
	case <-time.After(3 * time.Second):
		t.Fatal("the handler did not see the client leave")
	}
}

// TestServeRaw: what net/http's client never sends: HTTP/1.0, pipelining,
// Expect: 100-continue, bad and oversized requests, no Host.
func TestServeRaw(t *testing.T) {
	_, _, base := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == "POST" {
			b, _ := io.ReadAll(r.Body)
			_, _ = w.Write(b)
			return
		}
		if r.URL.Path == "/stream" {
			_, _ = io.WriteString(w, "a")
			w.(http.Flusher).Flush()
			_, _ = io.WriteString(w, "b")
			return
		}
		_, _ = io.WriteString(w, r.URL.Path)
	}), func(s *Server) { s.MaxHeaderBytes = 1000 })
	for _, c := range []struct{ name, req, want string }{
		{"HTTP/1.0 closes", "GET /a HTTP/1.0\r\n\r\n", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n"},
		{"HTTP/1.0 stream ends with the connection", "GET /stream HTTP/1.0\r\n\r\n", "Connection: close\r\nContent-Type: text/plain; charset=utf-8\r\n"},
		{"pipelined", "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /bc HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "\r\n\r\n/a"},
		{"continue", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nExpect: 100-continue\r\nConnection: close\r\n\r\nhi", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n"},
		{"chunked request", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n2\r\nhi\r\n0\r\n\r\n", "\r\n\r\nhi"},
		{"garbage", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", "HTTP/1.1 400 Bad Request\r\n"},
		{"no host", "GET / HTTP/1.1\r\n\r\n", "HTTP/1.1 400 Bad Request\r\n"},
		{"HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "HTTP/1.1 505 HTTP Version Not Supported\r\n"},
		{"header too large", "GET / HTTP/1.1\r\nHost: x\r\nX: " + strings.Repeat("y", 8000) + "\r\n\r\n", "HTTP/1.1 431 "},
	} {
		got := rawRequest(t, base, c.req)
		if !strings.Contains(got, c.want) {
			t.Errorf("%s: got %q, want it to hold %q", c.name, got, c.want)
		}
		if c.name == "pipelined" && !strings.HasSuffix(got, "/bc") {
			t.Errorf("pipelined: got %q, want both answers", got)
		}
		if c.name == "HTTP/1.0 stream ends with the connection" && !strings.HasSuffix(got, "\r\n\r\nab") {
			t.Errorf("HTTP/1.0 stream: got %q", got)
		}
	}
}

// TestServeHijack: a hijacked connection is the handler's; the server
// neither writes to it nor closes it.
func TestServeHijack(t *testing.T) {
	_, _, base := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, rw, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		go func() {
			defer c.Close()
			_, _ = rw.WriteString("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nmine")
			_ = rw.Flush()
			time.Sleep(50 * time.Millisecond)
			_, _ = io.WriteString(c, ", later")
		}()
	}))
	got := rawRequest(t, base, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	if got != "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nmine, later" {
		t.Errorf("hijacked: %q", got)
	}
}

// TestServePanic: a handler's panic ends its connection, not the server.
func TestServePanic(t *testing.T) {
	_, _, base := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/panic" {
			panic("boom")
		}
		_, _ = io.WriteString(w, "fine")
	}))
	if _, err := http.Get(base + "/panic"); err == nil {
		t.Error("a panicking handler answered")
	}
	res, body := fetch(t, http.DefaultClient, "GET", base+"/")
	if res.StatusCode != 200 || body != "fine" {
		t.Errorf("after the panic: %d %q", res.StatusCode, body)
	}
}

// TestServeShutdown: Shutdown closes idle connections at once, lets a
// request in progress finish, and Serve returns ErrServerClosed.
func TestServeShutdown(t *testing.T) {
	release := make(chan struct{})
	s, _, base := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			<-release
		}
		_, _ = io.WriteString(w, "done")
	}))
	idle, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	slow := make(chan string, 1)
	go func() {
		res, err := http.Get(base + "/slow")
		if err != nil {
			slow <- err.Error()
			return
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		slow <- string(b)
	}()
	time.Sleep(100 * time.Millisecond)
	shut := make(chan error, 1)
	go func() { shut <- s.Shutdown(context.Background()) }()
	_ = idle.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := idle.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("idle connection at shutdown: %v, want EOF", err)
	}
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned (%v) with a request in progress", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	if got := <-slow; got != "done" {
		t.Errorf("request in progress at shutdown: %q", got)
	}
	if err := <-shut; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if _, err := net.DialTimeout("tcp", strings.TrimPrefix(base, "http://"), time.Second); err == nil {
		t.Error("still accepting after Shutdown")
	}
}

// TestServeContentRange: http.ServeContent's ranges and conditional
// answers go through as net/http's server sends them.
func TestServeContentRange(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789"), 1000)
	mod := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	_, _, base := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "f.ts", mod, bytes.NewReader(data))
	}))
	req, _ := http.NewRequest("GET", base+"/", nil)
	req.Header.Set("Range", "bytes=10-19")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 206 || string(b) != "0123456789" || res.Header.Get("Content-Range") != "bytes 10-19/10000" {
		t.Errorf("range: %d %q %v", res.StatusCode, b, res.Header)
	}
	req.Header.Del("Range")
	req.Header.Set("If-Modified-Since", mod.Format(http.TimeFormat))
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 304 {
		t.Errorf("conditional: %d", res.StatusCode)
	}
	res, body := fetch(t, http.DefaultClient, "GET", base+"/")
	if res.StatusCode != 200 || len(body) != len(data) || res.ContentLength != int64(len(data)) {
		t.Errorf("whole: %d, %d bytes, length %d", res.StatusCode, len(body), res.ContentLength)
	}
}

// TestServeCurl: curl, keeping one connection for two URLs.
func TestServeCurl(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("SKIP: curl not installed (apt-get install curl)")
	}
	_, ln, base := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, r.URL.Path+"\n")
	}))
	out, err := exec.Command(curl, "-sS", "--fail", base+"/one", base+"/two").CombinedOutput()
	if err != nil || string(out) != "/one\n/two\n" {
		t.Errorf("curl: %q, %v", out, err)
	}
	if n := ln.n.Load(); n != 1 {
		t.Errorf("curl used %d connections, want 1", n)
	}
}
