//go:build !nortc && !tiny

package bench

import (
	"bytes"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"

	"github.com/srs-lite/srs-lite/internal/format/flv"
)

// srsAnswer is an answer as srs-lite's rtc package writes it.
const srsAnswer = "v=0\r\no=srs-lite 1 2 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=ice-lite\r\na=group:BUNDLE 0 1\r\n" +
	"a=msid-semantic: WMS srs-lite\r\n" +
	"m=video 9 UDP/TLS/RTP/SAVPF 102\r\nc=IN IP4 0.0.0.0\r\na=ice-ufrag:srvufrag\r\na=ice-pwd:srvpwd0123456789abcdefgh\r\n" +
	"a=fingerprint:sha-256 AB:CD\r\na=setup:passive\r\na=mid:0\r\na=sendonly\r\na=rtcp-mux\r\na=rtcp-rsize\r\n" +
	"a=rtpmap:102 H264/90000\r\na=fmtp:102 packetization-mode=1;profile-level-id=42e01f\r\n" +
	"a=candidate:1 1 udp 2130706431 192.168.1.5 8000 typ host generation 0\r\n" +
	"a=candidate:2 1 udp 2130706430 127.0.0.1 8000 typ host generation 0\r\n" +
	"a=candidate:101 1 tcp 1671430143 127.0.0.1 8000 typ host tcptype passive generation 0\r\na=end-of-candidates\r\n" +
	"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=ice-ufrag:srvufrag\r\na=ice-pwd:srvpwd0123456789abcdefgh\r\n" +
	"a=fingerprint:sha-256 AB:CD\r\na=setup:passive\r\na=mid:1\r\na=sendonly\r\na=rtcp-mux\r\na=rtpmap:111 opus/48000/2\r\n"

func TestWHEPEndpoint(t *testing.T) {
	for in, want := range map[string]string{
		"whep://127.0.0.1:1985/live/cam":                         "http://127.0.0.1:1985/rtc/v1/whep/?app=live&stream=cam",
		"wheps://h:443/live/cam":                                 "https://h:443/rtc/v1/whep/?app=live&stream=cam",
		"http://127.0.0.1:1985/rtc/v1/whep/?app=live&stream=cam": "http://127.0.0.1:1985/rtc/v1/whep/?app=live&stream=cam",
		"http://127.0.0.1:8889/cam/whep":                         "http://127.0.0.1:8889/cam/whep",
	} {
		if got, err := WHEPEndpoint(in); err != nil || got != want {
			t.Errorf("WHEPEndpoint(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"whep://h/live", "whep:///live/cam", "whep://h/a/b/c", "rtmp://h/live/cam"} {
		if got, err := WHEPEndpoint(bad); err == nil {
			t.Errorf("WHEPEndpoint(%q) = %q, want an error", bad, got)
		}
	}
}

func TestPlayerForWHEP(t *testing.T) {
	ps := map[string]Player{"whep": WHEPPlayer}
	for _, u := range []string{"whep://h/live/s", "http://h:1985/rtc/v1/whep/?app=live&stream=s", "http://h:8889/s/whep"} {
		p, err := PlayerFor(u, 1, ps)
		if err != nil || p == nil {
			t.Fatalf("PlayerFor(%q): %v", u, err)
		}
	}
	// An FLV URL stays HTTP-FLV.
	if p, err := PlayerFor("http://h/live/whep.flv", 1, ps); err != nil || p == nil {
		t.Fatalf("PlayerFor(flv): %v", err)
	}
}

func TestParseWHEPAnswer(t *testing.T) {
	a, err := parseWHEPAnswer([]byte(srsAnswer))
	if err != nil {
		t.Fatal(err)
	}
	if a.ufrag != "srvufrag" || a.pwd != "srvpwd0123456789abcdefgh" || a.fingerprint != "AB:CD" ||
		a.videoPT != 102 || a.audioPT != 111 || a.audioClock != 48000 || len(a.candidates) != 2 {
		t.Fatalf("answer %+v", a)
	}
	if c, _ := a.pickCandidate("127.0.0.1"); c != netip.MustParseAddrPort("127.0.0.1:8000") {
		t.Errorf("candidate for 127.0.0.1: %v", c)
	}
	if c, _ := a.pickCandidate("10.1.1.1"); c != netip.MustParseAddrPort("192.168.1.5:8000") {
		t.Errorf("candidate for another host: %v", c)
	}
	// A full agent without loopback candidates: the URL's loopback host
	// with the candidate's port.
	a.candidates = a.candidates[:1]
	if c, _ := a.pickCandidate("localhost"); c.Port() != 8000 || !c.Addr().IsLoopback() {
		t.Errorf("candidate for localhost: %v", c)
	}
	for _, bad := range []string{"", "v=0\r\n", strings.Replace(srsAnswer, "ice-pwd", "x-pwd", -1),
		strings.Replace(strings.Replace(srsAnswer, "H264", "VP8", 1), "opus", "foo", 1)} {
		if _, err := parseWHEPAnswer([]byte(bad)); err == nil {
			t.Errorf("answer %q accepted", bad)
		}
	}
}

func TestIsH264Key(t *testing.T) {
	for _, c := range []struct {
		p   []byte
		key bool
	}{
		{[]byte{0x65, 0x88}, true},                // IDR
		{[]byte{0x67, 0x42}, true},                // SPS
		{[]byte{0x41, 0x9a}, false},               // non-IDR slice
		{[]byte{0x78, 0, 5, 0x67, 1, 2, 3}, true}, // STAP-A with an SPS first
		{[]byte{0x7c, 0x85}, true},                // FU-A start of an IDR
		{[]byte{0x7c, 0x05}, false},               // FU-A middle
		{[]byte{0x7c, 0x81}, false},               // FU-A start of a non-IDR
		{[]byte{0x65}, false},                     // too short
	} {
		if got := isH264Key(c.p); got != c.key {
			t.Errorf("isH264Key(%x) = %v", c.p, got)
		}
	}
}

// testWHEP is a player with SRTP contexts and an encrypting sender, to
// drive onSRTP without a network.
func testWHEP(t testing.TB) (*whepPlayer, *srtp.Context, *int, *int) {
	key, salt := bytes.Repeat([]byte{1}, 16), bytes.Repeat([]byte{2}, 14)
	send, err := srtp.CreateContext(key, salt, srtp.ProtectionProfileAes128CmHmacSha1_80)
	if err != nil {
		t.Fatal(err)
	}
	dec, _ := srtp.CreateContext(key, salt, srtp.ProtectionProfileAes128CmHmacSha1_80)
	a, err := parseWHEPAnswer([]byte(srsAnswer))
	if err != nil {
		t.Fatal(err)
	}
	var video, audio int
	w := &whepPlayer{ans: a, plain: make([]byte, 1500), vbuf: make([]byte, 5, 64<<10), abuf: make([]byte, 0, 1500),
		rtcpBuf: make([]byte, 0, 128)}
	w.onTag = func(typ uint8, ts uint32, body []byte) {
		switch typ {
		case flv.TagVideo:
			if !isVideoFrame(body) {
				t.Errorf("video body %x is not a frame", body[:min(len(body), 8)])
			}
			video++
		case flv.TagAudio:
			audio++
		}
	}
	w.enc, _ = srtp.CreateContext(key, salt, srtp.ProtectionProfileAes128CmHmacSha1_80)
	w.dec.Store(dec)
	return w, send, &video, &audio
}

// TestWHEPFrames: RTP packets between marker bits make one video frame;
// each audio packet is a frame.
func TestWHEPFrames(t *testing.T) {
	w, send, video, audio := testWHEP(t)
	ln, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if w.conn, err = net.DialUDP("udp", nil, ln.LocalAddr().(*net.UDPAddr)); err != nil {
		t.Fatal(err)
	}
	defer w.conn.Close()
	seqs := map[uint8]uint16{102: 100, 111: 7}
	pkt := func(pt uint8, ts uint32, marker bool, payload []byte) []byte {
		seqs[pt]++
		p := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: pt, SequenceNumber: seqs[pt], Timestamp: ts, SSRC: 9, Marker: marker}, Payload: payload}
		raw, _ := p.Marshal()
		enc, err := send.EncryptRTP(nil, raw, nil)
		if err != nil {
			t.Fatal(err)
		}
		return enc
	}
	dec := w.dec.Load()
	w.onSRTP(dec, pkt(102, 3000, false, []byte{0x7c, 0x85, 1, 2}))
	w.onSRTP(dec, pkt(102, 3000, true, []byte{0x7c, 0x45, 3, 4}))
	w.onSRTP(dec, pkt(111, 960, true, []byte{0xfc, 1, 2}))
	w.onSRTP(dec, pkt(102, 6000, true, []byte{0x41, 0x9a, 5}))
	if *video != 2 || *audio != 1 {
		t.Errorf("%d video and %d audio frames, want 2 and 1", *video, *audio)
	}
	w.onSRTP(dec, []byte{0x80, 102, 0, 1, 0, 0, 0, 0, 0, 0, 0, 9, 1, 2, 3}) // fails authentication
	if *video != 2 {
		t.Errorf("a forged packet made a frame")
	}
	// Packets 104..106 lost: one NACK (RFC 4585 generic, PID 104, BLP 0b11).
	seqs[102] += 3
	w.onSRTP(dec, pkt(102, 9000, true, []byte{0x41, 0x9a, 6}))
	if *video != 3 {
		t.Errorf("%d video frames after the gap, want 3", *video)
	}
	_ = ln.SetReadDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 1500)
	n, err := ln.Read(buf)
	if err != nil {
		t.Fatalf("no NACK: %v", err)
	}
	rx, _ := srtp.CreateContext(bytes.Repeat([]byte{1}, 16), bytes.Repeat([]byte{2}, 14), srtp.ProtectionProfileAes128CmHmacSha1_80)
	plain, err := rx.DecryptRTCP(nil, buf[:n], nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []byte{0x81, 205, 0, 3, 0, 0, 0, 1, 0, 0, 0, 9, 0, 104, 0, 3}
	if !bytes.Equal(plain, want) {
		t.Errorf("NACK %x, want %x", plain, want)
	}
}

// BenchmarkWHEPOnSRTP measures a player's per-packet work: SRTP decrypt,
// frame gathering and the bench measurement hook.
func BenchmarkWHEPOnSRTP(b *testing.B) {
	w, send, _, _ := testWHEP(b)
	w.onTag = func(uint8, uint32, []byte) {}
	payload := bytes.Repeat([]byte{0x41}, 1100)
	pkts := make([][]byte, 300)
	for i := range pkts {
		p := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 102, SequenceNumber: uint16(i), Timestamp: uint32(i/4) * 3000,
			SSRC: 9, Marker: i%4 == 3}, Payload: payload}
		raw, _ := p.Marshal()
		pkts[i], _ = send.EncryptRTP(nil, raw, nil)
	}
	dec := w.dec.Load()
	buf := make([]byte, 1500)
	b.ReportAllocs()
	b.SetBytes(int64(len(pkts[0])))
	i := 0
	for b.Loop() {
		if i == len(pkts) {
			// Replay protection off in the bench context: the same packets again.
			i = 0
		}
		n := copy(buf, pkts[i])
		w.onSRTP(dec, buf[:n])
		i++
	}
}
