package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/srs-lite/srs-lite/internal/media"
	"github.com/srs-lite/srs-lite/internal/metrics"
	"github.com/srs-lite/srs-lite/internal/session"
)

// scrapeText parses the text format strictly enough for the tests: it
// fails on a sample outside its family, a family written twice, a series
// written twice, and returns "name{labels}" -> value.
func scrapeText(t *testing.T, text string) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	fams := map[string]bool{}
	fam := ""
	for _, l := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		switch {
		case strings.HasPrefix(l, "# HELP "):
			name, _, _ := strings.Cut(l[len("# HELP "):], " ")
			if fams[name] {
				t.Fatalf("family %s twice", name)
			}
			fams[name], fam = true, name
		case strings.HasPrefix(l, "# TYPE "):
			name, typ, _ := strings.Cut(l[len("# TYPE "):], " ")
			if name != fam || typ != "gauge" && typ != "counter" {
				t.Fatalf("TYPE line %q in family %s", l, fam)
			}
		case strings.HasPrefix(l, "#"):
		default:
			i := strings.LastIndexByte(l, ' ')
			series, val := l[:i], l[i+1:]
			name, _, _ := strings.Cut(series, "{")
			if name != fam {
				t.Fatalf("sample %q outside its family %s", l, fam)
			}
			if _, dup := out[series]; dup {
				t.Fatalf("series %s twice", series)
			}
			v, err := strconv.ParseFloat(val, 64)
			if err != nil {
				t.Fatalf("sample %q: %v", l, err)
			}
			out[series] = v
		}
	}
	return out
}

// parseWithPython runs the real parser (Debian's python3-prometheus-client)
// over text, or skips loudly when it is missing.
func parseWithPython(t *testing.T, text []byte) []map[string]any {
	t.Helper()
	const py = "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import prometheus_client.parser").Run(); err != nil {
		t.Skipf("SKIPPED: the Prometheus parser is missing (Debian/Ubuntu: apt-get install python3-prometheus-client; `make test` installs it when run as root): %v", err)
	}
	cmd := exec.Command(py, "../metrics/testdata/promparse.py")
	cmd.Stdin = bytes.NewReader(text)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("the parser refused the text: %v\n%s\n%s", err, stderr.String(), text)
	}
	var fams []map[string]any
	if err := json.Unmarshal(out, &fams); err != nil {
		t.Fatal(err)
	}
	return fams
}

func TestMetrics(t *testing.T) {
	f := newFixture(t, func(d *Deps) {
		// One HLS viewer, as the server's HLS component would count it.
		d.HLS = func(s *media.Stream) (any, int) { return map[string]any{}, 1 }
	})
	// An RTMP player, an HLS viewer (a session that names its stream by key
	// only) and a connected client that does nothing yet.
	rd := f.reg.Subscribe(media.Key{Vhost: defaultVhost, App: "live", Stream: "livestream"}, nil)
	defer rd.Close()
	f.tab.Add(testSession("play2", "10.0.0.3", "rtmp", "", 0, "livestream", f.stream.ID, session.Player))
	f.tab.Add(testSession("hls1", "10.0.0.4", "hls", "", 0, "livestream", "", session.Player))
	idle := session.New("idle", "rtmp", "10.0.0.5")
	f.tab.Add(idle)
	f.tab.Refused()

	t0 := time.Unix(5000, 0)
	f.api.sample(t0)
	f.pub.BytesIn.Add(125000)
	f.player.BytesOut.Add(250000)
	f.api.sample(t0.Add(5 * time.Second))

	h := f.api.MetricsHandler(func(w *metrics.Writer) {
		w.Family("srs_lite_extra", metrics.Gauge, "The server's families come after.")
		w.Int(7)
	})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != metrics.ContentType {
		t.Fatalf("status %d, type %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	text := rec.Body.String()
	m := scrapeText(t, text)
	lbl := `{vhost="__defaultVhost__",app="live",stream="livestream"}`
	withProto := func(p string) string { return strings.TrimSuffix(lbl, "}") + `,proto="` + p + `"}` }
	for k, want := range map[string]float64{
		"srs_streams":                                1,
		"srs_clients":                                5,
		"srs_clients_total":                          5,
		"srs_clients_errs_total":                     1,
		"srs_receive_bytes_total":                    126005,
		"srs_stream_publishing" + lbl:                1,
		"srs_stream_clients" + lbl:                   4, // publisher, two ring players, the HLS viewer
		"srs_stream_viewers" + withProto("flv"):      1,
		"srs_stream_viewers" + withProto("rtmp"):     1,
		"srs_stream_viewers" + withProto("hls"):      1,
		"srs_stream_recv_kbps" + lbl:                 200,
		"srs_stream_send_kbps" + lbl:                 400,
		"srs_stream_receive_bytes_total" + lbl:       126000,
		"srs_stream_frames_total" + lbl:              5,
		"srs_stream_video_frames_total" + lbl:        2,
		"srs_stream_audio_frames_total" + lbl:        1,
		"srs_lite_stream_dropped_frames_total" + lbl: 0,
		"srs_lite_extra":                             7,
	} {
		if got, ok := m[k]; !ok || got != want {
			t.Errorf("%s = %v (present %v), want %v", k, got, ok, want)
		}
	}
	if !strings.Contains(text, `srs_build_info{server="vid-test",service="`) || !strings.Contains(text, `version="1.2.3",code="srs-lite"} 1`) {
		t.Errorf("srs_build_info: %s", text)
	}
	// The same figures as /api/v1/streams.
	_, js := do(t, f.api.Handler(), http.MethodGet, "/api/v1/streams/"+f.stream.ID)
	if c := get(t, js, "stream.clients").(float64); c != m["srs_stream_clients"+lbl] {
		t.Errorf("api clients %v, metrics %v", c, m["srs_stream_clients"+lbl])
	}
	if !strings.HasSuffix(text, "srs_lite_extra 7\n") {
		t.Error("the extra families are not last")
	}

	// The real parser reads it.
	fams := parseWithPython(t, rec.Body.Bytes())
	if len(fams) < 20 {
		t.Fatalf("the parser read %d families", len(fams))
	}

	// HEAD answers the headers only.
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodHead, "/metrics", nil))
	if rec.Code != http.StatusOK || rec.Body.Len() != 0 || rec.Header().Get("Content-Length") == "" {
		t.Fatalf("HEAD: %d, %d bytes", rec.Code, rec.Body.Len())
	}
}

// TestMetricsEscapedStreamName: names a client chose end up in label
// values; the real parser reads them back.
func TestMetricsEscapedStreamName(t *testing.T) {
	f := newFixture(t, nil)
	name := "we\"ird\\na\nme"
	s, err := f.reg.Publish(media.Key{Vhost: defaultVhost, App: "live", Stream: name})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Unpublish()
	var w metrics.Writer
	f.api.WriteMetrics(&w, time.Now())
	if err := w.Err(); err != nil {
		t.Fatal(err)
	}
	scrapeText(t, string(w.Bytes()))
	found := false
	for _, fam := range parseWithPython(t, w.Bytes()) {
		if fam["name"] != "srs_stream_publishing" {
			continue
		}
		for _, smp := range fam["samples"].([]any) {
			l := smp.([]any)[1].(map[string]any)
			if l["stream"] == name {
				found = true
			}
		}
	}
	if !found {
		t.Fatalf("stream %q not read back:\n%s", name, w.Bytes())
	}
}

func TestMetricsAccess(t *testing.T) {
	const remote = "192.0.2.7:5000"
	acc := Access{Username: "admin", Password: "secret", Read: true}
	f := newFixture(t, func(d *Deps) { d.Access = func() Access { return acc } })
	h := f.api.MetricsHandler(nil)
	w, _ := request(t, h, http.MethodGet, "/metrics", remote, "", "")
	if w.Code != http.StatusUnauthorized || w.Header().Get("WWW-Authenticate") == "" {
		t.Fatalf("read-protected without credentials: %d", w.Code)
	}
	w, _ = request(t, h, http.MethodGet, "/metrics", remote, basic("admin", "secret"), "")
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "srs_streams 1") {
		t.Fatalf("with credentials: %d %q", w.Code, w.Body.String())
	}
	// Reads open (read = false, the default): anybody scrapes.
	acc.Read = false
	w, _ = request(t, h, http.MethodGet, "/metrics", remote, "", "")
	if w.Code != http.StatusOK {
		t.Fatalf("open reads: %d", w.Code)
	}
}

// benchFixture is a registry with streams streams and clients sessions:
// one publisher per stream, the rest players of every protocol.
func benchFixture(b *testing.B, streams, clients int) *API {
	reg := media.NewRegistry(nil)
	tab := session.NewTable()
	var ss []*media.Stream
	for i := 0; i < streams; i++ {
		name := fmt.Sprintf("cam%d", i)
		s, err := reg.Publish(media.Key{Vhost: defaultVhost, App: "live", Stream: name})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(s.Unpublish)
		ss = append(ss, s)
		p := testSession(fmt.Sprintf("pub%d", i), "10.0.0.1", "rtmp", "", 0, name, s.ID, session.Publisher)
		p.BytesIn.Add(1 << 20)
		tab.Add(p)
	}
	protos := []string{"rtmp", "flv", "hls", "srt", "ts"}
	for i := streams; i < clients; i++ {
		s := ss[i%streams]
		proto := protos[i%len(protos)]
		id := s.ID
		if proto == "hls" {
			id = ""
		} else {
			rd := reg.Subscribe(media.Key{Vhost: defaultVhost, App: "live", Stream: s.Name}, nil)
			b.Cleanup(rd.Close)
		}
		c := testSession(fmt.Sprintf("c%d", i), "10.0.0.2", proto, "", 0, s.Name, id, session.Player)
		c.BytesOut.Add(1 << 20)
		tab.Add(c)
	}
	a, err := New(Deps{Registry: reg, Clients: tab, Version: "1.0.0"})
	if err != nil {
		b.Fatal(err)
	}
	a.sample(time.Now())
	return a
}

// BenchmarkScrape1000 is a /metrics scrape with 1000 clients on 10
// streams, through the HTTP handler.
func BenchmarkScrape1000(b *testing.B) {
	a := benchFixture(b, 10, 1000)
	h := a.MetricsHandler(nil)
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	rec := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(rec, req)
	}
	b.SetBytes(int64(rec.n))
}

// BenchmarkScrape1000Streams is a scrape with 1000 clients each publishing
// its own stream: the per-stream families at their largest.
func BenchmarkScrape1000Streams(b *testing.B) {
	a := benchFixture(b, 1000, 1000)
	h := a.MetricsHandler(nil)
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	rec := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(rec, req)
	}
	b.SetBytes(int64(rec.n))
}

// discardWriter is a ResponseWriter that counts the body.
type discardWriter struct {
	h http.Header
	n int
}

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) WriteHeader(int)             {}
func (d *discardWriter) Write(p []byte) (int, error) { d.n = len(p); return len(p), nil }
