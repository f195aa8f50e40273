//go:build !nortc && !tiny

package rtc

import (
	"bytes"
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	pionmedia "github.com/pion/webrtc/v4/pkg/media"

	"github.com/srs-lite/srs-lite/internal/media"
)

// TestPionWHIPOpusToWHEP: a WHIP publisher's Opus reaches WHEP viewers as
// it was sent (not re-encoded from the AAC the other protocols get), while
// the stream itself carries the AAC of the bridge (a fake one here).
func TestPionWHIPOpusToWHEP(t *testing.T) {
	skipPionShort(t)
	reg := media.NewRegistry(nil)
	var bridgeUsed sync.Once
	opusCalled := make(chan struct{})
	deps := Deps{Registry: reg,
		// The fake bridge: one AAC frame out per Opus frame in.
		ToAAC: func(key media.Key, out func(*media.Frame)) (func(*media.Frame), func(), error) {
			cfg := media.Frame{Codec: media.CodecAAC, Flags: media.FlagConfig, Payload: []byte{0x11, 0x90}, SampleRate: 48000, Channels: 2}
			cfg.Own()
			out(&cfg)
			return func(f *media.Frame) {
				a := media.Frame{DTS: f.DTS, PTS: f.PTS, Codec: media.CodecAAC, Payload: []byte{0x21, 0x10, 0x04}}
				a.Own()
				out(&a)
			}, func() {}, nil
		},
		Opus: func(media.Key) (*media.Reader, func(), error) {
			bridgeUsed.Do(func() { close(opusCalled) })
			return nil, nil, context.Canceled
		},
	}
	_, hs := pionServer(t, deps)

	// The publisher: H.264 and Opus, each Opus payload numbered.
	api := pionAPI(t, false)
	pub, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	video, _ := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
		SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"}, "video", "pion")
	audio, _ := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "audio", "pion")
	for _, tr := range []webrtc.TrackLocal{video, audio} {
		if _, err := pub.AddTransceiverFromTrack(tr, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
			t.Fatal(err)
		}
	}
	offer, _ := pub.CreateOffer(nil)
	if err := pub.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	code, ans, _ := post(t, hs+WHIPPath+"?app=live&stream=opus", offer.SDP)
	if code != http.StatusCreated {
		t.Fatalf("WHIP POST: %d %s", code, ans)
	}
	if err := pub.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: ans}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	marker := []byte("srs-lite-opus-")
	go func() {
		sps := []byte{0, 0, 0, 1, 0x67, 0x42, 0xe0, 0x1f, 0xda, 0x02, 0x80, 0xbf, 0xe5}
		pps := []byte{0, 0, 0, 1, 0x68, 0xce, 0x3c, 0x80}
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for n := 0; ; n++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			_ = audio.WriteSample(pionmedia.Sample{Data: append(append([]byte{0xfc}, marker...), byte(n)), Duration: 20 * time.Millisecond})
			if n%2 == 0 {
				var data []byte
				if n%60 == 0 {
					data = append(append(append(data, sps...), pps...), 0, 0, 0, 1, 0x65)
				} else {
					data = append(data, 0, 0, 0, 1, 0x41)
				}
				_ = video.WriteSample(pionmedia.Sample{Data: append(data, make([]byte, 500)...), Duration: 40 * time.Millisecond})
			}
		}
	}()
	key := media.Key{Vhost: media.DefaultVhost, App: "live", Stream: "opus"}
	waitFor(t, 10*time.Second, "WHIP video and AAC in the stream", func() bool {
		st := reg.Lookup(key)
		return st != nil && st.Stats().VideoFrames > 10 && st.Stats().AudioFrames > 10
	})
	if a := reg.Lookup(key).Stats(); a.Audio.Codec != media.CodecAAC {
		t.Fatalf("the stream's audio is %v, want the bridge's AAC", a.Audio.Codec)
	}

	// The viewer: its Opus payloads are the publisher's.
	view, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer view.Close()
	for _, k := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio} {
		if _, err := view.AddTransceiverFromKind(k, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			t.Fatal(err)
		}
	}
	got := make(chan []byte, 64)
	view.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		if tr.Kind() != webrtc.RTPCodecTypeAudio {
			for {
				if _, _, err := tr.ReadRTP(); err != nil {
					return
				}
			}
		}
		for {
			p, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			select {
			case got <- append([]byte(nil), p.Payload...):
			default:
			}
		}
	})
	offer, _ = view.CreateOffer(nil)
	if err := view.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	code, ans, _ = post(t, hs+WHEPPath+"?app=live&stream=opus", offer.SDP)
	if code != http.StatusCreated {
		t.Fatalf("WHEP POST: %d %s", code, ans)
	}
	if err := view.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: ans}); err != nil {
		t.Fatal(err)
	}
	n := 0
	for timeout := time.After(10 * time.Second); n < 10; {
		select {
		case p := <-got:
			if !bytes.Contains(p, marker) {
				t.Fatalf("the viewer's Opus is not the publisher's: % x", p)
			}
			n++
		case <-timeout:
			t.Fatalf("%d of 10 Opus packets at the viewer", n)
		}
	}
	select {
	case <-opusCalled:
		t.Fatal("the viewer asked the bridge for Opus made from the AAC")
	default:
	}
}
