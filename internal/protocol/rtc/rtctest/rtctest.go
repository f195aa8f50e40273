// Package rtctest holds the pion/webrtc client setup that the WebRTC tests
// share (the rtc package's and the integration tests'). pion/webrtc is a
// test-only peer: only test files import this package, so it never reaches
// the server binary.
package rtctest

import (
	"testing"

	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"
)

// API returns a pion/webrtc API on loopback UDP with the default codecs,
// and with interceptors its NACK generator and RTCP reports.
func API(t testing.TB, interceptors bool) *webrtc.API {
	t.Helper()
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	opts := []func(*webrtc.API){webrtc.WithSettingEngine(se), webrtc.WithMediaEngine(m)}
	if interceptors {
		ir := &interceptor.Registry{}
		if err := webrtc.RegisterDefaultInterceptors(m, ir); err != nil {
			t.Fatal(err)
		}
		opts = append(opts, webrtc.WithInterceptorRegistry(ir))
	}
	return webrtc.NewAPI(opts...)
}

// AddSenders adds a WHIP publisher's tracks to pc, send only: H.264
// (constrained baseline, packetization mode 1) and stereo Opus, in the
// media stream label.
func AddSenders(t testing.TB, pc *webrtc.PeerConnection, label string) (video, audio *webrtc.TrackLocalStaticSample) {
	t.Helper()
	video, _ = webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
		SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"}, "video", label)
	audio, _ = webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "audio", label)
	for _, tr := range []webrtc.TrackLocal{video, audio} {
		if _, err := pc.AddTransceiverFromTrack(tr, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
			t.Fatal(err)
		}
	}
	return video, audio
}
