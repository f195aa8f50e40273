package test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// hlsjsVersion is the hls.js release the browser HLS test plays with.
const hlsjsVersion = "1.7.4"

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
			s := startServer(t, hlsVhost(`fragment = "1s"
window = "6s"
container = "`+container+`"
`))
			name := streamName()
			livePublish(t, s.rtmpURL(name), 25, false)
			s.waitPublishing(t, name)
			url := "http://" + s.http + "/live/" + name + ".m3u8"

			type report struct {
				Width, Height int
				CurrentTime   float64
				Frames        int
				FirstMs       float64
				Errors        []string
				Supported     bool
			}
			reports := make(chan report, 1)
			mux := http.NewServeMux()
			mux.HandleFunc("/hls.js", func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/javascript")
				_, _ = w.Write(player)
			})
			mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/html")
				fmt.Fprintf(w, hlsPage, url)
			})
			mux.HandleFunc("/report", func(w http.ResponseWriter, r *http.Request) {
				var rep report
				if err := json.NewDecoder(r.Body).Decode(&rep); err == nil {
					select {
					case reports <- rep:
					default:
					}
				}
			})
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			page := &http.Server{Handler: mux}
			go page.Serve(ln)
			defer page.Close()

			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, chrome, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
				"--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
				"--autoplay-policy=no-user-gesture-required", "--mute-audio",
				"--user-data-dir="+t.TempDir(), "http://"+ln.Addr().String()+"/")
			var chromeOut strings.Builder
			cmd.Stdout, cmd.Stderr = &chromeOut, &chromeOut
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()

			select {
			case rep := <-reports:
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
			case <-ctx.Done():
				t.Fatalf("no report from the page within 60 s; chromium said:\n%s", tail(chromeOut.String(), 30))
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
