package test

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// mpegtsVersion is the mpegts.js release the browser test plays with.
const mpegtsVersion = "1.8.2"

// TestBrowserHTTPFLV plays HTTP-FLV in headless Chromium with mpegts.js, the
// player web pages use: from a page on another origin (so CORS matters),
// through Media Source Extensions, and checks that video decodes and plays.
func TestBrowserHTTPFLV(t *testing.T) {
	needTools(t, "ffmpeg", "npm")
	chrome := findChromium(t)
	t.Parallel()
	player := fetchMpegts(t)
	s, name := liveServer(t)

	rep := playInChromium(t, chrome, "/mpegts.js", player, fmt.Sprintf(playerPage, s.flvURL(name)))
	t.Logf("mpegts.js in Chromium: %dx%d, played %.1f s, %d frames decoded (%d dropped), first frame after %.0f ms",
		rep.Width, rep.Height, rep.CurrentTime, rep.Frames, rep.Dropped, rep.FirstMs)
	if !rep.Supported {
		t.Fatalf("mpegts.js says this Chromium has no MSE for H.264/AAC")
	}
	if len(rep.Errors) > 0 {
		t.Errorf("player errors: %v", rep.Errors)
	}
	if rep.Width != 640 || rep.Height != 360 {
		t.Errorf("video %dx%d, want 640x360", rep.Width, rep.Height)
	}
	if rep.CurrentTime < 3 || rep.Frames < 60 {
		t.Errorf("played %.1f s and %d frames, want 3 s and 60 frames", rep.CurrentTime, rep.Frames)
	}
}

// pageReport is what a player page posts to /report once it has played.
type pageReport struct {
	Width, Height int
	CurrentTime   float64
	Frames        int
	Dropped       int
	FirstMs       float64
	Errors        []string
	Supported     bool
	// Latency samples, seconds (low-latency HLS): the player's estimate
	// and the wall clock against the frame's PROGRAM-DATE-TIME.
	Latency, WallLatency []float64
}

// playInChromium serves page (and the player script at scriptPath) from
// a loopback origin of its own, opens it in headless Chromium and returns
// what the page reports, failing the test after 60 s without a report.
func playInChromium(t *testing.T, chrome, scriptPath string, script []byte, page string) pageReport {
	t.Helper()
	var rep pageReport
	chromiumReport(t, chrome, page, map[string][]byte{scriptPath: script}, nil, 60*time.Second, &rep)
	return rep
}

// chromiumReport serves page at / and files by path from a loopback origin
// of its own, opens it in headless Chromium (loopback ICE candidates
// allowed; flags added) and decodes the JSON the page POSTs to /report into
// v, failing the test after wait without one.
func chromiumReport(t *testing.T, chrome, page string, files map[string][]byte, flags []string, wait time.Duration, v any) {
	t.Helper()
	reports := make(chan []byte, 1)
	mux := http.NewServeMux()
	for path, body := range files {
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/javascript")
			_, _ = w.Write(body)
		})
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, page)
	})
	mux.HandleFunc("/report", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		select {
		case reports <- b:
		default:
		}
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	args := append([]string{"--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
		"--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--autoplay-policy=no-user-gesture-required", "--mute-audio", "--allow-loopback-in-peer-connection",
		"--user-data-dir=" + t.TempDir()}, flags...)
	cmd := exec.CommandContext(ctx, chrome, append(args, "http://"+ln.Addr().String()+"/")...)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	select {
	case b := <-reports:
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("report %s: %v", b, err)
		}
	case <-ctx.Done():
		t.Fatalf("no report from the page within %s; chromium said:\n%s", wait, tail(out.String(), 30))
	}
}

// playerPage plays the stream (%s) and posts what the video element shows.
const playerPage = `<!doctype html><html><body>
<video id="v" muted autoplay playsinline></video>
<script src="/mpegts.js"></script>
<script>
const errors = [];
const report = (o) => fetch('/report', {method: 'POST', body: JSON.stringify(o)});
const supported = mpegts.getFeatureList().mseLivePlayback;
const v = document.getElementById('v');
const p = mpegts.createPlayer({type: 'flv', isLive: true, url: '%s'}, {enableWorker: false});
p.on(mpegts.Events.ERROR, (type, detail, info) => errors.push(type + ' ' + detail + ' ' + JSON.stringify(info)));
p.attachMediaElement(v);
p.load();
v.play().catch((e) => errors.push('play: ' + e));
const t0 = performance.now();
let first = 0;
const tick = setInterval(() => {
  const now = performance.now() - t0;
  if (!first && v.currentTime > 0) first = now;
  if (v.currentTime > 3.5 || now > 30000 || !supported) {
    clearInterval(tick);
    const q = v.getVideoPlaybackQuality();
    report({Width: v.videoWidth, Height: v.videoHeight, CurrentTime: v.currentTime,
      Frames: q.totalVideoFrames, Dropped: q.droppedVideoFrames, FirstMs: first,
      Errors: errors, Supported: supported});
  }
}, 100);
</script></body></html>`

// findChromium returns Debian's chromium, or skips loudly.
func findChromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("SKIPPED: chromium is not installed (Debian/Ubuntu: apt-get install chromium; `make test` installs it when run as root)")
	return ""
}

// fetchMpegts returns mpegts.js, packed from the npm registry by npm.
func fetchMpegts(t *testing.T) []byte {
	t.Helper()
	return fetchNpmFile(t, "mpegts.js", mpegtsVersion, "package/dist/mpegts.js")
}

// fetchNpmFile returns one file of an npm package, packed from the npm
// registry by npm (once per test run), or skips loudly.
func fetchNpmFile(t *testing.T, pkg, version, file string) []byte {
	t.Helper()
	dir := filepath.Join(workDir, "npm-"+pkg)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	tgz := filepath.Join(dir, pkg+"-"+version+".tgz")
	if _, err := os.Stat(tgz); err != nil {
		cmd := exec.Command("npm", "pack", "--silent", pkg+"@"+version)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Skipf("SKIPPED: npm pack %s failed (no registry?): %v: %s", pkg, err, out)
		}
	}
	f, err := os.Open(tgz)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err != nil {
			t.Fatalf("%s package: %s not found: %v", pkg, file, err)
		}
		if h.Name == file {
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
	}
}
