//go:build !nortc && !tiny

package rtc

import (
	"bytes"
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	pionmedia "github.com/pion/webrtc/v4/pkg/media"

	"github.com/srs-lite/srs-lite/internal/media"
	"github.com/srs-lite/srs-lite/internal/protocol/rtc/rtctest"
	"github.com/srs-lite/srs-lite/internal/service/audiobridge"
)

// TestPionWHIPOpusToWHEP: a WHIP publisher's Opus reaches WHEP viewers as
// it was sent (the stream's second audio track, not re-encoded from the AAC
// the other protocols get), while the stream's main track carries the audio
// bridge's AAC (real ffmpeg).
func TestPionWHIPOpusToWHEP(t *testing.T) {
	skipPionShort(t)
	reg := media.NewRegistry(nil)
	br := audiobridge.New(reg, audiobridge.Options{})
	if why := br.Unavailable(); why != "" {
		t.Skipf("SKIPPED: the audio bridge is not available here (%s)", why)
	}
	whipOpusToWHEP(t, reg, Deps{Registry: reg, Opus: br.Opus, ToAAC: br.ToAAC, Bridge: br}, br)
}

// TestPionWHIPOpusToWHEPNoBridge: without the audio bridge the stream's main
// track has no audio (video only for RTMP and the like), and WHEP viewers
// still get the publisher's Opus.
func TestPionWHIPOpusToWHEPNoBridge(t *testing.T) {
	skipPionShort(t)
	reg := media.NewRegistry(nil)
	whipOpusToWHEP(t, reg, Deps{Registry: reg}, nil)
}

func whipOpusToWHEP(t *testing.T, reg *media.Registry, deps Deps, br *audiobridge.Bridge) {
	_, hs := pionServer(t, deps)

	// The publisher: H.264 and Opus, each Opus payload numbered.
	api := pionAPI(t, false)
	pub, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	video, audio := rtctest.AddSenders(t, pub, "pion")
	offer, _ := pub.CreateOffer(nil)
	if err := pub.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	// A reader waiting for the publisher gets its session from the start:
	// the Opus track's config first, then the audio from its first packet,
	// not held back until the first video frame (the video's first
	// keyframe comes up to 1.2 s after the audio).
	key := media.Key{Vhost: media.DefaultVhost, App: "live", Stream: "opus"}
	early := reg.SubscribeWith(key, nil, media.SubscribeOptions{Track: media.TrackOpus})
	defer early.Close()
	code, ans, _ := post(t, hs+WHIPPath+"?app=live&stream=opus", offer.SDP)
	if code != http.StatusCreated {
		t.Fatalf("WHIP POST: %d %s", code, ans)
	}
	if err := pub.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: ans}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Opus silence, 20 ms mono fullband CELT (RFC 6716 §3.1, TOC 0xF8): what
	// the bridge would make from the AAC is stereo (-ac 2, TOC 0xFC).
	silence := []byte{0xf8, 0xff, 0xfe}
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
			_ = audio.WriteSample(pionmedia.Sample{Data: silence, Duration: 20 * time.Millisecond})
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
	waitFor(t, 10*time.Second, "WHIP video and audio in the stream", func() bool {
		st := reg.Lookup(key)
		return st != nil && st.Stats().VideoFrames > 10 && st.Stats().AudioFrames > 10 && (br == nil || st.Stats().HasAudio)
	})
	// The offer's tracks are declared, for the HLS segmenter to wait for the video.
	if v, au := reg.Lookup(key).ExpectedTracks(); !v || !au {
		t.Errorf("the stream's declared tracks: video %v, audio %v; want both", v, au)
	}
	a := reg.Lookup(key).Stats()
	if !a.HasOpusAudio || a.OpusAudio.Codec != media.CodecOpus || a.OpusAudio.SampleRate != 48000 {
		t.Errorf("the stream's Opus track: %v %+v", a.HasOpusAudio, a.OpusAudio)
	}
	switch {
	case br != nil && a.Audio.Codec != media.CodecAAC:
		t.Fatalf("the stream's main audio is %v, want the bridge's AAC", a.Audio.Codec)
	case br == nil && a.HasAudio:
		t.Fatalf("without the bridge the main track has audio: %+v", a.Audio)
	}
	{
		ectx, ecancel := context.WithTimeout(ctx, 5*time.Second)
		batch := make([]media.Frame, 64)
		seen, audioFirst, video := 0, 0, false
		for !video {
			n, err := early.Read(ectx, batch)
			if err != nil {
				ecancel()
				t.Fatalf("the waiting reader, after %d frames: %v", seen, err)
			}
			for i := range batch[:n] {
				f := &batch[i]
				if seen == 0 && (f.Codec != media.CodecOpus || !f.IsConfig() || f.Track != media.TrackOpus) {
					t.Errorf("first frame %v config %v track %d, want the Opus track's config", f.Codec, f.IsConfig(), f.Track)
				}
				seen++
				video = video || f.Codec.IsVideo()
				if f.Codec == media.CodecOpus && !f.IsConfig() && !video {
					audioFirst++
				}
				f.Release()
			}
		}
		ecancel()
		if audioFirst == 0 {
			t.Errorf("no Opus before the first video frame: the publisher's first audio was held back")
		}
	}
	// A default reader (RTMP, FLV, TS, SRT players) never sees the Opus.
	rd := reg.Subscribe(key, nil)
	defer rd.Close()
	rctx, rcancel := context.WithTimeout(ctx, time.Second)
	batch := make([]media.Frame, 16)
	for rctx.Err() == nil {
		n, _ := rd.Read(rctx, batch)
		for i := range batch[:n] {
			if batch[i].Codec == media.CodecOpus || batch[i].Track != media.TrackMain {
				t.Errorf("a main track reader got %v of track %d", batch[i].Codec, batch[i].Track)
			}
			batch[i].Release()
		}
	}
	rcancel()

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
			if !bytes.Equal(p, silence) {
				t.Fatalf("the viewer's Opus is not the publisher's: % x", p)
			}
			n++
		case <-timeout:
			t.Fatalf("%d of 10 Opus packets at the viewer", n)
		}
	}
	if br != nil {
		for _, s := range br.Stats() {
			if s.Direction == audiobridge.DirAACToOpus {
				t.Errorf("the WHEP viewer made the bridge re-encode the AAC: %+v", s)
			}
		}
	}
}
