package test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	pionmedia "github.com/pion/webrtc/v4/pkg/media"
	"github.com/pion/webrtc/v4/pkg/media/h264reader"
	"github.com/pion/webrtc/v4/pkg/media/oggreader"

	"github.com/srs-lite/srs-lite/internal/protocol/rtc/rtctest"
)

// whipOpusClip makes the publisher's media with ffmpeg: H.264 (baseline, 25
// fps, a keyframe a second) as Annex B, and 20 ms Opus packets (libopus,
// stereo) one per Ogg page, seconds long.
func whipOpusClip(t *testing.T, seconds int) (h264, ogg string) {
	t.Helper()
	dir := t.TempDir()
	h264, ogg = filepath.Join(dir, "v.h264"), filepath.Join(dir, "a.ogg")
	d := strconv.Itoa(seconds)
	for _, args := range [][]string{
		{"-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-t", d, "-c:v", "libx264", "-preset", "ultrafast",
			"-profile:v", "baseline", "-pix_fmt", "yuv420p", "-g", "25", "-keyint_min", "25", "-sc_threshold", "0",
			"-bsf:v", "h264_mp4toannexb", "-f", "h264", h264},
		{"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", d, "-ac", "2", "-c:a", "libopus",
			"-b:a", "48k", "-frame_duration", "20", "-page_duration", "20000", "-f", "ogg", ogg},
	} {
		if out, err := exec.Command("ffmpeg", append([]string{"-hide_banner", "-loglevel", "error", "-y"}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("ffmpeg: %v: %s", err, out)
		}
	}
	return h264, ogg
}

// whipPublish publishes the clip to a WHIP URL with pion/webrtc (a
// test-only client) at its pace, until ctx ends or the clip does.
func whipPublish(t *testing.T, ctx context.Context, url, h264, ogg string) {
	t.Helper()
	pc, err := rtctest.API(t, false).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	video, audio := rtctest.AddSenders(t, pc, "whip")
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(url, "application/sdp", strings.NewReader(offer.SDP))
	if err != nil {
		t.Fatal(err)
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("WHIP POST: %d %s", resp.StatusCode, answer)
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: string(answer)}); err != nil {
		t.Fatal(err)
	}
	vf, err := os.Open(h264)
	if err != nil {
		t.Fatal(err)
	}
	af, err := os.Open(ogg)
	if err != nil {
		t.Fatal(err)
	}
	vr, err := h264reader.NewReader(vf)
	if err != nil {
		t.Fatal(err)
	}
	ar, _, err := oggreader.NewWith(af)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		defer vf.Close()
		defer af.Close()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		var au []byte
		for n := 0; ; n++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			if page, _, err := ar.ParseNextPage(); err == nil {
				_ = audio.WriteSample(pionmedia.Sample{Data: page, Duration: 20 * time.Millisecond})
			}
			if n%2 != 0 {
				continue
			}
			for { // one access unit: parameter sets and the picture
				nal, err := vr.NextNAL()
				if err != nil {
					return
				}
				au = append(append(au, 0, 0, 0, 1), nal.Data...)
				if nal.UnitType == h264reader.NalUnitTypeCodedSliceNonIdr || nal.UnitType == h264reader.NalUnitTypeCodedSliceIdr {
					break
				}
			}
			_ = video.WriteSample(pionmedia.Sample{Data: au, Duration: 40 * time.Millisecond})
			au = au[:0]
		}
	}()
}

// TestWebRTCWHIPOpusTracks: a WHIP publisher's H.264+Opus (pion/webrtc).
// fMP4 HLS carries the Opus as it came (ffprobe: opus, 48 kHz, frames
// decoded) with the audio bridge (ffmpeg) and without it; HTTP-FLV gets the
// bridge's AAC, or video only without ffmpeg (said in the log and the
// API); the API lists both audio tracks.
func TestWebRTCWHIPOpusTracks(t *testing.T) {
	needTools(t, "ffmpeg", "ffprobe")
	if !hasOpusEncoder() {
		t.Skip("SKIPPED: ffmpeg has no libopus encoder (Debian's ffmpeg has it)")
	}
	h264, ogg := whipOpusClip(t, 8)
	for _, bridge := range []bool{true, false} {
		t.Run(map[bool]string{true: "bridge", false: "no-ffmpeg"}[bridge], func(t *testing.T) {
			t.Parallel()
			hls := hlsVhost("fragment = \"1s\"\nwindow = \"10s\"\ncontainer = \"fmp4\"\n")
			var s *srv
			if bridge {
				s = startServer(t, hls)
			} else {
				s = startServerEnv(t, hls, []string{"PATH=/nonexistent"}) // the server finds no ffmpeg
			}
			name := streamName()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			whipPublish(t, ctx, fmt.Sprintf("http://%s/rtc/v1/whip/?app=live&stream=%s", s.api, name), h264, ogg)
			s.waitPublishing(t, name)

			// The publisher's audio comes before its first keyframe and goes
			// to the stream at once: the segmenter waits for the video, so
			// the session's one init segment has both tracks.
			pl := waitPlaylist(t, "http://"+s.http+"/live/"+name+".m3u8", 15*time.Second, "2 segments", func(p playlist) bool { return len(p.segments) >= 2 })
			if len(pl.maps) != 1 {
				t.Errorf("fMP4 HLS: %d init segments, want 1:\n%s", len(pl.maps), pl.raw)
			} else {
				uri := strings.TrimSuffix(strings.TrimPrefix(pl.maps[0], `#EXT-X-MAP:URI="`), `"`)
				_, init, _ := httpGet(t, "http://"+s.http+"/live/"+uri)
				if !bytes.Contains(init, []byte("avc1")) || !bytes.Contains(init, []byte("Opus")) {
					t.Errorf("fMP4 HLS init segment %s without both tracks (avc1 %v, Opus %v)", uri,
						bytes.Contains(init, []byte("avc1")), bytes.Contains(init, []byte("Opus")))
				}
			}

			pctx, pcancel := context.WithTimeout(ctx, 20*time.Second)
			defer pcancel()
			hp := ffprobe(t, pctx, "http://"+s.http+"/live/"+name+".m3u8", "-count_frames", "-read_intervals", "%+2")
			t.Logf("ffprobe over fMP4 HLS: %+v", hp.Streams)
			var video, opus bool
			for _, st := range hp.Streams {
				switch {
				case st.CodecType == "video" && st.CodecName == "h264":
					video = true
				case st.CodecType == "audio":
					if n, _ := strconv.Atoi(st.NbReadFrames); st.CodecName != "opus" || st.SampleRate != "48000" || n < 10 {
						t.Errorf("fMP4 HLS audio: %s at %s Hz, %s frames decoded; want Opus at 48000 Hz", st.CodecName, st.SampleRate, st.NbReadFrames)
					}
					opus = true
				}
			}
			if !video || !opus {
				t.Errorf("fMP4 HLS: video %v, Opus %v: %+v", video, opus, hp.Streams)
			}

			// FLV says audio and video in its header (as SRS does): a video-only
			// stream needs a short analysis to answer.
			fp := ffprobe(t, pctx, s.flvURL(name), "-analyzeduration", "1000000", "-read_intervals", "%+1")
			t.Logf("ffprobe over HTTP-FLV: %+v", fp.Streams)
			var flvAudio []string
			for _, st := range fp.Streams {
				if st.CodecType == "audio" {
					flvAudio = append(flvAudio, st.CodecName)
				}
			}
			if want := map[bool]string{true: "[aac]", false: "[]"}[bridge]; fmt.Sprint(flvAudio) != want {
				t.Errorf("HTTP-FLV audio %v, want %s", flvAudio, want)
			}

			var api struct {
				Streams []struct {
					Name  string
					Audio *struct {
						Codec      string
						SampleRate int `json:"sample_rate"`
					}
					AudioTracks []struct {
						Track      string
						Codec      string
						SampleRate int `json:"sample_rate"`
						Players    []string
					} `json:"audio_tracks"`
				}
			}
			s.getJSON(t, "/api/v1/streams", &api)
			for _, st := range api.Streams {
				if st.Name != name {
					continue
				}
				var tracks []string
				for _, a := range st.AudioTracks {
					tracks = append(tracks, a.Track+":"+a.Codec+"/"+strconv.Itoa(a.SampleRate))
				}
				want := map[bool]string{true: "[main:AAC/48000 opus:Opus/48000]", false: "[opus:Opus/48000]"}[bridge]
				if fmt.Sprint(tracks) != want || (st.Audio != nil) != bridge {
					t.Errorf("API audio %+v, audio_tracks %v; want %s", st.Audio, tracks, want)
				}
			}
			if !bridge {
				s.waitLog(t, "RTMP, HTTP-FLV, TS-HLS and SRT players get video only", 5*time.Second)
				if n := strings.Count(s.logs(), "WHIP streams play without audio over RTMP"); n != 1 {
					t.Errorf("the bridge's warning logged %d times, want once", n)
				}
			}
			cancel()
		})
	}
}

// TestBrowserHLSOpus plays the fMP4 HLS of a WHIP publisher (pion, H.264 +
// Opus) with hls.js in headless Chromium: the audio track hls.js sets up is
// Opus and Chromium decodes it (webkitAudioDecodedByteCount), and the video
// plays.
func TestBrowserHLSOpus(t *testing.T) {
	needTools(t, "ffmpeg", "npm")
	if !hasOpusEncoder() {
		t.Skip("SKIPPED: ffmpeg has no libopus encoder (Debian's ffmpeg has it)")
	}
	chrome := findChromium(t)
	player := fetchNpmFile(t, "hls.js", hlsjsVersion, "package/dist/hls.min.js")
	t.Parallel()
	h264, ogg := whipOpusClip(t, 15)
	s := startServer(t, hlsVhost("fragment = \"1s\"\nwindow = \"10s\"\ncontainer = \"fmp4\"\n"))
	name := streamName()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	whipPublish(t, ctx, fmt.Sprintf("http://%s/rtc/v1/whip/?app=live&stream=%s", s.api, name), h264, ogg)
	s.waitPublishing(t, name)
	var rep struct {
		Width, Height int
		CurrentTime   float64
		Frames        int
		AudioCodec    string
		AudioBytes    int
		Errors        []string
	}
	chromiumReport(t, chrome, fmt.Sprintf(hlsOpusPage, "http://"+s.http+"/live/"+name+".m3u8"),
		map[string][]byte{"/hls.js": player}, nil, 60*time.Second, &rep)
	t.Logf("hls.js in Chromium: %+v", rep)
	if len(rep.Errors) > 0 {
		t.Errorf("player errors: %v", rep.Errors)
	}
	if !strings.Contains(rep.AudioCodec, "opus") || rep.AudioBytes == 0 {
		t.Errorf("audio codec %q, %d bytes decoded; want Opus decoded", rep.AudioCodec, rep.AudioBytes)
	}
	if rep.Width != 320 || rep.CurrentTime < 3 || rep.Frames < 50 {
		t.Errorf("video %dx%d, played %.1f s, %d frames", rep.Width, rep.Height, rep.CurrentTime, rep.Frames)
	}
}

// hlsOpusPage plays the playlist (%s) with hls.js and reports the audio
// codecs hls.js buffers (other than the video's) and the audio bytes Chromium
// decoded.
const hlsOpusPage = `<!doctype html><html><body>
<video id="v" muted autoplay playsinline></video>
<script src="/hls.js"></script>
<script>
const errors = [];
const report = (o) => fetch('/report', {method: 'POST', body: JSON.stringify(o)});
const v = document.getElementById('v');
const hls = new Hls({enableWorker: false});
let audioCodec = '';
// One SourceBuffer per track, or one "audiovideo" for a muxed fMP4 ("opus,avc1...").
hls.on(Hls.Events.BUFFER_CODECS, (e, d) => { for (const k in d) if (k !== 'video') audioCodec += (d[k].codec || '') + ' '; });
hls.on(Hls.Events.ERROR, (e, d) => { if (d.fatal) errors.push(d.type + ' ' + d.details); });
hls.loadSource('%s');
hls.attachMedia(v);
v.play().catch((e) => errors.push('play: ' + e));
const t0 = performance.now();
const tick = setInterval(() => {
  const now = performance.now() - t0;
  if (v.currentTime > 3.5 || now > 40000 || errors.length) {
    clearInterval(tick);
    const q = v.getVideoPlaybackQuality();
    report({Width: v.videoWidth, Height: v.videoHeight, CurrentTime: v.currentTime, Frames: q.totalVideoFrames,
      AudioCodec: audioCodec, AudioBytes: v.webkitAudioDecodedByteCount || 0, Errors: errors});
  }
}, 100);
</script></body></html>`
