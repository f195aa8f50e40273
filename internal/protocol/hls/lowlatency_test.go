package hls

import (
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/srs-lite/srs-lite/internal/media"
	sess "github.com/srs-lite/srs-lite/internal/session"
)

var cfgLL = Config{Fragment: time.Second, Window: 4 * time.Second, Dispose: time.Minute, Container: ContainerFMP4,
	LowLatency: true, Part: 200 * time.Millisecond}

// waitParts waits until segment seq is in progress with at least n parts.
func waitParts(t *testing.T, m *Manager, seq uint64, n int) *Muxer {
	t.Helper()
	var mx *Muxer
	waitFor(t, fmt.Sprintf("segment %d with %d parts", seq, n), func() bool {
		if mx = m.lookup("v", "live", "s"); mx == nil {
			return false
		}
		mx.mu.Lock()
		defer mx.mu.Unlock()
		return mx.cur != nil && mx.cur.seq == seq && len(mx.cur.parts) >= n
	})
	return mx
}

var partRe = regexp.MustCompile(`^#EXT-X-PART:DURATION=([0-9.]+),URI="([^"]+)"(,INDEPENDENT=YES)?$`)

func TestLLPlaylist(t *testing.T) {
	useFake(t)
	m := NewManager("", nil)
	defer m.Close()
	reg := testRegistry()
	st := publish(t, m, reg, cfgLL)
	feed(st, 0, 3500*time.Millisecond, 25) // 1 s GOP: segments 0..2, then 3 in progress
	waitParts(t, m, 3, 2)

	w := serve(m, "GET", "/live/s.m3u8")
	if w.Code != 200 || w.Header().Get("Cache-Control") != "no-cache" {
		t.Fatalf("playlist: %d %v", w.Code, w.Header())
	}
	pl := w.Body.String()
	lines := strings.Split(strings.TrimSuffix(pl, "\n"), "\n")
	// The header tags, in order.
	head := []string{"#EXTM3U", "#EXT-X-VERSION:7", "#EXT-X-TARGETDURATION:1",
		"#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=0.600", "#EXT-X-PART-INF:PART-TARGET=0.200",
		"#EXT-X-MEDIA-SEQUENCE:0", `#EXT-X-MAP:URI="s-init-1.mp4"`}
	for i, h := range head {
		if lines[i] != h {
			t.Fatalf("line %d is %q, want %q:\n%s", i, lines[i], h, pl)
		}
	}
	if !strings.HasPrefix(lines[len(head)], "#EXT-X-PROGRAM-DATE-TIME:") {
		t.Fatalf("no PROGRAM-DATE-TIME before the first segment:\n%s", pl)
	}
	if _, err := time.Parse(time.RFC3339Nano, strings.TrimPrefix(lines[len(head)], "#EXT-X-PROGRAM-DATE-TIME:")); err != nil {
		t.Fatal(err)
	}
	// Segments: the parts of each come before its EXTINF and add up to it,
	// the first part of each is independent; the segment in progress has
	// its parts only; the preload hint names the next part and is last.
	var parts []string
	var sum float64
	var first = true
	segs := 0
	for _, l := range lines[len(head)+1:] {
		switch {
		case strings.HasPrefix(l, "#EXT-X-PART:"):
			mt := partRe.FindStringSubmatch(l)
			if mt == nil {
				t.Fatalf("bad part line %q", l)
			}
			d, _ := strconv.ParseFloat(mt[1], 64)
			if d > 0.2 || d <= 0 {
				t.Errorf("part of %.3f s with PART-TARGET 0.200: %q", d, l)
			}
			if first != (mt[3] != "") {
				t.Errorf("INDEPENDENT=YES wanted on the first part of a segment only (1 s GOP): %q", l)
			}
			first = false
			sum += d
			parts = append(parts, mt[2])
		case strings.HasPrefix(l, "#EXTINF:"):
			d, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimPrefix(l, "#EXTINF:"), ","), 64)
			if d-sum > 0.002 || sum-d > 0.002 {
				t.Errorf("segment %d: EXTINF %.3f, its parts add up to %.3f", segs, d, sum)
			}
			sum, first = 0, true
		case strings.HasPrefix(l, "#"):
			if !strings.HasPrefix(l, "#EXT-X-PRELOAD-HINT:") {
				t.Errorf("unexpected tag %q", l)
			}
		default:
			// A segment URI: its parts concatenated are the segment.
			seg := serve(m, "GET", "/live/"+l).Body.String()
			var cat string
			for _, p := range parts {
				if !strings.HasPrefix(p, strings.TrimSuffix(l, ".m4s")+".") {
					t.Errorf("part %s listed before segment %s", p, l)
				}
				w := serve(m, "GET", "/live/"+p)
				if w.Code != 200 || w.Header().Get("Content-Type") != "video/iso.segment" {
					t.Fatalf("part %s: %d", p, w.Code)
				}
				cat += w.Body.String()
			}
			if seg = strings.TrimPrefix(seg, "T"); cat != seg || !strings.HasPrefix(seg, "K") { // T: the fake's begin
				t.Errorf("segment %s is %q, its parts %q", l, seg, cat)
			}
			parts = parts[:0]
			segs++
		}
	}
	if segs != 3 || len(parts) < 2 || !strings.HasPrefix(parts[0], "s-3.0.") {
		t.Errorf("want 3 segments and segment 3 in progress, got %d and %v:\n%s", segs, parts, pl)
	}
	hint := fmt.Sprintf(`#EXT-X-PRELOAD-HINT:TYPE=PART,URI="s-3.%d.m4s"`, len(parts))
	if lines[len(lines)-1] != hint {
		t.Errorf("last line %q, want %q", lines[len(lines)-1], hint)
	}
	// The whole segment in progress is not served yet.
	if w := serve(m, "GET", "/live/s-3.m4s"); w.Code != 404 {
		t.Errorf("segment in progress: %d", w.Code)
	}
	st.Unpublish()
	waitIdle(t, m)
	pl = serve(m, "GET", "/live/s.m3u8").Body.String()
	if strings.Contains(pl, "PRELOAD-HINT") || !strings.Contains(pl, "s-3.m4s\n") {
		t.Errorf("after the publish: the last segment is complete and nothing is hinted:\n%s", pl)
	}
}

func TestLLBlockingReload(t *testing.T) {
	useFake(t)
	m := NewManager("", nil)
	defer m.Close()
	reg := testRegistry()
	st := publish(t, m, reg, cfgLL)
	feed(st, 0, 1500*time.Millisecond, 25)
	// 1.5 s makes segment 0 and the two whole parts of segment 1; wait for
	// both, so the muxer has read everything fed before the next part is
	// asked for (it reads on its own goroutine).
	mx := waitParts(t, m, 1, 2)
	mx.mu.Lock()
	next := len(mx.cur.parts)
	mx.mu.Unlock()

	get := func(q string) chan *httptest.ResponseRecorder {
		ch := make(chan *httptest.ResponseRecorder, 1)
		go func() { ch <- serve(m, "GET", "/live/s.m3u8"+q) }()
		return ch
	}
	// Bad and too-far requests are answered at once with 400.
	for _, q := range []string{"?_HLS_part=1", "?_HLS_msn=x", "?_HLS_msn=4", fmt.Sprintf("?_HLS_msn=1&_HLS_part=%d", next+16)} {
		select {
		case w := <-get(q):
			if w.Code != 400 {
				t.Errorf("%s: %d, want 400", q, w.Code)
			}
		case <-time.After(time.Second):
			t.Errorf("%s: not answered at once", q)
		}
	}
	// What exists is answered at once.
	select {
	case w := <-get("?_HLS_msn=0"):
		if w.Code != 200 {
			t.Errorf("existing segment: %d", w.Code)
		}
	case <-time.After(time.Second):
		t.Error("a request for an existing segment blocked")
	}
	// The next part: the request waits until it is made.
	q := fmt.Sprintf("?_HLS_msn=1&_HLS_part=%d", next)
	want := fmt.Sprintf(`URI="s-1.%d.m4s"`, next)
	ch := get(q)
	pch := make(chan *httptest.ResponseRecorder, 1)
	go func() { pch <- serve(m, "GET", fmt.Sprintf("/live/s-1.%d.m4s", next)) }()
	select {
	case w := <-ch:
		t.Fatalf("answered before the part exists: %d\n%s", w.Code, w.Body.String())
	case <-time.After(200 * time.Millisecond):
	}
	feed(st, 1500*time.Millisecond, 500*time.Millisecond, 25)
	select {
	case w := <-ch:
		if w.Code != 200 || !strings.Contains(w.Body.String(), "#EXT-X-PART:DURATION") || !strings.Contains(w.Body.String(), want) {
			t.Fatalf("%d\n%s", w.Code, w.Body.String())
		}
	case <-time.After(2 * time.Second):
		t.Fatal("the blocking request did not return once its part was made")
	}
	select {
	case w := <-pch:
		if w.Code != 200 || w.Body.Len() == 0 {
			t.Fatalf("preload-hinted part: %d", w.Code)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("the request for the hinted part did not return")
	}
	st.Unpublish()
	waitIdle(t, m)
}

func TestLLBlockingTimesOut(t *testing.T) {
	useFake(t)
	m := NewManager("", nil)
	defer m.Close()
	reg := testRegistry()
	st := publish(t, m, reg, cfgLL)
	feed(st, 0, 1500*time.Millisecond, 25)
	// 1.5 s makes segment 0 and the two whole parts of segment 1; wait for
	// both, so the muxer has read everything fed before the next part is
	// asked for (it reads on its own goroutine).
	mx := waitParts(t, m, 1, 2)
	mx.mu.Lock()
	next := len(mx.cur.parts)
	mx.targetDur = 0 // wait 0 target durations
	mx.mu.Unlock()
	w := serve(m, "GET", fmt.Sprintf("/live/s.m3u8?_HLS_msn=1&_HLS_part=%d", next))
	if w.Code != 503 {
		t.Errorf("a part not made in time: %d", w.Code)
	}
	st.Unpublish()
	waitIdle(t, m)
}

// TestLLViewerSession: with hls_ctx sessions, the blocking parameters and
// hls_ctx are both read, and part URIs carry hls_ctx.
func TestLLViewerSession(t *testing.T) {
	useFake(t)
	m := NewManager("", nil)
	defer m.Close()
	rc := &recorder{calls: map[string]int{}, tab: sess.NewTable()}
	m.SetEvents(rc.events())
	reg := testRegistry()
	st := publish(t, m, reg, cfgLL)
	feed(st, 0, 1500*time.Millisecond, 25)
	waitParts(t, m, 1, 1)
	id := startViewer(t, m, "")
	w := serve(m, "GET", "/live/s.m3u8?"+CtxParam+"="+id+"&_HLS_msn=1&_HLS_part=0")
	pl := w.Body.String()
	if w.Code != 200 || !strings.Contains(pl, `URI="s-1.0.m4s?hls_ctx=`+id+`"`) || !strings.Contains(pl, "PRELOAD-HINT:TYPE=PART,URI=\"s-1.") {
		t.Fatalf("%d\n%s", w.Code, pl)
	}
	if strings.Contains(pl, "_HLS_") {
		t.Errorf("the blocking parameters leaked into the URIs:\n%s", pl)
	}
	before := rc.tab.List()[0].BytesOut
	if w := serve(m, "GET", "/live/s-1.0.m4s?"+CtxParam+"="+id); w.Code != 200 {
		t.Fatalf("part with hls_ctx: %d", w.Code)
	}
	if rc.tab.List()[0].BytesOut <= before {
		t.Error("the part's bytes were not counted to the session")
	}
	st.Unpublish()
	waitIdle(t, m)
}

func TestLLConfigCheck(t *testing.T) {
	for _, c := range []Config{
		{Fragment: time.Second, Window: time.Second, Container: ContainerTS, LowLatency: true, Part: 200 * time.Millisecond},
		{Fragment: time.Second, Window: time.Second, Container: ContainerFMP4, LowLatency: true, Part: time.Second},
		{Fragment: time.Second, Window: time.Second, Container: ContainerFMP4, LowLatency: true},
	} {
		if c.check() == nil {
			t.Errorf("%+v accepted", c)
		}
	}
}

func TestParsePathPart(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Request
		ok   bool
	}{
		{"/live/s-3.2.m4s", Request{App: "live", Stream: "s", Kind: KindPart, Seq: 3, Part: 2}, true},
		{"/live/a.b-3.0.m4s", Request{App: "live", Stream: "a.b", Kind: KindPart, Seq: 3}, true},
		{"/live/a.b-3.m4s", Request{App: "live", Stream: "a.b", Kind: KindSegment, Seq: 3}, true},
		{"/live/s-3.2.ts", Request{}, false},
		{"/live/s-3.x.m4s", Request{}, false},
		{"/live/s-3.99999.m4s", Request{}, false},
	} {
		got, ok := ParsePath(tc.in)
		if ok != tc.ok || ok && got != tc.want {
			t.Errorf("ParsePath(%q) = %+v %v, want %+v %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestParseBlock(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want blockReq
		err  bool
	}{
		{"", blockReq{part: -1}, false},
		{"hls_ctx=abc", blockReq{part: -1}, false},
		{"_HLS_msn=5", blockReq{on: true, msn: 5, part: -1}, false},
		{"hls_ctx=abc&_HLS_msn=5&_HLS_part=2", blockReq{on: true, msn: 5, part: 2}, false},
		{"_HLS_part=2", blockReq{}, true},
		{"_HLS_msn=", blockReq{}, true},
		{"_HLS_msn=-1", blockReq{}, true},
		{"_HLS_msn=1&_HLS_part=1e3", blockReq{}, true},
		{"_HLS_msnx=1", blockReq{part: -1}, false},
	} {
		got, err := parseBlock(tc.in)
		if (err != nil) != tc.err || err == nil && got != tc.want {
			t.Errorf("parseBlock(%q) = %+v %v", tc.in, got, err)
		}
	}
}

func FuzzParseBlock(f *testing.F) {
	for _, s := range []string{"_HLS_msn=5", "_HLS_msn=5&_HLS_part=2", "hls_ctx=ab&_HLS_part=1", "_HLS_msn&_HLS_part", "&&_HLS_msn=18446744073709551615"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		br, err := parseBlock(raw)
		if err != nil {
			return
		}
		if !br.on && br.part != -1 || br.part < -1 {
			t.Fatalf("%q: %+v", raw, br)
		}
		if br.on && !strings.Contains(raw, "_HLS_msn=") {
			t.Fatalf("%q: msn %d without _HLS_msn", raw, br.msn)
		}
		if v, ok := rawParam(raw, "_HLS_msn"); br.on && (!ok || v == "" || strings.Trim(v, "0123456789") != "") {
			t.Fatalf("%q: msn %d from %q", raw, br.msn, v)
		}
	})
}

// BenchmarkRenderLL renders a low-latency playlist of a 10 s window with
// the parts of its last 3 s, as each part does.
func BenchmarkRenderLL(b *testing.B) {
	mx := &Muxer{m: NewManager("", nil), stream: "s", cfg: cfgLL, targetDur: 1, sessions: 1}
	for i := range 10 {
		s := &segment{seq: uint64(i), dur: time.Second, initGen: 1, pdt: time.Now()}
		for range 5 {
			s.parts = append(s.parts, part{dur: 200 * time.Millisecond})
		}
		mx.segs = append(mx.segs, s)
	}
	mx.cur = &segment{seq: 10, initGen: 1, parts: make([]part, 3)}
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	for b.Loop() {
		buf = mx.render(buf[:0], "")
	}
	_ = media.Frame{}
}

// TestLLFolder: with segments written to a folder, parts are still served
// from memory and the segment files hold what the parts add up to.
func TestLLFolder(t *testing.T) {
	useFake(t)
	m := NewManager("", nil)
	defer m.Close()
	reg := testRegistry()
	cfg := cfgLL
	cfg.Dir = t.TempDir()
	st := publish(t, m, reg, cfg)
	feed(st, 0, 2500*time.Millisecond, 25)
	waitParts(t, m, 2, 1)
	data, err := os.ReadFile(filepath.Join(cfg.Dir, "v", "live", "s-1.m4s"))
	if err != nil {
		t.Fatal(err)
	}
	var cat string
	for k := 0; ; k++ {
		w := serve(m, "GET", fmt.Sprintf("/live/s-1.%d.m4s", k))
		if w.Code != 200 {
			break
		}
		cat += w.Body.String()
	}
	if "T"+cat != string(data) {
		t.Errorf("file %q, parts %q", data, cat)
	}
	if w := serve(m, "GET", "/live/s-2.0.m4s"); w.Code != 200 {
		t.Errorf("part of the segment in progress: %d", w.Code)
	}
	st.Unpublish()
	waitIdle(t, m)
}

// TestLLHintBetweenSegments: between a segment's completion and the first
// part of the next, the hint names that first part.
func TestLLHintBetweenSegments(t *testing.T) {
	mx := &Muxer{m: NewManager("", nil), stream: "s", cfg: cfgLL, sessions: 1, nextSeq: 8}
	if seq, k, _ := mx.nextPart(); seq != 8 || k != 0 {
		t.Errorf("before the segment opens: %d.%d", seq, k)
	}
	mx.making, mx.nextSeq = 8+1, 9 // segment 8 opened, no part yet
	if seq, k, _ := mx.nextPart(); seq != 8 || k != 0 {
		t.Errorf("segment 8 opened: %d.%d, want 8.0", seq, k)
	}
	mx.cur = &segment{seq: 8, parts: make([]part, 2)}
	if seq, k, _ := mx.nextPart(); seq != 8 || k != 2 {
		t.Errorf("segment 8 with 2 parts: %d.%d, want 8.2", seq, k)
	}
}
