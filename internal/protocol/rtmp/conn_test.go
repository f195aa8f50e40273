package rtmp

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/srs-lite/srs-lite/internal/format/amf0"
	"github.com/srs-lite/srs-lite/internal/format/codec/h264"
	"github.com/srs-lite/srs-lite/internal/media"
)

// rawConn opens a TCP connection to the server without any RTMP.
func rawConn(t *testing.T, addr string) net.Conn {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return nc
}

func commandBody(t *testing.T, name string, tid float64, obj any, args ...any) []byte {
	t.Helper()
	b, err := AppendCommand(nil, name, tid, obj, args...)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// connected does the handshake and connect on a raw connection.
func connected(t *testing.T, addr string) (net.Conn, *ChunkWriter) {
	t.Helper()
	nc := rawConn(t, addr)
	nc.SetDeadline(time.Now().Add(5 * time.Second))
	if err := ClientHandshake(nc, false); err != nil {
		t.Fatal(err)
	}
	cw := NewChunkWriter(nc)
	obj := amf0.Object{{Key: "app", Value: "live"}, {Key: "tcUrl", Value: "rtmp://" + addr + "/live"}}
	if err := cw.WriteMessage(3, MessageHeader{Type: TypeCommandAMF0}, commandBody(t, "connect", 1, obj)); err != nil {
		t.Fatal(err)
	}
	return nc, cw
}

// expectClosed reads until the server closes nc.
func expectClosed(t *testing.T, nc net.Conn) {
	t.Helper()
	nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err := io.Copy(io.Discard, nc)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatal("server kept the connection open")
	}
}

// TestBadPeers sends broken input on connections beside a healthy
// publisher and player: each bad connection is closed, the player keeps
// receiving.
func TestBadPeers(t *testing.T) {
	ts := startServer(t, ServerConfig{HandshakeTimeout: 2 * time.Second}, nil)
	frames := testFrames(30 * 9)
	defer releaseAll(frames)
	pub := dialPublish(t, ts.url("healthy"))
	defer pub.Close()
	p := dialPlay(t, ts.url("healthy"))
	defer p.Close()
	waitReaders(t, ts.reg, media.DefaultVhost+"/live/healthy", 1)
	pos := 0
	// pump publishes the next 20 frames and checks the player gets them.
	pump := func(t *testing.T) {
		t.Helper()
		start := pos
		for i := 0; i < 20; i++ {
			if err := pub.WriteFrame(&frames[pos]); err != nil {
				t.Fatal(err)
			}
			pos++
		}
		want := 0
		for _, f := range frames[start:pos] {
			if f.Codec != media.CodecData && !f.IsConfig() {
				want++
			}
		}
		g, err := readFrames(p, want, 5*time.Second)
		if err != nil {
			t.Fatalf("healthy player: %v", err)
		}
		last := g[len(g)-1]
		if !bytes.Equal(last.data, frames[pos-1].Payload) {
			t.Fatalf("healthy player out of step")
		}
	}
	pump(t)

	for _, tc := range []struct {
		name string
		run  func(t *testing.T)
	}{
		{"garbage handshake", func(t *testing.T) {
			nc := rawConn(t, ts.addr)
			nc.Write(bytes.Repeat([]byte{0x47, 0x45, 0x54, 0x20}, 1000))
			expectClosed(t, nc)
		}},
		{"truncated handshake", func(t *testing.T) {
			nc := rawConn(t, ts.addr)
			nc.Write(append([]byte{3}, make([]byte, 700)...))
			expectClosed(t, nc) // by the handshake timeout
		}},
		{"truncated then hang up", func(t *testing.T) {
			nc := rawConn(t, ts.addr)
			nc.Write(append([]byte{3}, make([]byte, 1600)...))
			nc.(*net.TCPConn).CloseWrite()
			expectClosed(t, nc)
		}},
		{"huge chunk size", func(t *testing.T) {
			nc, cw := connected(t, ts.addr)
			if err := cw.SetChunkSize(MaxChunkSize); err != nil {
				t.Fatal(err)
			}
			big := make([]byte, 300000)
			cw.WriteMessage(3, MessageHeader{Type: TypeCommandAMF0}, append(commandBody(t, "createStream", 2, nil), big...))
			cw.WriteMessage(3, MessageHeader{Type: TypeCommandAMF0}, commandBody(t, "createStream", 3, nil))
			nc.Write([]byte{0x03, 0, 0, 0, 0xff, 0xff}) // a truncated header
			nc.(*net.TCPConn).CloseWrite()
			expectClosed(t, nc)
		}},
		{"16 MiB message", func(t *testing.T) {
			nc, _ := connected(t, ts.addr)
			hdr := []byte{0x03, 0, 0, 0, 0xff, 0xff, 0xff, TypeVideo, 1, 0, 0, 0}
			nc.Write(hdr)
			nc.Write(make([]byte, 128))
			nc.(*net.TCPConn).CloseWrite()
			expectClosed(t, nc)
		}},
		{"message over the cap", func(t *testing.T) {
			nc, cw := connected(t, ts.addr)
			cw.SetChunkSize(1 << 20)
			// 0xFFFFFF bytes announced on many chunk streams at once.
			for cs := byte(4); cs < 60; cs++ {
				nc.Write([]byte{cs, 0, 0, 0, 0xff, 0xff, 0xff, TypeVideo, 1, 0, 0, 0})
				nc.Write(make([]byte, 1000))
			}
			nc.(*net.TCPConn).CloseWrite()
			expectClosed(t, nc)
		}},
		{"malformed amf command", func(t *testing.T) {
			nc, cw := connected(t, ts.addr)
			cw.WriteMessage(3, MessageHeader{Type: TypeCommandAMF0}, []byte{0x02, 0xff, 0xff, 'a'})
			expectClosed(t, nc)
		}},
		{"amf3 garbage", func(t *testing.T) {
			nc, cw := connected(t, ts.addr)
			cw.WriteMessage(3, MessageHeader{Type: TypeCommandAMF3}, []byte{0, 0x11, 0x0a, 0x0b})
			expectClosed(t, nc)
		}},
		{"publish before connect", func(t *testing.T) {
			nc := rawConn(t, ts.addr)
			nc.SetDeadline(time.Now().Add(5 * time.Second))
			if err := ClientHandshake(nc, true); err != nil {
				t.Fatal(err)
			}
			cw := NewChunkWriter(nc)
			cw.WriteMessage(3, MessageHeader{Type: TypeCommandAMF0}, commandBody(t, "publish", 0, nil, "healthy"))
			expectClosed(t, nc)
		}},
		{"media garbage while publishing", func(t *testing.T) {
			nc, cw := connected(t, ts.addr)
			cw.WriteMessage(3, MessageHeader{Type: TypeCommandAMF0}, commandBody(t, "publish", 0, nil, "other"))
			for i := range 50 {
				cw.WriteMessage(6, MessageHeader{Type: TypeVideo, StreamID: 1, Timestamp: uint32(i)}, bytes.Repeat([]byte{byte(i)}, i))
				cw.WriteMessage(4, MessageHeader{Type: TypeAudio, StreamID: 1}, []byte{byte(i * 16)})
				cw.WriteMessage(4, MessageHeader{Type: TypeAggregate, StreamID: 1}, bytes.Repeat([]byte{8, 0, 0, 2}, i))
				cw.WriteMessage(5, MessageHeader{Type: TypeDataAMF0, StreamID: 1}, bytes.Repeat([]byte{2, 0}, i))
			}
			nc.(*net.TCPConn).CloseWrite()
			expectClosed(t, nc)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t)
			pump(t)
		})
	}
}

// TestCloseLeavesNoGoroutines closes a server with a publisher and players
// attached and checks every goroutine is gone.
func TestCloseLeavesNoGoroutines(t *testing.T) {
	base := runtime.NumGoroutine()
	reg := media.NewRegistry(nil)
	srv, err := NewServer(ServerConfig{}, ServerDeps{Registry: reg, Log: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(context.Background(), ln) }()
	url := "rtmp://" + ln.Addr().String() + "/live/g"
	frames := testFrames(30)
	defer releaseAll(frames)
	pub := dialPublish(t, url)
	players := []*Client{dialPlay(t, url), dialPlay(t, url)}
	idle := rawConn(t, ln.Addr().String()) // in the handshake
	for i := range frames {
		pub.WriteFrame(&frames[i])
	}
	if _, err := readFrames(players[0], 20, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	srv.Close()
	srv.Close() // idempotent
	if err := <-done; err != nil {
		t.Errorf("Serve: %v", err)
	}
	if err := srv.Serve(context.Background(), ln); !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve after Close: %v", err)
	}
	for _, c := range append(players, pub) {
		var f media.Frame
		for c.ReadFrame(&f) == nil {
			f.Release()
		}
		c.Close()
	}
	idle.Close()
	if s := reg.Lookup(media.Key{Vhost: media.DefaultVhost, App: "live", Stream: "g"}); s != nil {
		t.Errorf("stream left in the registry: %+v", s.Stats())
	}
	settleGoroutines(t, base)
}

// TestServeContext ends Serve and its connections with the context.
func TestServeContext(t *testing.T) {
	reg := media.NewRegistry(nil)
	srv, _ := NewServer(ServerConfig{}, ServerDeps{Registry: reg})
	defer srv.Close()
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	p := dialPlay(t, "rtmp://"+ln.Addr().String()+"/live/c")
	defer p.Close()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return")
	}
	var f media.Frame
	p.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if err := p.ReadFrame(&f); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("player after cancel: %v", err)
	}
}

func TestParseURL(t *testing.T) {
	for _, tc := range []struct {
		in                       string
		addr, tcURL, app, stream string
		bad                      bool
	}{
		{in: "rtmp://h/live/s", addr: "h:1935", tcURL: "rtmp://h/live", app: "live", stream: "s"},
		{in: "rtmp://h:19350/live/sub/s?token=1", addr: "h:19350", tcURL: "rtmp://h:19350/live/sub", app: "live/sub", stream: "s?token=1"},
		{in: "rtmp://h/live", addr: "h:1935", tcURL: "rtmp://h/live", app: "live"},
		{in: "rtmps://h/live/s", addr: "h:443", tcURL: "rtmps://h/live", app: "live", stream: "s"},
		{in: "rtmps://h:1936/live/s", addr: "h:1936", tcURL: "rtmps://h:1936/live", app: "live", stream: "s"},
		{in: "http://h/live/s", bad: true},
		{in: "rtmp:///live/s", bad: true},
		{in: "rtmp://h/", bad: true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			addr, tcURL, app, stream, err := parseURL(tc.in)
			if tc.bad {
				if err == nil {
					t.Error("no error")
				}
				return
			}
			if err != nil || addr != tc.addr || tcURL != tc.tcURL || app != tc.app || stream != tc.stream {
				t.Errorf("got %q %q %q %q %v", addr, tcURL, app, stream, err)
			}
		})
	}
}

// fuzzServer is shared by the fuzz iterations.
var fuzzServer *Server

// FuzzCommandSession feeds arbitrary command (and data, media) bodies to a
// connected session's dispatcher: no input may panic or leak.
//
// The input is a sequence of records: a message type byte, a 16-bit
// length and the body; what does not parse as records is one AMF0 command.
func FuzzCommandSession(f *testing.F) {
	for _, seed := range [][]any{
		{"publish", 0.0, nil, "s?vhost=v"},
		{"play", 4.0, nil, "s", -2.0},
		{"pause", 0.0, nil, true, 0.0},
		{"connect", 1.0, amf0.Object{{Key: "app", Value: "x"}}},
		{"FCUnpublish", 5.0, nil, "s"},
		{"call", 7.0, nil},
	} {
		b, _ := amf0.AppendAll(nil, seed...)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if fuzzServer == nil {
			fuzzServer, _ = NewServer(ServerConfig{}, ServerDeps{Registry: media.NewRegistry(nil)})
		}
		c := newConn(fuzzServer, &discardConn{})
		c.ctx, c.cancel = context.WithCancel(context.Background())
		connect, _ := AppendCommand(nil, "connect", 1, amf0.Object{{Key: "app", Value: "live"},
			{Key: "tcUrl", Value: "rtmp://h/live"}})
		feed := func(typ uint8, body []byte) bool {
			m := Message{Type: typ}
			if len(body) > 0 {
				m.Buf = media.GetBuf(len(body))
				copy(m.Buf.Bytes(), body)
				m.Payload = m.Buf.Bytes()[:len(body)]
			}
			_, err := c.handle(c.ctx, &m)
			return err == nil
		}
		defer c.cleanup()
		if !feed(TypeCommandAMF0, connect) {
			t.Fatal("connect failed")
		}
		rest := data
		var records [][2][]byte
		for len(rest) >= 3 {
			n := int(binary.BigEndian.Uint16(rest[1:3]))
			if n > len(rest)-3 {
				break
			}
			records = append(records, [2][]byte{rest[:1], rest[3 : 3+n]})
			rest = rest[3+n:]
		}
		if len(rest) != 0 || len(records) == 0 {
			feed(TypeCommandAMF0, data)
			feed(TypeCommandAMF3, data)
			return
		}
		for _, r := range records {
			if !feed(r[0][0]%24, r[1]) {
				return
			}
		}
	})
}

// readUntil reads messages from the server until fn reports true.
func readUntil(t *testing.T, cr *ChunkReader, what string, fn func(m *Message) bool) {
	t.Helper()
	for {
		m, err := cr.ReadMessage()
		if err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		ok := fn(&m)
		m.Release()
		if ok {
			return
		}
	}
}

func isCommand(m *Message, name string, tid float64) bool {
	if m.Type != TypeCommandAMF0 {
		return false
	}
	cmd, err := ParseCommand(m.Payload, false)
	return err == nil && cmd.Name == name && cmd.TransactionID == tid
}

// TestSessionControl covers the control side of a session: the connect
// answer, ping, acknowledgements, calls, and aggregate messages.
func TestSessionControl(t *testing.T) {
	ts := startServer(t, ServerConfig{ChunkSize: 4096}, nil)
	nc, cw := connected(t, ts.addr)
	cr := NewChunkReader(nc, ReaderOptions{})
	defer cr.Close()
	var sawWindow, sawBW bool
	readUntil(t, cr, "connect _result", func(m *Message) bool {
		switch m.Type {
		case TypeWindowAckSize:
			n, _ := ParseWindowAckSize(m.Payload)
			sawWindow = n == windowAckSize
		case TypeSetPeerBandwidth:
			n, l, _ := ParseSetPeerBandwidth(m.Payload)
			sawBW = n == windowAckSize && l == LimitDynamic
		case TypeCommandAMF0:
			cmd, _ := ParseCommand(m.Payload, false)
			if cmd.Name == "_result" {
				info := amf0.Object(amf0.Properties(firstValue(cmd.Args)))
				code, _ := info.String("code")
				enc, _ := info.Number("objectEncoding")
				props := amf0.Object(amf0.Properties(cmd.Object))
				fms, _ := props.String("fmsVer")
				if code != "NetConnection.Connect.Success" || enc != 0 || fms != "FMS/3,5,3,888" {
					t.Errorf("connect _result: %+v", cmd)
				}
				return true
			}
		}
		return false
	})
	if !sawWindow || !sawBW || cr.ChunkSize() != 4096 {
		t.Errorf("window %v, bandwidth %v, chunk size %d", sawWindow, sawBW, cr.ChunkSize())
	}

	t.Run("ping", func(t *testing.T) {
		cw.WriteUserControl(EventPingRequest, 1234)
		readUntil(t, cr, "ping response", func(m *Message) bool {
			uc, err := ParseUserControl(m.Payload)
			return m.Type == TypeUserControl && err == nil && uc.Event == EventPingResponse && uc.Data == 1234
		})
	})
	t.Run("unknown call", func(t *testing.T) {
		cw.WriteMessage(3, MessageHeader{Type: TypeCommandAMF0}, commandBody(t, "someCall", 9, nil))
		cw.WriteMessage(3, MessageHeader{Type: TypeCommandAMF0}, commandBody(t, "createStream", 10, nil))
		readUntil(t, cr, "_error", func(m *Message) bool { return isCommand(m, "_error", 9) })
		readUntil(t, cr, "createStream _result", func(m *Message) bool { return isCommand(m, "_result", 10) })
	})
	t.Run("publish with acks and aggregates", func(t *testing.T) {
		cw.WriteControl(TypeWindowAckSize, AppendWindowAckSize(nil, 1000))
		cw.WriteMessage(3, MessageHeader{Type: TypeCommandAMF0}, commandBody(t, "FCPublish", 11, nil, "agg"))
		cw.WriteMessage(5, MessageHeader{Type: TypeCommandAMF0, StreamID: 1}, commandBody(t, "publish", 12, nil, "agg", "live"))
		readUntil(t, cr, "Publish.Start", func(m *Message) bool {
			cmd, err := ParseCommand(m.Payload, false)
			code, _ := amf0.Object(amf0.Properties(firstValue(cmd.Args))).String("code")
			return err == nil && cmd.Name == "onStatus" && code == "NetStream.Publish.Start"
		})
		p := dialPlay(t, ts.url("agg"))
		defer p.Close()
		waitReaders(t, ts.reg, media.DefaultVhost+"/live/agg", 1)
		cfg := append([]byte{0x17, 0, 0, 0, 0}, h264.BuildConfig([][]byte{testSPS}, [][]byte{testPPS})...)
		cw.WriteMessage(6, MessageHeader{Type: TypeVideo, StreamID: 1}, cfg)
		// An aggregate of a keyframe and an inter frame (RTMP 7.1.6), with
		// sub-timestamps 500 and 540 on an aggregate at 1000.
		var agg []byte
		for i, sub := range [][]byte{
			{0x17, 1, 0, 0, 0, 0, 0, 0, 3, 0x65, 0x88, 0x80},
			{0x27, 1, 0, 0, 0, 0, 0, 0, 2, 0x41, 0x9a},
		} {
			ts := 500 + 40*i
			agg = append(agg, TypeVideo, 0, 0, byte(len(sub)), 0, byte(ts>>8), byte(ts), 0, 0, 0, 0)
			agg = append(agg, sub...)
			agg = binary.BigEndian.AppendUint32(agg, uint32(11+len(sub)))
		}
		cw.WriteMessage(6, MessageHeader{Type: TypeAggregate, StreamID: 1, Timestamp: 1000}, agg)
		cw.WriteMessage(6, MessageHeader{Type: TypeVideo, StreamID: 1, Timestamp: 1080}, make([]byte, 3000))
		g, err := readFrames(p, 2, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if len(g) != 3 || !g[0].codec.IsVideo() || g[0].flags != media.FlagConfig ||
			g[1].dts != time.Second || g[1].flags != media.FlagKey || !bytes.Equal(g[1].data, []byte{0, 0, 0, 3, 0x65, 0x88, 0x80}) ||
			g[2].dts != 1040*time.Millisecond || !bytes.Equal(g[2].data, []byte{0, 0, 0, 2, 0x41, 0x9a}) {
			t.Errorf("frames %+v", g)
		}
		readUntil(t, cr, "acknowledgement", func(m *Message) bool {
			n, err := ParseAck(m.Payload)
			return m.Type == TypeAck && err == nil && n >= 1000
		})
	})
}

// rawListener accepts connections and never answers.
func rawListener(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
		}
	}()
	return ln.Addr().String()
}
