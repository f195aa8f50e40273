//go:build !nortc && !tiny

package bench

import "testing"

// FuzzWHEPAnswer feeds arbitrary answers to the WHEP player's SDP reading
// and candidate choice: no panic, and an accepted answer has credentials
// and a payload type.
func FuzzWHEPAnswer(f *testing.F) {
	f.Add([]byte(srsAnswer))
	f.Add([]byte("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=ice-ufrag:a\r\na=ice-pwd:b\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=rtpmap:0 PCMU/8000\r\na=candidate:1 1 udp 1 ::1 9 typ host\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := parseWHEPAnswer(b)
		if err != nil {
			return
		}
		if a.ufrag == "" || a.pwd == "" || (a.videoPT == 0xff && a.audioPT == 0xff) {
			t.Fatalf("accepted %+v", a)
		}
		_, _ = a.pickCandidate("127.0.0.1")
	})
}
