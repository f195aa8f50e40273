package rtsp

import (
	"bufio"
	"bytes"
	"net/url"
	"testing"
	"time"
)

// FuzzRTSPResponse parses messages as the client reads them from a camera,
// then the headers the client interprets: no panic, bounded memory.
func FuzzRTSPResponse(f *testing.F) {
	f.Add([]byte("RTSP/1.0 200 OK\r\nCSeq: 2\r\nSession: 12345678;timeout=60\r\nTransport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n\r\n"))
	f.Add([]byte("RTSP/1.0 401 Unauthorized\r\nCSeq: 3\r\nWWW-Authenticate: Digest realm=\"IP Camera\", nonce=\"a1b2\", qop=\"auth\"\r\nWWW-Authenticate: Basic realm=\"x\"\r\n\r\n"))
	f.Add([]byte("RTSP/1.0 200 OK\r\nCSeq: 4\r\nContent-Base: rtsp://10.0.0.1/s/\r\nContent-Length: 10\r\n\r\nv=0\r\ns=x\r\n"))
	f.Add([]byte("GET_PARAMETER rtsp://h/ RTSP/1.0\r\nCSeq: 9\r\n\r\n$\x00\x00\x04abcd"))
	f.Fuzz(func(t *testing.T, data []byte) {
		br := bufio.NewReader(bytes.NewReader(data))
		for range 4 {
			m, err := ReadMessage(br)
			if err != nil {
				return
			}
			_ = m.CSeq()
			_, kv := params(m.Header.Get("Transport"))
			_, _, _ = portPair(kv["interleaved"])
			_, _, _ = portPair(kv["server_port"])
			var a auth
			a.user, a.pass = "u", "p"
			if a.challenge(m.Header.Values("WWW-Authenticate")) == nil {
				_ = a.header("DESCRIBE", "rtsp://h/s")
			}
		}
	})
}

// FuzzSDP parses a DESCRIBE body, repairing it when needed, and resolves
// each media's control URL: no panic.
func FuzzSDP(f *testing.F) {
	f.Add([]byte(fakeSDP))
	f.Add([]byte("v=0\ns=IPC\na=control:*\nm=video 0 RTP/AVP 96\na=rtpmap:96 H265/90000\na=control:track1\nm=audio 0 RTP/AVP 0\n"))
	f.Add([]byte("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=x\r\nt=0 0\r\nm=audio 0 RTP/AVP 97\r\na=rtpmap:97 MPEG4-GENERIC/44100/2\r\na=fmtp:97 mode=AAC-hbr;config=1210;sizelength=13\r\na=control:rtsp://cam/a\r\n"))
	base, _ := url.Parse("rtsp://cam:554/live")
	f.Fuzz(func(t *testing.T, data []byte) {
		media, ctl, _, err := parseSDP(data)
		if err != nil {
			return
		}
		b := base
		if u, err := controlURL(base, ctl); err == nil {
			b = u
		}
		for _, m := range media {
			_, _ = controlURL(b, m.control)
			for _, f := range m.formats {
				_ = f.Codec()
			}
		}
	})
}

// FuzzRTCP parses compound RTCP packets and answers with a receiver
// report: no panic.
func FuzzRTCP(f *testing.F) {
	f.Add([]byte{0x80, rtcpSR, 0, 6, 0, 0, 0, 7, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0x10, 0, 0, 0, 0, 1, 0, 0, 0, 2, 0x81, rtcpBYE, 0, 1, 0, 0, 0, 7})
	f.Fuzz(func(t *testing.T, data []byte) {
		var s rxStats
		s.rate = 90000
		now := time.Unix(5, 0)
		_, _ = parseRTCP(data, func(sr senderReport) {
			s.update(sr.ssrc, uint16(sr.rtp), sr.rtp, now)
			s.onSR(sr.ntp, now)
		})
		rr := appendRR(nil, 1, &s, "srs-lite", now)
		if _, err := parseRTCP(rr, func(senderReport) {}); err != nil {
			t.Fatalf("our own RR does not parse: %v", err)
		}
	})
}
