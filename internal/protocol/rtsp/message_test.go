package rtsp

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestReadMessage(t *testing.T) {
	tests := []struct {
		name, in string
		code     int
		method   string
		hdr      map[string]string
		body     string
		err      error
	}{
		{"response", "RTSP/1.0 200 OK\r\nCSeq: 2\r\nContent-Length: 3\r\n\r\nabc", 200, "", map[string]string{"cseq": "2"}, "abc", nil},
		{"no reason, bare LF", "RTSP/1.0 404\nCSeq: 3\n\n", 404, "", map[string]string{"CSeq": "3"}, "", nil},
		{"folded header", "RTSP/1.0 401 Unauthorized\r\nWWW-Authenticate: Digest realm=\"x\",\r\n nonce=\"y\"\r\n\r\n", 401, "",
			map[string]string{"www-authenticate": `Digest realm="x", nonce="y"`}, "", nil},
		{"leading blank lines", "\r\n\r\nRTSP/1.0 200 OK\r\n\r\n", 200, "", nil, "", nil},
		{"server request", "GET_PARAMETER rtsp://h/ RTSP/1.0\r\nCSeq: 9\r\n\r\n", 0, "GET_PARAMETER", map[string]string{"cseq": "9"}, "", nil},
		{"garbage", "HELLO\r\n\r\n", 0, "", nil, "", ErrProtocol},
		{"bad status", "RTSP/1.0 abc OK\r\n\r\n", 0, "", nil, "", ErrProtocol},
		{"bad header", "RTSP/1.0 200 OK\r\nnocolon\r\n\r\n", 0, "", nil, "", ErrProtocol},
		{"huge body", "RTSP/1.0 200 OK\r\nContent-Length: 99999999\r\n\r\n", 0, "", nil, "", ErrTooLarge},
		{"short body", "RTSP/1.0 200 OK\r\nContent-Length: 9\r\n\r\nab", 0, "", nil, "", io.ErrUnexpectedEOF},
		{"cut in headers", "RTSP/1.0 200 OK\r\nCSeq: 1\r\n", 0, "", nil, "", io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := ReadMessage(bufio.NewReader(strings.NewReader(tt.in)))
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("err %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if m.StatusCode != tt.code || m.Method != tt.method || string(m.Body) != tt.body {
				t.Fatalf("%+v", m)
			}
			for k, v := range tt.hdr {
				if got := m.Header.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
		})
	}
}

func TestRequestWire(t *testing.T) {
	r := request{method: "SETUP", url: "rtsp://h/s/trackID=1"}
	r.add("CSeq", "3")
	r.add("Transport", "RTP/AVP/TCP;unicast;interleaved=0-1")
	want := "SETUP rtsp://h/s/trackID=1 RTSP/1.0\r\nCSeq: 3\r\nTransport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n\r\n"
	if got := string(r.appendTo(nil)); got != want {
		t.Fatalf("%q", got)
	}
	first, kv := params("RTP/AVP;unicast;client_port=5000-5001;server_port=6970-6971;ssrc=1A2B;source=\"10.0.0.1\"")
	if first != "RTP/AVP" || kv["server_port"] != "6970-6971" || kv["source"] != "10.0.0.1" {
		t.Fatalf("%q %v", first, kv)
	}
	if a, b, ok := portPair("6970-6971"); !ok || a != 6970 || b != 6971 {
		t.Fatal("port pair")
	}
	if a, b, ok := portPair("8"); !ok || a != 8 || b != 9 {
		t.Fatal("single port")
	}
	if _, _, ok := portPair("x-1"); ok {
		t.Fatal("bad pair accepted")
	}
}

func TestDigest(t *testing.T) {
	// RFC 2617 §3.5 (uri and method as an RTSP client sends them).
	a := auth{user: "Mufasa", pass: "Circle Of Life"}
	err := a.challenge([]string{`Basic realm="x"`,
		`Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"`})
	if err != nil {
		t.Fatal(err)
	}
	a.cnonce = "0a4f113b"
	h := a.header("GET", "/dir/index.html")
	if !strings.Contains(h, `response="6629fae49393a05397450978507c4ef1"`) || !strings.Contains(h, "nc=00000001") ||
		!strings.Contains(h, `opaque="5ccc069c403ebaf9f0171e9517f40e41"`) {
		t.Fatalf("%s", h)
	}
	// Without qop (RFC 2069 style, most cameras).
	b := auth{user: "admin", pass: "12345"}
	if err := b.challenge([]string{`Digest realm="IP Camera", nonce="abc"`}); err != nil {
		t.Fatal(err)
	}
	if h := b.header("DESCRIBE", "rtsp://10.0.0.1/s"); !strings.HasPrefix(h, `Digest username="admin", realm="IP Camera", nonce="abc", uri="rtsp://10.0.0.1/s", response="`) ||
		strings.Contains(h, "qop") {
		t.Fatalf("%s", h)
	}
	c := auth{user: "u", pass: "p"}
	if err := c.challenge([]string{`Basic realm="cam"`}); err != nil || c.header("OPTIONS", "x") != "Basic dTpw" {
		t.Fatalf("basic: %v %q", err, c.header("OPTIONS", "x"))
	}
	if err := c.challenge([]string{`Bearer x`, `Digest realm="r"`}); !errors.Is(err, ErrAuth) {
		t.Fatalf("unsupported: %v", err)
	}
	d := auth{user: "u", pass: "p"}
	if err := d.challenge([]string{`Digest realm="r", nonce="n", algorithm=MD5`, `Digest realm="r", nonce="n", algorithm=SHA-256, qop="auth"`}); err != nil || d.algorithm != "SHA-256" {
		t.Fatalf("prefers SHA-256: %v %+v", err, d)
	}
	if h := d.header("PLAY", "rtsp://h/"); !strings.Contains(h, "algorithm=SHA-256") || len(h) < 64 {
		t.Fatalf("%s", h)
	}
}

func TestSDP(t *testing.T) {
	// A camera's SDP: bare LFs, no o= or t=, a= before c=, a static
	// payload type without rtpmap and an unknown media.
	body := "v=0\ns=IPC\na=control:*\nc=IN IP4 0.0.0.0\n" +
		"m=video 0 RTP/AVP 96\na=rtpmap:96 H264/90000\na=fmtp:96 packetization-mode=1\na=control:track1\n" +
		"m=audio 0 RTP/AVP 0\na=control:track2\n" +
		"m=application 0 RTP/AVP 107\na=rtpmap:107 vnd.onvif.metadata/90000\n"
	media, ctl, repaired, err := parseSDP([]byte(body))
	if err != nil || !repaired || ctl != "*" || len(media) != 3 {
		t.Fatalf("%v repaired=%v ctl=%q %+v", err, repaired, ctl, media)
	}
	if media[0].kind != "video" || media[0].formats[0].Encoding != "H264" || media[0].control != "track1" {
		t.Errorf("video %+v", media[0])
	}
	if media[1].formats[0].Encoding != "PCMU" || media[1].formats[0].ClockRate != 8000 {
		t.Errorf("audio %+v", media[1])
	}
	if _, _, _, err := parseSDP([]byte("garbage")); !errors.Is(err, ErrSDP) {
		t.Errorf("garbage: %v", err)
	}
}

func TestControlURL(t *testing.T) {
	base, _ := url.Parse("rtsp://cam:554/live/ch1")
	slash, _ := url.Parse("rtsp://cam:554/live/ch1/")
	query, _ := url.Parse("rtsp://cam/cgi?ch=1")
	tests := []struct {
		base    *url.URL
		control string
		want    string
	}{
		{base, "trackID=1", "rtsp://cam:554/live/ch1/trackID=1"},
		{slash, "trackID=1", "rtsp://cam:554/live/ch1/trackID=1"},
		{base, "", "rtsp://cam:554/live/ch1"},
		{base, "*", "rtsp://cam:554/live/ch1"},
		{base, "rtsp://other/x/track2", "rtsp://other/x/track2"},
		{base, "RTSP://other/x", "rtsp://other/x"},
		{query, "track1", "rtsp://cam/cgi?ch=1/track1"},
	}
	for _, tt := range tests {
		u, err := controlURL(tt.base, tt.control)
		if err != nil || u.String() != tt.want {
			t.Errorf("%s + %q = %v %v, want %s", tt.base, tt.control, u, err, tt.want)
		}
	}
}

func TestRTCP(t *testing.T) {
	sr := []byte{0x80, rtcpSR, 0, 6, 0, 0, 0, 7, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0x10, 0, 0, 0, 0, 1, 0, 0, 0, 2}
	bye := []byte{0x81, rtcpBYE, 0, 1, 0, 0, 0, 7}
	var got []senderReport
	isBye, err := parseRTCP(append(append([]byte(nil), sr...), bye...), func(s senderReport) { got = append(got, s) })
	if err != nil || !isBye || len(got) != 1 || got[0].ssrc != 7 || got[0].ntp != 0x0102030405060708 || got[0].rtp != 0x1000 {
		t.Fatalf("%v %v %+v", err, isBye, got)
	}
	if _, err := parseRTCP([]byte{0x80, rtcpSR, 0, 9, 0}, func(senderReport) {}); err == nil {
		t.Fatal("truncated RTCP accepted")
	}

	var s rxStats
	s.rate = 90000
	now := time.Unix(100, 0)
	for i, seq := range []uint16{65534, 65535, 1, 2} { // across the wrap, 0 lost
		s.update(42, seq, uint32(i)*3000, now.Add(time.Duration(i)*33*time.Millisecond))
	}
	s.onSR(0x0102030405060708, now)
	rr := appendRR(nil, 99, &s, "srs-lite", now.Add(500*time.Millisecond))
	if len(rr)%4 != 0 || rr[1] != rtcpRR || rr[0]&0x1f != 1 {
		t.Fatalf("RR %x", rr)
	}
	if _, err := parseRTCP(rr, func(senderReport) {}); err != nil {
		t.Fatalf("our RR does not parse: %v", err)
	}
	blk := rr[8:]
	lost := binary.BigEndian.Uint32(blk[4:]) & 0xffffff
	ext := binary.BigEndian.Uint32(blk[8:])
	lsr := binary.BigEndian.Uint32(blk[16:])
	dlsr := binary.BigEndian.Uint32(blk[20:])
	if binary.BigEndian.Uint32(blk) != 42 || lost != 1 || ext != 1<<16|2 || lsr != 0x03040506 || dlsr != 32768 {
		t.Fatalf("block: lost %d ext %x lsr %x dlsr %d", lost, ext, lsr, dlsr)
	}
	if empty := appendRR(nil, 99, nil, "x", now); len(empty)%4 != 0 || empty[0]&0x1f != 0 {
		t.Fatalf("empty RR %x", empty)
	}
}
