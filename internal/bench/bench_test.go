package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/srs-lite/srs-lite/internal/format/flv"
)

// checkGoroutines fails t if goroutines started during the test outlive it.
func checkGoroutines(t *testing.T) {
	t.Helper()
	// os/signal starts its watcher goroutine on first use, for good.
	_, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	stop()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(2 * time.Second)
		for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if n := runtime.NumGoroutine(); n > before {
			t.Errorf("%d goroutines leaked", n-before)
		}
	})
}

func newServer(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL + "/live/stream.flv"
}

// TestMainHTTP runs `bench play -n 20 -d 2s -json` against a live synthetic
// stream and checks the JSON result.
func TestMainHTTP(t *testing.T) {
	t.Parallel()
	u := newServer(t, defaultSynth)
	var stdout, stderr bytes.Buffer
	code := Main([]string{"play", "-n", "20", "-d", "2s", "-json", u}, &stdout, &stderr)
	if code != 0 {
		t.Errorf("exit code %d, stderr:\n%s", code, stderr.String())
	}
	var res Result
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		t.Fatalf("json: %v\n%s", err, stdout.String())
	}
	// The field names are an interface for scripts and CI.
	var raw map[string]any
	json.Unmarshal(stdout.Bytes(), &raw)
	for _, k := range []string{"players", "connected", "failed", "bytes", "bitrate_kbps", "frames", "ttff_ms", "stalls", "errors"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("json has no %q", k)
		}
	}
	if res.Players != 20 || res.Connected != 20 || res.Failed != 0 {
		t.Errorf("players %d connected %d failed %d, want 20 20 0", res.Players, res.Connected, res.Failed)
	}
	if res.CPUs < 1 || res.CPUPercent <= 0 || res.BenchBound() {
		t.Errorf("bench cpu %.1f%% of %d, bench-bound %v: want its CPU measured, not bound", res.CPUPercent, res.CPUs, res.BenchBound())
	}
	if res.TTFF.Count != 20 || res.TTFF.Max > 1000 || res.TTFF.P50 > res.TTFF.P95 || res.TTFF.P95 > res.TTFF.Max {
		t.Errorf("ttff %+v", res.TTFF)
	}
	if res.Stalls != 0 {
		t.Errorf("stalls %d, want 0", res.Stalls)
	}
	// 2 s at 30 fps video plus 43 fps audio, per player.
	if lo, hi := int64(20*2*60), int64(20*2*80); res.Frames < lo || res.Frames > hi {
		t.Errorf("frames %d, want %d..%d", res.Frames, lo, hi)
	}
	want := defaultSynth.kbps()
	if res.PerPlayerKbps < 0.6*want || res.PerPlayerKbps > 1.5*want {
		t.Errorf("per player %.0f kbps, want about %.0f", res.PerPlayerKbps, want)
	}
	if got := res.BitrateKbps / 20; got < 0.6*want || got > 1.5*want {
		t.Errorf("bitrate %.0f kbps for 20 players, want about %.0f each", res.BitrateKbps, want)
	}
	if len(res.Errors) != 0 {
		t.Errorf("errors %q", res.Errors)
	}
	if s := stderr.String(); !strings.Contains(s, "20/20 connected") || !strings.Contains(s, "result     ok") {
		t.Errorf("stderr misses the progress line or the table:\n%s", s)
	}
}

// TestRunStall streams with a 3 s pause: each player counts one stall.
func TestRunStall(t *testing.T) {
	t.Parallel()
	s := defaultSynth
	s.pauseAt, s.pause = 500*time.Millisecond, 3*time.Second
	u := newServer(t, s)
	var progress bytes.Buffer
	res, err := Run(context.Background(), Config{URL: u, Players: 3, Duration: 4500 * time.Millisecond, Progress: &progress}, NewHTTPPlayer(3))
	if err != nil {
		t.Fatal(err)
	}
	if res.Connected != 3 || res.Failed != 0 || res.Stalls != 3 {
		t.Errorf("connected %d failed %d stalls %d, want 3 0 3", res.Connected, res.Failed, res.Stalls)
	}
	if !res.OK() {
		t.Errorf("stalls alone must not fail the run")
	}
	// Non-terminal progress: a plain line every 5 s and the final one.
	if lines := strings.Count(progress.String(), "\n"); lines != 1 || strings.Contains(progress.String(), "\r") {
		t.Errorf("progress %q, want one plain line", progress.String())
	}
}

// TestRunStallOngoing counts a gap still open when the run stops.
func TestRunStallOngoing(t *testing.T) {
	t.Parallel()
	play := func(ctx context.Context, url string, onTag func(uint8, uint32, []byte)) error {
		onTag(flv.TagVideo, 0, []byte{0x17, 1, 0, 0, 0, 0x65})
		<-ctx.Done()
		return ctx.Err()
	}
	res, err := Run(context.Background(), Config{URL: "x://y", Players: 2, Duration: 2300 * time.Millisecond}, play)
	if err != nil {
		t.Fatal(err)
	}
	if res.Stalls != 2 || res.Frames != 2 || res.Failed != 0 {
		t.Errorf("stalls %d frames %d failed %d, want 2 2 0", res.Stalls, res.Frames, res.Failed)
	}
}

// TestRunFailures covers players that never connect or end early.
func TestRunFailures(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + ln.Addr().String() + "/live/stream.flv"
	ln.Close()
	short := defaultSynth
	short.endAt = 300 * time.Millisecond
	tests := []struct {
		name      string
		url       string
		connected int
		errText   string
	}{
		{"refused", refused, 0, "refused"},
		{"not found", newServer(t, http.NotFoundHandler()), 0, "404"},
		{"ended", newServer(t, short), 3, ErrEnded.Error()},
		{"not flv", newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "<html>hello</html>")
		})), 0, "signature"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			start := time.Now()
			code := Main([]string{"play", "-json", "-n", "3", "-d", "5s", tt.url}, &stdout, &stderr)
			if code != 1 {
				t.Errorf("exit code %d, want 1", code)
			}
			if el := time.Since(start); el > 3*time.Second {
				t.Errorf("took %v: a run whose players all ended must stop", el)
			}
			var res Result
			if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
				t.Fatalf("json: %v\n%s", err, stdout.String())
			}
			if res.Failed != 3 || res.Connected != tt.connected {
				t.Errorf("failed %d connected %d, want 3 %d", res.Failed, res.Connected, tt.connected)
			}
			if len(res.Errors) != 1 || !strings.Contains(res.Errors[0], tt.errText) {
				t.Errorf("errors %q, want one with %q", res.Errors, tt.errText)
			}
		})
	}
}

// TestNewMainPlayer plugs a player for another scheme and checks that the
// time to first frame runs to the first video frame, not the sequence
// header, and that flags may follow the URL.
func TestNewMainPlayer(t *testing.T) {
	checkGoroutines(t) // not parallel: counts goroutines
	var gotURL atomic.Value
	play := func(ctx context.Context, url string, onTag func(uint8, uint32, []byte)) error {
		gotURL.Store(url)
		onTag(flv.TagScript, 0, []byte{2, 0, 10})
		onTag(flv.TagVideo, 0, avcSeqHeader)
		onTag(flv.TagAudio, 0, aacSeqHeader)
		time.Sleep(100 * time.Millisecond)
		onTag(flv.TagAudio, 0, []byte{0xaf, 1, 0x21})
		time.Sleep(100 * time.Millisecond)
		onTag(flv.TagVideo, 0, []byte{0x17, 1, 0, 0, 0, 0x65})
		<-ctx.Done()
		return nil
	}
	main := NewMain(map[string]Player{"rtmp": play})
	var stdout, stderr bytes.Buffer
	code := main([]string{"play", "rtmp://127.0.0.1/live/s", "-n", "4", "-d", "500ms", "-json"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit code %d: %s", code, stderr.String())
	}
	if u, _ := gotURL.Load().(string); u != "rtmp://127.0.0.1/live/s" {
		t.Errorf("player got url %q", u)
	}
	var res Result
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		t.Fatal(err)
	}
	if res.Connected != 4 || res.Frames != 8 || res.TTFF.Count != 4 || res.TTFF.P50 < 200 || res.TTFF.Max > 400 {
		t.Errorf("connected %d frames %d ttff %+v", res.Connected, res.Frames, res.TTFF)
	}
	wantBytes := int64(4 * (3 + len(avcSeqHeader) + len(aacSeqHeader) + 3 + 6 + 5*tagOverhead))
	if res.Bytes != wantBytes {
		t.Errorf("bytes %d, want %d", res.Bytes, wantBytes)
	}
}

// TestRunInFlight checks that at most MaxInFlight players connect at once
// without a ramp, and that a ramp spreads the connects.
func TestRunInFlight(t *testing.T) {
	checkGoroutines(t) // not parallel: counts goroutines
	tests := []struct {
		name    string
		ramp    time.Duration
		sendTag bool
		started int
	}{
		{"stuck connects hold slots", 0, false, MaxInFlight},
		{"connected players free slots", 0, true, 120},
		{"ramp", 600 * time.Millisecond, false, 120},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			var starts []time.Time
			play := func(ctx context.Context, url string, onTag func(uint8, uint32, []byte)) error {
				mu.Lock()
				starts = append(starts, time.Now())
				mu.Unlock()
				if tt.sendTag {
					onTag(flv.TagVideo, 0, avcSeqHeader)
				}
				<-ctx.Done()
				return nil
			}
			t0 := time.Now()
			res, err := Run(context.Background(), Config{URL: "x://y", Players: 120, Duration: time.Second, Ramp: tt.ramp}, play)
			if err != nil {
				t.Fatal(err)
			}
			if len(starts) != tt.started {
				t.Errorf("%d players started, want %d", len(starts), tt.started)
			}
			if res.Failed != 0 || res.OK() != tt.sendTag {
				t.Errorf("failed %d ok %v", res.Failed, res.OK())
			}
			if tt.ramp > 0 {
				last := starts[len(starts)-1].Sub(t0)
				if last < tt.ramp*9/10 || last > tt.ramp+200*time.Millisecond {
					t.Errorf("last player started at %v, want about %v", last, tt.ramp)
				}
			}
		})
	}
}

func TestMainUsage(t *testing.T) {
	t.Parallel()
	play := func(ctx context.Context, url string, onTag func(uint8, uint32, []byte)) error { return nil }
	main := NewMain(map[string]Player{"fake": play})
	tests := []struct {
		name string
		args []string
		code int
		text string
	}{
		{"no args", nil, 2, "usage"},
		{"help", []string{"-h"}, 0, "usage"},
		{"play help", []string{"play", "-h"}, 0, "-ramp"},
		{"unknown command", []string{"publish", "fake://x"}, 2, "usage"},
		{"no url", []string{"play", "-n", "2"}, 2, "one URL"},
		{"two urls", []string{"play", "fake://x", "fake://y"}, 2, "one URL"},
		{"bad flag", []string{"play", "-x", "fake://x"}, 2, "-x"},
		{"zero players", []string{"play", "-n", "0", "fake://x"}, 2, "-n"},
		{"scheme", []string{"play", "srt://x"}, 2, "scheme"},
		{"ended", []string{"play", "-d", "1s", "fake://x"}, 1, "stream ended"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := main(tt.args, &stdout, &stderr); code != tt.code {
				t.Errorf("exit code %d, want %d", code, tt.code)
			}
			if out := stdout.String() + stderr.String(); !strings.Contains(out, tt.text) {
				t.Errorf("output misses %q:\n%s", tt.text, out)
			}
		})
	}
}

// TestBenchBound: players missing while the bench used all its CPU are
// said to be the bench's limit; missing players with CPU to spare are not.
func TestBenchBound(t *testing.T) {
	for _, c := range []struct {
		res  Result
		note bool
	}{
		{Result{Players: 100, Connected: 60, CPUPercent: 97, CPUs: 1}, true},
		{Result{Players: 100, Connected: 60, CPUPercent: 97, CPUs: 2}, false},
		{Result{Players: 100, Connected: 100, CPUPercent: 100, CPUs: 1}, false},
		{Result{Players: 100, Connected: 60, CPUPercent: 30, CPUs: 1}, false},
	} {
		var b strings.Builder
		writeTable(&b, &Config{URL: "rtmp://x/live/s"}, &c.res)
		if got := strings.Contains(b.String(), "the bench may be the limit"); got != c.note || c.res.BenchBound() != c.note {
			t.Errorf("%+v: note %v, want %v:\n%s", c.res, got, c.note, b.String())
		}
	}
}

func TestPercentiles(t *testing.T) {
	ms := int64(time.Millisecond)
	tests := []struct {
		name string
		in   []int64
		want TTFF
	}{
		{"none", nil, TTFF{}},
		{"one", []int64{5 * ms}, TTFF{5, 5, 5, 1}},
		{"hundred", func() []int64 {
			v := make([]int64, 100)
			for i := range v {
				v[i] = int64(100-i) * ms
			}
			return v
		}(), TTFF{50, 95, 100, 100}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := percentiles(tt.in); got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestIsFrame(t *testing.T) {
	tests := []struct {
		name  string
		typ   uint8
		body  []byte
		frame bool
	}{
		{"avc sequence header", flv.TagVideo, avcSeqHeader, false},
		{"avc keyframe", flv.TagVideo, []byte{0x17, 1, 0, 0, 0}, true},
		{"avc inter", flv.TagVideo, []byte{0x27, 1, 0, 0, 0}, true},
		{"avc end of sequence", flv.TagVideo, []byte{0x17, 2, 0, 0, 0}, false},
		{"command frame", flv.TagVideo, []byte{0x57, 0}, false},
		{"hevc sequence start", flv.TagVideo, []byte{0x90, 'h', 'v', 'c', '1'}, false},
		{"hevc coded", flv.TagVideo, []byte{0x91, 'h', 'v', 'c', '1', 0, 0, 0}, true},
		{"vp6 (unparsed codec)", flv.TagVideo, []byte{0x14, 0}, true},
		{"aac sequence header", flv.TagAudio, aacSeqHeader, false},
		{"aac raw", flv.TagAudio, []byte{0xaf, 1}, true},
		{"mp3", flv.TagAudio, []byte{0x2f}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got bool
			if tt.typ == flv.TagVideo {
				got = isVideoFrame(tt.body)
			} else {
				got = isAudioFrame(tt.body)
			}
			if got != tt.frame {
				t.Errorf("frame %v, want %v", got, tt.frame)
			}
		})
	}
}

// newTestRun returns a run with one player, for driving onTag directly.
func newTestRun() (*run, *player) {
	r := &run{start: time.Now(), gap: StallGap, players: make([]player, 1)}
	return r, &r.players[0]
}

// TestOnTagAllocs pins the per-tag measurement at zero allocations.
func TestOnTagAllocs(t *testing.T) {
	r, p := newTestRun()
	key := []byte{0x17, 1, 0, 0, 0, 0x65}
	audio := []byte{0xaf, 1, 0x21}
	if n := testing.AllocsPerRun(1000, func() {
		r.onTag(p, flv.TagVideo, avcSeqHeader)
		r.onTag(p, flv.TagVideo, key)
		r.onTag(p, flv.TagAudio, audio)
		r.onTag(p, flv.TagScript, audio)
	}); n != 0 {
		t.Errorf("%v allocs per run, want 0", n)
	}
}

// TestReadFLVAllocs checks that reading a stream allocates only up front,
// not per tag.
func TestReadFLVAllocs(t *testing.T) {
	short, long := synthFLV(defaultSynth, time.Second), synthFLV(defaultSynth, 10*time.Second)
	r, p := newTestRun()
	onTag := func(typ uint8, ts uint32, body []byte) { r.onTag(p, typ, body) }
	count := func(b []byte) float64 {
		return testing.AllocsPerRun(20, func() {
			if err := ReadFLV(bytes.NewReader(b), onTag); !errors.Is(err, io.EOF) {
				t.Fatal(err)
			}
		})
	}
	if a, b := count(short), count(long); b > a {
		t.Errorf("%v allocs for 1 s, %v for 10 s: reading allocates per tag", a, b)
	}
}

func BenchmarkOnTag(b *testing.B) {
	r, p := newTestRun()
	key := []byte{0x17, 1, 0, 0, 0, 0x65}
	b.ReportAllocs()
	for b.Loop() {
		r.onTag(p, flv.TagVideo, key)
	}
}

// BenchmarkReadFLV reads 10 s of the synthetic stream per op: the per-player
// client cost of HTTP-FLV without the network.
func BenchmarkReadFLV(b *testing.B) {
	data := synthFLV(defaultSynth, 10*time.Second)
	r, p := newTestRun()
	onTag := func(typ uint8, ts uint32, body []byte) { r.onTag(p, typ, body) }
	rd := bytes.NewReader(data)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		rd.Reset(data)
		if err := ReadFLV(rd, onTag); !errors.Is(err, io.EOF) {
			b.Fatal(err)
		}
	}
}

// TestStallVideoClock: once video has been seen, audio flowing on does not
// hide a frozen picture; Config.StallGap sets the gap.
func TestStallVideoClock(t *testing.T) {
	r, p := newTestRun()
	r.gap = time.Second
	r.start = time.Now().Add(-10 * time.Second)
	key := []byte{0x17, 1, 0, 0, 0, 0x65}
	aac := []byte{0xaf, 1, 0x21}
	r.onTag(p, flv.TagVideo, key)
	p.last.Store(max(r.now()-int64(1500*time.Millisecond), 1)) // the last video frame 1.5 s ago
	r.onTag(p, flv.TagAudio, aac)
	r.checkStall(p, r.now())
	if got := p.stalls.Load(); got != 1 {
		t.Errorf("%d stalls with audio flowing and video frozen for 1.5 s, want 1", got)
	}
	if got := p.frames.Load(); got != 2 {
		t.Errorf("%d frames, want 2 (audio still counts as a frame)", got)
	}
}
