package test

import (
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestBenchWHEP runs `srs-lite bench play whep://` (the lean WHEP client:
// STUN, DTLS, SRTP without a PeerConnection) with 20 players of an
// RTMP-published stream: all connect, all receive video at the stream's
// bitrate, none stalls, and each session ends with its DELETE.
func TestBenchWHEP(t *testing.T) {
	needTools(t, "ffmpeg")
	t.Parallel()
	s, name := liveServer(t)
	// The fixture's FLV bitrate, as HTTP-FLV players receive it: the
	// reference for the WHEP players' (RTP payload) bitrate.
	ref := runBench(t, 2, 6*time.Second, s.flvURL(name))
	whep := "whep://" + s.api + "/live/" + name
	r := runBench(t, 20, 8*time.Second, whep)
	t.Logf("WHEP bench: %+v (HTTP-FLV reference %.0f kbps/player)", r, ref.BitrateKbps/float64(max(ref.Connected, 1)))
	if r.Connected != 20 || r.Failed != 0 {
		t.Fatalf("%d/20 connected, %d failed: %v", r.Connected, r.Failed, r.Errors)
	}
	per := r.BitrateKbps / 20
	want := ref.BitrateKbps / float64(max(ref.Connected, 1))
	// AAC becomes Opus (or is dropped without an Opus encoder) and the
	// first frames are the GOP cache: allow a wide band around the FLV rate.
	if per < want*0.6 || per > want*1.4 {
		t.Errorf("%.0f kbps per WHEP player, want about %.0f (HTTP-FLV)", per, want)
	}
	if r.Frames < 20*8*20 { // 20 players, 8 s, at least 20 video fps
		t.Errorf("%d frames for 20 players in 8 s, want at least %d", r.Frames, 20*8*20)
	}
	if r.Stalls != 0 {
		t.Errorf("%d stalls", r.Stalls)
	}
	if r.TTFF.P50 <= 0 || r.TTFF.P50 > 2000 {
		t.Errorf("ttff p50 %v ms, want (0, 2000]", r.TTFF.P50)
	}
	s.waitLog(t, "rtc connected", 5*time.Second)
	// Every player DELETEs its session on exit.
	deadline := time.Now().Add(5 * time.Second)
	for {
		n := 0
		for _, c := range s.clients(t) {
			if strings.Contains(strings.ToLower(c.Type), "rtc") || strings.Contains(strings.ToLower(c.Type), "whep") {
				n++
			}
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("%d WebRTC clients left 5 s after the bench ended", n)
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestBenchWHEPBadURL: a whep:// URL without app/stream is a usage error.
func TestBenchWHEPBadURL(t *testing.T) {
	out, err := exec.Command(binPath, "bench", "play", "-n", "1", "-d", "1s", "whep://127.0.0.1:1/onlyapp").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "whep://HOST:PORT/APP/STREAM") {
		t.Errorf("bench with a bad whep URL: %v\n%s", err, out)
	}
}
