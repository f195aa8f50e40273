package test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
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
// a snapshot preview and the viewer, and the kick button removes the
// viewer. Every URL the page requests must be on the box (the API port);
// screenshots at phone and laptop sizes are kept as artefacts.
func TestConsole(t *testing.T) {
	needTools(t, "ffmpeg")
	chrome := findChromium(t)
	s, name := liveServer(t)
	viewer := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-i", s.flvURL(name), "-c", "copy", "-f", "null", "-")
	startProcess(t, viewer)
	var ver struct{ Data struct{ Version string } }
	s.getJSON(t, "/api/v1/versions", &ver)

	cdp := startCDP(t, chrome)
	base := "http://" + s.api + "/console/"
	art := artefactDir(t)

	// Laptop first, then a phone.
	sizes := []struct {
		name          string
		width, height int
		mobile        bool
	}{{"laptop", 1280, 800, false}, {"phone", 390, 844, true}}
	for i, sz := range sizes {
		cdp.call(t, "Emulation.setDeviceMetricsOverride", map[string]any{
			"width": sz.width, "height": sz.height, "deviceScaleFactor": 1, "mobile": sz.mobile})

		cdp.call(t, "Page.navigate", map[string]any{"url": base + "#/dashboard"})
		cdp.waitFor(t, "the dashboard shows the version",
			fmt.Sprintf(`document.getElementById('d-version').textContent === %q && document.getElementById('d-board').textContent !== '…'`, ver.Data.Version))
		if i == 0 {
			fcp := cdp.eval(t, `(performance.getEntriesByType('paint').find(e => e.name === 'first-contentful-paint') || {}).startTime || -1`)
			t.Logf("console first contentful paint: %v ms", fcp)
		}
		// Let the bandwidth chart gather a few points.
		cdp.waitFor(t, "the bandwidth chart draws", `document.getElementById('d-line-in').getAttribute('points').split(' ').length >= 3`)
		cdp.screenshot(t, filepath.Join(art, "console-dashboard-"+sz.name+".png"))

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
		cdp.eval(t, `document.querySelectorAll('details').forEach(d => d.open = true)`)
		cdp.screenshot(t, filepath.Join(art, "console-streams-"+sz.name+".png"))
	}

	// Dark mode, on the phone.
	cdp.call(t, "Emulation.setEmulatedMedia", map[string]any{"features": []map[string]string{{"name": "prefers-color-scheme", "value": "dark"}}})
	cdp.waitFor(t, "the page turns dark", `getComputedStyle(document.body).backgroundColor === 'rgb(21, 23, 26)'`)
	cdp.screenshot(t, filepath.Join(art, "console-streams-phone-dark.png"))

	// Kick the viewer from the page.
	cdp.eval(t, `window.confirm = () => true; [...document.querySelectorAll('.viewers button.kick')][0].click()`)
	cdp.waitFor(t, "the kicked viewer leaves the list", `document.querySelector('.stream .viewers summary').textContent.startsWith('0 viewers')`)

	// Nothing but the box.
	for _, u := range cdp.requested() {
		if !strings.HasPrefix(u, "http://"+s.api+"/") && !strings.HasPrefix(u, "blob:http://"+s.api+"/") && !strings.HasPrefix(u, "data:") {
			t.Errorf("the console requested %s, outside the box", u)
		}
	}
	t.Logf("the console made %d requests, all to %s", len(cdp.requested()), s.api)

	// The console's weight on the wire.
	var raw, gz int
	for _, f := range []string{"", "app.js", "style.css", "icon.svg"} {
		raw += fetchLen(t, base+f, "identity")
		gz += fetchLen(t, base+f, "gzip")
	}
	t.Logf("console assets: %d bytes raw, %d gzipped", raw, gz)
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
func startCDP(t *testing.T, chrome string) *cdp {
	t.Helper()
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, chrome, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
		"--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-default-apps", "--disable-extensions", "--mute-audio", "--hide-scrollbars",
		"--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0", "--remote-allow-origins=*",
		"--user-data-dir="+dir, "about:blank")
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

// TestConsoleAuth: the console follows the API's read policy: with
// [http_api.auth] read = true, the page and its env need the credentials
// (the browser's Basic prompt), and without read it is open like the API's
// reads.
func TestConsoleAuth(t *testing.T) {
	t.Parallel()
	s := startServer(t, "[http_api.auth]\nusername = \"admin\"\npassword = \"secret-pass\"\nread = true\n")
	for _, p := range []string{"/console/", "/console/app.js", "/console/env.json"} {
		req, _ := http.NewRequest("GET", "http://"+s.api+p, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic") {
			t.Errorf("%s without credentials: %s, WWW-Authenticate %q", p, resp.Status, resp.Header.Get("WWW-Authenticate"))
		}
		req.SetBasicAuth("admin", "secret-pass")
		resp, err = http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
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
