package rtsp

import (
	"bufio"
	"bytes"
	"context"
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/srs-lite/srs-lite/internal/format/codec/aac"
	"github.com/srs-lite/srs-lite/internal/format/codec/h264"
	"github.com/srs-lite/srs-lite/internal/format/rtp"
	"github.com/srs-lite/srs-lite/internal/media"
)

var (
	srvSPS = []byte{0x67, 0x42, 0xc0, 0x0d, 0xda, 0x05, 0x07, 0xec, 0x05, 0xa8, 0x30, 0x30, 0x35, 0x28, 0x00, 0x00, 0x03, 0x00, 0x08, 0x00, 0x00, 0x03, 0x01, 0x94, 0x78, 0xa1, 0x55}
	srvPPS = []byte{0x68, 0xce, 0x3c, 0x80}
)

func h264Config() media.Frame {
	return media.Frame{Codec: media.CodecH264, Flags: media.FlagConfig, Payload: h264.BuildConfig([][]byte{srvSPS}, [][]byte{srvPPS})}
}

func aacConfig() media.Frame {
	return media.Frame{Codec: media.CodecAAC, Flags: media.FlagConfig, Payload: aac.BuildASC(aac.ObjectLC, 44100, 2)}
}

func TestDescribeSDP(t *testing.T) {
	v, a := h264Config(), aacConfig()
	vt := describeTrack(0, media.CodecH264, &v, media.AudioInfo{}, 0)
	at := describeTrack(1, media.CodecAAC, &a, media.AudioInfo{}, 0)
	pt := describeTrack(2, media.CodecPCMA, nil, media.AudioInfo{SampleRate: 8000, Channels: 1}, 0)
	ot := describeTrack(3, media.CodecOpus, nil, media.AudioInfo{Channels: 2}, 0)
	body := buildSDP([]*outTrack{vt, at, pt, ot}, "rtsp://h:8554/live/x", "token=1", "127.0.0.1", 7)
	medias, _, repaired, err := parseSDP(body)
	if err != nil || repaired || len(medias) != 4 {
		t.Fatalf("our SDP: %v repaired %v, %d medias:\n%s", err, repaired, len(medias), body)
	}
	for i, want := range []media.Codec{media.CodecH264, media.CodecAAC, media.CodecPCMA, media.CodecOpus} {
		f := medias[i].formats[0]
		if f.Codec() != want {
			t.Errorf("media %d: %v, want %v", i, f.Codec(), want)
		}
		if _, err := rtp.NewDepacketizer(f); err != nil {
			t.Errorf("media %d: the ingest client cannot take it: %v", i, err)
		}
		if c := medias[i].control; c != fmt.Sprintf("rtsp://h:8554/live/x/trackID=%d?token=1", i) {
			t.Errorf("media %d control %q", i, c)
		}
	}
	if !strings.Contains(string(body), "profile-level-id=42c00d") || !strings.Contains(string(body), "config=1210") {
		t.Errorf("fmtp:\n%s", body)
	}
	if medias[2].formats[0].PayloadType != 8 {
		t.Errorf("PCMA/8000 not on its static payload type 8")
	}
}

func TestParseTarget(t *testing.T) {
	s, _ := NewServer(ServerConfig{}, ServerDeps{Registry: media.NewRegistry(nil)})
	c := &srvConn{s: s}
	for _, tc := range []struct {
		url   string
		key   string
		track int
		query string
		code  int
	}{
		{"rtsp://h:8554/live/x", "__defaultVhost__/live/x", -1, "", 0},
		{"rtsp://h:8554/live/x/trackID=1", "__defaultVhost__/live/x", 1, "", 0},
		{"rtsp://h:8554/live/x/trackID=1?token=a", "__defaultVhost__/live/x", 1, "token=a", 0},
		{"rtsp://h:8554/live/x?token=a/trackID=0", "__defaultVhost__/live/x", 0, "token=a", 0},
		{"rtsp://h/a/b/c/streamid=2", "__defaultVhost__/a/b/c", 2, "", 0},
		{"RTSP://h/live/x/", "__defaultVhost__/live/x", -1, "", 0},
		{"rtsp://h/x", "", -1, "", 404},
		{"http://h/live/x", "", -1, "", 400},
	} {
		tg, code, _ := c.parseTarget(tc.url)
		if code != tc.code || code == 0 && (tg.key.String() != tc.key || tg.track != tc.track || tg.query != tc.query) {
			t.Errorf("%s: %+v %d", tc.url, tg, code)
		}
	}
}

func TestParseTransport(t *testing.T) {
	for _, tc := range []struct {
		v  string
		ok bool
		ts transportSpec
	}{
		{"RTP/AVP/TCP;unicast;interleaved=2-3", true, transportSpec{tcp: true, ch: [2]int{2, 3}, hasCh: true}},
		{"RTP/AVP;unicast;client_port=5000-5001", true, transportSpec{client: [2]int{5000, 5001}, hasClient: true}},
		{"RTP/AVP;multicast,RTP/AVP/UDP;unicast;client_port=6000-6001;mode=record", true,
			transportSpec{client: [2]int{6000, 6001}, hasClient: true, record: true}},
		{"RTP/AVP;multicast", false, transportSpec{}},
		{"RAW/RAW/UDP;unicast", false, transportSpec{}},
		{"RTP/AVP;unicast", false, transportSpec{}},
	} {
		ts, ok := parseTransport(tc.v)
		if ok != tc.ok || ts != tc.ts {
			t.Errorf("%q: %+v %v", tc.v, ts, ok)
		}
	}
}

func TestDigestCheck(t *testing.T) {
	h := func(s string) string { x := md5.Sum([]byte(s)); return hex.EncodeToString(x[:]) }
	nonce, uri := "abc", "rtsp://h/live/x"
	resp := h(h("admin:"+realm+":pw") + ":" + nonce + ":" + h("DESCRIBE:"+uri))
	hdr := fmt.Sprintf(`Digest username="admin", realm=%q, nonce=%q, uri=%q, response=%q`, realm, nonce, uri, resp)
	c := parseAuthorization(hdr)
	if c.user != "admin" || !c.check("DESCRIBE", "pw", nonce) {
		t.Errorf("good digest refused: %+v", c)
	}
	if c.check("DESCRIBE", "other", nonce) || c.check("DESCRIBE", "pw", "stale") {
		t.Error("bad digest accepted")
	}
	if p := c.hookParam("token=1"); p != "?token=1&user=admin" {
		t.Errorf("hook param %q", p)
	}
	// The client's own Digest answers our challenge.
	a := auth{user: "u", pass: "p"}
	if err := a.challenge(challenges("n1")); err != nil {
		t.Fatal(err)
	}
	if c := parseAuthorization(a.header("SETUP", uri)); !c.check("SETUP", "p", "n1") {
		t.Errorf("the client's digest does not check: %+v", c)
	}
	b := parseAuthorization("Basic dTpwOnE=") // u:p:q
	if !b.check("X", "p:q", "") || b.hookParam("") != "?user=u&password=p%3Aq" {
		t.Errorf("basic: %+v %q", b, b.hookParam(""))
	}
}

// discardConn is a net.Conn that reads from r and discards writes.
type discardConn struct {
	r io.Reader
}

func (c *discardConn) Read(b []byte) (int, error)  { return c.r.Read(b) }
func (c *discardConn) Write(b []byte) (int, error) { return len(b), nil }
func (c *discardConn) Close() error                { return nil }
func (c *discardConn) LocalAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8554}
}
func (c *discardConn) RemoteAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}
}
func (c *discardConn) SetDeadline(time.Time) error         { return nil }
func (c *discardConn) SetReadDeadline(time.Time) error     { return nil }
func (c *discardConn) SetWriteDeadline(time.Time) error    { return nil }
func (c *discardConn) String() string                      { return "discard" }
func (c *discardConn) Unwrap() io.Reader                   { return c.r }
func (c *discardConn) ReadFrom(r io.Reader) (int64, error) { return io.Copy(io.Discard, r) }

// serveBytes runs one server connection on data: the requests and the
// interleaved frames of a client.
func serveBytes(data []byte) {
	s, _ := NewServer(ServerConfig{WaitPublisher: -1, WaitConfig: time.Millisecond},
		ServerDeps{Registry: media.NewRegistry(nil)})
	c := s.newConn(&discardConn{r: bytes.NewReader(data)})
	c.serve()
	s.Close()
}

// publishSession is a publisher's session: ANNOUNCE, SETUP, RECORD and an
// interleaved H.264 packet.
func publishSession() []byte {
	sdp := "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=x\r\nt=0 0\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n" +
		"a=fmtp:96 packetization-mode=1\r\na=control:streamid=0\r\n"
	var b bytes.Buffer
	fmt.Fprintf(&b, "ANNOUNCE rtsp://h/live/p RTSP/1.0\r\nCSeq: 1\r\nContent-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s", len(sdp), sdp)
	b.WriteString("SETUP rtsp://h/live/p/streamid=0 RTSP/1.0\r\nCSeq: 2\r\nTransport: RTP/AVP/TCP;unicast;interleaved=0-1;mode=record\r\n\r\n")
	// No Session header: the id is random, and a wrong one is refused (454)
	// before the publish this session is meant to reach.
	b.WriteString("RECORD rtsp://h/live/p RTSP/1.0\r\nCSeq: 3\r\n\r\n")
	pkt := []byte{0x80, 0xe0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1}
	pkt = append(pkt, 0x18, 0, byte(len(srvSPS)))
	pkt = append(pkt, srvSPS...)
	pkt = append(pkt, 0, byte(len(srvPPS)))
	pkt = append(pkt, srvPPS...)
	b.Write([]byte{'$', 0, byte(len(pkt) >> 8), byte(len(pkt))})
	b.Write(pkt)
	b.WriteString("TEARDOWN rtsp://h/live/p RTSP/1.0\r\nCSeq: 4\r\n\r\n")
	return b.Bytes()
}

// FuzzRTSPServerRequest feeds a client's bytes to a server connection:
// requests in any order, interleaved frames, a publish reaching the
// depacketizers. No panic, no hang.
func FuzzRTSPServerRequest(f *testing.F) {
	f.Add(publishSession())
	f.Add([]byte("OPTIONS rtsp://h/live/x RTSP/1.0\r\nCSeq: 1\r\n\r\nDESCRIBE rtsp://h/live/x RTSP/1.0\r\nCSeq: 2\r\n" +
		"Authorization: Digest username=\"u\", nonce=\"n\", response=\"r\"\r\n\r\n" +
		"SETUP rtsp://h/live/x/trackID=0 RTSP/1.0\r\nCSeq: 3\r\nTransport: RTP/AVP;unicast;client_port=5000-5001\r\n\r\n" +
		"PLAY rtsp://h/live/x RTSP/1.0\r\nCSeq: 4\r\nSession: 1\r\n\r\nGET_PARAMETER rtsp://h/live/x RTSP/1.0\r\nCSeq: 5\r\n\r\n"))
	f.Add([]byte("GET / HTTP/1.1\r\n\r\n"))
	f.Add([]byte("$\x00\x00\x02ab$\x01\x00\x00PAUSE * RTSP/1.0\r\nCSeq: 1\r\n\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 64<<10 {
			return
		}
		serveBytes(data)
	})
}

func TestServeBytesPublish(t *testing.T) {
	serveBytes(publishSession()) // the fuzz seed runs through: no panic
}

// A publisher's RECORD declares the SDP's tracks that were set up to the
// stream (media.Stream.ExpectTracks): here video only.
func TestPublishDeclaresTracks(t *testing.T) {
	reg := media.NewRegistry(nil)
	var st *media.Stream
	reg.OnPublish(func(s *media.Stream) { st = s })
	s, _ := NewServer(ServerConfig{WaitPublisher: -1, WaitConfig: time.Millisecond}, ServerDeps{Registry: reg})
	c := s.newConn(&discardConn{r: bytes.NewReader(publishSession())})
	c.serve()
	s.Close()
	if st == nil {
		t.Fatal("no publish")
	}
	if video, audio := st.ExpectedTracks(); !video || audio {
		t.Errorf("declared video %v audio %v, want the SDP's video only", video, audio)
	}
}

// viewerFixture is a viewer over TCP of an H.264+AAC stream: a player on a
// loopback connection whose peer discards, and a batch of pooled frames.
func viewerFixture(t testing.TB, udp bool) (*player, []media.Frame, func()) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		c, err := ln.Accept()
		if err == nil {
			_, _ = io.Copy(io.Discard, c)
			c.Close()
		}
	}()
	nc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s, _ := NewServer(ServerConfig{}, ServerDeps{Registry: media.NewRegistry(nil)})
	c := s.newConn(nc)
	v, a := h264Config(), aacConfig()
	vt := describeTrack(0, media.CodecH264, &v, media.AudioInfo{}, 0)
	at := describeTrack(1, media.CodecAAC, &a, media.AudioInfo{}, 0)
	var sink *net.UDPConn
	if udp {
		sink, _ = net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	}
	for i, tr := range []*outTrack{vt, at} {
		tr.setup, tr.tcp, tr.ch = true, true, [2]uint8{uint8(2 * i), uint8(2*i + 1)}
		if udp {
			port := sink.LocalAddr().(*net.UDPAddr).Port
			ports, err := c.listenUDP([2]int{port, port})
			if err != nil {
				t.Fatal(err)
			}
			tr.tcp, tr.udp = false, ports
		}
	}
	p := newPlayer(c, []*outTrack{vt, at}, nil)
	var frames []media.Frame
	idr := make([]byte, 4+20000)
	binary.BigEndian.PutUint32(idr, 20000)
	idr[4] = 0x65
	inter := make([]byte, 4+3000)
	binary.BigEndian.PutUint32(inter, 3000)
	inter[4] = 0x41
	for i := range 32 {
		f := media.Frame{Codec: media.CodecAAC, PTS: time.Duration(i) * 23 * time.Millisecond, Payload: make([]byte, 300)}
		switch {
		case i == 0:
			f = media.Frame{Codec: media.CodecH264, Flags: media.FlagKey, Payload: idr}
		case i%2 == 0:
			f = media.Frame{Codec: media.CodecH264, PTS: time.Duration(i) * 33 * time.Millisecond, Payload: inter}
		}
		f.Own()
		frames = append(frames, f)
	}
	return p, frames, func() {
		for i := range frames {
			frames[i].Release()
		}
		vt.closeUDP()
		at.closeUDP()
		if sink != nil {
			sink.Close()
		}
		nc.Close()
		ln.Close()
	}
}

// TestViewerSendAllocs pins the per-viewer send path: a batch of frames
// whose packets are cached, rewritten headers, one writev (TCP) or a
// datagram per packet (UDP), without allocating.
func TestViewerSendAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("-race: sync.Pool drops items at random (the count is pinned by the non-race run)")
	}
	for _, udp := range []bool{false, true} {
		p, frames, done := viewerFixture(t, udp)
		now := time.Now()
		if err := p.send(frames, now); err != nil { // warm up: builds the packets
			t.Fatal(err)
		}
		allocs := testing.AllocsPerRun(100, func() {
			if err := p.send(frames, now); err != nil {
				t.Fatal(err)
			}
		})
		done()
		if allocs != 0 {
			t.Errorf("udp=%v: %v allocs per batch, want 0", udp, allocs)
		}
	}
}

// BenchmarkViewerSend is one viewer's cost for a batch of 32 frames (16
// video, one of them a 20 kB keyframe, 16 AAC) whose packets another viewer
// built already.
func BenchmarkViewerSend(b *testing.B) {
	for _, udp := range []bool{false, true} {
		b.Run(map[bool]string{false: "tcp", true: "udp"}[udp], func(b *testing.B) {
			p, frames, done := viewerFixture(b, udp)
			defer done()
			now := time.Now()
			_ = p.send(frames, now)
			b.ReportAllocs()
			for b.Loop() {
				if err := p.send(frames, now); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestSessionTimeout: a client that sends nothing for the session timeout
// is closed; OPTIONS keeps it alive until then.
func TestSessionTimeout(t *testing.T) {
	s, _ := NewServer(ServerConfig{SessionTimeout: 300 * time.Millisecond}, ServerDeps{Registry: media.NewRegistry(nil)})
	defer s.Close()
	addr, err := s.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	nc, err := net.Dial("tcp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	start := time.Now()
	br := bufio.NewReader(nc)
	for i := range 4 { // 4 x 200 ms: alive past the timeout
		fmt.Fprintf(nc, "OPTIONS * RTSP/1.0\r\nCSeq: %d\r\n\r\n", i)
		m, err := ReadMessage(br)
		if err != nil || m.StatusCode != 200 || !strings.Contains(m.Header.Get("Public"), "ANNOUNCE") {
			t.Fatalf("OPTIONS: %v %+v", err, m)
		}
		time.Sleep(200 * time.Millisecond)
	}
	nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := br.ReadByte(); err != io.EOF {
		t.Fatalf("after the timeout: %v, want EOF", err)
	}
	if d := time.Since(start); d < 900*time.Millisecond || d > 3*time.Second {
		t.Errorf("closed after %v", d)
	}
}

// TestServerStates walks a viewer's session by hand: the status codes of
// requests out of order, the SDP, RTP-Info, PAUSE and TEARDOWN.
func TestServerStates(t *testing.T) {
	reg := media.NewRegistry(nil)
	st, err := reg.Publish(media.Key{Vhost: media.DefaultVhost, App: "live", Stream: "x"})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Unpublish()
	for _, f := range []media.Frame{h264Config(), aacConfig()} {
		f.Own()
		st.Write(&f)
	}
	key := media.Frame{Codec: media.CodecH264, Flags: media.FlagKey, Payload: []byte{0, 0, 0, 2, 0x65, 1}}
	key.Own()
	st.Write(&key)
	s, _ := NewServer(ServerConfig{WaitPublisher: -1}, ServerDeps{Registry: reg})
	defer s.Close()
	addr, err := s.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	nc, err := net.Dial("tcp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	br := bufio.NewReader(nc)
	cseq := 0
	base := "rtsp://" + addr.String() + "/live/x"
	do := func(method, url, hdr string, want int) *Message {
		t.Helper()
		cseq++
		fmt.Fprintf(nc, "%s %s RTSP/1.0\r\nCSeq: %d\r\n%s\r\n", method, url, cseq, hdr)
		for {
			nc.SetReadDeadline(time.Now().Add(5 * time.Second))
			b, err := br.Peek(1)
			if err != nil {
				t.Fatalf("%s: %v", method, err)
			}
			if b[0] == '$' { // media
				var h [4]byte
				io.ReadFull(br, h[:])
				io.CopyN(io.Discard, br, int64(h[2])<<8|int64(h[3]))
				continue
			}
			m, err := ReadMessage(br)
			if err != nil {
				t.Fatalf("%s: %v", method, err)
			}
			if m.StatusCode != want || m.CSeq() != cseq {
				t.Fatalf("%s %s: %d (CSeq %d), want %d", method, url, m.StatusCode, m.CSeq(), want)
			}
			return m
		}
	}
	do("PLAY", base, "", 455)
	do("SETUP", base+"/trackID=0", "Transport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n", 455) // no DESCRIBE
	do("DESCRIBE", "rtsp://"+addr.String()+"/live/none", "", 404)
	m := do("DESCRIBE", base, "", 200)
	if !strings.Contains(string(m.Body), "H264/90000") || !strings.Contains(string(m.Body), "MPEG4-GENERIC/44100/2") {
		t.Fatalf("SDP:\n%s", m.Body)
	}
	do("SETUP", base+"/trackID=0", "Transport: RTP/AVP;multicast\r\n", 461)
	do("SETUP", base+"/trackID=7", "Transport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n", 404)
	m = do("SETUP", base+"/trackID=0", "Transport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n", 200)
	sid, _, _ := strings.Cut(m.Header.Get("Session"), ";")
	if sid == "" || !strings.Contains(m.Header.Get("Session"), "timeout=60") {
		t.Fatalf("Session %q", m.Header.Get("Session"))
	}
	do("SETUP", base+"/trackID=1", "Session: wrong\r\nTransport: RTP/AVP/TCP;unicast;interleaved=2-3\r\n", 454)
	do("SETUP", base+"/trackID=1", "Session: "+sid+"\r\nTransport: RTP/AVP;unicast;client_port=40000-40001\r\n", 200)
	m = do("PLAY", base, "Session: "+sid+"\r\n", 200)
	if info := m.Header.Get("RTP-Info"); strings.Count(info, "rtptime=") != 2 || !strings.Contains(info, base+"/trackID=0;seq=") {
		t.Errorf("RTP-Info %q", info)
	}
	do("GET_PARAMETER", base, "Session: "+sid+"\r\n", 200)
	do("PAUSE", base, "Session: "+sid+"\r\n", 200)
	do("PLAY", base, "Session: "+sid+"\r\n", 200)
	do("RECORD", base, "Session: "+sid+"\r\n", 455)
	do("FOO", base, "", 501)
	do("TEARDOWN", base, "Session: "+sid+"\r\n", 200)
	nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		if _, err := br.ReadByte(); err != nil {
			break // closed after TEARDOWN
		}
	}
}

// framePub collects what a Source publishes.
type framePub struct {
	mu           sync.Mutex
	declared     [2]bool // ExpectTracks: video, audio
	video, audio int
	vcfg, acfg   bool
	keys         int
	lastV, lastA time.Duration
	backwards    bool
}

func (p *framePub) ExpectTracks(video, audio bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.declared = [2]bool{video, audio}
}

func (p *framePub) Write(f *media.Frame) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case f.IsConfig() && f.Codec == media.CodecH264:
		p.vcfg = true
	case f.IsConfig() && f.Codec == media.CodecAAC:
		p.acfg = true
	case f.Codec == media.CodecH264:
		p.backwards = p.backwards || p.video > 0 && f.PTS < p.lastV
		p.video++
		p.lastV = f.PTS
		if f.IsKey() {
			p.keys++
		}
	case f.Codec == media.CodecAAC:
		p.backwards = p.backwards || p.audio > 0 && f.PTS < p.lastA
		p.audio++
		p.lastA = f.PTS
	}
	return nil
}

// TestServerToOwnClient: srs-lite's RTSP client (the ingest) plays
// srs-lite's RTSP server over TCP and UDP: the parameter sets, keyframes,
// AAC frames and the timeline come through.
func TestServerToOwnClient(t *testing.T) {
	reg := media.NewRegistry(nil)
	st, err := reg.Publish(media.Key{Vhost: media.DefaultVhost, App: "live", Stream: "x"})
	if err != nil {
		t.Fatal(err)
	}
	s, _ := NewServer(ServerConfig{}, ServerDeps{Registry: reg})
	defer s.Close()
	addr, err := s.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { // a 25 fps H.264 stream with AAC, a keyframe a second
		defer close(done)
		defer st.Unpublish()
		for _, f := range []media.Frame{h264Config(), aacConfig()} {
			f.Own()
			st.Write(&f)
		}
		tk := time.NewTicker(20 * time.Millisecond)
		defer tk.Stop()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-tk.C:
			}
			pts := time.Duration(i) * 20 * time.Millisecond
			if i%2 == 0 {
				nal := byte(0x41)
				flags := media.Flags(0)
				if i%50 == 0 {
					nal, flags = 0x65, media.FlagKey
				}
				payload := make([]byte, 4+3000)
				binary.BigEndian.PutUint32(payload, 3000)
				payload[4] = nal
				f := media.Frame{Codec: media.CodecH264, Flags: flags, DTS: pts, PTS: pts, Payload: payload}
				f.Own()
				st.Write(&f)
			}
			a := media.Frame{Codec: media.CodecAAC, DTS: pts, PTS: pts, Payload: make([]byte, 200)}
			a.Own()
			st.Write(&a)
		}
	}()
	defer func() { close(stop); <-done }()
	for _, tr := range []string{TransportTCP, TransportUDP} {
		t.Run(tr, func(t *testing.T) {
			src, err := NewSource("rtsp://"+addr.String()+"/live/x", Config{Transport: tr}, nil)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2500*time.Millisecond)
			defer cancel()
			pub := &framePub{}
			_ = src.Run(ctx, pub)
			pub.mu.Lock()
			defer pub.mu.Unlock()
			if !pub.vcfg || !pub.acfg || pub.keys < 2 || pub.video < 40 || pub.audio < 80 || pub.backwards ||
				pub.declared != [2]bool{true, true} {
				t.Errorf("%s: %+v", tr, pub)
			}
		})
	}
}
