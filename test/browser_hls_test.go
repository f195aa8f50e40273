package test

import (
	"fmt"
	"testing"
	"time"
)

// hlsjsVersion is the hls.js release the browser HLS test plays with.
const hlsjsVersion = "1.7.4"

// liveHLS starts a server with 1 s HLS fragments in container and a live
// 320x240 25 fps H.264+AAC publisher with a 1 s GOP, and returns the
// stream's playlist URL.
func liveHLS(t *testing.T, container string) string {
	t.Helper()
	s := startServer(t, hlsVhost(`fragment = "1s"
window = "6s"
container = "`+container+`"
`))
	name := streamName()
	livePublish(t, s.rtmpURL(name), 25, false)
	s.waitPublishing(t, name)
	return "http://" + s.http + "/live/" + name + ".m3u8"
}

// TestBrowserHLS plays the HLS of a live stream in headless Chromium with
// hls.js, the HLS player of web pages, from a page on another origin (CORS),
// in both containers (MPEG-TS and fMP4), and checks that video decodes and
// plays.
func TestBrowserHLS(t *testing.T) {
	needTools(t, "ffmpeg", "npm")
	chrome := findChromium(t)
	player := fetchNpmFile(t, "hls.js", hlsjsVersion, "package/dist/hls.min.js")
	for _, container := range []string{"ts", "fmp4"} {
		t.Run(container, func(t *testing.T) {
			t.Parallel()
			url := liveHLS(t, container)
			rep := playInChromium(t, chrome, "/hls.js", player, fmt.Sprintf(hlsPage, url))
			t.Logf("hls.js (%s) in Chromium: %dx%d, played %.1f s, %d frames decoded, first frame after %.0f ms",
				container, rep.Width, rep.Height, rep.CurrentTime, rep.Frames, rep.FirstMs)
			if !rep.Supported {
				t.Fatalf("hls.js says this Chromium has no MSE")
			}
			if len(rep.Errors) > 0 {
				t.Errorf("player errors: %v", rep.Errors)
			}
			if rep.Width != 320 || rep.Height != 240 {
				t.Errorf("video %dx%d, want 320x240", rep.Width, rep.Height)
			}
			if rep.CurrentTime < 3 || rep.Frames < 50 {
				t.Errorf("played %.1f s and %d frames, want 3 s and 50 frames", rep.CurrentTime, rep.Frames)
			}
		})
	}
}

// hlsPage plays the playlist (%s) with hls.js and posts what the video
// element shows. Fatal hls.js errors are reported; others it recovers from.
const hlsPage = `<!doctype html><html><body>
<video id="v" muted autoplay playsinline></video>
<script src="/hls.js"></script>
<script>
const errors = [];
const report = (o) => fetch('/report', {method: 'POST', body: JSON.stringify(o)});
const supported = Hls.isSupported();
const v = document.getElementById('v');
const hls = new Hls({enableWorker: false});
hls.on(Hls.Events.ERROR, (e, d) => { if (d.fatal) errors.push(d.type + ' ' + d.details); });
hls.loadSource('%s');
hls.attachMedia(v);
v.play().catch((e) => errors.push('play: ' + e));
const t0 = performance.now();
let first = 0;
const tick = setInterval(() => {
  const now = performance.now() - t0;
  if (!first && v.currentTime > 0) first = now;
  if (v.currentTime > 3.5 || now > 40000 || !supported || errors.length) {
    clearInterval(tick);
    const q = v.getVideoPlaybackQuality();
    report({Width: v.videoWidth, Height: v.videoHeight, CurrentTime: v.currentTime,
      Frames: q.totalVideoFrames, FirstMs: first, Errors: errors, Supported: supported});
  }
}, 100);
</script></body></html>`

// TestGStreamerHLS plays the live HLS of an RTMP publisher with GStreamer
// (hlsdemux, sync=true: frames reach the sink at their presentation time),
// in both containers, and counts the video frames it renders.
func TestGStreamerHLS(t *testing.T) {
	needTools(t, "ffmpeg")
	needGStreamer(t)
	for _, container := range []string{"ts", "fmp4"} {
		t.Run(container, func(t *testing.T) {
			t.Parallel()
			url := liveHLS(t, container)
			// A viewer of a live stream: the playlist has a few segments.
			// Joined at the first segment of a new stream, GStreamer's
			// uridecodebin pauses to buffer at each segment: ffmpeg's own
			// HLS muxer gets ~80 frames in 10 s that way, srs-lite ~45.
			waitPlaylist(t, url, 20*time.Second, "3 segments", func(p playlist) bool { return len(p.segments) >= 3 })
			const play = 10 * time.Second
			n := gstFrames(t, url, play)
			t.Logf("GStreamer live HLS (%s, sync=true): %d video frames rendered in %s", container, n, play)
			if n < 25*4 { // 25 fps, less the start (playlist, first segment, preroll)
				t.Errorf("GStreamer rendered %d frames in %s, want at least 100", n, play)
			}
		})
	}
}
