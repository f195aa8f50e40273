// Package test holds srs-lite's integration tests: the real binary on
// 127.0.0.1, driven by real peers (ffmpeg, ffprobe) and by the built-in
// bench tool. Tests that need a missing tool skip with a loud message; CI
// installs every tool, so nothing is skipped there.
package test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	binPath  string // the srs-lite binary under test
	tinyBin  bool   // binPath is a tiny build (no RTSP server, no WebRTC)
	fixture  string // a 10 s H.264+AAC FLV made by ffmpeg, 30 fps, 2 s GOP
	fixtureN = 300  // video frames in fixture
	workDir  string
)

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	var err error
	workDir, err = os.MkdirTemp("", "srs-lite-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(workDir)
	binPath = os.Getenv("SRS_LITE_BIN")
	if binPath == "" {
		binPath = filepath.Join(workDir, "srs-lite")
		cmd := exec.Command("go", "build", "-o", binPath, "../cmd/srs-lite")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "build:", err)
			return 1
		}
	}
	// A tiny binary has no RTSP server and no WebRTC: the servers are
	// started without them (make test runs the HTTP tests against one).
	if out, err := exec.Command(binPath, "-v").Output(); err == nil && strings.Contains(string(out), "(tiny)") {
		tinyBin = true
	}
	if _, err := exec.LookPath("ffmpeg"); err == nil {
		fixture = filepath.Join(workDir, "fixture.flv")
		cmd := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error",
			"-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30",
			"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
			"-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-profile:v", "high",
			"-g", "60", "-keyint_min", "60", "-sc_threshold", "0", "-b:v", "1M", "-maxrate", "1M", "-bufsize", "1M",
			"-c:a", "aac", "-b:a", "64k", "-t", "10", "-f", "flv", fixture)
		cmd.Stderr = os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "making the fixture with ffmpeg:", err)
			return 1
		}
	}
	return m.Run()
}

// needTools skips the test, loudly, when a tool is missing.
func needTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("SKIPPED: %s is not installed (Debian/Ubuntu: apt-get install ffmpeg; `make test` installs it when run as root)", tool)
		}
	}
}

// srv is a running srs-lite.
type srv struct {
	t      *testing.T
	cmd    *exec.Cmd
	rtmp   string // host:port
	rtsp   string
	rtc    string // UDP host:port of WebRTC
	api    string
	http   string
	conf   string
	mu     sync.Mutex
	logbuf bytes.Buffer
	done   chan struct{}
}

// startServer runs the binary with the given extra TOML (appended to a
// config that puts every listener on 127.0.0.1:0).
func startServer(t *testing.T, extra string) *srv {
	t.Helper()
	return startServerEnv(t, extra, nil)
}

// startServerEnv is startServer with more environment variables for the
// server (later ones win: "PATH=..." hides the test tools from it).
func startServerEnv(t *testing.T, extra string, env []string) *srv {
	t.Helper()
	dir := t.TempDir()
	conf := filepath.Join(dir, "srs-lite.toml")
	body := `[log]
level = "info"
[rtmp]
listen = "127.0.0.1:0"
[http_api]
listen = "127.0.0.1:0"
[http_server]
listen = "127.0.0.1:0"
dir = "` + dir + `"
`
	if !strings.Contains(extra, "[srt]") {
		// SRT is on by default: on a free port, so that servers of tests
		// in parallel do not collide. A test with its own [srt] table
		// sets its listen address.
		body += "[srt]\nlisten = \"127.0.0.1:0\"\n"
	}
	if !strings.Contains(extra, "[rtsp]") && !tinyBin {
		body += "[rtsp]\nlisten = \"127.0.0.1:0\"\n" // on by default too
	}
	if !strings.Contains(extra, "[rtc]") && !tinyBin {
		// WebRTC is on by default too (UDP and TCP): on a free port.
		body += "[rtc]\nlisten = \"127.0.0.1:0\"\n"
	}
	body += extra
	if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binPath, "-c", conf)
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	return launch(t, cmd, conf, "server", 10*time.Second)
}

// launch starts cmd, a server running with the config file conf, keeps its
// log, and returns once its "srs-lite started" line names the bound
// addresses; the test fails if it exits or takes longer than wait. what
// names it in failures.
func launch(t *testing.T, cmd *exec.Cmd, conf, what string, wait time.Duration) *srv {
	t.Helper()
	s := &srv{t: t, conf: conf, done: make(chan struct{}), cmd: cmd}
	stderr, err := s.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	started := make(chan string, 1)
	go func() {
		defer close(s.done)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64*1024), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			s.mu.Lock()
			s.logbuf.WriteString(line + "\n")
			s.mu.Unlock()
			if strings.Contains(line, "srs-lite started") {
				select {
				case started <- line:
				default:
				}
			}
		}
	}()
	t.Cleanup(func() { s.stop() })
	select {
	case line := <-started:
		s.rtmp = field(line, "rtmp")
		s.api = field(line, "http_api")
		s.http = field(line, "http_server")
		s.rtsp = field(line, "rtsp")
		s.rtc = field(line, "rtc")
	case <-s.done:
		t.Fatalf("%s exited at start:\n%s", what, s.logs())
	case <-time.After(wait):
		t.Fatalf("%s did not start within %s:\n%s", what, wait, s.logs())
	}
	return s
}

var fieldRE sync.Map // key -> *regexp.Regexp; parallel tests share it

func field(line, key string) string {
	v, ok := fieldRE.Load(key)
	if !ok {
		v, _ = fieldRE.LoadOrStore(key, regexp.MustCompile(`\b`+key+`=(\S+)`))
	}
	m := v.(*regexp.Regexp).FindStringSubmatch(line)
	if m == nil {
		return ""
	}
	return m[1]
}

func (s *srv) logs() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logbuf.String()
}

func (s *srv) stop() {
	if s.cmd.ProcessState != nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		s.t.Errorf("server did not exit within 10 s of SIGTERM")
	}
	_ = s.cmd.Wait()
	if strings.Contains(s.logs(), "panic") {
		s.t.Errorf("server log has a panic:\n%s", s.logs())
	}
	if s.t.Failed() {
		s.t.Logf("server log:\n%s", tail(s.logs(), 60))
	}
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func streamName() string { return fmt.Sprintf("s%06d", rand.IntN(1000000)) }

func (s *srv) rtmpURL(stream string) string { return "rtmp://" + s.rtmp + "/live/" + stream }
func (s *srv) flvURL(stream string) string  { return "http://" + s.http + "/live/" + stream + ".flv" }

// publish runs ffmpeg publishing the fixture (looped forever when loop)
// until the test ends or the returned stop is called.
func (s *srv) publish(t *testing.T, stream string, loop bool) (*exec.Cmd, func()) {
	t.Helper()
	args := []string{"-hide_banner", "-loglevel", "error", "-re"}
	if loop {
		args = append(args, "-stream_loop", "-1")
	}
	args = append(args, "-i", fixture, "-c", "copy", "-f", "flv", s.rtmpURL(stream))
	cmd := exec.Command("ffmpeg", args...)
	return cmd, startProcess(t, cmd)
}

// startProcess starts cmd (its stderr kept in memory unless set) and
// returns stop, which interrupts it (SIGINT, then SIGKILL after 5 s) and
// waits for it; stop runs at the end of the test too.
func startProcess(t *testing.T, cmd *exec.Cmd) (stop func()) {
	t.Helper()
	if cmd.Stderr == nil {
		cmd.Stderr = &bytes.Buffer{}
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			_ = cmd.Process.Signal(syscall.SIGINT)
			done := make(chan struct{})
			go func() { _ = cmd.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				_ = cmd.Process.Kill()
				<-done
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// waitPublishing polls the API until the stream is published.
func (s *srv) waitPublishing(t *testing.T, stream string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for _, st := range s.streams(t) {
			if st.Name == stream && st.Publish.Active {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("stream %s was not published within 10 s", stream)
}

type apiStream struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	App     string `json:"app"`
	Clients int    `json:"clients"`
	Frames  uint64 `json:"frames"`
	Publish struct {
		Active bool   `json:"active"`
		CID    string `json:"cid"`
	} `json:"publish"`
	Video *struct {
		Codec  string `json:"codec"`
		Width  int    `json:"width"`
		Height int    `json:"height"`
	} `json:"video"`
	Audio *struct {
		Codec      string `json:"codec"`
		SampleRate int    `json:"sample_rate"`
	} `json:"audio"`
}

type apiClient struct {
	ID      string `json:"id"`
	Stream  string `json:"stream"`
	Type    string `json:"type"`
	Publish bool   `json:"publish"`
	Send    uint64 `json:"send_bytes"`
}

func (s *srv) streams(t *testing.T) []apiStream {
	var out struct {
		Code    int         `json:"code"`
		Streams []apiStream `json:"streams"`
	}
	s.getJSON(t, "/api/v1/streams?count=100", &out)
	return out.Streams
}

func (s *srv) clients(t *testing.T) []apiClient {
	var out struct {
		Code    int         `json:"code"`
		Clients []apiClient `json:"clients"`
	}
	s.getJSON(t, "/api/v1/clients?count=1000", &out)
	return out.Clients
}

func (s *srv) getJSON(t *testing.T, path string, v any) {
	t.Helper()
	resp, err := http.Get("http://" + s.api + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("GET %s: %v: %s", path, err, b)
	}
}

// probe is what ffprobe says of a URL.
type probe struct {
	Streams []struct {
		CodecType     string `json:"codec_type"`
		CodecName     string `json:"codec_name"`
		Width         int    `json:"width"`
		Height        int    `json:"height"`
		SampleRate    string `json:"sample_rate"`
		NbReadPackets string `json:"nb_read_packets"`
		NbReadFrames  string `json:"nb_read_frames"`
	} `json:"streams"`
	Format struct {
		ProbeScore int `json:"probe_score"`
	} `json:"format"`
}

func ffprobe(t *testing.T, ctx context.Context, url string, extra ...string) probe {
	t.Helper()
	args := append([]string{"-v", "error", "-show_streams", "-show_format", "-of", "json"}, extra...)
	args = append(args, url)
	out, err := exec.CommandContext(ctx, "ffprobe", args...).Output()
	if err != nil {
		var ee *exec.ExitError
		msg := ""
		if errorsAs(err, &ee) {
			msg = string(ee.Stderr)
		}
		t.Fatalf("ffprobe %s: %v %s", url, err, msg)
	}
	var p probe
	if err := json.Unmarshal(out, &p); err != nil {
		t.Fatalf("ffprobe output: %v: %s", err, out)
	}
	return p
}

func errorsAs(err error, target **exec.ExitError) bool {
	e, ok := err.(*exec.ExitError)
	if ok {
		*target = e
	}
	return ok
}

// benchResult is the JSON summary of `srs-lite bench play -json`.
type benchResult struct {
	Players     int     `json:"players"`
	Connected   int     `json:"connected"`
	Failed      int     `json:"failed"`
	Frames      uint64  `json:"frames"`
	BitrateKbps float64 `json:"bitrate_kbps"`
	Stalls      int     `json:"stalls"`
	TTFF        struct {
		P50 float64 `json:"p50"`
		P95 float64 `json:"p95"`
		Max float64 `json:"max"`
	} `json:"ttff_ms"`
	Errors []string `json:"errors"`
}

func runBench(t *testing.T, n int, d time.Duration, url string) benchResult {
	t.Helper()
	return startBench(t, n, d, url)()
}

// startBench runs `srs-lite bench play` in the background; wait returns its
// summary once it has ended.
func startBench(t *testing.T, n int, d time.Duration, url string) (wait func() benchResult) {
	t.Helper()
	cmd := exec.Command(binPath, "bench", "play", "-n", fmt.Sprint(n), "-d", d.String(), "-json", url)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return func() benchResult {
		t.Helper()
		_ = cmd.Wait() // exit 1 on failures: the JSON says which
		var r benchResult
		if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
			t.Fatalf("bench output: %v\nstdout: %s\nstderr: %s", err, stdout.String(), stderr.String())
		}
		return r
	}
}

// liveServer starts a server with a stream published by ffmpeg, looping the
// fixture, and returns them once the stream is live.
func liveServer(t *testing.T) (*srv, string) {
	t.Helper()
	s := startServer(t, "")
	name := streamName()
	s.publish(t, name, true)
	s.waitPublishing(t, name)
	return s, name
}
