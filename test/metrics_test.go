package test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// promFamily is a family as the Python prometheus_client parser reads it
// (internal/metrics/testdata/promparse.py).
type promFamily struct {
	Name    string  `json:"name"`
	Type    string  `json:"type"`
	Help    string  `json:"help"`
	Samples [][]any `json:"samples"`
}

// promSample is one sample: its name, labels and value.
type promSample struct {
	name   string
	labels map[string]string
	value  float64
}

// scrape gets /metrics from the API port and parses it with the real
// Prometheus parser, Debian's python3-prometheus-client run by the system
// python3; it skips loudly when the parser is missing.
func scrape(t *testing.T, s *srv) (samples []promSample, text []byte) {
	t.Helper()
	const py = "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import prometheus_client.parser").Run(); err != nil {
		t.Skipf("SKIPPED: the Prometheus parser is missing (Debian/Ubuntu: apt-get install python3-prometheus-client; `make test` installs it when run as root): %v", err)
	}
	resp, err := http.Get("http://" + s.api + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	text, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Fatalf("/metrics: %s, %q:\n%s", resp.Status, resp.Header.Get("Content-Type"), text)
	}
	cmd := exec.Command(py, "../internal/metrics/testdata/promparse.py")
	cmd.Stdin = bytes.NewReader(text)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("the Prometheus parser refused /metrics: %v\n%s\n%s", err, stderr.String(), text)
	}
	var fams []promFamily
	if err := json.Unmarshal(out, &fams); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, f := range fams {
		if f.Help == "" || f.Type != "gauge" && f.Type != "counter" {
			t.Errorf("family %s: type %q, help %q", f.Name, f.Type, f.Help)
		}
		for _, sm := range f.Samples {
			p := promSample{name: sm[0].(string), labels: map[string]string{}}
			for k, v := range sm[1].(map[string]any) {
				p.labels[k] = v.(string)
			}
			p.value, _ = sm[2].(float64)
			id, _ := json.Marshal([]any{p.name, p.labels}) // map keys sorted: one id per series
			if seen[string(id)] {
				t.Errorf("series %s twice", id)
			}
			seen[string(id)] = true
			samples = append(samples, p)
		}
	}
	return samples, text
}

// metric returns the value of the series name with at least the labels
// given (name, value pairs); ok is false when there is none.
func metric(samples []promSample, name string, labels ...string) (v float64, ok bool) {
next:
	for _, s := range samples {
		if s.name != name {
			continue
		}
		for i := 0; i+1 < len(labels); i += 2 {
			if s.labels[labels[i]] != labels[i+1] {
				continue next
			}
		}
		return s.value, true
	}
	return 0, false
}

// TestMetrics: /metrics on the API port, with a published stream and
// players of four protocols (RTMP, HTTP-FLV, SRT, HLS), parsed by the real
// Prometheus parser; its counts match /api/v1/streams and /api/v1/clients.
func TestMetrics(t *testing.T) {
	needTools(t, "ffmpeg")
	t.Parallel()
	s := startServer(t, srtConf+hlsVhost("fragment = \"1s\"\n"))
	addr := srtAddr(t, s)
	name := streamName()
	s.publish(t, name, true)
	s.waitPublishing(t, name)

	const d = 20 * time.Second
	waits := []func() benchResult{
		startBench(t, 3, d, s.rtmpURL(name)),
		startBench(t, 2, d, s.flvURL(name)),
		startBench(t, 1, d, srtURL(addr, name, "request", "")),
	}
	// HLS viewers need a first segment: they join once the playlist is up.
	time.Sleep(2500 * time.Millisecond)
	waits = append(waits, startBench(t, 2, d-3*time.Second, "http://"+s.http+"/live/"+name+".m3u8"))
	waitPlayers(t, s, 8)
	// The kbps figures need two rounds of the API's sampler (every 5 s).
	deadline := time.Now().Add(15 * time.Second)
	for {
		var out struct {
			Stream struct {
				Kbps struct {
					Recv int `json:"recv_30s"`
				} `json:"kbps"`
			} `json:"stream"`
		}
		s.getJSON(t, "/api/v1/streams/"+s.streamID(t, name), &out)
		if out.Stream.Kbps.Recv > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the API shows no kbps after 15 s")
		}
		time.Sleep(200 * time.Millisecond)
	}

	samples, text := scrape(t, s)
	streams, clients := s.streams(t), s.clients(t)
	var st *apiStream
	for i := range streams {
		if streams[i].Name == name {
			st = &streams[i]
		}
	}
	if st == nil {
		t.Fatalf("stream %s not in the API", name)
	}
	lbl := []string{"vhost", "__defaultVhost__", "app", "live", "stream", name}
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"srs_streams", nil, float64(len(streams))},
		{"srs_clients", nil, float64(len(clients))},
		{"srs_stream_clients", lbl, float64(st.Clients)},
		{"srs_stream_publishing", lbl, 1},
	} {
		if v, ok := metric(samples, c.name, c.labels...); !ok || v != c.want {
			t.Errorf("%s = %v (present %v), the API says %v", c.name, v, ok, c.want)
		}
	}
	// Viewers by protocol, against the API's client types.
	byType := map[string]float64{}
	for _, c := range clients {
		// HLS viewers read no ring: the API names no stream id for them
		// (this server has one stream).
		if (c.Stream == st.ID || c.Type == "hls-play") && !c.Publish {
			byType[c.Type]++
		}
	}
	for proto, typ := range map[string]string{"rtmp": "rtmp-play", "flv": "flv-play", "srt": "srt-play"} {
		v, ok := metric(samples, "srs_stream_viewers", append(lbl, "proto", proto)...)
		if !ok || v != byType[typ] || v == 0 {
			t.Errorf("srs_stream_viewers{proto=%q} = %v (present %v), the API has %v %s clients", proto, v, ok, byType[typ], typ)
		}
	}
	// HLS viewers are hls_ctx sessions (the bench's HLS player starts a
	// new one with each playlist load, so there may be more than two).
	if v, ok := metric(samples, "srs_stream_viewers", append(lbl, "proto", "hls")...); !ok || v < 2 || v != byType["hls-play"] {
		t.Errorf("srs_stream_viewers{proto=\"hls\"} = %v (present %v), the API has %v hls-play clients", v, ok, byType["hls-play"])
	}
	var viewers float64
	for _, p := range samples {
		if p.name == "srs_stream_viewers" && p.labels["stream"] == name {
			viewers += p.value
		}
	}
	if viewers+1 != float64(st.Clients) {
		t.Errorf("viewers %v + the publisher != the API's %d clients", viewers, st.Clients)
	}
	// Traffic and frames flow; SRT and HLS say what they did.
	for _, m := range []struct {
		name   string
		labels []string
	}{
		{"srs_stream_recv_kbps", lbl}, {"srs_stream_send_kbps", lbl}, {"srs_stream_frames_total", lbl},
		{"srs_stream_video_frames_total", lbl}, {"srs_send_bytes_total", nil}, {"srs_receive_bytes_total", nil},
		{"srs_memory", nil}, {"srs_lite_srt_packets_sent_total", nil}, {"srs_lite_hls_segments", lbl},
		{"srs_lite_memory_go_bytes", nil},
	} {
		if v, ok := metric(samples, m.name, m.labels...); !ok || v <= 0 {
			t.Errorf("%s = %v (present %v), want > 0", m.name, v, ok)
		}
	}
	if v, ok := metric(samples, "srs_build_info", "code", "srs-lite"); !ok || v != 1 {
		t.Errorf("srs_build_info: %v %v", v, ok)
	}
	if v, ok := metric(samples, "srs_lite_srt_connections", "mode", "play"); !ok || v != 1 {
		t.Errorf("srs_lite_srt_connections{mode=play} = %v (present %v), want 1", v, ok)
	}
	t.Logf("/metrics: %d bytes, %d samples", len(text), len(samples))

	for _, w := range waits {
		if r := w(); r.Connected == 0 || r.Failed != 0 {
			t.Errorf("players: %+v", r)
		}
	}
}

// streamID returns the API's id of a stream.
func (s *srv) streamID(t *testing.T, name string) string {
	t.Helper()
	for _, st := range s.streams(t) {
		if st.Name == name {
			return st.ID
		}
	}
	t.Fatalf("stream %s not in the API", name)
	return ""
}

// TestMetricsAuth: /metrics follows the API's read policy: with
// [http_api.auth] read = true it needs the credentials.
func TestMetricsAuth(t *testing.T) {
	t.Parallel()
	s := startServer(t, "[http_api.auth]\ntoken = \"metrics-secret\"\nread = true\n")
	resp, err := http.Get("http://" + s.api + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("without the token: %s, want 401", resp.Status)
	}
	req, _ := http.NewRequest(http.MethodGet, "http://"+s.api+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer metrics-secret")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte("\nsrs_streams 0\n")) {
		t.Errorf("with the token: %s\n%s", resp.Status, body)
	}
}
