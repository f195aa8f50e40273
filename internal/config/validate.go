package config

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"
)

// Limits checked by Validate.
const (
	minChunkSize     = 128
	maxChunkSize     = 65536
	minRingFrames    = 64
	maxRingFrames    = 65536
	maxMWMsgs        = 128
	maxMWLatency     = 5 * time.Second
	maxQueueLength   = 10 * time.Minute
	maxGrace         = 10 * time.Minute
	maxConnections   = 1000000
	maxGOPFrames     = 1 << 20
	maxHLSFragment   = 10 * time.Minute
	minHLSPart       = 100 * time.Millisecond
	maxHLSPart       = time.Second
	maxHLSWindow     = 24 * time.Hour
	maxDVRDuration   = 24 * time.Hour
	maxNameLength    = 128
	maxHostnameBytes = 253
	maxListen        = 16
)

// Validate checks ranges, enums, listen addresses and their conflicts,
// duplicate vhost and ingest names and cross-field rules. It returns every
// problem at once as *Errors; a config from Parse carries the line of each key.
func (c *Config) Validate() error {
	ps := &problems{src: c.src}
	c.validate(ps)
	return ps.err()
}

// check adds a problem at path unless path already has one (from decoding).
func (ps *problems) check(path, format string, args ...any) {
	if ps.seen[path] {
		return
	}
	ps.add(path, format, args...)
}

func (c *Config) validate(ps *problems) {
	s := c.Server
	durationRange(ps, "server.grace", s.Grace, 0, maxGrace)
	intRange(ps, "server.max_connections", s.MaxConnections, 1, maxConnections)

	oneOf(ps, "log.level", c.Log.Level, "debug", "info", "warn", "error")
	oneOf(ps, "log.format", c.Log.Format, "text", "json")
	if c.Log.MaxSize < 0 {
		ps.check("log.max_size", "%d is negative: use 0 for no cap", c.Log.MaxSize)
	}

	if len(c.RTMP.Listen) == 0 {
		ps.check("rtmp.listen", "no address")
	}
	intRange(ps, "rtmp.chunk_size", c.RTMP.ChunkSize, minChunkSize, maxChunkSize)

	c.validateListeners(ps)
	c.validateTLS(ps)
	c.validateSRT(ps)
	c.validateRTSP(ps)
	c.validateRTC(ps)
	c.validateRuntime(ps)
	c.validateAuth(ps)
	c.validateOTA(ps)
	c.validateHeartbeat(ps)
	c.validateGB28181(ps)
	c.validateSerial(ps)
	c.validateTranscode(ps)
	c.validateRedacted(ps)

	if len(c.Vhosts) == 0 {
		ps.check("vhost", "no vhost")
	}
	names := make(map[string]string, len(c.Vhosts))
	for i := range c.Vhosts {
		p := indexKey("vhost", i)
		v := &c.Vhosts[i]
		if err := checkName(v.Name); err != nil {
			ps.check(p+".name", "%v", err)
		} else if prev, ok := names[strings.ToLower(v.Name)]; ok {
			ps.check(p+".name", "duplicate vhost %q (also at %s)", v.Name, prev)
		} else {
			names[strings.ToLower(v.Name)] = c.where(p + ".name")
		}
		v.validate(ps, p)
	}

	ingests := make(map[string]string, len(c.Ingests))
	for i := range c.Ingests {
		p := indexKey("ingest", i)
		in := &c.Ingests[i]
		if err := checkName(in.Name); err != nil {
			ps.check(p+".name", "%v", err)
		} else if prev, ok := ingests[in.Name]; ok {
			ps.check(p+".name", "duplicate ingest %q (also at %s)", in.Name, prev)
		} else {
			ingests[in.Name] = c.where(p + ".name")
		}
		if strings.TrimSpace(in.Input) == "" {
			ps.check(p+".input", "empty")
		}
		if err := checkOutput(in.Output); in.Output != "" && err != nil {
			ps.check(p+".output", "%v", err)
		}
		if in.Transport != "" { // empty: auto
			oneOf(ps, p+".transport", in.Transport, "auto", "udp", "tcp")
		}
		durationRange(ps, p+".idle_timeout", in.IdleTimeout, 0, 24*time.Hour) // 0: the default
	}
}

// where names the position of a key for "also at" messages: the line when
// known, else the key.
func (c *Config) where(path string) string {
	if n := c.src.line(path); n > 0 {
		return "line " + strconv.Itoa(n)
	}
	return displayKey(path)
}

func (v *Vhost) validate(ps *problems, p string) {
	intRange(ps, p+".gop_cache_max_frames", v.GOPCacheMaxFrames, 0, maxGOPFrames)
	durationRange(ps, p+".queue_length", v.QueueLength, 1, maxQueueLength)
	durationRange(ps, p+".mw_latency", v.MWLatency, 0, maxMWLatency)
	intRange(ps, p+".mw_msgs", v.MWMsgs, 0, maxMWMsgs)
	if n := v.RingFrames; n < minRingFrames || n > maxRingFrames || n&(n-1) != 0 {
		ps.check(p+".ring_frames", "%d: must be a power of two from %d to %d", n, minRingFrames, maxRingFrames)
	}
	oneOf(ps, p+".time_jitter", v.TimeJitter, JitterFull, JitterZero, JitterOff)
	v.validateOriginCluster(ps, p)
	v.validateATC(ps, p)

	if err := checkTemplate(v.HTTPRemux.Mount, []string{".flv", ".ts", ".aac", ".mp3"}, "vhost", "app", "stream"); err != nil {
		ps.check(p+".http_remux.mount", "%v", err)
	} else if err := checkMount(v.Name, v.HTTPRemux.Mount); err != nil {
		ps.check(p+".http_remux.mount", "%v", err)
	}

	h := v.HLS
	durationRange(ps, p+".hls.fragment", h.Fragment, 1, maxHLSFragment)
	durationRange(ps, p+".hls.window", h.Window, 1, maxHLSWindow)
	if h.Fragment > 0 && h.Window > 0 && h.Window < h.Fragment && !ps.seen[p+".hls.fragment"] {
		ps.check(p+".hls.window", "%s is shorter than hls.fragment %s", h.Window, h.Fragment)
	}

	oneOf(ps, p+".hls.container", h.Container, ContainerTS, ContainerFMP4)
	durationRange(ps, p+".hls.dispose", h.Dispose, 0, maxHLSWindow)
	durationRange(ps, p+".hls.part", h.Part, minHLSPart, maxHLSPart)
	if h.LowLatency && h.Container != ContainerFMP4 && !ps.seen[p+".hls.container"] {
		ps.check(p+".hls.low_latency", "low-latency HLS needs container = %q (container is %q)", ContainerFMP4, h.Container)
	}
	if h.LowLatency && h.Part >= h.Fragment && h.Fragment > 0 && !ps.seen[p+".hls.part"] && !ps.seen[p+".hls.fragment"] {
		ps.check(p+".hls.part", "%s is not shorter than hls.fragment %s", h.Part, h.Fragment)
	}
	d := v.DVR
	if err := checkTemplate(d.Path, []string{".flv", ".ts", ".mp4"}, "vhost", "app", "stream", "timestamp", "seq",
		"2006", "01", "02", "15", "04", "05", "999"); err != nil {
		ps.check(p+".dvr.path", "%v", err)
	}
	oneOf(ps, p+".dvr.plan", d.Plan, PlanSession, PlanSegment)
	durationRange(ps, p+".dvr.duration", d.Duration, 1, maxDVRDuration)

	for _, hk := range []struct {
		key  string
		urls []string
	}{
		{"on_connect", v.Hooks.OnConnect}, {"on_close", v.Hooks.OnClose},
		{"on_publish", v.Hooks.OnPublish}, {"on_unpublish", v.Hooks.OnUnpublish},
		{"on_play", v.Hooks.OnPlay}, {"on_stop", v.Hooks.OnStop},
		{"on_dvr", v.Hooks.OnDVR}, {"on_hls", v.Hooks.OnHLS}, {"on_hls_notify", v.Hooks.OnHLSNotify},
		{"on_forward", v.Hooks.OnForward},
	} {
		for _, u := range hk.urls {
			if err := checkHTTPURL(u); err != nil {
				ps.check(p+".hooks."+hk.key, "%v", err)
				break
			}
		}
	}
	v.validateForward(ps, p)
	v.validateSecurity(ps, p)
}

// listener is one listen address of one network.
type listener struct {
	path    string
	network string
	raw     string
	host    string
	port    int
}

func (c *Config) validateListeners(ps *problems) {
	var all []listener
	add := func(path, addr string, enabled bool, networks ...string) {
		if !enabled && addr == "" {
			return
		}
		host, port, err := splitAddr(addr, false)
		if err != nil {
			ps.check(path, "%v", err)
			return
		}
		if !enabled {
			return
		}
		for _, n := range networks {
			all = append(all, listener{path: path, network: n, raw: addr, host: host, port: port})
		}
	}
	if len(c.RTMP.Listen) > maxListen {
		ps.check("rtmp.listen", "%d addresses: at most %d", len(c.RTMP.Listen), maxListen)
	} else {
		for _, a := range c.RTMP.Listen {
			add("rtmp.listen", a, true, "tcp")
		}
	}
	add("http_api.listen", c.HTTPAPI.Listen, c.HTTPAPI.Enabled, "tcp")
	add("http_server.listen", c.HTTPServer.Listen, c.HTTPServer.Enabled, "tcp")
	add("srt.listen", c.SRT.Listen, c.SRT.Enabled, "udp")
	add("rtsp.listen", c.RTSP.Listen, c.RTSP.Enabled && RTSPBuilt, "tcp")
	c.gbListeners(add)
	add("rtc.listen", c.RTC.Listen, c.RTC.Enabled && RTCBuilt, "udp", "tcp")
	add("rtmp.rtmps_listen", c.RTMP.RTMPSListen, c.RTMP.RTMPSListen != "", "tcp")
	add("http_api.https_listen", c.HTTPAPI.HTTPSListen, c.HTTPAPI.Enabled && c.HTTPAPI.HTTPSListen != "", "tcp")
	add("http_server.https_listen", c.HTTPServer.HTTPSListen, c.HTTPServer.Enabled && c.HTTPServer.HTTPSListen != "", "tcp")

	for i, b := range all {
		for _, a := range all[:i] {
			if a.network != b.network || a.port != b.port || a.port == 0 {
				continue
			}
			if a.host != b.host && !wildcard(a.host) && !wildcard(b.host) {
				continue
			}
			if a.raw == b.raw && (a.path == "http_api.listen" && b.path == "http_server.listen" ||
				a.path == "http_api.https_listen" && b.path == "http_server.https_listen") {
				continue // one port serves both
			}
			ps.check(b.path, "%s %s conflicts with %s %s", b.network, b.raw, a.path, a.raw)
			break
		}
	}
}

func wildcard(host string) bool { return host == "" || host == "0.0.0.0" || host == "::" }

// splitAddr parses host:port; port 0 is allowed for listeners (any free port).
func splitAddr(addr string, needHost bool) (string, int, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("invalid address %q: want host:port", addr)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 || (needHost && n == 0) {
		return "", 0, fmt.Errorf("invalid address %q: bad port %q", addr, port)
	}
	if host == "" {
		if needHost {
			return "", 0, fmt.Errorf("invalid address %q: no host", addr)
		}
		return host, n, nil
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		return ip.Unmap().String(), n, nil
	}
	if !validHostname(host) {
		return "", 0, fmt.Errorf("invalid address %q: bad host %q", addr, host)
	}
	return strings.ToLower(host), n, nil
}

func checkAddr(addr string, needHost bool) error {
	_, _, err := splitAddr(addr, needHost)
	return err
}

func validHostname(h string) bool {
	if len(h) > maxHostnameBytes {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			if !isBareByte(label[i]) || label[i] == '_' {
				return false
			}
		}
	}
	return true
}

// checkName accepts vhost and ingest names: no spaces, slashes or controls.
func checkName(n string) error {
	if n == "" {
		return fmt.Errorf("empty")
	}
	if len(n) > maxNameLength {
		return fmt.Errorf("%q longer than %d bytes", n[:maxNameLength]+"...", maxNameLength)
	}
	for _, r := range n {
		if r <= ' ' || r == 0x7f || r == '/' || r == '\\' || r == '?' || r == '#' || r == '"' {
			return fmt.Errorf("%q: must not contain spaces, control characters or any of / \\ ? # \"", n)
		}
	}
	return nil
}

// checkTemplate checks a path with [placeholders] and one of exts.
func checkTemplate(p string, exts []string, placeholders ...string) error {
	if p == "" {
		return fmt.Errorf("empty")
	}
	if strings.ContainsAny(p, " \t\r\n") {
		return fmt.Errorf("%q contains a space", p)
	}
	for rest := p; ; {
		i := strings.IndexByte(rest, '[')
		if i < 0 {
			break
		}
		j := strings.IndexByte(rest[i:], ']')
		if j < 0 {
			return fmt.Errorf("%q: unclosed [", p)
		}
		name := rest[i+1 : i+j]
		known := false
		for _, ph := range placeholders {
			known = known || name == ph
		}
		if !known {
			return fmt.Errorf("%q: unknown placeholder [%s]", p, name)
		}
		rest = rest[i+j+1:]
	}
	ext := path.Ext(p)
	for _, e := range exts {
		if ext == e {
			return nil
		}
	}
	return fmt.Errorf("%q: extension must be one of %s", p, strings.Join(exts, " "))
}

// checkMount checks what an http_remux mount needs beyond its placeholders
// and extension, as the HTTP-FLV handler parses it (SRS's http mux: a
// pattern that does not start with "/" starts with a host, which must be
// the vhost's).
func checkMount(vhost, m string) error {
	if !strings.HasPrefix(m, "/") {
		host, _, ok := strings.Cut(m, "/")
		if !ok || (host != "[vhost]" && !strings.EqualFold(host, vhost)) {
			return fmt.Errorf("%q: must start with \"/\" or \"[vhost]/\"", m)
		}
	}
	if strings.ContainsAny(m, "?#%\\") || strings.Contains(m, "//") {
		return fmt.Errorf("%q: not a clean URL path", m)
	}
	stem := strings.TrimSuffix(m, path.Ext(m))
	if strings.HasSuffix(stem, "/") {
		return fmt.Errorf("%q: no stream name", m)
	}
	for _, ph := range []string{"[app]", "[stream]"} {
		if strings.Count(m, ph) > 1 {
			return fmt.Errorf("%q: %s more than once", m, ph)
		}
	}
	if strings.Contains(m, "][") {
		return fmt.Errorf("%q: placeholders must be separated", m)
	}
	return nil
}

// checkHTTPURL checks a URL the server calls (hooks, heartbeat, OTA):
// http://, or https:// in a build with TLS. The tiny build's client has no
// TLS: refused at load, not failed at every call.
func checkHTTPURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		if !TLSBuilt {
			return fmt.Errorf("invalid URL %q: want http://", s)
		}
		return fmt.Errorf("invalid URL %q: want http:// or https://", s)
	}
	if u.Scheme == "https" && !TLSBuilt {
		return fmt.Errorf("%q: https is not supported in the tiny build (no TLS: a full build has it): use http://", s)
	}
	return nil
}

// checkRTMPS refuses an rtmps:// URL the server would dial in a build
// without TLS (tiny): at load, not at every dial.
func checkRTMPS(s, scheme string) error {
	if scheme == "rtmps" && !TLSBuilt {
		return fmt.Errorf("%q: rtmps is not supported in the tiny build (no TLS: a full build has it): use rtmp://", s)
	}
	return nil
}

// checkOutput accepts APP/STREAM or an rtmp:// or rtmps:// URL.
func checkOutput(s string) error {
	if strings.Contains(s, "://") {
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "rtmp" && u.Scheme != "rtmps") || u.Host == "" {
			return fmt.Errorf("invalid output %q: want APP/STREAM or an rtmp:// URL", s)
		}
		return checkRTMPS(s, u.Scheme)
	}
	app, stream, ok := strings.Cut(s, "/")
	if s == "" || !ok || app == "" || stream == "" || strings.ContainsAny(stream, "/ \t") || strings.ContainsAny(app, " \t") {
		return fmt.Errorf("invalid output %q: want APP/STREAM or an rtmp:// URL", s)
	}
	return nil
}

func intRange(ps *problems, p string, v, lo, hi int) {
	if v < lo || v > hi {
		ps.check(p, "%d out of range %d..%d", v, lo, hi)
	}
}

// durationRange checks lo <= d <= hi; lo = 1 means "greater than zero".
func durationRange(ps *problems, p string, d Duration, lo, hi time.Duration) {
	if d.D() < lo || d.D() > hi {
		if lo == 1 {
			ps.check(p, "%s out of range: must be greater than 0 and at most %s", d, Duration(hi))
		} else {
			ps.check(p, "%s out of range %s..%s", d, Duration(lo), Duration(hi))
		}
	}
}

func oneOf(ps *problems, p, v string, allowed ...string) {
	for _, a := range allowed {
		if v == a {
			return
		}
	}
	ps.check(p, "%q: must be one of %s", v, strings.Join(allowed, " | "))
}
