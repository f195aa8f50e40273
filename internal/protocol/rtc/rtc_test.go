//go:build !nortc && !tiny

package rtc

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pion/stun/v3"

	"github.com/srs-lite/srs-lite/internal/media"
)

// testOffer is a browser-like WHEP offer: video (VP8, H.264 in two
// profiles, RTX) and Opus, both recvonly, BUNDLE, a data channel.
const testOffer = "v=0\r\n" +
	"o=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n" +
	"a=group:BUNDLE 0 1 2\r\na=extmap-allow-mixed\r\na=msid-semantic: WMS\r\n" +
	"m=video 9 UDP/TLS/RTP/SAVPF 96 97 102 103 106\r\nc=IN IP4 0.0.0.0\r\na=rtcp:9 IN IP4 0.0.0.0\r\n" +
	"a=ice-ufrag:abcd\r\na=ice-pwd:0123456789abcdefghijklmn\r\na=ice-options:trickle\r\n" +
	"a=fingerprint:sha-256 AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99\r\n" +
	"a=setup:actpass\r\na=mid:0\r\na=recvonly\r\na=rtcp-mux\r\na=rtcp-rsize\r\n" +
	"a=rtpmap:96 VP8/90000\r\na=rtcp-fb:96 nack\r\na=rtpmap:97 rtx/90000\r\na=fmtp:97 apt=96\r\n" +
	"a=rtpmap:102 H264/90000\r\na=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f\r\n" +
	"a=rtpmap:103 rtx/90000\r\na=fmtp:103 apt=102\r\n" +
	"a=rtpmap:106 H264/90000\r\na=fmtp:106 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f\r\n" +
	"m=audio 9 UDP/TLS/RTP/SAVPF 111 0 8\r\nc=IN IP4 0.0.0.0\r\na=mid:1\r\na=recvonly\r\na=rtcp-mux\r\n" +
	"a=rtpmap:111 opus/48000/2\r\na=fmtp:111 minptime=10;useinbandfec=1\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n" +
	"m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=mid:2\r\na=sctp-port:5000\r\n"

func newTestServer(t testing.TB) (*Server, *httptest.Server) {
	t.Helper()
	s, err := New(Config{Candidate: "127.0.0.1"}, Deps{Registry: media.NewRegistry(func(string) media.Options { return media.DefaultOptions() })})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Listen("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(WHEPPath, s)
	mux.Handle(WHIPPath, s)
	hs := httptest.NewServer(mux)
	t.Cleanup(func() { hs.Close(); _ = s.Close() })
	return s, hs
}

func post(t testing.TB, url, body string) (int, string, http.Header) {
	t.Helper()
	res, err := http.Post(url, "application/sdp", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b), res.Header
}

func TestWHEPAnswer(t *testing.T) {
	_, hs := newTestServer(t)
	code, ans, h := post(t, hs.URL+WHEPPath+"?app=live&stream=a", testOffer)
	if code != http.StatusCreated {
		t.Fatalf("POST: %d %s", code, ans)
	}
	if loc := h.Get("Location"); !strings.HasPrefix(loc, WHEPPath) || len(loc) <= len(WHEPPath) {
		t.Errorf("Location %q", loc)
	}
	if h.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("no CORS header")
	}
	for _, want := range []string{"a=ice-lite", "a=group:BUNDLE 0 1\r\n", "a=setup:passive", "a=fingerprint:sha-256 ",
		"m=video 9 UDP/TLS/RTP/SAVPF 106\r\n", "a=rtpmap:106 H264/90000", "a=sendonly", "a=rtpmap:111 opus/48000/2",
		"typ host generation 0", "tcptype passive", "a=end-of-candidates", "m=application 0 UDP/DTLS/SCTP webrtc-datachannel"} {
		if !strings.Contains(ans, want) {
			t.Errorf("answer lacks %q:\n%s", want, ans)
		}
	}
	// DELETE ends the session; a second DELETE finds nothing.
	for i, want := range []int{http.StatusOK, http.StatusNotFound} {
		req, _ := http.NewRequest(http.MethodDelete, hs.URL+h.Get("Location"), nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != want {
			t.Errorf("DELETE %d: %d, want %d", i, res.StatusCode, want)
		}
	}
	// OPTIONS is a CORS preflight.
	req, _ := http.NewRequest(http.MethodOptions, hs.URL+WHEPPath, nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNoContent || !strings.Contains(res.Header.Get("Access-Control-Allow-Methods"), "POST") {
		t.Errorf("OPTIONS: %d %v", res.StatusCode, res.Header)
	}
}

func TestBadOffers(t *testing.T) {
	_, hs := newTestServer(t)
	vp8only := strings.NewReplacer("96 97 102 103 106", "96 97", "a=rtpmap:102 H264/90000\r\n", "", "a=rtpmap:106 H264/90000\r\n", "").Replace(testOffer)
	whipVP8 := strings.ReplaceAll(strings.ReplaceAll(vp8only, "a=recvonly", "a=sendonly"), "m=audio 9 UDP/TLS/RTP/SAVPF 111 0 8", "m=audio 9 UDP/TLS/RTP/SAVPF 0 8")
	for _, tc := range []struct {
		name, path, body, want string
	}{
		{"junk", WHEPPath, "hello", "bad offer"},
		{"empty", WHEPPath, "", "bad offer"},
		{"huge", WHEPPath, testOffer + strings.Repeat("a=x:"+strings.Repeat("y", 1000)+"\r\n", 70), "at most"},
		{"no ice", WHEPPath, strings.ReplaceAll(testOffer, "a=ice-pwd:", "a=x-pwd:"), "ice-pwd"},
		{"no fingerprint", WHEPPath, strings.ReplaceAll(testOffer, "a=fingerprint:", "a=x:"), "fingerprint"},
		{"vp8 only whip", WHIPPath, whipVP8, "srs-lite takes H.264, the offer has VP8"},
		{"no app", WHEPPath[:len(WHEPPath)] + "?stream=a", testOffer, "want ?app="},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url := hs.URL + tc.path
			if !strings.Contains(tc.path, "?") {
				url += "?app=live&stream=" + strings.ReplaceAll(tc.name, " ", "")
			}
			code, body, _ := post(t, url, tc.body)
			if code != http.StatusBadRequest || !strings.Contains(body, tc.want) {
				t.Fatalf("got %d %q, want 400 with %q", code, body, tc.want)
			}
		})
	}
}

// answerCreds returns the ufrag and pwd of an answer.
func answerCreds(ans string) (ufrag, pwd string) {
	for _, l := range strings.Split(ans, "\r\n") {
		if v, ok := strings.CutPrefix(l, "a=ice-ufrag:"); ok {
			ufrag = v
		}
		if v, ok := strings.CutPrefix(l, "a=ice-pwd:"); ok {
			pwd = v
		}
	}
	return
}

func TestSTUN(t *testing.T) {
	s, hs := newTestServer(t)
	code, ans, _ := post(t, hs.URL+WHEPPath+"?app=live&stream=a", testOffer)
	if code != http.StatusCreated {
		t.Fatalf("POST: %d %s", code, ans)
	}
	ufrag, pwd := answerCreds(ans)
	c, err := net.DialUDP("udp", nil, s.Addr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ask := func(b []byte) *stun.Message {
		if _, err := c.Write(b); err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		buf := make([]byte, 1500)
		n, err := c.Read(buf)
		if err != nil {
			return nil
		}
		m := &stun.Message{Raw: buf[:n]}
		if err := m.Decode(); err != nil {
			t.Fatalf("answer does not decode: %v", err)
		}
		return m
	}
	req := func(user, key string) []byte {
		m := stun.MustBuild(stun.TransactionID, stun.BindingRequest, stun.NewUsername(user),
			stun.NewShortTermIntegrity(key), stun.Fingerprint)
		return m.Raw
	}
	good := req(ufrag+":abcd", pwd)
	// Bad input first: none of it is answered, and the session survives.
	for name, b := range map[string][]byte{
		"junk":            []byte{0, 1, 2, 3, 4, 5},
		"truncated":       good[:len(good)-10],
		"wrong integrity": req(ufrag+":abcd", "not-the-password-at-all"),
		"unknown ufrag":   req("nobody:abcd", pwd),
		"dtls junk":       []byte{22, 254, 253, 0, 0},
		"srtp junk":       make([]byte, 40),
	} {
		if m := ask(b); m != nil {
			t.Errorf("%s answered: %v", name, m)
		}
	}
	m := ask(good)
	if m == nil || m.Type != stun.BindingSuccess {
		t.Fatalf("binding request not answered: %v", m)
	}
	if err := stun.NewShortTermIntegrity(pwd).Check(m); err != nil {
		t.Errorf("answer integrity: %v", err)
	}
	if err := stun.Fingerprint.Check(m); err != nil {
		t.Errorf("answer fingerprint: %v", err)
	}
	var xa stun.XORMappedAddress
	if err := xa.GetFrom(m); err != nil || xa.Port != c.LocalAddr().(*net.UDPAddr).Port {
		t.Errorf("XOR-MAPPED-ADDRESS %v %v, want %v", xa, err, c.LocalAddr())
	}
	if s.Stats().STUNBad.Load() < 4 {
		t.Errorf("bad STUN counted %d times", s.Stats().STUNBad.Load())
	}
}

func TestClassify(t *testing.T) {
	for b, want := range map[byte]Kind{0: KindSTUN, 3: KindSTUN, 4: KindUnknown, 20: KindDTLS, 63: KindDTLS, 64: KindUnknown,
		128: KindRTP, 191: KindRTP, 192: KindUnknown, 255: KindUnknown} {
		if got := Classify([]byte{b}); got != want {
			t.Errorf("Classify(%d) = %v, want %v", b, got, want)
		}
	}
	if Classify(nil) != KindUnknown {
		t.Error("empty datagram classified")
	}
}

func TestIsBFrame(t *testing.T) {
	// slice headers: first_mb_in_slice = 0 (1), slice_type ue(v).
	for _, tc := range []struct {
		nal  []byte
		want bool
	}{
		{[]byte{0x01, 0xa8}, true},  // non-ref slice, slice_type 1 (B): bits 1 010
		{[]byte{0x01, 0x88}, false}, // slice_type 7 (I): bits 1 0001000
		{[]byte{0x65, 0x88}, false}, // IDR
	} {
		avcc := append([]byte{0, 0, 0, byte(len(tc.nal))}, tc.nal...)
		if got := isBFrame(avcc); got != tc.want {
			t.Errorf("isBFrame(% x) = %v, want %v", tc.nal, got, tc.want)
		}
	}
}

func TestRTCPNack(t *testing.T) {
	// PID 10 with bits 0 and 15: 10, 11 and 26.
	var got []uint16
	walkRTCP([]byte{0x81, 205, 0, 3, 0, 0, 0, 1, 0, 0, 0, 2, 0, 10, 0x80, 0x01}, func(p *rtcpPacket) {
		if p.typ != rtcpRTPFB || p.fmt != 1 || p.ssrc != 1 || p.media != 2 {
			t.Errorf("packet %+v", p)
		}
		p.nacks(func(s uint16) { got = append(got, s) })
	})
	if len(got) != 3 || got[0] != 10 || got[1] != 11 || got[2] != 26 {
		t.Errorf("nacks %v, want [10 11 26]", got)
	}
}

func TestWHEPH265(t *testing.T) {
	s, hs := newTestServer(t)
	key := media.Key{Vhost: media.DefaultVhost, App: "live", Stream: "hevc"}
	st, err := s.deps.Registry.Publish(key)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Unpublish()
	st.SetVideoInfo(media.VideoInfo{Codec: media.CodecH265})
	offer := strings.Replace(testOffer, "96 97 102 103 106\r\n", "96 97 102 103 106 49\r\n", 1)
	offer = strings.Replace(offer, "m=audio", "a=rtpmap:49 H265/90000\r\nm=audio", 1)
	code, ans, _ := post(t, hs.URL+WHEPPath+"?app=live&stream=hevc", offer)
	if code != http.StatusCreated || !strings.Contains(ans, "a=rtpmap:49 H265/90000") {
		t.Fatalf("H.265 offer: %d\n%s", code, ans)
	}
	code, body, _ := post(t, hs.URL+WHEPPath+"?app=live&stream=hevc", testOffer)
	if code != http.StatusCreated || strings.Contains(body, "m=video 9") {
		// No H.265 in the offer: audio only is fine, video is refused.
		t.Fatalf("H.264-only offer of an H.265 stream: %d\n%s", code, body)
	}
}

// TestCandidatesStar: "*" advertises the API host first, then the bound
// address, or for a wildcard (dual-stack) socket the interfaces' IPv4
// addresses and their IPv6 addresses after them; never a link-local
// address, never loopback beside real ones.
func TestCandidatesStar(t *testing.T) {
	for _, listen := range []string{"127.0.0.1:0", "[::]:0"} {
		s, err := New(Config{Candidate: "*"}, Deps{Registry: media.NewRegistry(nil)})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Listen(listen); err != nil {
			s.Close()
			t.Skipf("SKIPPED: cannot listen on %s here: %v", listen, err)
		}
		cs := s.candidates("192.0.2.7:1985")
		s.Close()
		if len(cs) == 0 || cs[0] != "192.0.2.7" {
			t.Fatalf("%s: %v: the API host is not first", listen, cs)
		}
		if listen == "127.0.0.1:0" {
			if len(cs) != 2 || cs[1] != "127.0.0.1" {
				t.Errorf("%s: %v: want the API host and the bound address", listen, cs)
			}
			continue
		}
		sawV6 := false
		for _, c := range cs {
			ip := net.ParseIP(c)
			if ip == nil {
				t.Fatalf("%s: %q is not an address", listen, c)
			}
			if ip.IsLinkLocalUnicast() || ip.IsLoopback() {
				t.Errorf("%s: %v: %s advertised", listen, cs, c)
			}
			if ip.To4() == nil {
				sawV6 = true
				if listen == "127.0.0.1:0" {
					t.Errorf("%s: %v: IPv6 on an IPv4 socket", listen, cs)
				}
			} else if sawV6 {
				t.Errorf("%s: %v: IPv4 after IPv6", listen, cs)
			}
		}
		t.Logf("%s: %v", listen, cs)
	}
}
