//go:build !nortc && !tiny

package rtc

import (
	"testing"

	pionstun "github.com/pion/stun/v3"

	"github.com/srs-lite/srs-lite/internal/format/stun"
	"github.com/srs-lite/srs-lite/internal/media"
)

// FuzzDemux feeds datagrams to the first-byte demultiplexer and the STUN
// handler of a server with one session: nothing may panic.
func FuzzDemux(f *testing.F) {
	good := pionstun.MustBuild(pionstun.TransactionID, pionstun.BindingRequest, pionstun.NewUsername("ufrag:abcd"),
		pionstun.NewShortTermIntegrity("pwd"), pionstun.Fingerprint)
	for _, b := range [][]byte{good.Raw, {0}, {22, 254, 253}, {128, 96, 0, 1}, {200, 201}, {255}} {
		f.Add(b)
	}
	s, err := New(Config{}, Deps{Registry: media.NewRegistry(func(string) media.Options { return media.DefaultOptions() })})
	if err != nil {
		f.Fatal(err)
	}
	p := newPeer(s, "id", false)
	p.ufrag, p.pwd, p.log = "ufrag", "pwd", s.log
	s.add(p)
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = Classify(b)
		if Classify(b) == KindSTUN {
			if r, ok := stun.ParseRequest(b); ok {
				_ = r.CheckIntegrity("pwd")
			}
		}
		// Not through dispatch: answering needs the socket.
	})
}

// FuzzOffer parses offers, negotiates and writes answers.
func FuzzOffer(f *testing.F) {
	f.Add([]byte(testOffer))
	f.Add([]byte("v=0\r\n"))
	f.Add([]byte("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 H264/90000\r\n"))
	s, err := New(Config{}, Deps{Registry: media.NewRegistry(func(string) media.Options { return media.DefaultOptions() })})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		o, err := parseOffer(b)
		if err != nil {
			return
		}
		for _, publish := range []bool{false, true} {
			ms, err := s.negotiate(o, media.Key{Vhost: "v", App: "a", Stream: "s"}, publish)
			if err != nil {
				continue
			}
			p := newPeer(s, "x", publish)
			_ = s.buildAnswer(p, ms, []string{"127.0.0.1"}, 1)
		}
	})
}

// FuzzRTCP walks compound RTCP packets as a viewer's and a publisher's
// feedback arrives.
func FuzzRTCP(f *testing.F) {
	f.Add(appendPLI(appendSR(nil, 1, 2, 3, 4, 5), 6, 7))
	f.Add([]byte{0x81, 205, 0, 3, 0, 0, 0, 1, 0, 0, 0, 2, 0, 10, 0x80, 0x01})
	f.Add(appendRR(nil, 1, []reception{{ssrc: 2, lost: 3}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		walkRTCP(b, func(p *rtcpPacket) {
			p.nacks(func(uint16) {})
			_, _, _ = p.senderReport()
		})
	})
}
