package test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// liveLLHLS starts a server with low-latency HLS (fMP4, 1 s fragments,
// 200 ms parts) and a live 25 fps H.264+AAC publisher with a 1 s GOP, and
// returns the playlist URL.
func liveLLHLS(t *testing.T) string {
	t.Helper()
	s := startServer(t, hlsVhost(`fragment = "1s"
window = "6s"
container = "fmp4"
low_latency = true
part = "200ms"
`))
	name := streamName()
	livePublish(t, s.rtmpURL(name), 25, false)
	s.waitPublishing(t, name)
	return "http://" + s.http + "/live/" + name + ".m3u8"
}

// llPlaylist is a low-latency media playlist as a validator reads it.
type llPlaylist struct {
	raw          string
	base         *url.URL // what URIs are relative to (after the hls_ctx redirect)
	target       float64
	partTarget   float64
	partHoldBack float64
	canBlock     bool
	mediaSeq     uint64
	pdt          int
	maps         []string
	segs         []llSeg
	parts        []llPart // every part listed, in order
	hint         string
}

type llSeg struct {
	uri   string
	dur   float64
	parts int
}

type llPart struct {
	uri   string
	dur   float64
	indep bool
}

// attrs parses an attribute list: KEY=VALUE,KEY="VALUE".
func attrs(s string) map[string]string {
	m := map[string]string{}
	for s != "" {
		k, rest, _ := strings.Cut(s, "=")
		var v string
		if strings.HasPrefix(rest, `"`) {
			end := strings.IndexByte(rest[1:], '"')
			if end < 0 {
				return m
			}
			v, rest = rest[1:1+end], rest[2+end:]
			rest = strings.TrimPrefix(rest, ",")
		} else {
			v, rest, _ = strings.Cut(rest, ",")
		}
		m[k] = v
		s = rest
	}
	return m
}

// getLL fetches and parses the playlist at u, failing the test on any
// violation of the RFC 8216bis rules it checks (as Apple's
// mediastreamvalidator would): the order of the tags, EXTINF at most the
// target duration once rounded, parts at most PART-TARGET, PART-HOLD-BACK
// at least twice PART-TARGET, parts listed before their segment.
func getLL(t *testing.T, u string) (llPlaylist, time.Duration) {
	t.Helper()
	start := time.Now()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	took := time.Since(start)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", u, resp.StatusCode, body)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-cache" {
		t.Errorf("low-latency playlist Cache-Control %q, want no-cache", cc)
	}
	p := llPlaylist{raw: string(body), base: resp.Request.URL}
	sc := bufio.NewScanner(strings.NewReader(p.raw))
	var dur float64
	var segParts int
	n := 0
	seenSeg := false
	for sc.Scan() {
		l := sc.Text()
		n++
		if n == 1 && l != "#EXTM3U" {
			t.Fatalf("no #EXTM3U first:\n%s", p.raw)
		}
		tag, val, _ := strings.Cut(l, ":")
		if p.hint != "" {
			t.Errorf("%q after the preload hint:\n%s", l, p.raw)
		}
		switch tag {
		case "#EXT-X-TARGETDURATION":
			p.target, _ = strconv.ParseFloat(val, 64)
		case "#EXT-X-PART-INF":
			p.partTarget, _ = strconv.ParseFloat(attrs(val)["PART-TARGET"], 64)
		case "#EXT-X-SERVER-CONTROL":
			a := attrs(val)
			p.canBlock = a["CAN-BLOCK-RELOAD"] == "YES"
			p.partHoldBack, _ = strconv.ParseFloat(a["PART-HOLD-BACK"], 64)
		case "#EXT-X-MEDIA-SEQUENCE":
			p.mediaSeq, _ = strconv.ParseUint(val, 10, 64)
		case "#EXT-X-MAP":
			p.maps = append(p.maps, attrs(val)["URI"])
		case "#EXT-X-PROGRAM-DATE-TIME":
			if _, err := time.Parse(time.RFC3339Nano, val); err != nil {
				t.Errorf("bad PROGRAM-DATE-TIME %q", val)
			}
			p.pdt++
		case "#EXT-X-PART":
			a := attrs(val)
			d, err := strconv.ParseFloat(a["DURATION"], 64)
			if err != nil || a["URI"] == "" {
				t.Fatalf("bad part %q", l)
			}
			p.parts = append(p.parts, llPart{uri: a["URI"], dur: d, indep: a["INDEPENDENT"] == "YES"})
			segParts++
		case "#EXTINF":
			dur, _ = strconv.ParseFloat(strings.TrimSuffix(val, ","), 64)
		case "#EXT-X-PRELOAD-HINT":
			a := attrs(val)
			if a["TYPE"] != "PART" || a["URI"] == "" {
				t.Errorf("bad preload hint %q", l)
			}
			p.hint = a["URI"]
		default:
			if strings.HasPrefix(l, "#") {
				if seenSeg && (tag == "#EXT-X-SERVER-CONTROL" || tag == "#EXT-X-PART-INF" || tag == "#EXT-X-MEDIA-SEQUENCE") {
					t.Errorf("playlist tag %q after a segment", l)
				}
				continue
			}
			if l == "" {
				continue
			}
			seenSeg = true
			p.segs = append(p.segs, llSeg{uri: l, dur: dur, parts: segParts})
			segParts = 0
		}
	}
	// The checks of the numbers.
	if p.target < 1 || p.partTarget <= 0 || !p.canBlock {
		t.Fatalf("TARGETDURATION %v, PART-TARGET %v, CAN-BLOCK-RELOAD %v:\n%s", p.target, p.partTarget, p.canBlock, p.raw)
	}
	if p.partHoldBack < 2*p.partTarget {
		t.Errorf("PART-HOLD-BACK %.3f is less than 2 × PART-TARGET %.3f", p.partHoldBack, p.partTarget)
	}
	for _, s := range p.segs {
		if math.Round(s.dur) > p.target {
			t.Errorf("%s: EXTINF %.3f rounds above TARGETDURATION %v", s.uri, s.dur, p.target)
		}
	}
	for _, pt := range p.parts {
		if pt.dur > p.partTarget {
			t.Errorf("%s: part of %.3f s, PART-TARGET %.3f", pt.uri, pt.dur, p.partTarget)
		}
	}
	if len(p.maps) == 0 || p.pdt == 0 {
		t.Errorf("no EXT-X-MAP or no PROGRAM-DATE-TIME:\n%s", p.raw)
	}
	return p, took
}

func (p llPlaylist) resolve(uri string) string {
	r, err := p.base.Parse(uri)
	if err != nil {
		return uri
	}
	return r.String()
}

func fetchOK(t *testing.T, u string) int {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || len(b) == 0 {
		t.Errorf("GET %s: %d, %d bytes", u, resp.StatusCode, len(b))
	}
	return len(b)
}

// TestLLHLS: low-latency HLS of a live RTMP publisher (1 s GOP): the
// playlist passes the validator checks over reloads (media sequence never
// goes back, every part, segment and init URI is fetchable), a blocking
// reload for the next part returns when that part is made, one too far
// ahead gets 400, and ffprobe (which knows nothing of parts) still plays
// the segments.
func TestLLHLS(t *testing.T) {
	needTools(t, "ffmpeg", "ffprobe")
	u := liveLLHLS(t)
	// Wait for two complete segments.
	var p llPlaylist
	deadline := time.Now().Add(20 * time.Second)
	for {
		p, _ = getLL(t, u)
		if len(p.segs) >= 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if len(p.segs) < 2 || len(p.parts) == 0 || p.hint == "" {
		t.Fatalf("no segments, parts or hint:\n%s", p.raw)
	}
	t.Logf("low-latency playlist:\n%s", p.raw)
	if p.partTarget != 0.2 || p.partHoldBack != 0.6 {
		t.Errorf("PART-TARGET %v PART-HOLD-BACK %v, want 0.2 and 0.6", p.partTarget, p.partHoldBack)
	}
	ctxURL := p.base // the playlist with its hls_ctx
	// Blocking reloads: ask for the part after the last one, 12 times in a
	// row; each returns once that part is listed, about one part later.
	var waits []time.Duration
	seq := p.mediaSeq
	for range 12 {
		last := p.parts[len(p.parts)-1].uri
		msn, part := partIndex(t, last)
		q := ctxURL.Query()
		q.Set("_HLS_msn", strconv.FormatUint(msn, 10))
		q.Set("_HLS_part", strconv.Itoa(part+1))
		bu := *ctxURL
		bu.RawQuery = q.Encode()
		var took time.Duration
		p, took = getLL(t, bu.String())
		waits = append(waits, took)
		if p.mediaSeq < seq {
			t.Errorf("EXT-X-MEDIA-SEQUENCE went back from %d to %d", seq, p.mediaSeq)
		}
		seq = p.mediaSeq
		have := false
		for _, pt := range p.parts {
			if m, k := partIndex(t, pt.uri); m == msn && k == part+1 || m == msn+1 && k == 0 {
				have = true
			}
		}
		if !have {
			t.Fatalf("blocking reload for %d.%d answered without it:\n%s", msn, part+1, p.raw)
		}
	}
	slices.Sort(waits)
	t.Logf("blocking reloads for the next part: answered after %v (median), %v (max)", waits[len(waits)/2], waits[len(waits)-1])
	if waits[len(waits)/2] > 600*time.Millisecond {
		t.Errorf("a blocking reload waits %v (median) for a 200 ms part", waits[len(waits)/2])
	}
	// Every URI of the last playlist is fetchable, the parts of a complete
	// segment add up to it, and the first part of a segment is independent.
	for _, m := range p.maps {
		fetchOK(t, p.resolve(m))
	}
	pi := 0
	for _, s := range p.segs {
		size := fetchOK(t, p.resolve(s.uri))
		sum := 0
		if s.parts > 0 && pi < len(p.parts) && !p.parts[pi].indep {
			t.Errorf("the first part of %s is not INDEPENDENT", s.uri)
		}
		for k := 0; k < s.parts && pi < len(p.parts); k++ {
			sum += fetchOK(t, p.resolve(p.parts[pi].uri))
			pi++
		}
		if s.parts > 0 && sum != size {
			t.Errorf("%s: %d bytes, its %d parts %d", s.uri, size, s.parts, sum)
		}
	}
	for ; pi < len(p.parts); pi++ {
		fetchOK(t, p.resolve(p.parts[pi].uri))
	}
	// The preload hint: its request returns once the part is made.
	start := time.Now()
	fetchOK(t, p.resolve(p.hint))
	t.Logf("preload-hinted part %s served after %v", p.hint, time.Since(start))
	// Too far ahead: 400 at once.
	q := ctxURL.Query()
	q.Set("_HLS_msn", strconv.FormatUint(seq+uint64(len(p.segs))+5, 10))
	bu := *ctxURL
	bu.RawQuery = q.Encode()
	if resp, err := http.Get(bu.String()); err != nil || resp.StatusCode != 400 {
		t.Errorf("a request far ahead: %v %v, want 400", resp.StatusCode, err)
	} else {
		resp.Body.Close()
	}

	// ffprobe and ffmpeg ignore the low-latency tags and play the segments.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pr := ffprobe(t, ctx, u)
	var codecs []string
	for _, s := range pr.Streams {
		codecs = append(codecs, s.CodecName)
	}
	slices.Sort(codecs)
	if !slices.Equal(codecs, []string{"aac", "h264"}) {
		t.Errorf("ffprobe sees %v", codecs)
	}
	out, err := exec.CommandContext(ctx, "ffmpeg", "-hide_banner", "-v", "error", "-i", u, "-t", "3",
		"-f", "null", "-").CombinedOutput()
	if err != nil {
		t.Errorf("ffmpeg playing the low-latency playlist: %v %s", err, out)
	}
}

// partIndex reads SEQ and PART of a part URI ".../NAME-SEQ.PART.m4s?...".
func partIndex(t *testing.T, uri string) (uint64, int) {
	t.Helper()
	uri, _, _ = strings.Cut(uri, "?")
	base := strings.TrimSuffix(uri[strings.LastIndexByte(uri, '-')+1:], ".m4s")
	s, k, _ := strings.Cut(base, ".")
	msn, err1 := strconv.ParseUint(s, 10, 64)
	part, err2 := strconv.Atoi(k)
	if err1 != nil || err2 != nil {
		t.Fatalf("not a part URI: %q", uri)
	}
	return msn, part
}

// TestLLHLSBrowserLatency plays the low-latency HLS in headless Chromium
// with hls.js (lowLatencyMode) for about 15 s and reports the latency it
// plays at: hls.js's own estimate (hls.latency: from the live edge of the
// playlist) and the wall-clock age of the frame on screen, from
// EXT-X-PROGRAM-DATE-TIME (the server stamps each segment with the time
// its first frame arrived; browser and server share a clock), p50 and p95.
// Target: below 2 s at a 1 s GOP.
func TestLLHLSBrowserLatency(t *testing.T) {
	needTools(t, "ffmpeg", "npm")
	chrome := findChromium(t)
	player := fetchNpmFile(t, "hls.js", hlsjsVersion, "package/dist/hls.min.js")
	u := liveLLHLS(t)
	rep := playInChromium(t, chrome, "/hls.js", player, fmt.Sprintf(llhlsPage, u))
	if !rep.Supported {
		t.Fatalf("hls.js says this Chromium has no MSE")
	}
	if len(rep.Errors) > 0 {
		t.Errorf("player errors: %v", rep.Errors)
	}
	if rep.CurrentTime < 5 || rep.Frames < 100 {
		t.Fatalf("played %.1f s and %d frames, want 5 s and 100 frames", rep.CurrentTime, rep.Frames)
	}
	pct := func(xs []float64, q float64) float64 {
		if len(xs) == 0 {
			return math.NaN()
		}
		s := slices.Clone(xs)
		slices.Sort(s)
		return s[min(len(s)-1, int(q*float64(len(s))))]
	}
	est, wall := rep.Latency, rep.WallLatency
	t.Logf("hls.js %s LL-HLS in Chromium: played %.1f s, %d frames (%d dropped), first frame after %.0f ms",
		hlsjsVersion, rep.CurrentTime, rep.Frames, rep.Dropped, rep.FirstMs)
	t.Logf("latency, hls.js estimate (hls.latency): p50 %.2f s, p95 %.2f s over %d samples", pct(est, 0.5), pct(est, 0.95), len(est))
	t.Logf("latency, wall clock - PROGRAM-DATE-TIME of the frame shown: p50 %.2f s, p95 %.2f s over %d samples",
		pct(wall, 0.5), pct(wall, 0.95), len(wall))
	if len(est) < 10 {
		t.Fatalf("only %d latency samples", len(est))
	}
	if p := pct(est, 0.5); p >= 2 {
		t.Errorf("hls.js latency p50 %.2f s, want below 2 s", p)
	}
	if p := pct(wall, 0.5); len(wall) > 0 && p >= 2.5 {
		t.Errorf("wall-clock latency p50 %.2f s, want below 2.5 s", p)
	}
}

// llhlsPage plays the playlist (%s) with hls.js in low-latency mode and,
// once playing, samples its latency every 250 ms for 15 s.
const llhlsPage = `<!doctype html><html><body>
<video id="v" muted autoplay playsinline></video>
<script src="/hls.js"></script>
<script>
const errors = [];
const report = (o) => fetch('/report', {method: 'POST', body: JSON.stringify(o)});
const supported = Hls.isSupported();
const v = document.getElementById('v');
const hls = new Hls({enableWorker: false, lowLatencyMode: true});
hls.on(Hls.Events.ERROR, (e, d) => { if (d.fatal) errors.push(d.type + ' ' + d.details); });
hls.loadSource('%s');
hls.attachMedia(v);
v.play().catch((e) => errors.push('play: ' + e));
const t0 = performance.now();
let first = 0;
const lat = [], wall = [];
const tick = setInterval(() => {
  const now = performance.now() - t0;
  if (!first && v.currentTime > 0) first = now;
  if (first && now - first > 3000 && !v.paused) {
    if (isFinite(hls.latency) && hls.latency > 0) lat.push(hls.latency);
    const d = hls.playingDate;
    if (d) wall.push((Date.now() - d.getTime()) / 1000);
  }
  if ((first && now - first > 18000) || now > 45000 || !supported || errors.length) {
    clearInterval(tick);
    const q = v.getVideoPlaybackQuality();
    report({Width: v.videoWidth, Height: v.videoHeight, CurrentTime: v.currentTime,
      Frames: q.totalVideoFrames, Dropped: q.droppedVideoFrames, FirstMs: first, Errors: errors,
      Supported: supported, Latency: lat, WallLatency: wall});
  }
}, 250);
</script></body></html>`
