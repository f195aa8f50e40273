package http1

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// The peer of these tests is net/http's server: what hooks, collectors
// and origins are likely to run, and a strict HTTP/1.1 implementation.

func TestContentLength(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !r.Close {
			t.Errorf("request without Connection: close")
		}
		w.Header().Set("Content-Length", "5")
		io.WriteString(w, "hello")
	}))
	defer srv.Close()
	resp, b := fetch(t, &Client{}, http.MethodGet, srv.URL+"/x")
	if resp.StatusCode != 200 || resp.ContentLength != 5 || b != "hello" {
		t.Fatalf("got %d, length %d, %q", resp.StatusCode, resp.ContentLength, b)
	}
	if resp.Request == nil || resp.Request.URL.Path != "/x" {
		t.Errorf("resp.Request = %v", resp.Request)
	}
}

func TestChunked(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for i := range 3 {
			fmt.Fprintf(w, "part%d;", i)
			w.(http.Flusher).Flush()
		}
	}))
	defer srv.Close()
	resp, b := fetch(t, &Client{}, http.MethodGet, srv.URL)
	if len(resp.TransferEncoding) != 1 || resp.TransferEncoding[0] != "chunked" {
		t.Errorf("TransferEncoding = %v, want chunked", resp.TransferEncoding)
	}
	if b != "part0;part1;part2;" {
		t.Fatalf("body %q", b)
	}
}

func TestHead(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100")
	}))
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodHead, srv.URL, nil)
	resp, err := (&Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if b, err := io.ReadAll(resp.Body); err != nil || len(b) != 0 || resp.ContentLength != 100 {
		t.Fatalf("HEAD: body %q, %v, length %d", b, err, resp.ContentLength)
	}
}

func TestPostJSONAndHeaders(t *testing.T) {
	const js = `{"action":"on_publish","stream":"livestream"}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.Method != http.MethodPost || string(b) != js || r.ContentLength != int64(len(js)) ||
			r.Header.Get("Content-Length") != strconv.Itoa(len(js)) {
			t.Errorf("server got %s %q, length %d (%q)", r.Method, b, r.ContentLength, r.Header.Get("Content-Length"))
		}
		if r.Header.Get("Content-Type") != "application/json" || r.Header.Get("X-Req") != "a" {
			t.Errorf("request headers %v", r.Header)
		}
		if u, p, ok := r.BasicAuth(); !ok || u != "user" || p != "pw" {
			t.Errorf("basic auth %q %q %v", u, p, ok)
		}
		w.Header().Set("X-Resp", "b")
		io.WriteString(w, `{"code":0}`)
	}))
	defer srv.Close()
	u := strings.Replace(srv.URL, "http://", "http://user:pw@", 1)
	req, _ := http.NewRequest(http.MethodPost, u+"/hook", strings.NewReader(js))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Req", "a")
	resp, err := (&Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.Header.Get("X-Resp") != "b" || string(b) != `{"code":0}` {
		t.Fatalf("response %v %q", resp.Header, b)
	}
	if req.Header.Get("Authorization") != "" || req.Close {
		t.Errorf("the caller's request was changed")
	}
}

func TestRedirect(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/a", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/b", http.StatusFound) })
	mux.HandleFunc("/b", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Req") != "a" {
			t.Errorf("header not carried to the redirect: %v", r.Header)
		}
		io.WriteString(w, "b")
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/a", nil)
	req.Header.Set("X-Req", "a")
	resp, err := (&Client{}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(b) != "b" || resp.Request.URL.Path != "/b" {
		t.Fatalf("got %d %q at %v", resp.StatusCode, b, resp.Request.URL)
	}
}

// TestRedirectPost: a 303 turns a POST into a GET without body; a 307
// sends the POST and its body again.
func TestRedirectPost(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/303", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/to", http.StatusSeeOther)
	})
	mux.HandleFunc("/307", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/to", http.StatusTemporaryRedirect)
	})
	mux.HandleFunc("/to", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%s %q %s", r.Method, b, r.Header.Get("Content-Type"))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	for path, want := range map[string]string{"/303": `GET "" `, "/307": `POST "{}" application/json`} {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader("{}"))
		req.Header.Set("Content-Type", "application/json")
		resp, err := (&Client{}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != want {
			t.Errorf("%s: got %s, want %s", path, b, want)
		}
	}
}

func TestTooManyRedirects(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, fmt.Sprintf("/%d", n.Add(1)), http.StatusFound)
	}))
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	resp, err := (&Client{}).Do(req)
	if err == nil || resp != nil || !strings.Contains(err.Error(), "stopped after 10 redirects") {
		t.Fatalf("got %v, %v", resp, err)
	}
	if n.Load() != 10 { // as http.Client: the 10th redirect is not followed
		t.Errorf("%d requests, want 10", n.Load())
	}
}

func TestHTTPSRefused(t *testing.T) {
	req, _ := http.NewRequest(http.MethodGet, "https://127.0.0.1:1/", nil)
	_, err := (&Client{}).Do(req)
	if !errors.Is(err, ErrHTTPS) || !strings.Contains(err.Error(), "https is not in this build (tiny profile): use http://") {
		t.Fatalf("got %v", err)
	}
	// A redirect to https is refused the same way.
	srv := httptest.NewServer(http.RedirectHandler("https://127.0.0.1:1/", http.StatusFound))
	defer srv.Close()
	req, _ = http.NewRequest(http.MethodGet, srv.URL, nil)
	if _, err = (&Client{}).Do(req); !errors.Is(err, ErrHTTPS) {
		t.Fatalf("redirect to https: %v", err)
	}
}

func TestTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/body" { // the headers come, the body stalls
			w.(http.Flusher).Flush()
		}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	c := &Client{Timeout: 200 * time.Millisecond}

	start := time.Now()
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/headers", nil)
	_, err := c.Do(req)
	if !errors.Is(err, os.ErrDeadlineExceeded) || !strings.Contains(err.Error(), "Timeout") {
		t.Fatalf("got %v, want a timeout", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("timed out after %s", d)
	}

	start = time.Now()
	req, _ = http.NewRequest(http.MethodGet, srv.URL+"/body", nil)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if _, err = io.ReadAll(resp.Body); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("body read: %v, want a timeout", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("body timed out after %s", d)
	}
}

// TestCancelWhileReading: ending the request's context unblocks a read of
// a live body, with the context's error.
func TestCancelWhileReading(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "first")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	resp, err := (&Client{}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	buf := make([]byte, 5)
	if _, err := io.ReadFull(resp.Body, buf); err != nil || string(buf) != "first" {
		t.Fatalf("first read %q %v", buf, err)
	}
	time.AfterFunc(100*time.Millisecond, cancel)
	done := make(chan error, 1)
	go func() { _, err := resp.Body.Read(buf); done <- err }()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("read after cancel: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the read did not end with the context")
	}
}

// TestCancelBeforeAnswer: the context ends the wait for the headers too.
func TestCancelBeforeAnswer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	if _, err := (&Client{}).Do(req); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v", err)
	}
}

// TestCloseClosesConn: closing an unread live body closes the connection:
// the server sees it go.
func TestCloseClosesConn(t *testing.T) {
	closed := make(chan struct{}, 1)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		chunk := strings.Repeat("x", 1024)
		for {
			if _, err := io.WriteString(w, chunk); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			time.Sleep(time.Millisecond)
		}
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateClosed {
			closed <- struct{}{}
		}
	}
	srv.Start()
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	resp, err := (&Client{}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(resp.Body, make([]byte, 4096)); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("the server's connection is still open after Body.Close")
	}
	if _, err := resp.Body.Read(make([]byte, 1)); err == nil {
		t.Error("read after Close succeeded")
	}
}

func TestIPv6Literal(t *testing.T) {
	l, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skipf("SKIPPED: no [::1]: %v", err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.Host)
	}))
	srv.Listener.Close()
	srv.Listener = l
	srv.Start()
	defer srv.Close()
	u := "http://" + l.Addr().String() + "/"
	if resp, b := fetch(t, &Client{}, http.MethodGet, u); resp.StatusCode != 200 || b != l.Addr().String() {
		t.Fatalf("got %d, Host %q", resp.StatusCode, b)
	}
}

func TestDialRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/", nil)
	var ue *url.Error
	if _, err := (&Client{DialTimeout: time.Second}).Do(req); err == nil || !errors.As(err, &ue) {
		t.Fatalf("got %v, want a *url.Error", err)
	}
}
