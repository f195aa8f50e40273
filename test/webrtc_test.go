package test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestWebRTCWHEPChromium plays an RTMP-published H.264+AAC stream over WHEP
// in headless Chromium, from a page of another origin: ICE (loopback
// candidate), DTLS-SRTP, H.264 depacketized and decoded.
func TestWebRTCWHEPChromium(t *testing.T) {
	needTools(t, "ffmpeg")
	chrome := findChromium(t)
	t.Parallel()
	s, name := liveServer(t)
	url := fmt.Sprintf("http://%s/rtc/v1/whep/?app=live&stream=%s", s.api, name)
	rep := webrtcPage(t, chrome, fmt.Sprintf(whepPage, url, "", url), nil)
	t.Logf("WHEP in Chromium: %+v", rep)
	if len(rep.Errors) > 0 {
		t.Errorf("page errors: %v", rep.Errors)
	}
	if rep.FramesDecoded < 30 || rep.Width != 640 || rep.Height != 360 {
		t.Errorf("decoded %d frames of %dx%d, want 30 of 640x360", rep.FramesDecoded, rep.Width, rep.Height)
	}
	if rep.CurrentTime < 1 {
		t.Errorf("video element at %.1f s, want it playing", rep.CurrentTime)
	}
	if hasOpusEncoder() && rep.AudioPackets < 20 {
		t.Errorf("%d audio packets, want the AAC as Opus (the audio bridge)", rep.AudioPackets)
	}
	s.waitLog(t, "rtc connected", 5*time.Second)
	s.waitLog(t, "rtc session end", 10*time.Second) // the page DELETEs its session
}

// TestWebRTCWHEPICETCP plays over ICE-TCP only: the page keeps the
// answer's TCP candidates (RFC 6544 passive) and drops the UDP ones.
func TestWebRTCWHEPICETCP(t *testing.T) {
	needTools(t, "ffmpeg")
	chrome := findChromium(t)
	t.Parallel()
	s, name := liveServer(t)
	url := fmt.Sprintf("http://%s/rtc/v1/whep/?app=live&stream=%s", s.api, name)
	rep := webrtcPage(t, chrome, fmt.Sprintf(whepPage, url, "tcp", url), nil)
	t.Logf("WHEP over ICE-TCP in Chromium: %+v", rep)
	if len(rep.Errors) > 0 {
		t.Errorf("page errors: %v", rep.Errors)
	}
	if rep.FramesDecoded < 30 {
		t.Errorf("decoded %d frames, want 30", rep.FramesDecoded)
	}
	s.waitLog(t, "path=\"tcp ", 5*time.Second)
}

// hasOpusEncoder reports whether ffmpeg can encode Opus (the audio bridge
// needs it).
func hasOpusEncoder() bool {
	out, err := exec.Command("ffmpeg", "-hide_banner", "-encoders").Output()
	return err == nil && strings.Contains(string(out), "opus")
}

// rtcReport is what a WebRTC page posts.
type rtcReport struct {
	FramesDecoded, Width, Height int
	AudioPackets                 int
	CurrentTime, FirstMs         float64
	State                        string
	Errors                       []string
}

// webrtcPage serves page from a loopback origin of its own, opens it in
// headless Chromium allowed to pair loopback candidates, and returns its
// report.
func webrtcPage(t *testing.T, chrome, page string, extraFlags []string) rtcReport {
	t.Helper()
	var rep rtcReport
	chromiumReport(t, chrome, page, nil, extraFlags, 60*time.Second, &rep)
	return rep
}

// whepPage plays a WHEP URL (%s), keeping only the answer's candidates of
// one transport when the second %s names it ("tcp"), and reports decoded frames after 3 s of
// video, then DELETEs its session.
const whepPage = `<!doctype html><html><body>
<video id="v" muted autoplay playsinline></video>
<script>
const errors = [];
const report = (o) => fetch('/report', {method: 'POST', body: JSON.stringify(o)});
const v = document.getElementById('v');
const pc = new RTCPeerConnection();
pc.addTransceiver('video', {direction: 'recvonly'});
pc.addTransceiver('audio', {direction: 'recvonly'});
const ms = new MediaStream();
pc.ontrack = (e) => { ms.addTrack(e.track); v.srcObject = ms; };
const t0 = performance.now();
let first = 0, loc = '';
(async () => {
  try {
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    const res = await fetch('%s', {method: 'POST', headers: {'Content-Type': 'application/sdp'}, body: offer.sdp});
    if (res.status !== 201) throw new Error('POST: ' + res.status + ' ' + await res.text());
    loc = res.headers.get('Location');
    let sdp = await res.text();
    const only = '%s';
    if (only) sdp = sdp.split('\r\n').filter((l) => !l.startsWith('a=candidate:') || l.includes(' ' + only + ' ')).join('\r\n');
    await pc.setRemoteDescription({type: 'answer', sdp: sdp});
  } catch (e) { errors.push(String(e)); }
})();
const tick = setInterval(async () => {
  const now = performance.now() - t0;
  let frames = 0, w = 0, h = 0, audio = 0;
  const stats = await pc.getStats();
  stats.forEach((r) => {
    if (r.type === 'inbound-rtp' && r.kind === 'video') { frames = r.framesDecoded || 0; w = r.frameWidth || 0; h = r.frameHeight || 0; }
    if (r.type === 'inbound-rtp' && r.kind === 'audio') { audio = r.packetsReceived || 0; }
  });
  if (!first && frames > 0) first = now;
  if ((v.currentTime > 3 && frames > 60) || now > 30000 || errors.length) {
    clearInterval(tick);
    if (loc) { try { await fetch(new URL(loc, '%s'), {method: 'DELETE'}); } catch (e) { errors.push('DELETE: ' + e); } }
    report({FramesDecoded: frames, Width: w, Height: h, AudioPackets: audio, CurrentTime: v.currentTime,
      FirstMs: first, State: pc.connectionState, Errors: errors});
  }
}, 100);
</script></body></html>`

// TestWebRTCWHIPChromium publishes Chromium's fake camera and microphone
// over WHIP (H.264 preferred) and reads the stream back with ffprobe over
// HTTP-FLV; the API shows the WHIP client.
func TestWebRTCWHIPChromium(t *testing.T) {
	needTools(t, "ffprobe")
	chrome := findChromium(t)
	t.Parallel()
	s := startServer(t, "")
	name := streamName()
	url := fmt.Sprintf("http://%s/rtc/v1/whip/?app=live&stream=%s", s.api, name)
	type result struct {
		p       probe
		clients []apiClient
		err     string
	}
	done := make(chan result, 1)
	go func() {
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			for _, st := range s.streams(t) {
				if st.Name == name && st.Publish.Active && st.Video != nil {
					clients := s.clients(t)
					ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
					p := ffprobe(t, ctx, s.flvURL(name), "-read_intervals", "%+2")
					cancel()
					done <- result{p: p, clients: clients}
					return
				}
			}
			time.Sleep(100 * time.Millisecond)
		}
		done <- result{err: "stream not published with video within 30 s"}
	}()
	rep := webrtcPage(t, chrome, fmt.Sprintf(whipPage, url, url), []string{"--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"})
	t.Logf("WHIP from Chromium: %+v", rep)
	if len(rep.Errors) > 0 {
		t.Errorf("page errors: %v", rep.Errors)
	}
	r := <-done
	if r.err != "" {
		t.Fatal(r.err)
	}
	t.Logf("ffprobe over HTTP-FLV: %+v", r.p.Streams)
	var video bool
	for _, st := range r.p.Streams {
		if st.CodecType == "video" && st.CodecName == "h264" && st.Width > 0 {
			video = true
		}
	}
	if !video {
		t.Errorf("ffprobe found no H.264 video over HTTP-FLV: %+v", r.p.Streams)
	}
	if hasOpusEncoder() {
		var aac, other bool
		for _, st := range r.p.Streams {
			if st.CodecType == "audio" {
				aac = aac || st.CodecName == "aac"
				other = other || st.CodecName != "aac"
			}
		}
		if !aac || other {
			t.Errorf("want the WHIP Opus as AAC only over HTTP-FLV: %+v", r.p.Streams)
		}
	}
	var whip bool
	for _, c := range r.clients {
		if c.Publish && c.Type == "rtc-publish" {
			whip = true
		}
	}
	if !whip {
		t.Errorf("no rtc publisher in /api/v1/clients: %+v", r.clients)
	}
	s.waitLog(t, "rtc session end", 10*time.Second)
}

// whipPage publishes the fake camera and microphone to a WHIP URL (%s),
// keeps publishing for 12 s, reports and DELETEs its session.
const whipPage = `<!doctype html><html><body>
<script>
const errors = [];
const report = (o) => fetch('/report', {method: 'POST', body: JSON.stringify(o)});
const pc = new RTCPeerConnection();
const t0 = performance.now();
let loc = '';
(async () => {
  try {
    const media = await navigator.mediaDevices.getUserMedia({video: {width: 640, height: 360}, audio: true});
    for (const tr of media.getTracks()) {
      const tc = pc.addTransceiver(tr, {direction: 'sendonly'});
      if (tr.kind === 'video') {
        const h264 = RTCRtpSender.getCapabilities('video').codecs.filter((c) => c.mimeType === 'video/H264');
        tc.setCodecPreferences(h264);
      }
    }
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    const res = await fetch('%s', {method: 'POST', headers: {'Content-Type': 'application/sdp'}, body: offer.sdp});
    if (res.status !== 201) throw new Error('POST: ' + res.status + ' ' + await res.text());
    loc = res.headers.get('Location');
    await pc.setRemoteDescription({type: 'answer', sdp: await res.text()});
  } catch (e) { errors.push(String(e)); }
})();
const tick = setInterval(async () => {
  const now = performance.now() - t0;
  if (now > 12000 || errors.length) {
    clearInterval(tick);
    let sent = 0;
    (await pc.getStats()).forEach((r) => { if (r.type === 'outbound-rtp' && r.kind === 'video') sent = r.framesEncoded || 0; });
    if (loc) { try { await fetch(new URL(loc, '%s'), {method: 'DELETE'}); } catch (e) { errors.push('DELETE: ' + e); } }
    report({FramesDecoded: sent, State: pc.connectionState, Errors: errors});
  }
}, 100);
</script></body></html>`

// TestWebRTCBenchWHEP runs srs-lite's own lean WHEP client (bench play
// whep://) against an RTMP-published stream, and the http:// form of the
// endpoint.
func TestWebRTCBenchWHEP(t *testing.T) {
	needTools(t, "ffmpeg")
	t.Parallel()
	s, name := liveServer(t)
	for _, url := range []string{"whep://" + s.api + "/live/" + name,
		"http://" + s.api + "/rtc/v1/whep/?app=live&stream=" + name} {
		r := runBench(t, 3, 4*time.Second, url)
		t.Logf("%s: %+v", url, r)
		if r.Connected != 3 || r.Failed != 0 || r.Frames < 3*60 || r.BitrateKbps < 3*300 {
			t.Errorf("%s: %+v", url, r)
		}
	}
	if got := s.logs(); strings.Count(got, "rtc session end") < 6 {
		s.waitLog(t, "rtc session end", 5*time.Second)
	}
}

// TestWebRTCBFramesDropped publishes H.264 with B-frames over RTMP: WHEP
// viewers get the stream without them (browsers do not reorder), and the
// log says so once.
func TestWebRTCBFramesDropped(t *testing.T) {
	needTools(t, "ffmpeg")
	t.Parallel()
	s := startServer(t, "[rtc]\nlisten = \"127.0.0.1:0\"\naac_to_opus = \"off\"\n")
	name := streamName()
	cmd := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30",
		"-c:v", "libx264", "-preset", "ultrafast", "-profile:v", "main", "-bf", "2", "-g", "30", "-t", "20", "-f", "flv", s.rtmpURL(name))
	startProcess(t, cmd)
	s.waitPublishing(t, name)
	r := runBench(t, 2, 3*time.Second, "whep://"+s.api+"/live/"+name)
	t.Logf("%+v", r)
	if r.Connected != 2 || r.Frames == 0 {
		t.Errorf("bench: %+v", r)
	}
	s.waitLog(t, "B-frames dropped for WebRTC viewers", 5*time.Second)
	if n := strings.Count(s.logs(), "B-frames dropped"); n != 1 {
		t.Errorf("B-frame drops logged %d times, want once per stream", n)
	}
}

// TestWebRTCBadInputViewerUnaffected throws junk at the media port (STUN,
// DTLS, SRTP, a STUN request with a wrong integrity, ICE-TCP junk) and bad
// offers at the endpoint while a WHEP viewer plays: every offer gets a 400
// and the viewer does not stall.
func TestWebRTCBadInputViewerUnaffected(t *testing.T) {
	needTools(t, "ffmpeg")
	t.Parallel()
	s, name := liveServer(t)
	wait := startBench(t, 1, 6*time.Second, "whep://"+s.api+"/live/"+name)
	time.Sleep(2 * time.Second)
	u, err := net.Dial("udp", s.rtc)
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	stunHdr := []byte{0, 1, 0, 0, 0x21, 0x12, 0xa4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	junk := [][]byte{{0}, stunHdr, append(append([]byte{}, stunHdr[:2]...), 0, 8), {22, 254, 253, 0, 0, 0, 0, 0, 0, 0, 0, 0, 99},
		{128, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 9, 9}, {200, 201, 0, 1}, []byte(strings.Repeat("x", 1400))}
	for i := 0; i < 200; i++ {
		_, _ = u.Write(junk[i%len(junk)])
	}
	if c, err := net.Dial("tcp", s.rtc); err == nil {
		_, _ = c.Write([]byte{0, 5, 1, 2, 3, 4, 5, 0xff, 0xff, 9})
		c.Close()
	}
	for _, body := range []string{"", "v=0\r\n", strings.Repeat("a", 70000), "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 VP8/90000\r\n"} {
		res, err := http.Post("http://"+s.api+"/rtc/v1/whep/?app=live&stream="+name, "application/sdp", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusBadRequest {
			t.Errorf("bad offer of %d bytes: %d, want 400", len(body), res.StatusCode)
		}
	}
	r := wait()
	t.Logf("viewer: %+v", r)
	if r.Connected != 1 || r.Stalls != 0 || r.Failed != 0 {
		t.Errorf("the viewer was hurt: %+v", r)
	}
}

// TestWebRTCSecurityAndKick: the vhost's security rules refuse a WHEP play
// (403) and a WHIP publish; an allowed WHEP viewer is in /api/v1/clients
// as rtc-play and is kicked by DELETE /api/v1/clients/ID.
func TestWebRTCSecurityAndKick(t *testing.T) {
	needTools(t, "ffmpeg")
	t.Parallel()
	s := startServer(t, "[[vhost]]\nname = \"__defaultVhost__\"\n  [vhost.security]\n  enabled = true\n"+
		"  rules = [\"deny publish 127.0.0.1\", \"allow publish all\", \"allow play all\"]\n"+
		"[[vhost]]\nname = \"closed\"\n  [vhost.security]\n  enabled = true\n  rules = [\"deny play all\"]\n")
	whip, err := http.Post("http://"+s.api+"/rtc/v1/whip/?app=live&stream=x", "application/sdp", strings.NewReader(pionlessOffer("sendonly")))
	if err != nil {
		t.Fatal(err)
	}
	whip.Body.Close()
	if whip.StatusCode != http.StatusForbidden {
		t.Errorf("WHIP against a deny rule: %d, want 403", whip.StatusCode)
	}
	play, err := http.Post("http://"+s.api+"/rtc/v1/whep/?app=live&stream=x&vhost=closed", "application/sdp", strings.NewReader(pionlessOffer("recvonly")))
	if err != nil {
		t.Fatal(err)
	}
	play.Body.Close()
	if play.StatusCode != http.StatusForbidden {
		t.Errorf("WHEP against a deny rule: %d, want 403", play.StatusCode)
	}
	// An allowed viewer (of a stream not published yet: it waits), kicked.
	wait := startBench(t, 1, 8*time.Second, "whep://"+s.api+"/live/x")
	var id string
	deadline := time.Now().Add(5 * time.Second)
	for id == "" && time.Now().Before(deadline) {
		for _, c := range s.clients(t) {
			if c.Type == "rtc-play" {
				id = c.ID
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	if id == "" {
		t.Fatalf("no rtc-play client in %+v", s.clients(t))
	}
	req, _ := http.NewRequest(http.MethodDelete, "http://"+s.api+"/api/v1/clients/"+id, nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	s.waitLog(t, "reason=kicked", 5*time.Second)
	_ = wait()
}

// pionlessOffer is a minimal browser-like offer with H.264 and Opus in the
// given direction.
func pionlessOffer(dir string) string {
	return "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n" +
		"m=video 9 UDP/TLS/RTP/SAVPF 102\r\nc=IN IP4 0.0.0.0\r\na=ice-ufrag:abcd\r\na=ice-pwd:0123456789abcdefghijklmn\r\n" +
		"a=fingerprint:sha-256 AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99\r\n" +
		"a=setup:actpass\r\na=mid:0\r\na=" + dir + "\r\na=rtcp-mux\r\na=rtpmap:102 H264/90000\r\n" +
		"a=fmtp:102 packetization-mode=1;profile-level-id=42e01f\r\n"
}

// TestWebRTCWHEPWebrtcbin plays over WHEP with GStreamer's webrtcbin (a
// non-browser peer: its own ICE agent, DTLS and SRTP) and decodes the video
// with libav: H.264 published over RTMP, and H.265 (RFC 7798 packetization)
// published over RTSP, as an H.265 camera's would be.
func TestWebRTCWHEPWebrtcbin(t *testing.T) {
	needTools(t, "ffmpeg")
	const py = "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import gi; gi.require_version('GstWebRTC', '1.0'); gi.require_version('GstSdp', '1.0'); "+
		"from gi.repository import GstWebRTC, GstSdp, Gst; Gst.init(None); assert Gst.ElementFactory.find('webrtcbin') and Gst.ElementFactory.find('nicesrc') and Gst.ElementFactory.find('avdec_h264')").Run(); err != nil {
		t.Skip("SKIPPED: GStreamer webrtcbin with python3-gi is missing (apt-get install python3-gi gir1.2-gst-plugins-bad-1.0 gstreamer1.0-plugins-bad gstreamer1.0-nice gstreamer1.0-libav)")
	}
	t.Parallel()
	play := func(t *testing.T, s *srv, name, codec string) {
		out, err := exec.Command(py, "webrtcbin/whep.py", fmt.Sprintf("http://%s/rtc/v1/whep/?app=live&stream=%s", s.api, name), "6", codec).Output()
		if err != nil {
			t.Fatalf("whep.py: %v: %s", err, out)
		}
		var rep struct {
			Frames, Width, Height int
			Errors                []string
		}
		if err := json.Unmarshal(out, &rep); err != nil {
			t.Fatalf("whep.py output %q: %v", out, err)
		}
		t.Logf("webrtcbin %s: %+v", codec, rep)
		if len(rep.Errors) > 0 || rep.Frames < 50 || rep.Width != 640 {
			t.Errorf("webrtcbin decoded %d %s frames of width %d, errors %v", rep.Frames, codec, rep.Width, rep.Errors)
		}
	}
	t.Run("h264", func(t *testing.T) {
		t.Parallel()
		s, name := liveServer(t)
		play(t, s, name, "H264")
	})
	t.Run("h265", func(t *testing.T) {
		if exec.Command(py, "-c", "from gi.repository import Gst; Gst.init(None); assert Gst.ElementFactory.find('avdec_h265') and Gst.ElementFactory.find('rtph265depay')").Run() != nil {
			t.Skip("SKIPPED: GStreamer has no avdec_h265/rtph265depay (gstreamer1.0-libav, gstreamer1.0-plugins-good)")
		}
		if enc, _ := exec.Command("ffmpeg", "-hide_banner", "-encoders").Output(); !strings.Contains(string(enc), "libx265") {
			t.Skip("SKIPPED: this ffmpeg has no libx265 encoder")
		}
		t.Parallel()
		s := startServer(t, "")
		name := streamName()
		startProcess(t, exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25",
			"-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error:keyint=25:bframes=0", "-f", "rtsp", s.rtspURL(name)))
		s.waitPublishing(t, name)
		play(t, s, name, "H265")
	})
}

// TestWebRTCWHIPWebrtcbin publishes over WHIP with GStreamer's webrtcbin
// (x264enc H.264 and opusenc Opus, its own ICE agent and DTLS): ffprobe
// reads the stream over HTTP-FLV with its video and its audio as AAC (the
// audio bridge), and the session's DELETE ends the publish.
func TestWebRTCWHIPWebrtcbin(t *testing.T) {
	needTools(t, "ffmpeg", "ffprobe")
	const py = "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import gi; gi.require_version('GstWebRTC', '1.0'); gi.require_version('GstSdp', '1.0'); "+
		"from gi.repository import GstWebRTC, GstSdp, Gst; Gst.init(None); assert all(Gst.ElementFactory.find(e) for e in "+
		"('webrtcbin', 'nicesrc', 'x264enc', 'opusenc', 'rtph264pay', 'rtpopuspay'))").Run(); err != nil {
		t.Skip("SKIPPED: GStreamer webrtcbin, x264enc or opusenc with python3-gi is missing (apt-get install python3-gi gir1.2-gst-plugins-bad-1.0 gstreamer1.0-plugins-bad gstreamer1.0-nice gstreamer1.0-plugins-ugly gstreamer1.0-plugins-base)")
	}
	t.Parallel()
	s := startServer(t, "")
	name := streamName()
	var out bytes.Buffer
	pub := exec.Command(py, "webrtcbin/whip.py", fmt.Sprintf("http://%s/rtc/v1/whip/?app=live&stream=%s", s.api, name), "9")
	pub.Stdout = &out
	startProcess(t, pub)
	s.waitPublishing(t, name)
	// The stream is published at the offer; webrtcbin sends once ICE is up
	// (over ICE-TCP, ~2 s later: libnice skips our loopback UDP candidate),
	// then what it queued meanwhile in one burst, audio seconds ahead of a
	// loaded x264enc's video. Play once the video flows, as a viewer does,
	// so that the 3 s read is of the stream, not of that burst.
	s.waitLog(t, "rtc connected", 15*time.Second)
	waitFor(t, 10*time.Second, "the WHIP stream's video", func() bool {
		for _, st := range s.streams(t) {
			if st.Name == name && st.Video != nil && st.Video.Width > 0 {
				return true
			}
		}
		return false
	})
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	p := ffprobe(t, ctx, s.flvURL(name), "-count_packets", "-read_intervals", "%+3")
	var video, audio bool
	for _, st := range p.Streams {
		n, _ := strconv.Atoi(st.NbReadPackets)
		switch st.CodecType {
		case "video":
			video = st.CodecName == "h264" && st.Width == 640 && st.Height == 360 && n >= 40
		case "audio":
			audio = st.CodecName == "aac" && n > 0
		}
	}
	if !video || !audio {
		t.Errorf("the WHIP stream over HTTP-FLV: %+v", p.Streams)
	}
	_ = pub.Wait()
	var rep struct {
		Status   int
		Location string
		Deleted  int
		Errors   []string
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("whip.py output %q: %v", out.String(), err)
	}
	if rep.Status != 201 || rep.Deleted != 200 || len(rep.Errors) > 0 || !strings.HasPrefix(rep.Location, "/rtc/v1/whip/") {
		t.Errorf("whip.py: %+v", rep)
	}
	s.waitLog(t, "reason=DELETE", 5*time.Second)
}

// TestWebRTCAudioStatus: GET /api/v1/rtc says whether AAC streams have
// audio for WebRTC viewers, and why not.
func TestWebRTCAudioStatus(t *testing.T) {
	t.Parallel()
	type status struct {
		Code    int
		Enabled bool
		Audio   struct {
			AACToOpus bool `json:"aac_to_opus"`
			Why       string
		}
	}
	off := startServer(t, "[rtc]\nlisten = \"127.0.0.1:0\"\naac_to_opus = \"off\"\n")
	var st status
	off.getJSON(t, "/api/v1/rtc", &st)
	if st.Code != 0 || !st.Enabled || st.Audio.AACToOpus || st.Audio.Why != "video-only: aac_to_opus off" {
		t.Errorf("aac_to_opus off: %+v", st)
	}
	on := startServer(t, "")
	st = status{}
	on.getJSON(t, "/api/v1/rtc", &st)
	switch {
	case !hasOpusEncoder():
		if st.Audio.AACToOpus || !strings.HasPrefix(st.Audio.Why, "video-only: ") {
			t.Errorf("without an Opus encoder: %+v", st)
		}
	case !st.Audio.AACToOpus || st.Audio.Why != "":
		t.Errorf("auto with ffmpeg and libopus: %+v", st)
	}
}
