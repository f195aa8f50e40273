package test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/websocket"
)

// TestConsole loads the web console from the binary in headless Chromium,
// with a stream published by ffmpeg and a viewer playing it: the dashboard
// shows the version, the streams page lists the stream with its resolution,
// a snapshot preview and the viewer, the live preview (HTTP-FLV through the
// vendored mpegts.js) decodes frames, the kick buttons remove the viewer
// and then the publisher. Every URL the page requests must be on the box
// (its API and HTTP ports); screenshots at phone and laptop sizes are kept
// as artefacts. It measures the first contentful paint (p50 of 5 loads).
func TestConsole(t *testing.T) {
	needTools(t, "ffmpeg")
	chrome := findChromium(t)
	s, name := liveServer(t)
	viewer := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-i", s.flvURL(name), "-c", "copy", "-f", "null", "-")
	startProcess(t, viewer)
	var ver struct{ Data struct{ Version string } }
	s.getJSON(t, "/api/v1/versions", &ver)

	var env struct{ Features []string }
	s.getJSON(t, "/console/env.json", &env)
	webrtc := slices.Contains(env.Features, "webrtc")

	cdp := startCDP(t, chrome)
	base := "http://" + s.api + "/console/"
	art := artefactDir(t)

	// First paint, on fresh loads (no cache: the user data dir is new, and
	// every answer is revalidated).
	cdp.call(t, "Emulation.setDeviceMetricsOverride", map[string]any{"width": 1366, "height": 768, "deviceScaleFactor": 1, "mobile": false})
	var fps, fcps []float64
	for i := 0; i < 5; i++ {
		cdp.call(t, "Network.setCacheDisabled", map[string]any{"cacheDisabled": true})
		cdp.call(t, "Page.navigate", map[string]any{"url": base + "?load=" + strconv.Itoa(i) + "#/dashboard"})
		cdp.waitFor(t, "the dashboard shows the version",
			fmt.Sprintf(`document.getElementById('d-version').textContent === %q`, ver.Data.Version))
		cdp.waitFor(t, "the paint timings are there", `performance.getEntriesByType('paint').length >= 2`)
		v := cdp.eval(t, `(() => { const p = performance.getEntriesByType('paint');
		  const f = (n) => (p.find(e => e.name === n) || {}).startTime || -1; return [f('first-paint'), f('first-contentful-paint')]; })()`)
		if a, ok := v.([]any); ok && len(a) == 2 {
			fp, _ := a[0].(float64)
			fcp, _ := a[1].(float64)
			fps, fcps = append(fps, fp), append(fcps, fcp)
		}
	}
	cdp.call(t, "Network.setCacheDisabled", map[string]any{"cacheDisabled": false})
	sort.Float64s(fps)
	sort.Float64s(fcps)
	if len(fcps) == 5 {
		t.Logf("console first paint p50 %.0f ms, first contentful paint p50 %.0f ms (5 loads: FP %v, FCP %v)", fps[2], fcps[2], fps, fcps)
	}

	// Laptop first, then a phone.
	sizes := []struct {
		name          string
		width, height int
		mobile        bool
	}{{"laptop", 1366, 768, false}, {"phone", 390, 844, true}}
	for _, sz := range sizes {
		cdp.call(t, "Emulation.setDeviceMetricsOverride", map[string]any{
			"width": sz.width, "height": sz.height, "deviceScaleFactor": 1, "mobile": sz.mobile})

		cdp.call(t, "Page.navigate", map[string]any{"url": base + "#/dashboard"})
		cdp.waitFor(t, "the dashboard shows the version",
			fmt.Sprintf(`document.getElementById('d-version').textContent === %q && document.getElementById('d-board').textContent !== '…'`, ver.Data.Version))
		// Let the bandwidth chart gather a few points.
		cdp.waitFor(t, "the bandwidth chart draws", `document.getElementById('d-line-in').getAttribute('points').split(' ').length >= 3`)

		cdp.call(t, "Page.navigate", map[string]any{"url": base + "#/streams"})
		cdp.waitFor(t, "the stream is listed with its resolution",
			fmt.Sprintf(`(() => { const c = [...document.querySelectorAll('.stream')].find(c => c.querySelector('.name').textContent === 'live/%s');
			  return !!c && c.querySelector('.codecs').textContent.includes('640×360') && c.querySelector('.viewers summary').textContent.startsWith('1 viewer'); })()`, name))
		cdp.waitFor(t, "the snapshot preview shows", `(() => { const i = document.querySelector('.stream .preview img'); return !!i && !i.hidden && i.naturalWidth === 640; })()`)
		urls := cdp.eval(t, `[...document.querySelectorAll('.urls .url')].map(e => e.textContent).join('\n')`)
		for _, want := range []string{s.rtmpURL(name), s.flvURL(name), "srt://"} {
			if !strings.Contains(fmt.Sprint(urls), want) {
				t.Errorf("copy-ready URLs %q lack %q", urls, want)
			}
		}
		if strings.Contains(fmt.Sprint(urls), "/rtc/v1/whep/?app=live&stream="+name) != webrtc {
			t.Errorf("copy-ready URLs %q: WHEP URL shown %v, the build has WebRTC %v", urls, !webrtc, webrtc)
		}
	}

	// The live preview: HTTP-FLV through mpegts.js, loaded when it opens
	// (?preview=flv skips WHEP in a build with WebRTC: TestConsoleWHEP).
	cdp.call(t, "Page.navigate", map[string]any{"url": base + "?preview=flv#/streams"})
	cdp.waitFor(t, "the stream is listed", `!!document.querySelector('.stream .preview .play:not([hidden])')`)
	if cdp.eval(t, `!!window.mpegts`) == true {
		t.Error("mpegts.js loaded before any preview opened")
	}
	cdp.eval(t, `document.querySelector('.stream .preview .play').click()`)
	cdp.waitFor(t, "the live preview decodes frames", `(() => { const v = document.querySelector('.stream .preview video');
	  return !!v && v.getVideoPlaybackQuality().totalVideoFrames > 10 && v.currentTime > 0.5 && v.videoWidth === 640; })()`)
	q := cdp.eval(t, `(() => { const v = document.querySelector('.stream .preview video'); return v.getVideoPlaybackQuality().totalVideoFrames + ' frames, ' + v.currentTime.toFixed(1) + ' s'; })()`)
	t.Logf("live preview in Chromium: %v", q)
	cdp.eval(t, `document.querySelectorAll('details').forEach(d => d.open = true)`)
	cdp.screenshot(t, filepath.Join(art, "console-streams-preview-phone.png"))
	cdp.eval(t, `document.querySelector('.stream .preview .play').click()`)
	cdp.waitFor(t, "the preview stops", `!document.querySelector('.stream .preview video')`)

	// A preview that cannot play falls back to the snapshots.
	cdp.eval(t, `window.mpegts.__real = window.mpegts.getFeatureList; window.mpegts.getFeatureList = () => ({ mseLivePlayback: false });
	  document.querySelector('.stream .preview .play').click()`)
	cdp.waitFor(t, "a failed preview falls back to snapshots", `(() => { const c = document.querySelector('.stream');
	  return !c.querySelector('video') && c.querySelector('.nopreview').textContent.startsWith('live preview failed'); })()`)
	cdp.waitFor(t, "the snapshot comes back", `(() => { const i = document.querySelector('.stream .preview img'); return !i.hidden && i.naturalWidth === 640; })()`)
	cdp.eval(t, `window.mpegts.getFeatureList = window.mpegts.__real`)

	// Kick the viewer from the page, then the publisher.
	cdp.eval(t, `window.confirm = () => true; [...document.querySelectorAll('.viewers button.kick')][0].click()`)
	cdp.waitFor(t, "the kicked viewer leaves the list", `document.querySelector('.stream .viewers summary').textContent.startsWith('0 viewers')`)
	cdp.eval(t, `document.querySelector('.stream .publisher button.kick').click()`)
	cdp.waitFor(t, "the kicked publisher's stream leaves the list", fmt.Sprintf(`![...document.querySelectorAll('.stream .name')].some(e => e.textContent === 'live/%s' &&
	  e.closest('.stream').querySelector('.publisher button.kick'))`, name))

	// Nothing but the box: its API port, and its HTTP port for the preview.
	for _, u := range cdp.requested() {
		if !strings.HasPrefix(u, "http://"+s.api+"/") && !strings.HasPrefix(u, "http://"+s.http+"/") &&
			!strings.HasPrefix(u, "blob:http://"+s.api+"/") && !strings.HasPrefix(u, "data:") {
			t.Errorf("the console requested %s, outside the box", u)
		}
	}
	t.Logf("the console made %d requests, all to %s and %s", len(cdp.requested()), s.api, s.http)

	// The console's weight on the wire.
	var raw, gz int
	for _, f := range []string{"", "app.js", "style.css", "icon.svg"} {
		raw += fetchLen(t, base+f, "identity")
		gz += fetchLen(t, base+f, "gzip")
	}
	mr, mg := fetchLen(t, base+"vendor/mpegts.js", "identity"), fetchLen(t, base+"vendor/mpegts.js", "gzip")
	t.Logf("console assets: %d bytes raw, %d gzipped; mpegts.js (loaded with the first preview) %d raw, %d gzipped", raw, gz, mr, mg)
}

func fetchLen(t *testing.T, url, enc string) int {
	req, _ := http.NewRequest("GET", url, nil)
	if enc != "" {
		req.Header.Set("Accept-Encoding", enc)
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "default-src 'self'") {
		t.Errorf("%s: %s, CSP %q", url, resp.Status, resp.Header.Get("Content-Security-Policy"))
	}
	n, _ := strconv.Atoi(resp.Header.Get("Content-Length"))
	return n
}

// artefactDir is where the test keeps screenshots: $SRS_LITE_ARTEFACTS, or
// a folder under the system's temp dir that outlives the test.
func artefactDir(t *testing.T) string {
	dir := os.Getenv("SRS_LITE_ARTEFACTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "srs-lite-artefacts")
	}
	dir = filepath.Join(dir, "console")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// cdp is a page of headless Chromium driven over the DevTools protocol.
type cdp struct {
	ws      *websocket.Conn
	mu      sync.Mutex
	next    int
	waiting map[int]chan json.RawMessage
	urls    []string
}

type cdpMsg struct {
	ID     int             `json:"id,omitempty"`
	Method string          `json:"method,omitempty"`
	Params json.RawMessage `json:"params,omitempty"`
	Result json.RawMessage `json:"result,omitempty"`
	Error  *struct {
		Message string `json:"message"`
	} `json:"error,omitempty"`
}

// startCDP starts Chromium on about:blank with a DevTools port, attaches to
// its page and records every URL the page requests.
func startCDP(t *testing.T, chrome string, flags ...string) *cdp {
	t.Helper()
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	args := append([]string{"--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
		"--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-default-apps", "--disable-extensions", "--mute-audio", "--hide-scrollbars",
		"--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0", "--remote-allow-origins=*",
		"--user-data-dir=" + dir}, flags...)
	cmd := exec.CommandContext(ctx, chrome, append(args, "about:blank")...)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })
	var port string
	for deadline := time.Now().Add(20 * time.Second); port == ""; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("chromium opened no DevTools port:\n%s", tail(out.String(), 20))
		}
		if b, err := os.ReadFile(filepath.Join(dir, "DevToolsActivePort")); err == nil {
			port, _, _ = strings.Cut(string(b), "\n")
		}
	}
	var targets []struct{ Type, WebSocketDebuggerURL string }
	for i := 0; ; i++ {
		resp, err := http.Get("http://127.0.0.1:" + port + "/json/list")
		if err == nil {
			err = json.NewDecoder(resp.Body).Decode(&targets)
			resp.Body.Close()
		}
		if err != nil && i > 50 {
			t.Fatal(err)
		}
		if len(targets) > 0 && targets[0].Type == "page" || i > 50 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	var wsURL string
	for _, tg := range targets {
		if tg.Type == "page" {
			wsURL = tg.WebSocketDebuggerURL
		}
	}
	if wsURL == "" {
		t.Fatalf("no page target in %+v", targets)
	}
	ws, err := websocket.Dial(wsURL, "", "http://127.0.0.1/")
	if err != nil {
		t.Fatal(err)
	}
	ws.MaxPayloadBytes = 64 << 20
	c := &cdp{ws: ws, waiting: map[int]chan json.RawMessage{}}
	t.Cleanup(func() { ws.Close() })
	go c.read()
	c.call(t, "Page.enable", nil)
	c.call(t, "Network.enable", nil)
	c.call(t, "Runtime.enable", nil)
	return c
}

func (c *cdp) read() {
	for {
		var m cdpMsg
		if err := websocket.JSON.Receive(c.ws, &m); err != nil {
			c.mu.Lock()
			for id, ch := range c.waiting {
				close(ch)
				delete(c.waiting, id)
			}
			c.mu.Unlock()
			return
		}
		c.mu.Lock()
		switch {
		case m.ID != 0:
			if ch, ok := c.waiting[m.ID]; ok {
				res := m.Result
				if m.Error != nil {
					res, _ = json.Marshal(map[string]string{"cdpError": m.Error.Message})
				}
				ch <- res
				delete(c.waiting, m.ID)
			}
		case m.Method == "Network.requestWillBeSent":
			var p struct{ Request struct{ URL string } }
			if json.Unmarshal(m.Params, &p) == nil {
				c.urls = append(c.urls, p.Request.URL)
			}
		}
		c.mu.Unlock()
	}
}

// call sends a DevTools command and returns its result.
func (c *cdp) call(t *testing.T, method string, params any) json.RawMessage {
	t.Helper()
	c.mu.Lock()
	c.next++
	id := c.next
	ch := make(chan json.RawMessage, 1)
	c.waiting[id] = ch
	c.mu.Unlock()
	msg := map[string]any{"id": id, "method": method}
	if params != nil {
		msg["params"] = params
	}
	if err := websocket.JSON.Send(c.ws, msg); err != nil {
		t.Fatal(err)
	}
	select {
	case res, ok := <-ch:
		if !ok {
			t.Fatalf("%s: chromium went away", method)
		}
		if strings.HasPrefix(string(res), `{"cdpError"`) {
			t.Fatalf("%s: %s", method, res)
		}
		return res
	case <-time.After(30 * time.Second):
		t.Fatalf("%s: no answer in 30 s", method)
	}
	return nil
}

// eval evaluates a JavaScript expression in the page and returns its value.
func (c *cdp) eval(t *testing.T, expr string) any {
	t.Helper()
	res := c.call(t, "Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true, "awaitPromise": true})
	var r struct {
		Result struct {
			Value any
		}
		ExceptionDetails *struct {
			Text      string
			Exception struct{ Description string }
		}
	}
	if err := json.Unmarshal(res, &r); err != nil {
		t.Fatal(err)
	}
	if r.ExceptionDetails != nil {
		t.Fatalf("%s: %s %s", expr, r.ExceptionDetails.Text, r.ExceptionDetails.Exception.Description)
	}
	return r.Result.Value
}

// waitFor waits up to 30 s for expr to be true in the page.
func (c *cdp) waitFor(t *testing.T, what, expr string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		res := c.call(t, "Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true})
		var r struct{ Result struct{ Value any } }
		_ = json.Unmarshal(res, &r)
		if r.Result.Value == true {
			return
		}
		if time.Now().After(deadline) {
			body := c.eval(t, `document.body.innerText`)
			t.Fatalf("%s: not within 30 s; the page shows:\n%v", what, body)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// screenshot saves the page as a PNG.
func (c *cdp) screenshot(t *testing.T, file string) {
	t.Helper()
	res := c.call(t, "Page.captureScreenshot", map[string]any{"format": "png", "captureBeyondViewport": true})
	var r struct{ Data string }
	if err := json.Unmarshal(res, &r); err != nil {
		t.Fatal(err)
	}
	b, err := base64.StdEncoding.DecodeString(r.Data)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, b, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s (%d bytes)", file, len(b))
}

func (c *cdp) requested() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.urls...)
}

// TestConsoleAuth: the console's page, script and style hold no data and
// are served to anybody (the page shows its own login form); its env and
// the API follow the read policy: with [http_api.auth] read = true they
// need the credentials, and a request of the page's script (X-Requested-With)
// gets its 401 without a challenge, so that the browser opens no prompt of
// its own.
func TestConsoleAuth(t *testing.T) {
	t.Parallel()
	s := startServer(t, "[http_api.auth]\nusername = \"admin\"\npassword = \"secret-pass\"\nread = true\n")
	get := func(p string, hdr ...string) *http.Response {
		req, _ := http.NewRequest("GET", "http://"+s.api+p, nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	for _, p := range []string{"/console/", "/console/app.js", "/console/style.css", "/console/vendor/mpegts.js"} {
		if resp := get(p); resp.StatusCode != http.StatusOK {
			t.Errorf("%s without credentials: %s", p, resp.Status)
		}
	}
	for _, p := range []string{"/console/env.json", "/api/v1/summaries"} {
		resp := get(p)
		if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic") {
			t.Errorf("%s without credentials: %s, WWW-Authenticate %q", p, resp.Status, resp.Header.Get("WWW-Authenticate"))
		}
		resp = get(p, "X-Requested-With", "srs-lite-console")
		if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") != "" {
			t.Errorf("%s from the page's script: %s, WWW-Authenticate %q", p, resp.Status, resp.Header.Get("WWW-Authenticate"))
		}
		if resp := get(p, "Authorization", "Basic YWRtaW46c2VjcmV0LXBhc3M="); resp.StatusCode != http.StatusOK {
			t.Errorf("%s with credentials: %s", p, resp.Status)
		}
	}
	open := startServer(t, "")
	resp, err := http.Get("http://" + open.api + "/console")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/console/" {
		t.Errorf("/console: %s at %s", resp.Status, resp.Request.URL.Path)
	}
}

// TestConsoleLogsAndConfig: the logs page shows the publish line of the
// test's stream, filtered by its publisher's cid; the config page shows
// the TOML; a config with an error is checked, the error shown at its line
// (listed, marked in the gutter, the cursor on it) and nothing applied; a
// valid change (the log level) is applied through the transaction.
func TestConsoleLogsAndConfig(t *testing.T) {
	chrome := findChromium(t)
	needTools(t, "ffmpeg")
	s, name := liveServer(t)
	var cid string
	for _, c := range s.clients(t) {
		if c.Publish {
			cid = c.ID
		}
	}
	if cid == "" {
		t.Fatal("no publisher in /api/v1/clients")
	}
	cdp := startCDP(t, chrome)
	base := "http://" + s.api + "/console/"
	art := artefactDir(t)
	cdp.call(t, "Emulation.setDeviceMetricsOverride", map[string]any{"width": 1280, "height": 800, "deviceScaleFactor": 1, "mobile": false})

	// Logs, filtered by the publisher's cid.
	cdp.call(t, "Page.navigate", map[string]any{"url": base + "#/logs"})
	cdp.waitFor(t, "the logs page shows lines", `document.querySelectorAll('#l-lines div').length > 0`)
	cdp.eval(t, fmt.Sprintf(`{ const c = document.getElementById('l-cid'); c.value = %q; c.dispatchEvent(new Event('change')); }`, cid))
	cdp.waitFor(t, "the publish line of the stream shows, and only its connection's lines",
		fmt.Sprintf(`(() => { const ls = [...document.querySelectorAll('#l-lines div')];
		  return ls.length > 0 && ls.every(l => l.dataset.cid === %q) && ls.some(l => l.textContent.includes('rtmp: publish') && l.textContent.includes(%q)); })()`, cid, name))
	cdp.screenshot(t, filepath.Join(art, "console-logs-laptop.png"))
	// A new line arrives by polling: the viewer's connection, at warn and
	// up there is none of it.
	cdp.eval(t, `{ const l = document.getElementById('l-level'); l.value = 'error'; l.dispatchEvent(new Event('change')); }`)
	cdp.waitFor(t, "level error hides the info lines", `document.querySelectorAll('#l-lines div').length === 0 && !document.getElementById('l-empty').hidden`)

	// Config: the TOML in the editor.
	var before struct {
		Data struct {
			Config struct {
				RTMP struct {
					ChunkSize int `json:"chunk_size"`
				} `json:"rtmp"`
				Log struct{ Level string } `json:"log"`
			} `json:"config"`
		} `json:"data"`
	}
	s.getJSON(t, "/api/v1/config", &before)
	fileBefore, err := os.ReadFile(s.conf)
	if err != nil {
		t.Fatal(err)
	}
	cdp.call(t, "Page.navigate", map[string]any{"url": base + "#/config"})
	cdp.waitFor(t, "the config page shows the TOML", `(() => { const v = document.getElementById('c-editor').value;
	  return v.includes('[rtmp]') && /chunk_size = 60000/.test(v) && document.getElementById('c-gutter').childElementCount === v.split('\n').length; })()`)

	// An error: checked, shown at its line, not applied.
	line := cdp.eval(t, `(() => { const ed = document.getElementById('c-editor');
	  ed.value = ed.value.replace(/chunk_size = 60000/, 'chunk_size = 1'); ed.dispatchEvent(new Event('input'));
	  return ed.value.split('\n').findIndex(l => l.trim() === 'chunk_size = 1') + 1; })()`)
	n, _ := line.(float64)
	if n < 1 {
		t.Fatalf("chunk_size line %v", line)
	}
	cdp.eval(t, `document.getElementById('c-check').click()`)
	cdp.waitFor(t, "the error is listed at its line, marked in the gutter, with the cursor on it",
		fmt.Sprintf(`(() => { const p = document.querySelector('#c-problems li'); const ed = document.getElementById('c-editor');
		  const start = ed.value.split('\n').slice(0, %[1]d - 1).reduce((n, l) => n + l.length + 1, 0);
		  return !!p && p.dataset.line === '%[1]d' && p.textContent.includes('rtmp.chunk_size') &&
		    document.querySelector('#c-gutter span.err') === document.getElementById('c-gutter').children[%[1]d - 1] &&
		    ed.selectionStart === start && document.getElementById('c-msg').classList.contains('bad'); })()`, int(n)))
	cdp.screenshot(t, filepath.Join(art, "console-config-error-laptop.png"))
	var after struct {
		Data struct {
			Config struct {
				RTMP struct {
					ChunkSize int `json:"chunk_size"`
				} `json:"rtmp"`
				Log struct{ Level string } `json:"log"`
			} `json:"config"`
		} `json:"data"`
	}
	s.getJSON(t, "/api/v1/config", &after)
	if after.Data.Config.RTMP.ChunkSize != before.Data.Config.RTMP.ChunkSize || after.Data.Config.RTMP.ChunkSize != 60000 {
		t.Errorf("chunk_size %d after a failed check, was %d", after.Data.Config.RTMP.ChunkSize, before.Data.Config.RTMP.ChunkSize)
	}
	if b, _ := os.ReadFile(s.conf); string(b) != string(fileBefore) {
		t.Errorf("the config file changed after a check:\n%s", b)
	}

	// A valid change, applied.
	if before.Data.Config.Log.Level != "info" {
		t.Fatalf("log level %q before", before.Data.Config.Log.Level)
	}
	cdp.eval(t, `(() => { const ed = document.getElementById('c-editor');
	  ed.value = ed.value.replace(/chunk_size = 1\n/, 'chunk_size = 60000\n').replace(/(\[log\][^\[]*?level = )"info"/, '$1"debug"');
	  ed.dispatchEvent(new Event('input')); document.getElementById('c-check').click(); })()`)
	cdp.waitFor(t, "the valid config checks", `document.getElementById('c-msg').textContent.includes('valid') && document.querySelectorAll('#c-problems li').length === 0`)
	cdp.eval(t, `document.getElementById('c-apply').click()`)
	cdp.waitFor(t, "the config is applied", `document.getElementById('c-msg').textContent.startsWith('applied')`)
	s.getJSON(t, "/api/v1/config", &after)
	if after.Data.Config.Log.Level != "debug" {
		t.Errorf("log level %q after apply", after.Data.Config.Log.Level)
	}
	cdp.waitFor(t, "the editor shows the config in force", `/\[log\][^\[]*?level = "debug"/.test(document.getElementById('c-editor').value)`)
	cdp.waitFor(t, "the last good config can be restored", `!document.getElementById('c-restore').disabled`)
	cdp.screenshot(t, filepath.Join(art, "console-config-laptop.png"))
}

// consolePages are the console's pages and what each shows once loaded.
var consolePages = []struct{ name, ready string }{
	{"dashboard", `document.getElementById('d-version').textContent !== '…' && document.getElementById('d-line-in').getAttribute('points').split(' ').length >= 2`},
	{"streams", `[...document.querySelectorAll('.stream .codecs')].some(e => e.textContent.includes('×')) && [...document.querySelectorAll('#s-list .preview img')].some(i => !i.hidden)`},
	{"cameras", `document.querySelectorAll('#i-list .ingest').length > 0 && [...document.querySelectorAll('#i-list .state')].every(e => e.textContent === 'running') &&
	  [...document.querySelectorAll('#i-list .preview img')].some(i => !i.hidden) && (document.querySelectorAll('#p-list .ptz').length > 0) &&
	  (!document.getElementById('v-empty').hidden || document.querySelectorAll('#v-list .card').length > 0)`},
	{"recordings", `document.querySelectorAll('#r-list tr').length > 0`},
	{"logs", `document.querySelectorAll('#l-lines div').length > 0`},
	{"config", `document.getElementById('c-editor').value.includes('[rtmp]')`},
}

// TestConsolePages loads every page of the console with a stream
// published, a camera ingest running, a recording on disk and a serial PTZ
// port, at phone (390x844) and laptop (1366x768) sizes, light and dark,
// and saves a screenshot of each: console-PAGE-SIZE-SCHEME.png.
func TestConsolePages(t *testing.T) {
	needTools(t, "ffmpeg")
	chrome := findChromium(t)
	ptyMaster, pty := openPTY(t)
	dir := t.TempDir()
	s := startServer(t, fmt.Sprintf(`
[[ingest]]
name = "door"
input = %q

[[serial]]
name = "door"
device = %q
protocol = "pelco-d"
address = 1

[[vhost]]
name = "__defaultVhost__"
[vhost.dvr]
enabled = true
path = "%s/dvr/[app]/[stream].[timestamp].flv"
`, fixture, pty, dir))
	recordShort(t, s, "recorded")
	s.waitPublishing(t, "door")
	name := streamName()
	s.publish(t, name, true)
	s.waitPublishing(t, name)

	cdp := startCDP(t, chrome)
	base := "http://" + s.api + "/console/"
	art := artefactDir(t)
	for _, scheme := range []string{"light", "dark"} {
		cdp.call(t, "Emulation.setEmulatedMedia", map[string]any{"features": []map[string]string{{"name": "prefers-color-scheme", "value": scheme}}})
		for _, sz := range []struct {
			name          string
			width, height int
			mobile        bool
		}{{"phone", 390, 844, true}, {"laptop", 1366, 768, false}} {
			cdp.call(t, "Emulation.setDeviceMetricsOverride", map[string]any{
				"width": sz.width, "height": sz.height, "deviceScaleFactor": 1, "mobile": sz.mobile})
			for _, p := range consolePages {
				cdp.call(t, "Page.navigate", map[string]any{"url": base + "#/" + p.name})
				cdp.waitFor(t, "the "+p.name+" page loads", `document.getElementById('`+p.name+`').hidden === false && (`+p.ready+`)`)
				if scheme == "dark" {
					cdp.waitFor(t, "the page is dark", `getComputedStyle(document.body).backgroundColor === 'rgb(21, 23, 26)'`)
				}
				// Nothing sticks out sideways on a phone.
				if w := cdp.eval(t, `document.documentElement.scrollWidth`); w.(float64) > float64(sz.width) {
					t.Errorf("%s at %s: the page is %v px wide", p.name, sz.name, w)
				}
				cdp.screenshot(t, filepath.Join(art, fmt.Sprintf("console-%s-%s-%s.png", p.name, sz.name, scheme)))
			}
		}
	}
	for _, u := range cdp.requested() {
		if !strings.HasPrefix(u, "http://"+s.api+"/") && !strings.HasPrefix(u, "http://"+s.http+"/") &&
			!strings.HasPrefix(u, "blob:http://"+s.api+"/") && !strings.HasPrefix(u, "data:") {
			t.Errorf("the console requested %s, outside the box", u)
		}
	}

	// PTZ: a pan while the button is held, a stop on release, a preset.
	cdp.call(t, "Page.navigate", map[string]any{"url": base + "#/cameras"})
	cdp.waitFor(t, "the PTZ pad shows", `document.querySelectorAll('#p-list .ptz button[data-a=pan_left]').length === 1`)
	cdp.eval(t, `document.querySelector('#p-list button[data-a=pan_left]').dispatchEvent(new PointerEvent('pointerdown', {bubbles: true}))`)
	if b := wire(t, ptyMaster, 7); !bytes.Equal(b, []byte{0xff, 0x01, 0x00, 0x04, 0x20, 0x00, 0x25}) {
		t.Errorf("pan left: % X", b)
	}
	cdp.eval(t, `document.querySelector('#p-list button[data-a=pan_left]').dispatchEvent(new PointerEvent('pointerup', {bubbles: true}))`)
	if b := wire(t, ptyMaster, 7); !bytes.Equal(b, []byte{0xff, 0x01, 0x00, 0x00, 0x00, 0x00, 0x01}) {
		t.Errorf("stop on release: % X", b)
	}
	cdp.eval(t, `document.querySelector('#p-list .preset').value = '3'; document.querySelector('#p-list button[data-p=preset_go]').click()`)
	if b := wire(t, ptyMaster, 7); !bytes.Equal(b, []byte{0xff, 0x01, 0x00, 0x07, 0x00, 0x03, 0x0b}) {
		t.Errorf("preset go 3: % X", b)
	}
	cdp.waitFor(t, "the pad says what it sent", `document.querySelector('#p-list .ptz .msg').textContent === 'preset_go 3'`)
}

// recordShort publishes 3 s of the fixture as live/NAME and waits for its
// DVR recording to be listed by GET /api/v1/dvr/files.
func recordShort(t *testing.T, s *srv, name string) dvrFile {
	t.Helper()
	pub := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-i", fixture, "-t", "3", "-c", "copy", "-f", "flv", s.rtmpURL(name))
	if out, err := pub.CombinedOutput(); err != nil {
		t.Fatalf("publishing %s: %v: %s", name, err, out)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		var l struct{ Files []dvrFile }
		s.getJSON(t, "/api/v1/dvr/files", &l)
		for _, f := range l.Files {
			if f.Stream == "live/"+name {
				return f
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no recording of live/%s listed: %+v", name, l.Files)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

type dvrFile struct {
	Path, Name, Stream, Format string
	Size                       int64
	Duration                   *float64
}

// TestConsoleCameras: on the cameras page, a camera ingest is listed
// running with its snapshot; a bad value in the add form is shown at its
// field and nothing is applied; a valid one is added to the config file
// through the transaction and runs; it is edited (its output moves) and
// removed; retry restarts an ingest.
func TestConsoleCameras(t *testing.T) {
	needTools(t, "ffmpeg")
	chrome := findChromium(t)
	s := startServer(t, fmt.Sprintf("[[ingest]]\nname = \"door\"\ninput = %q\n", fixture))
	s.waitPublishing(t, "door")
	cdp := startCDP(t, chrome)
	base := "http://" + s.api + "/console/"
	art := artefactDir(t)
	cdp.call(t, "Emulation.setDeviceMetricsOverride", map[string]any{"width": 1366, "height": 768, "deviceScaleFactor": 1, "mobile": false})
	cdp.call(t, "Page.navigate", map[string]any{"url": base + "#/cameras"})
	cdp.waitFor(t, "the ingest is listed running with a snapshot", `(() => { const c = document.querySelector('#i-list .ingest[data-name="door"]');
	  return !!c && c.querySelector('.state').textContent === 'running' && !c.querySelector('.preview img').hidden; })()`)
	cdp.waitFor(t, "the page says whether the box has V4L2 cameras", `!document.getElementById('v-empty').hidden || document.querySelectorAll('#v-list .card').length > 0`)

	ingestNames := func() map[string]string {
		var c struct {
			Data struct {
				Config struct {
					Ingest []struct{ Name, Output string }
				}
			}
		}
		s.getJSON(t, "/api/v1/config", &c)
		out := map[string]string{}
		for _, in := range c.Data.Config.Ingest {
			out[in.Name] = in.Output
		}
		return out
	}
	fill := func(vals map[string]string) {
		for id, v := range vals {
			cdp.eval(t, fmt.Sprintf(`{ const e = document.getElementById(%q); e.value = %q; e.dispatchEvent(new Event('input')); }`, id, v))
		}
	}
	before, _ := os.ReadFile(s.conf)

	// A bad value: shown at its field, not applied.
	cdp.eval(t, `document.getElementById('i-add').click()`)
	fill(map[string]string{"f-name": "gate", "f-input": fixture, "f-idle": "soon"})
	cdp.eval(t, `document.getElementById('i-save').click()`)
	cdp.waitFor(t, "the error shows at the idle timeout field", `(() => { const l = document.querySelector('#i-form label[data-field="idle_timeout"]');
	  return l.classList.contains('bad') && l.querySelector('small.err').textContent.length > 0 && document.getElementById('i-msg').textContent.startsWith('not applied'); })()`)
	cdp.screenshot(t, filepath.Join(art, "console-cameras-form-error-laptop.png"))
	if _, ok := ingestNames()["gate"]; ok {
		t.Error("a refused ingest is in the config")
	}
	if b, _ := os.ReadFile(s.conf); string(b) != string(before) {
		t.Errorf("the config file changed after a refused edit:\n%s", b)
	}

	// Valid: added, applied, running.
	fill(map[string]string{"f-idle": ""})
	cdp.eval(t, `document.getElementById('i-save').click()`)
	cdp.waitFor(t, "the form closes", `document.getElementById('i-form').hidden`)
	if out, ok := ingestNames()["gate"]; !ok || out != "live/gate" {
		t.Errorf("gate in the config: %v %q", ok, out)
	}
	s.waitPublishing(t, "gate")
	cdp.waitFor(t, "the new ingest runs on the page", `(() => { const c = document.querySelector('#i-list .ingest[data-name="gate"]');
	  return !!c && c.querySelector('.state').textContent === 'running'; })()`)
	if b, _ := os.ReadFile(s.conf); !strings.HasPrefix(string(b), string(before)) || !strings.Contains(string(b), "[[ingest]]\nname = \"gate\"") {
		t.Errorf("the config file after the add:\n%s", b)
	}

	// Edit: the output moves.
	cdp.eval(t, `document.querySelector('#i-list .ingest[data-name="gate"] .edit').click()`)
	cdp.waitFor(t, "the edit form shows the entry", `!document.getElementById('i-form').hidden && document.getElementById('f-name').value === 'gate'`)
	fill(map[string]string{"f-output": "live/gate2"})
	cdp.eval(t, `document.getElementById('i-save').click()`)
	cdp.waitFor(t, "the form closes", `document.getElementById('i-form').hidden`)
	if out := ingestNames()["gate"]; out != "live/gate2" {
		t.Errorf("gate's output %q after the edit", out)
	}
	s.waitPublishing(t, "gate2")

	// Someone else changes the entry while the form is open: saving the
	// form is refused (If-Match) and does not undo that change.
	cdp.eval(t, `document.querySelector('#i-list .ingest[data-name="gate"] .edit').click()`)
	cdp.waitFor(t, "the edit form shows the entry", `!document.getElementById('i-form').hidden && document.getElementById('f-output').value === 'live/gate2'`)
	req, _ := http.NewRequest(http.MethodPut, "http://"+s.api+"/api/v1/ingests/gate", strings.NewReader(fmt.Sprintf(`{"input":%q,"output":"live/gate3"}`, fixture)))
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != 200 {
		t.Fatalf("the other edit: %v %v", res, err)
	} else {
		res.Body.Close()
	}
	fill(map[string]string{"f-output": "live/gate4"})
	cdp.eval(t, `document.getElementById('i-save').click()`)
	cdp.waitFor(t, "the form says the config changed meanwhile", `document.getElementById('i-msg').textContent.includes('changed since it was read') && !document.getElementById('i-form').hidden`)
	if out := ingestNames()["gate"]; out != "live/gate3" {
		t.Errorf("gate's output %q after a stale form was saved, want the other edit's live/gate3", out)
	}
	cdp.eval(t, `document.getElementById('i-cancel').click()`)

	// Retry: the ingest restarts.
	var st struct {
		Ingests []struct {
			Name     string
			Restarts int
		}
	}
	restarts := func(name string) int {
		s.getJSON(t, "/api/v1/ingests", &st)
		for _, in := range st.Ingests {
			if in.Name == name {
				return in.Restarts
			}
		}
		return -1
	}
	r0 := restarts("door")
	cdp.eval(t, `document.querySelector('#i-list .ingest[data-name="door"] .retry').click()`)
	for deadline := time.Now().Add(5 * time.Second); restarts("door") <= r0; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("retry: restarts stay %d", r0)
		}
	}

	// Remove.
	cdp.eval(t, `window.confirm = () => true; document.querySelector('#i-list .ingest[data-name="gate"] .remove').click()`)
	cdp.waitFor(t, "the removed ingest leaves the page", `!document.querySelector('#i-list .ingest[data-name="gate"]')`)
	if _, ok := ingestNames()["gate"]; ok {
		t.Error("gate is still in the config")
	}
	if b, _ := os.ReadFile(s.conf); string(b) != string(before)+"\n" {
		t.Errorf("the config file after the removal:\n%q\nwas\n%q", b, before)
	}

	// The video devices with their formats, and "add" filling the form.
	// This machine has no /dev/video* (and the vivid module cannot be
	// loaded): the page's GET /api/v1/devices is answered by a fake of what
	// a UVC camera lists.
	cdp.call(t, "Page.addScriptToEvaluateOnNewDocument", map[string]any{"source": `{ const real = window.fetch;
	  window.fetch = (u, o) => String(u).startsWith('/api/v1/devices') ? Promise.resolve(new Response(JSON.stringify({code: 0, devices: [
	    {path: '/dev/video0', driver: 'uvcvideo', card: 'USB Camera', bus: 'usb-0000:00:14.0-1', capture: true, formats: [
	      {fourcc: 'MJPG', name: 'mjpeg', description: 'Motion-JPEG', compressed: true, sizes: [{width: 1280, height: 720, fps: [30, 15]}, {width: 640, height: 480, fps: [30]}]},
	      {fourcc: 'YUYV', name: 'yuyv', description: 'YUYV 4:2:2', compressed: false, sizes: [{width: 640, height: 480, fps: [30]}]}]},
	    {path: '/dev/video1', driver: 'uvcvideo', card: 'USB Camera', capture: false}]}), {headers: {'Content-Type': 'application/json'}})) : real(u, o); }`})
	cdp.call(t, "Page.navigate", map[string]any{"url": base + "?devices#/cameras"})
	cdp.waitFor(t, "the devices are listed with their formats", `(() => { const l = document.getElementById('v-list');
	  return l.children.length === 2 && l.textContent.includes('mjpeg (Motion-JPEG): 1280×720@30, 640×480@30') && l.textContent.includes('not a capture node') &&
	    document.getElementById('v-empty').hidden; })()`)
	cdp.eval(t, `document.querySelector('#v-list button').click()`)
	cdp.waitFor(t, "add fills the form", `!document.getElementById('i-form').hidden && document.getElementById('f-name').value === 'video0' &&
	  document.getElementById('f-input').value === 'v4l2:///dev/video0?format=mjpeg&size=1280x720'`)
	cdp.screenshot(t, filepath.Join(art, "console-cameras-devices-laptop.png"))
}

// TestConsoleRecordings: the recordings page lists a DVR file with its
// stream, duration and size; it downloads whole (and by range) and is
// deleted from the page; paths out of the DVR folder are refused.
func TestConsoleRecordings(t *testing.T) {
	needTools(t, "ffmpeg")
	chrome := findChromium(t)
	dir := t.TempDir()
	s := startServer(t, fmt.Sprintf("[[vhost]]\nname = \"__defaultVhost__\"\n[vhost.dvr]\nenabled = true\npath = \"%s/dvr/[app]/[stream].[timestamp].flv\"\n", dir))
	f := recordShort(t, s, "rec")
	if f.Duration == nil || *f.Duration < 2.5 || *f.Duration > 3.5 || f.Format != "flv" || !strings.HasPrefix(f.Path, "dvr/live/rec.") {
		t.Errorf("listed %+v (duration %v)", f, f.Duration)
	}
	disk := filepath.Join(dir, f.Path)
	info, err := os.Stat(disk)
	if err != nil || info.Size() != f.Size {
		t.Fatalf("%s: %v, %d bytes listed", disk, err, f.Size)
	}

	// Download, whole and by range, through the API.
	url := "http://" + s.api + "/api/v1/dvr/files/" + f.Path
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || int64(len(body)) != f.Size || !strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment") ||
		resp.Header.Get("Content-Type") != "video/x-flv" || string(body[:3]) != "FLV" {
		t.Errorf("download: %s, %d bytes, %q %q", resp.Status, len(body), resp.Header.Get("Content-Disposition"), resp.Header.Get("Content-Type"))
	}
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Range", "bytes=0-8")
	if resp, err = http.DefaultClient.Do(req); err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusPartialContent || len(b) != 9 {
			t.Errorf("range: %s, %d bytes", resp.Status, len(b))
		}
	}
	// Out of the DVR folder: refused, read and delete alike.
	if err := os.WriteFile(filepath.Join(dir, "secret.flv"), []byte("FLV secret"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "secret.flv"), filepath.Join(dir, "dvr", "live", "link.flv")); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"dvr/../secret.flv", "dvr/%2e%2e/secret.flv", "dvr/..%2fsecret.flv", "dvr/live/%2e%2e/%2e%2e/secret.flv",
		"dvr/live/link.flv", "..%2fsecret.flv", "dvr/%2fetc%2fpasswd", "dvr/live/.hidden.flv", "dvr/live/x.tmp", "nosuchroot/live/rec.flv"} {
		for _, m := range []string{"GET", "DELETE"} {
			req, _ := http.NewRequest(m, "http://"+s.api+"/api/v1/dvr/files/"+p, nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode/100 == 2 || strings.Contains(string(b), "FLV secret") {
				t.Errorf("%s %s: %s %q", m, p, resp.Status, b)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "secret.flv")); err != nil {
		t.Errorf("the file outside the DVR folder: %v", err)
	}

	cdp := startCDP(t, chrome)
	base := "http://" + s.api + "/console/"
	cdp.call(t, "Emulation.setDeviceMetricsOverride", map[string]any{"width": 1366, "height": 768, "deviceScaleFactor": 1, "mobile": false})
	cdp.call(t, "Page.navigate", map[string]any{"url": base + "#/recordings"})
	cdp.waitFor(t, "the recording is listed with its stream, duration and size", fmt.Sprintf(`(() => { const r = document.querySelector('#r-list tr[data-path=%q]');
	  return !!r && r.children[1].textContent === 'live/rec' && /^[23]s$/.test(r.children[2].textContent) && r.children[3].textContent.endsWith('KiB'); })()`, f.Path))
	// The download link gives the file.
	n := cdp.eval(t, fmt.Sprintf(`fetch(document.querySelector('#r-list tr[data-path=%q] a').href).then(r => r.arrayBuffer()).then(b => b.byteLength)`, f.Path))
	if n.(float64) != float64(f.Size) {
		t.Errorf("the page's download link gives %v bytes, want %d", n, f.Size)
	}
	cdp.eval(t, fmt.Sprintf(`window.confirm = () => true; document.querySelector('#r-list tr[data-path=%q] button.kick').click()`, f.Path))
	cdp.waitFor(t, "the deleted recording leaves the list", `document.querySelectorAll('#r-list tr').length === 0 && !document.getElementById('r-empty').hidden`)
	if _, err := os.Stat(disk); !os.IsNotExist(err) {
		t.Errorf("%s after delete: %v", disk, err)
	}
}

// TestConsoleLogin: with [http_api.auth] read = true, the page shows its
// own login form (no browser prompt); wrong credentials are refused there;
// Basic (username and password) and, on a token-only box, Bearer log in,
// kept in sessionStorage (no cookie) and sent with every API call; logout
// brings the form back.
func TestConsoleLogin(t *testing.T) {
	chrome := findChromium(t)
	for _, tc := range []struct {
		name, conf, kind, who string
		fill, wrong           map[string]string
	}{
		{"basic", "username = \"admin\"\npassword = \"secret-pass\"\n", "basic", "admin",
			map[string]string{"login-user": "admin", "login-pass": "secret-pass"}, map[string]string{"login-user": "admin", "login-pass": "nope"}},
		{"bearer", "token = \"tok-0123456789\"\n", "bearer", "token",
			map[string]string{"login-token": "tok-0123456789"}, map[string]string{"login-token": "wrong"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startServer(t, "[http_api.auth]\n"+tc.conf+"read = true\n")
			cdp := startCDP(t, chrome)
			cdp.call(t, "Emulation.setDeviceMetricsOverride", map[string]any{"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": true})
			cdp.call(t, "Page.navigate", map[string]any{"url": "http://" + s.api + "/console/#/dashboard"})
			cdp.waitFor(t, "the login form shows", `!document.getElementById('login').hidden`)
			fill := func(vals map[string]string) {
				cdp.eval(t, fmt.Sprintf(`{ const r = document.querySelector('input[name=login-kind][value=%s]'); r.checked = true; r.dispatchEvent(new Event('change')); }`, tc.kind))
				for id, v := range vals {
					cdp.eval(t, fmt.Sprintf(`document.getElementById(%q).value = %q`, id, v))
				}
				cdp.eval(t, `document.querySelector('#login-form button[type=submit]').click()`)
			}
			fill(tc.wrong)
			cdp.waitFor(t, "wrong credentials are refused on the form", `document.getElementById('login-msg').textContent.includes('unauthorized') && !document.getElementById('login').hidden`)
			cdp.screenshot(t, filepath.Join(artefactDir(t), "console-login-"+tc.name+"-phone.png"))
			fill(tc.fill)
			cdp.waitFor(t, "logged in: the dashboard shows", `document.getElementById('login').hidden && document.getElementById('d-version').textContent !== '…'`)
			cdp.waitFor(t, "the page says who is logged in", fmt.Sprintf(`document.getElementById('who-name').textContent === 'logged in as %s' && !document.getElementById('who-out').hidden`, tc.who))
			if c := cdp.eval(t, `document.cookie + '|' + !!sessionStorage.getItem('srs-lite-auth')`); c != "|true" {
				t.Errorf("cookie|stored: %v", c)
			}
			// A write: the config page reads the config with the credentials.
			cdp.call(t, "Page.navigate", map[string]any{"url": "http://" + s.api + "/console/#/config"})
			cdp.waitFor(t, "the config page shows the TOML", `document.getElementById('c-editor').value.includes('[rtmp]')`)
			cdp.eval(t, `document.getElementById('who-out').click()`)
			cdp.waitFor(t, "logged out: the form comes back", `!document.getElementById('login').hidden && !sessionStorage.getItem('srs-lite-auth')`)
		})
	}
}

// whepFlags are the Chromium flags of WebRTC tests (see webrtc_test.go):
// host candidates on loopback, video that plays without a gesture.
var whepFlags = []string{"--allow-loopback-in-peer-connection", "--autoplay-policy=no-user-gesture-required"}

// clickToFirstFrame clicks the play button of the preview box sel and
// returns the milliseconds until its video element has decoded a frame
// (-1: none within 15 s).
func clickToFirstFrame(t *testing.T, cdp *cdp, sel string) float64 {
	t.Helper()
	v := cdp.eval(t, fmt.Sprintf(`(async () => { const box = document.querySelector(%q); const t0 = performance.now();
	  box.querySelector('.play').click();
	  for (;;) { const v = box.querySelector('video'); if (v && v.getVideoPlaybackQuality().totalVideoFrames > 0) return performance.now() - t0;
	    if (performance.now() - t0 > 15000) return -1; await new Promise(r => setTimeout(r, 5)); } })()`, sel))
	ms, _ := v.(float64)
	return ms
}

// TestConsoleWHEP: in a build with WebRTC the streams page shows the WHEP
// URL and its live preview plays over WHEP in Chromium (RTCPeerConnection
// to the binary's ICE-lite server on loopback): frames decode, the viewer
// is listed as rtc-play, and stopping the preview DELETEs the session. It
// measures the time from the click to the first decoded frame (p50 of 5)
// and keeps screenshots of the preview playing (phone and laptop).
func TestConsoleWHEP(t *testing.T) {
	needTools(t, "ffmpeg")
	chrome := findChromium(t)
	s, name := liveServer(t)
	var env struct{ Features []string }
	s.getJSON(t, "/console/env.json", &env)
	if !slices.Contains(env.Features, "webrtc") {
		t.Skipf("the binary is built without WebRTC (features %v)", env.Features)
	}
	cdp := startCDP(t, chrome, whepFlags...)
	art := artefactDir(t)
	cdp.call(t, "Emulation.setDeviceMetricsOverride", map[string]any{"width": 1366, "height": 768, "deviceScaleFactor": 1, "mobile": false})
	cdp.call(t, "Page.navigate", map[string]any{"url": "http://" + s.api + "/console/#/streams"})
	cdp.waitFor(t, "the stream is listed with its WHEP URL", fmt.Sprintf(`[...document.querySelectorAll('.stream .urls .url')].some(e => e.textContent === %q)`,
		"http://"+s.api+"/rtc/v1/whep/?app=live&stream="+name))

	var firsts []float64
	for i := 0; i < 5; i++ {
		ms := clickToFirstFrame(t, cdp, ".stream .preview")
		if ms < 0 {
			t.Fatalf("preview %d: no frame over WHEP within 15 s; the page shows:\n%v", i, cdp.eval(t, `document.body.innerText`))
		}
		firsts = append(firsts, ms)
		if i == 0 {
			cdp.waitFor(t, "the WHEP preview plays", `(() => { const v = document.querySelector('.stream .preview video');
			  return !!v && v.srcObject instanceof MediaStream && v.getVideoPlaybackQuality().totalVideoFrames > 25 && v.currentTime > 1 && v.videoWidth === 640; })()`)
			cdp.waitFor(t, "the viewer is listed as rtc-play", `(() => { const c = document.querySelector('.stream');
			  return c.querySelector('.viewers summary').textContent.includes('1 rtc-play') &&
			    [...c.querySelectorAll('.viewers .proto')].some(e => e.textContent === 'rtc-play'); })()`)
			s.waitLog(t, "rtc connected", 5*time.Second)
			cdp.eval(t, `document.querySelectorAll('details').forEach(d => d.open = true)`)
			cdp.screenshot(t, filepath.Join(art, "console-streams-whep-laptop.png"))
			cdp.call(t, "Emulation.setDeviceMetricsOverride", map[string]any{"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": true})
			time.Sleep(300 * time.Millisecond)
			cdp.screenshot(t, filepath.Join(art, "console-streams-whep-phone.png"))
		}
		cdp.eval(t, `document.querySelector('.stream .preview .play').click()`)
		cdp.waitFor(t, "the preview stops", `!document.querySelector('.stream .preview video')`)
		cdp.waitFor(t, "the stopped preview's viewer leaves", `!document.querySelector('.stream .viewers summary').textContent.includes('rtc-play')`)
	}
	// The log is read from the server's stderr asynchronously: the last
	// session's end may be a moment behind the page.
	ended := 0
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		ended = 0
		for _, l := range strings.Split(s.logs(), "\n") {
			if strings.Contains(l, `msg="rtc session end"`) && strings.Contains(l, "reason=DELETE") {
				ended++
			}
		}
		if ended >= 5 || time.Now().After(deadline) {
			break
		}
	}
	if n := ended; n != 5 {
		t.Errorf("%d WHEP sessions ended by DELETE, want 5 (the preview DELETEs its session):\n%s", n, s.logs())
	}
	sort.Float64s(firsts)
	t.Logf("console WHEP preview: click to first frame p50 %.0f ms (5 clicks: %.0f)", firsts[2], firsts)
	for _, u := range cdp.requested() {
		if !strings.HasPrefix(u, "http://"+s.api+"/") && !strings.HasPrefix(u, "data:") && !strings.HasPrefix(u, "blob:") {
			t.Errorf("the console requested %s, outside the box's API port", u)
		}
	}
	if slices.ContainsFunc(cdp.requested(), func(u string) bool { return strings.HasSuffix(u, "mpegts.js") }) {
		t.Error("mpegts.js loaded for a WHEP preview")
	}
}

// TestConsoleGB28181: a simulated GB28181 camera (gbsim, sending PS made by
// GStreamer) registers with the binary; the cameras page lists it (name,
// manufacturer, model, online, keepalive, address) with the SIP settings a
// camera needs (no password shown), its two channels, a PTZ pad only for
// the dome channel, whose button reaches the device as a DeviceControl
// PTZCmd, and a preview of the channel that plays (WHEP when the build has
// WebRTC). Screenshots at laptop and phone sizes.
func TestConsoleGB28181(t *testing.T) {
	chrome := findChromium(t)
	data := gbPS(t)
	s, addr := gbServer(t, "")
	var env struct{ Features []string }
	s.getJSON(t, "/console/env.json", &env)
	if !slices.Contains(env.Features, "gb28181") {
		t.Skipf("the binary is built without GB28181 (features %v)", env.Features)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	d := gbDeviceSim(t, addr, "udp", gbStreamer(t, data))
	if st, err := d.Register(ctx, "secret", 3600); err != nil || fmt.Sprint(st) != "[401 200]" {
		t.Fatalf("register: %v %v", st, err)
	}
	go d.Run(ctx)

	cdp := startCDP(t, chrome, whepFlags...)
	art := artefactDir(t)
	cdp.call(t, "Emulation.setDeviceMetricsOverride", map[string]any{"width": 1366, "height": 768, "deviceScaleFactor": 1, "mobile": false})
	cdp.call(t, "Page.navigate", map[string]any{"url": "http://" + s.api + "/console/#/cameras"})
	cdp.waitFor(t, "the device is listed with its two channels", fmt.Sprintf(`(() => { const c = document.querySelector('#gb .gbdev');
	  return !document.getElementById('gb').hidden && !!c && c.querySelector('h3').textContent === 'Gate · %s' &&
	    c.querySelector('.state').textContent === 'online' && c.querySelector('.model').textContent.startsWith('Hikvision · DS-2DE2204IW-DE3') &&
	    c.querySelector('.addr').textContent.startsWith('UDP 127.0.0.1:') && c.querySelector('.ka').textContent.endsWith('ago') &&
	    c.querySelectorAll('.gbch').length === 2 && c.querySelector('.gbch .cname').textContent === 'Gate cam · %s'; })()`, gbDevice, gbChannel))
	cdp.waitFor(t, "the SIP settings are shown", fmt.Sprintf(`document.getElementById('g-sip').textContent.startsWith('SIP server ID %s · domain %s') &&
	  document.getElementById('g-sip').textContent.includes('password set') &&
	  !/port 0\b/.test(document.getElementById('g-sip').textContent)`, gbServerID, gbDomain))
	if txt := fmt.Sprint(cdp.eval(t, `document.body.innerText`)); strings.Contains(txt, "secret") {
		t.Errorf("the page shows the SIP password:\n%s", txt)
	}
	if n := cdp.eval(t, `[...document.querySelectorAll('#gb .gbch')].map(c => c.querySelectorAll('.ptz').length).join(',')`); n != "1,0" {
		t.Errorf("PTZ pads per channel %v, want 1,0 (a dome, a fixed camera)", n)
	}

	// PTZ: tilt up while pressed, stop on release.
	n := len(d.PTZ())
	cdp.eval(t, `document.querySelector('#gb .ptz button[data-a=tilt_up]').dispatchEvent(new PointerEvent('pointerdown', {bubbles: true}))`)
	cdp.waitFor(t, "the pad says what it sent", `document.querySelector('#gb .ptz .msg').textContent === 'tilt_up'`)
	cdp.eval(t, `document.querySelector('#gb .ptz button[data-a=tilt_up]').dispatchEvent(new PointerEvent('pointerup', {bubbles: true}))`)
	cdp.waitFor(t, "the pad says it stopped", `document.querySelector('#gb .ptz .msg').textContent === 'stop'`)
	got := d.PTZ()
	if len(got) != n+2 || !strings.HasPrefix(got[n], "A50F0108") || got[n+1] != "A50F0100000000B5" {
		t.Fatalf("the device got PTZCmd %v, want tilt up (A50F0108...) then stop", got[n:])
	}
	t.Logf("PTZ from the console reached the device: %v", got[n:])

	// The channel's preview: playing live/DEVICE_CHANNEL invites it.
	ms := clickToFirstFrame(t, cdp, "#gb .gbch .preview")
	if ms < 0 {
		t.Fatalf("no frame of the channel within 15 s; the page shows:\n%v", cdp.eval(t, `document.body.innerText`))
	}
	cdp.waitFor(t, "the channel's preview plays", `(() => { const v = document.querySelector('#gb .gbch .preview video');
	  return !!v && v.getVideoPlaybackQuality().totalVideoFrames > 25 && v.currentTime > 1 && v.videoWidth === 640; })()`)
	t.Logf("GB28181 channel preview: first frame %.0f ms after the click (INVITE included)", ms)
	cdp.screenshot(t, filepath.Join(art, "console-cameras-gb28181-laptop.png"))
	cdp.call(t, "Emulation.setDeviceMetricsOverride", map[string]any{"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": true})
	time.Sleep(300 * time.Millisecond)
	cdp.screenshot(t, filepath.Join(art, "console-cameras-gb28181-phone.png"))
	cdp.eval(t, `document.querySelector('#gb .gbch .preview .play').click()`)
	cdp.waitFor(t, "the preview stops", `!document.querySelector('#gb .gbch .preview video')`)
}

// TestConsoleWHEPOff: a build with WebRTC on a box whose [rtc] is off: the
// WHEP offer is refused and the preview plays HTTP-FLV instead.
func TestConsoleWHEPOff(t *testing.T) {
	needTools(t, "ffmpeg")
	chrome := findChromium(t)
	s := startServer(t, "[rtc]\nenabled = false\n")
	name := streamName()
	s.publish(t, name, true)
	s.waitPublishing(t, name)
	var env struct{ Features []string }
	s.getJSON(t, "/console/env.json", &env)
	if !slices.Contains(env.Features, "webrtc") {
		t.Skipf("the binary is built without WebRTC (features %v)", env.Features)
	}
	cdp := startCDP(t, chrome, whepFlags...)
	cdp.call(t, "Page.navigate", map[string]any{"url": "http://" + s.api + "/console/#/streams"})
	cdp.waitFor(t, "the stream is listed", `!!document.querySelector('.stream .preview .play:not([hidden])')`)
	if ms := clickToFirstFrame(t, cdp, ".stream .preview"); ms < 0 {
		t.Fatalf("no frame within 15 s; the page shows:\n%v", cdp.eval(t, `document.body.innerText`))
	}
	cdp.waitFor(t, "the preview plays HTTP-FLV", `(() => { const v = document.querySelector('.stream .preview video');
	  return !!window.mpegts && !!v && !v.srcObject && v.currentTime > 0.5 &&
	    document.querySelector('.stream .viewers summary').textContent.includes('flv-play'); })()`)
}
