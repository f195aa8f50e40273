package httpflv

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/srs-lite/srs-lite/internal/format/flv"
	"github.com/srs-lite/srs-lite/internal/media"
	sess "github.com/srs-lite/srs-lite/internal/session"
)

const ms = time.Millisecond

// metaBody is an AMF0 onMetaData script body: the name, then an empty
// ECMA array.
var metaBody = []byte("\x02\x00\x0aonMetaData\x08\x00\x00\x00\x00\x00\x00\x09")

func newFrame(c media.Codec, fl media.Flags, at int, payload []byte) media.Frame {
	b := media.GetBuf(len(payload))
	copy(b.Bytes(), payload)
	f := media.Frame{DTS: time.Duration(at) * ms, PTS: time.Duration(at) * ms, Codec: c, Flags: fl}
	f.SetBuf(b, 0, len(payload))
	return f
}

// pub is a fake publisher. Its methods belong to one goroutine.
type pub struct {
	s  *media.Stream
	at int // next video DTS, ms
	n  int // video frames written
}

func publish(t *testing.T, g *media.Registry, vhost, app, name string) *pub {
	t.Helper()
	s, err := g.Publish(media.Key{Vhost: vhost, App: app, Stream: name})
	if err != nil {
		t.Fatal(err)
	}
	return &pub{s: s}
}

func (p *pub) write(c media.Codec, fl media.Flags, at int, payload []byte) {
	f := newFrame(c, fl, at, payload)
	p.s.Write(&f)
}

// headers writes metadata and the H.264 and AAC sequence headers.
func (p *pub) headers() {
	p.write(media.CodecData, 0, p.at, metaBody)
	p.write(media.CodecH264, media.FlagConfig, p.at, []byte{1, 0x64, 0, 0x1f, 0xff, 0xe1, 0, 0})
	p.write(media.CodecAAC, media.FlagConfig, p.at, []byte{0x12, 0x10})
}

// next writes one video frame (a keyframe every gop frames) and one AAC
// frame, 40 ms apart.
func (p *pub) next(gop int) {
	fl := media.Flags(0)
	if p.n%gop == 0 {
		fl = media.FlagKey
	}
	p.write(media.CodecH264, fl, p.at, []byte{0, 0, 0, 2, 0x65, byte(p.n)})
	p.write(media.CodecAAC, 0, p.at+5, []byte{0x21, byte(p.n)})
	p.at += 40
	p.n++
}

// run publishes a frame pair every 5 ms until ctx is done, then
// unpublishes. It returns a channel closed when it has.
func (p *pub) run(ctx context.Context, gop int) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer p.s.Unpublish()
		tk := time.NewTicker(5 * ms)
		defer tk.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tk.C:
				p.next(gop)
			}
		}
	}()
	return done
}

func noMerge(string) media.Options {
	o := media.DefaultOptions()
	o.MinFrames, o.MaxDelay = 1, 0
	return o
}

type env struct {
	reg     *media.Registry
	clients *sess.Table
	h       *Handler
	srv     *httptest.Server
	client  *http.Client
}

func newEnv(t *testing.T, cfg Config, deps Deps) *env {
	t.Helper()
	e := &env{reg: deps.Registry}
	if e.reg == nil {
		e.reg = media.NewRegistry(noMerge)
		deps.Registry = e.reg
	}
	e.clients = sess.NewTable()
	f, _ := deps.Events.(sess.Funcs)
	f.Table = e.clients
	deps.Events = f
	if deps.Log == nil && testing.Verbose() {
		deps.Log = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	h, err := New(cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	e.h = h
	e.srv = httptest.NewServer(h)
	e.client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	t.Cleanup(func() {
		h.Close()
		e.srv.Close()
	})
	return e
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func (e *env) get(t *testing.T, path string) *http.Response {
	t.Helper()
	resp, err := e.client.Get(e.srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// tagInfo is a tag read back from a play, parsed into a frame.
type tagInfo struct {
	typ   uint8
	ts    uint32
	codec media.Codec
	flags media.Flags
	body  string
}

func (ti tagInfo) String() string {
	return fmt.Sprintf("%v/%d@%d", ti.codec, ti.flags, ti.ts)
}

// errRecorder remembers the error that ended the body.
type errRecorder struct {
	r   io.Reader
	err error
}

func (e *errRecorder) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil {
		e.err = err
	}
	return n, err
}

type player struct {
	body *errRecorder
	fr   *flv.Reader
}

func newPlayer(t *testing.T, resp *http.Response) *player {
	t.Helper()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	p := &player{body: &errRecorder{r: resp.Body}}
	p.fr = flv.NewReader(p.body)
	a, v, err := p.fr.ReadHeader()
	if err != nil || !a || !v {
		t.Fatalf("flv header: audio %v video %v err %v", a, v, err)
	}
	return p
}

func (p *player) tag() (tagInfo, error) {
	tag, err := p.fr.ReadTag()
	if err != nil {
		return tagInfo{}, err
	}
	var f media.Frame
	if err := flv.FrameFromTag(tag.Type, tag.Timestamp, tag.Body, &f); err != nil {
		return tagInfo{}, err
	}
	return tagInfo{typ: tag.Type, ts: tag.Timestamp, codec: f.Codec, flags: f.Flags, body: string(f.Payload)}, nil
}

func (p *player) tags(t *testing.T, n int) []tagInfo {
	t.Helper()
	out := make([]tagInfo, 0, n)
	for range n {
		ti, err := p.tag()
		if err != nil {
			t.Fatalf("after %v: %v", out, err)
		}
		out = append(out, ti)
	}
	return out
}

// untilEnd reads tags until the body ends and returns the body's error.
func (p *player) untilEnd(t *testing.T) error {
	t.Helper()
	for {
		if _, err := p.tag(); err != nil {
			if err != io.EOF {
				t.Fatalf("read: %v", err)
			}
			return p.body.err
		}
	}
}

// ends fails t unless the body ends (in any way) within 5 s.
func (p *player) ends(t *testing.T) {
	t.Helper()
	ended := make(chan error, 1)
	go func() {
		for {
			if _, err := p.tag(); err != nil {
				ended <- err
				return
			}
		}
	}()
	select {
	case <-ended:
	case <-time.After(5 * time.Second):
		t.Fatal("the play did not end")
	}
}

// checkRoutines returns a func that fails t unless the goroutine count
// settles back to what it is now.
func checkRoutines(t *testing.T) func() {
	base := runtime.NumGoroutine()
	return func() {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			n := runtime.NumGoroutine()
			if n <= base {
				return
			}
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<16)
				t.Fatalf("goroutines: %d, want <= %d\n%s", n, base, buf[:runtime.Stack(buf, true)])
			}
			time.Sleep(10 * ms)
		}
	}
}

// waitFor polls cond for up to 5 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * ms)
	}
}

func readers(g *media.Registry, vhost, app, name string) int {
	s := g.Lookup(media.Key{Vhost: vhost, App: app, Stream: name})
	if s == nil {
		return 0
	}
	return s.Stats().Readers
}

// TestPlayGOPAndLive: a player joining at the GOP cache gets metadata,
// sequence headers, the GOP and then the live frames, on its own timeline
// (time_jitter): from 0 with full and zero correction; at the GOP's
// timestamp, the publisher's, with none.
func TestPlayGOPAndLive(t *testing.T) {
	for _, mode := range []media.TimeJitter{media.JitterFull, media.JitterZero, media.JitterOff} {
		t.Run(mode.String(), func(t *testing.T) {
			testPlayGOPAndLive(t, mode)
		})
	}
}

func testPlayGOPAndLive(t *testing.T, mode media.TimeJitter) {
	e := newEnv(t, Config{}, Deps{Registry: media.NewRegistry(func(v string) media.Options {
		o := noMerge(v)
		o.TimeJitter = mode
		return o
	})})
	p := publish(t, e.reg, "__defaultVhost__", "live", "cam")
	p.headers()
	for range 7 { // GOPs of 4: keyframes at 0 and 160 ms
		p.next(4)
	}
	var shift uint32 = 160 // the player's timeline starts at the GOP
	if mode == media.JitterOff {
		shift = 0
	}

	resp := e.get(t, "/live/cam.flv?token=abc")
	defer resp.Body.Close()
	for k, want := range map[string]string{
		"Content-Type":                "video/x-flv",
		"Access-Control-Allow-Origin": "*",
		"Cache-Control":               "no-cache",
	} {
		if got := resp.Header.Get(k); got != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}
	if len(resp.TransferEncoding) != 1 || resp.TransferEncoding[0] != "chunked" {
		t.Errorf("transfer encoding %v, want chunked", resp.TransferEncoding)
	}
	pl := newPlayer(t, resp)
	got := pl.tags(t, 3+6)
	want := []struct {
		typ   uint8
		codec media.Codec
		flags media.Flags
		ts    uint32
	}{
		{flv.TagScript, media.CodecData, 0, 160}, // at the first frame's time
		{flv.TagVideo, media.CodecH264, media.FlagConfig, 160},
		{flv.TagAudio, media.CodecAAC, media.FlagConfig, 160},
		{flv.TagVideo, media.CodecH264, media.FlagKey, 160},
		{flv.TagAudio, media.CodecAAC, 0, 165},
		{flv.TagVideo, media.CodecH264, 0, 200},
		{flv.TagAudio, media.CodecAAC, 0, 205},
		{flv.TagVideo, media.CodecH264, 0, 240},
		{flv.TagAudio, media.CodecAAC, 0, 245},
	}
	for i, w := range want {
		g := got[i]
		if g.typ != w.typ || g.codec != w.codec || g.flags != w.flags || g.ts != w.ts-shift {
			t.Errorf("tag %d: %v type %d, want %v/%d@%d type %d", i, g, g.typ, w.codec, w.flags, w.ts-shift, w.typ)
		}
	}
	if got[0].body != string(metaBody) {
		t.Errorf("metadata body %q", got[0].body)
	}

	// Live: what the publisher writes now arrives in order.
	for range 20 {
		p.next(4)
	}
	live := pl.tags(t, 40)
	var lastV, lastA uint32 = 240 - shift, 245 - shift
	for _, ti := range live {
		last := &lastA
		if ti.codec.IsVideo() {
			last = &lastV
		}
		if ti.ts <= *last {
			t.Fatalf("%v after %d: timestamps must increase", ti, *last)
		}
		*last = ti.ts
	}
	if lastV != 240+20*40-shift {
		t.Errorf("last video at %d, want %d", lastV, 240+20*40-shift)
	}

	// Unpublish ends the body with the last chunk: a clean io.EOF.
	p.s.Unpublish()
	if err := pl.untilEnd(t); err != io.EOF {
		t.Errorf("body ended with %v, want io.EOF (terminating chunk)", err)
	}
	waitFor(t, "reader closed", func() bool { return readers(e.reg, "__defaultVhost__", "live", "cam") == 0 })
	waitFor(t, "client removed", func() bool { return len(e.clients.List()) == 0 })
	if _, _, _, out := e.clients.Totals(); out == 0 {
		t.Error("no bytes counted")
	}
}

func TestPlayMidStreamStartsAtKeyframe(t *testing.T) {
	for _, gop := range []int{1, 5, 30} {
		t.Run(fmt.Sprintf("gop=%d", gop), func(t *testing.T) {
			e := newEnv(t, Config{}, Deps{})
			p := publish(t, e.reg, "__defaultVhost__", "live", "mid")
			p.headers()
			for range 17 {
				p.next(gop)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := p.run(ctx, gop)
			defer func() { cancel(); <-done }()
			time.Sleep(20 * ms)

			resp := e.get(t, "/live/mid.flv")
			defer resp.Body.Close()
			pl := newPlayer(t, resp)
			hdrs := pl.tags(t, 3)
			if hdrs[0].typ != flv.TagScript || hdrs[1].flags != media.FlagConfig || hdrs[2].flags != media.FlagConfig {
				t.Fatalf("first tags %v", hdrs)
			}
			for {
				ti, err := pl.tag()
				if err != nil {
					t.Fatal(err)
				}
				if ti.codec.IsVideo() {
					if ti.flags != media.FlagKey {
						t.Fatalf("first video %v is not a keyframe", ti)
					}
					break
				}
			}
		})
	}
}

func TestKick(t *testing.T) {
	e := newEnv(t, Config{}, Deps{})
	p := publish(t, e.reg, "__defaultVhost__", "live", "k")
	p.headers()
	p.next(1)
	done := checkRoutines(t)

	resp := e.get(t, "/live/k.flv")
	pl := newPlayer(t, resp)
	pl.tags(t, 4)
	list := e.clients.List()
	if len(list) != 1 || list[0].Proto != "flv" || list[0].App != "live" || list[0].Stream != "k" ||
		list[0].Publisher() || list[0].StreamID == "" || list[0].IP != "127.0.0.1" {
		t.Fatalf("clients %+v", list)
	}
	if !e.clients.Kick(list[0].ID) {
		t.Fatal("kick: no such client")
	}
	pl.ends(t)
	resp.Body.Close()
	waitFor(t, "reader closed", func() bool { return readers(e.reg, "__defaultVhost__", "live", "k") == 0 })
	waitFor(t, "client removed", func() bool { return len(e.clients.List()) == 0 })
	done()
	p.s.Unpublish()
}

func TestClientDisconnect(t *testing.T) {
	e := newEnv(t, Config{}, Deps{})
	p := publish(t, e.reg, "__defaultVhost__", "live", "gone")
	p.headers()
	ctx, cancel := context.WithCancel(context.Background())
	pubDone := p.run(ctx, 10)
	defer func() { cancel(); <-pubDone }()
	time.Sleep(20 * ms)
	done := checkRoutines(t)

	for range 3 {
		resp := e.get(t, "/live/gone.flv")
		pl := newPlayer(t, resp)
		pl.tags(t, 10)
		resp.Body.Close()
	}
	waitFor(t, "readers closed", func() bool { return readers(e.reg, "__defaultVhost__", "live", "gone") == 0 })
	waitFor(t, "clients removed", func() bool { return len(e.clients.List()) == 0 })
	e.client.CloseIdleConnections()
	done()
}

func TestErrors(t *testing.T) {
	deny := errors.New("denied")
	var gotInfo sess.Snapshot
	var mu sync.Mutex
	e := newEnv(t, Config{}, Deps{
		Vhost: func(r *http.Request) (string, bool) {
			v := r.URL.Query().Get("vhost")
			if v == "" {
				v = "__defaultVhost__"
			}
			return v, v != "off.example.com"
		},
		Events: sess.Funcs{OnPlay: func(_ context.Context, s *sess.Session) error {
			info := s.Snapshot()
			mu.Lock()
			gotInfo = info
			mu.Unlock()
			if info.Param == "?token=bad" {
				return deny
			}
			return nil
		}},
	})
	p := publish(t, e.reg, "__defaultVhost__", "live", "s")
	p.headers()
	p.next(1)
	p2 := publish(t, e.reg, "off.example.com", "live", "s")
	p2.headers()
	defer p.s.Unpublish()
	defer p2.s.Unpublish()

	tests := []struct {
		name, method, path string
		status             int
	}{
		{"unknown stream", "GET", "/live/none.flv", 404},
		{"not flv", "GET", "/live/s.m3u8", 404},
		{"no app", "GET", "/s.flv", 404},
		{"empty stream", "GET", "/live/.flv", 404},
		{"vhost disabled", "GET", "/live/s.flv?vhost=off.example.com", 404},
		{"unknown vhost stream", "GET", "/live/s.flv?vhost=other", 404},
		{"hook denies", "GET", "/live/s.flv?token=bad", 403},
		{"post", "POST", "/live/s.flv", 405},
		{"head", "HEAD", "/live/s.flv", 200},
		{"head unknown", "HEAD", "/live/none.flv", 404},
		{"preflight", "OPTIONS", "/live/s.flv", 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, e.srv.URL+tt.path, nil)
			req.Header.Set("Origin", "http://player.example.com")
			resp, err := e.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if resp.Header.Get("Access-Control-Allow-Origin") != "*" {
				t.Error("no CORS header")
			}
			if tt.method == "OPTIONS" {
				for _, h := range []string{"Access-Control-Allow-Methods", "Access-Control-Allow-Headers", "Access-Control-Expose-Headers"} {
					if resp.Header.Get(h) == "" {
						t.Errorf("preflight: no %s", h)
					}
				}
			}
			if tt.method == "HEAD" && tt.status == 200 && resp.Header.Get("Content-Type") != "video/x-flv" {
				t.Errorf("head content type %q", resp.Header.Get("Content-Type"))
			}
		})
	}
	mu.Lock()
	defer mu.Unlock()
	if gotInfo.Vhost != "__defaultVhost__" || gotInfo.App != "live" || gotInfo.Stream != "s" ||
		gotInfo.Param != "?token=bad" || gotInfo.IP != "127.0.0.1" || gotInfo.ID == "" ||
		!strings.HasSuffix(gotInfo.URL, "/live/s.flv?token=bad") {
		t.Errorf("on_play info %+v", gotInfo)
	}
	if n := readers(e.reg, "__defaultVhost__", "live", "s"); n != 0 {
		t.Errorf("%d readers left", n)
	}
}

func TestCloseEndsPlays(t *testing.T) {
	e := newEnv(t, Config{}, Deps{})
	p := publish(t, e.reg, "__defaultVhost__", "live", "c")
	p.headers()
	p.next(1)
	defer p.s.Unpublish()

	resp := e.get(t, "/live/c.flv")
	defer resp.Body.Close()
	pl := newPlayer(t, resp)
	pl.tags(t, 4)
	closed := make(chan struct{})
	go func() {
		e.h.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return")
	}
	if err := e.h.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	pl.ends(t)
	resp2 := e.get(t, "/live/c.flv")
	resp2.Body.Close()
	if resp2.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("after Close: status %d, want 503", resp2.StatusCode)
	}
}

func TestBaseContextEndsPlays(t *testing.T) {
	base, cancel := context.WithCancel(context.Background())
	e := newEnv(t, Config{}, Deps{BaseContext: base})
	p := publish(t, e.reg, "__defaultVhost__", "live", "b")
	p.headers()
	p.next(1)
	defer p.s.Unpublish()

	resp := e.get(t, "/live/b.flv")
	defer resp.Body.Close()
	pl := newPlayer(t, resp)
	pl.tags(t, 4)
	cancel()
	pl.ends(t)
	waitFor(t, "reader closed", func() bool { return readers(e.reg, "__defaultVhost__", "live", "b") == 0 })
}

func TestWaitPublisher(t *testing.T) {
	e := newEnv(t, Config{WaitPublisher: 300 * ms}, Deps{})
	t.Run("timeout", func(t *testing.T) {
		start := time.Now()
		resp := e.get(t, "/live/w0.flv")
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("status %d, want 404", resp.StatusCode)
		}
		if d := time.Since(start); d < 250*ms {
			t.Errorf("answered after %v, want the wait", d)
		}
		waitFor(t, "reader closed", func() bool {
			return e.reg.Lookup(media.Key{Vhost: "__defaultVhost__", App: "live", Stream: "w0"}) == nil
		})
	})
	t.Run("publisher arrives", func(t *testing.T) {
		go func() {
			for readers(e.reg, "__defaultVhost__", "live", "w1") != 1 {
				time.Sleep(ms)
			}
			s, err := e.reg.Publish(media.Key{Vhost: "__defaultVhost__", App: "live", Stream: "w1"})
			if err != nil {
				panic(err)
			}
			p := &pub{s: s}
			p.headers()
			p.next(1)
			p.next(1)
			time.Sleep(100 * ms) // let the player attach before the session ends
			p.s.Unpublish()
		}()
		resp := e.get(t, "/live/w1.flv")
		defer resp.Body.Close()
		pl := newPlayer(t, resp)
		if got := pl.tags(t, 5); got[3].flags != media.FlagKey {
			t.Errorf("tags %v", got)
		}
		if err := pl.untilEnd(t); err != io.EOF {
			t.Errorf("end: %v", err)
		}
	})
}

// TestHTTP10 checks a player speaking HTTP/1.0: no chunking, the body
// lasts until the connection closes.
func TestHTTP10(t *testing.T) {
	e := newEnv(t, Config{}, Deps{})
	p := publish(t, e.reg, "__defaultVhost__", "live", "old")
	p.headers()
	p.next(1)

	c, err := net.Dial("tcp", e.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "GET /live/old.flv HTTP/1.0\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.TransferEncoding) != 0 {
		t.Errorf("transfer encoding %v for HTTP/1.0", resp.TransferEncoding)
	}
	pl := newPlayer(t, resp)
	pl.tags(t, 4)
	p.s.Unpublish()
	if err := pl.untilEnd(t); err != io.EOF {
		t.Errorf("end: %v", err)
	}
}

// TestStalledPlayerDropped checks that a player that stops reading is
// dropped after the write timeout while the publisher goes on.
func TestStalledPlayerDropped(t *testing.T) {
	small := func(v string) media.Options {
		o := noMerge(v)
		o.RingFrames = 64
		return o
	}
	e := newEnv(t, Config{WriteTimeout: 200 * ms}, Deps{Registry: media.NewRegistry(small)})
	p := publish(t, e.reg, "__defaultVhost__", "live", "stall")
	p.headers()
	big := make([]byte, 256<<10)
	p.write(media.CodecH264, media.FlagKey, 0, big)

	c, err := net.Dial("tcp", e.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "GET /live/stall.flv HTTP/1.1\r\nHost: x\r\n\r\n")
	// Never read: the socket buffers fill up and the write times out.
	waitFor(t, "player", func() bool { return len(e.clients.List()) == 1 })
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		for at := 40; len(e.clients.List()) > 0 && at < 40*2000; at += 40 {
			p.write(media.CodecH264, 0, at, big)
			time.Sleep(ms)
		}
	}()
	select {
	case <-ended:
	case <-time.After(20 * time.Second):
		t.Fatal("stalled player not dropped")
	}
	if n := len(e.clients.List()); n != 0 {
		t.Fatalf("%d clients left", n)
	}
	waitFor(t, "reader closed", func() bool { return readers(e.reg, "__defaultVhost__", "live", "stall") == 0 })
	p.s.Unpublish()
}

// TestRecorderFallback plays through an httptest.ResponseRecorder, which
// cannot be hijacked.
func TestRecorderFallback(t *testing.T) {
	reg := media.NewRegistry(noMerge)
	h, err := New(Config{}, Deps{Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	p := publish(t, reg, "__defaultVhost__", "live", "rec")
	p.headers()
	p.next(2)
	p.next(2)
	p.next(2)

	rec := httptest.NewRecorder()
	served := make(chan struct{})
	go func() {
		defer close(served)
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/live/rec.flv", nil))
	}()
	waitFor(t, "player", func() bool { return readers(reg, "__defaultVhost__", "live", "rec") == 1 })
	time.Sleep(20 * ms)
	p.s.Unpublish()
	<-served
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "video/x-flv" {
		t.Fatalf("status %d, headers %v", rec.Code, rec.Header())
	}
	pl := newPlayer(t, rec.Result())
	got := pl.tags(t, 3+2)
	// The GOP at 80 ms is the player's 0 (time_jitter full).
	if got[3].flags != media.FlagKey || got[3].ts != 0 || got[4].ts != 5 {
		t.Errorf("tags %v", got)
	}
	if _, err := pl.tag(); err != io.EOF {
		t.Errorf("end: %v", err)
	}
}

func TestNewValidates(t *testing.T) {
	reg := media.NewRegistry(nil)
	tests := []struct {
		name string
		cfg  Config
		deps Deps
		ok   bool
	}{
		{"defaults", Config{}, Deps{Registry: reg}, true},
		{"no registry", Config{}, Deps{}, false},
		{"negative timeout", Config{WriteTimeout: -1}, Deps{Registry: reg}, false},
		{"negative wait", Config{WaitPublisher: -1}, Deps{Registry: reg}, false},
		{"huge batch", Config{BatchFrames: MaxBatchFrames + 1}, Deps{Registry: reg}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := New(tt.cfg, tt.deps)
			if (err == nil) != tt.ok {
				t.Fatalf("err %v", err)
			}
			if err != nil && !errors.Is(err, ErrConfig) {
				t.Errorf("err %v is not ErrConfig", err)
			}
			if h != nil {
				h.Close()
			}
		})
	}
}
