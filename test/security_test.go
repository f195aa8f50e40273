package test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/srs-lite/srs-lite/internal/media"
	"github.com/srs-lite/srs-lite/internal/protocol/rtmp"
	"github.com/srs-lite/srs-lite/internal/protocol/srt"
)

// securityConf is a default vhost with security on and the given rules.
func securityConf(rules ...string) string {
	return "\n[[vhost]]\nname = \"__defaultVhost__\"\n[vhost.security]\nenabled = true\n" + rulesLine(rules...) + "\n"
}

func rulesLine(rules ...string) string {
	q := make([]string, len(rules))
	for i, r := range rules {
		q[i] = `"` + r + `"`
	}
	return "rules = [" + strings.Join(q, ", ") + "]"
}

// setRules rewrites the server's rules and reloads it (SIGHUP).
func (s *srv) setRules(t *testing.T, rules ...string) {
	t.Helper()
	b, err := os.ReadFile(s.conf)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "rules = [") {
			lines[i] = rulesLine(rules...)
		}
	}
	if err := os.WriteFile(s.conf, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	n := strings.Count(s.logs(), "config reloaded")
	_ = s.cmd.Process.Signal(syscall.SIGHUP)
	deadline := time.Now().Add(5 * time.Second)
	for strings.Count(s.logs(), "config reloaded") == n {
		if time.Now().After(deadline) {
			t.Fatalf("no reload:\n%s", tail(s.logs(), 20))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// rtmpPlay plays url with our RTMP client and returns it, or the refusal.
func rtmpPlay(url string) (*rtmp.Client, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := rtmp.Dial(ctx, url, rtmp.ClientOptions{})
	if err != nil {
		return nil, err
	}
	if err := c.Play(ctx); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

func rtmpPublishErr(url string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := rtmp.Dial(ctx, url, rtmp.ClientOptions{})
	if err != nil {
		return err
	}
	defer c.Close()
	return c.Publish(ctx)
}

// srtDial connects to the server's SRT listener with a streamid.
func srtDial(addr, streamID string) (*srt.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return srt.Dial(ctx, addr, srt.Config{StreamID: streamID})
}

var noRedirect = &http.Client{Timeout: 20 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// secGet returns the status of a GET, with the response (body open) when
// it is 200.
func secGet(t *testing.T, u string) (int, *http.Response) {
	t.Helper()
	resp, err := noRedirect.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	if resp.StatusCode != 200 {
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	return 200, resp
}

func wantRejected(t *testing.T, what string, err error, code string) {
	t.Helper()
	if !errors.Is(err, rtmp.ErrRejected) || !strings.Contains(err.Error(), code) {
		t.Errorf("%s: %v, want %s", what, err, code)
	}
}

func wantSRTForbidden(t *testing.T, what string, c *srt.Conn, err error) {
	t.Helper()
	var r srt.RejectReason
	if err == nil {
		c.Close()
	}
	if !errors.As(err, &r) || r != srt.RejXForbidden {
		t.Errorf("%s: %v, want SRT_REJX_FORBIDDEN (1403)", what, err)
	}
}

// TestSecurityPublish: "deny publish 127.0.0.1" refuses publishers over
// RTMP (NetStream.Publish.Rejected) and SRT (1403) and logs the rule; a
// reload to "allow publish all" lets them in.
func TestSecurityPublish(t *testing.T) {
	needTools(t, "ffmpeg")
	t.Parallel()
	s := startServer(t, srtConf+securityConf("allow publish all", "deny publish 127.0.0.1", "allow play all"))
	addr := srtAddr(t, s)
	name := streamName()
	wantRejected(t, "rtmp publish", rtmpPublishErr(s.rtmpURL(name)), "NetStream.Publish.Rejected")
	c, err := srtDial(addr, "#!::r=live/"+name+",m=publish")
	wantSRTForbidden(t, "srt publish", c, err)
	for _, want := range []string{"security: deny publish 127.0.0.1 matched 127.0.0.1", "proto=rtmp", "proto=srt"} {
		s.waitLog(t, want, 5*time.Second) // the log is read from the server's stderr
	}

	// Enabled with only "allow play all": no allow publish rule, refused.
	s.setRules(t, "allow play all")
	wantRejected(t, "rtmp publish, no allow publish rule", rtmpPublishErr(s.rtmpURL(name)), "NetStream.Publish.Rejected")
	s.waitLog(t, "no allow publish rule matched 127.0.0.1", 5*time.Second)

	s.setRules(t, "allow publish 127.0.0.0/8", "allow play all")
	s.publish(t, name, true)
	s.waitPublishing(t, name)
	c, err = srtDial(addr, "#!::r=live/"+streamName()+",m=publish")
	if err != nil {
		t.Fatalf("srt publish after reload: %v", err)
	}
	c.Close()
}

// TestSecurityPlayReload: with "allow play all", players of every protocol
// play; a reload adding "deny play 127.0.0.0/8" refuses new players with
// each protocol's error (RTMP NetStream.Play.Failed, HTTP 403 for FLV and
// HLS, SRT 1403), logged with the rule, and keeps those already playing.
func TestSecurityPlayReload(t *testing.T) {
	needTools(t, "ffmpeg")
	t.Parallel()
	s := startServer(t, srtConf+securityConf("allow publish all", "allow play all"))
	addr := srtAddr(t, s)
	name := streamName()
	s.publish(t, name, true)
	s.waitPublishing(t, name)
	hlsURL := "http://" + s.http + "/live/" + name + ".m3u8"
	srtPlay := "#!::r=live/" + name + ",m=request"

	// Players admitted before the reload.
	rc, err := rtmpPlay(s.rtmpURL(name))
	if err != nil {
		t.Fatalf("rtmp play: %v", err)
	}
	defer rc.Close()
	code, flv := secGet(t, s.flvURL(name))
	if code != 200 {
		t.Fatalf("flv: %d", code)
	}
	defer flv.Body.Close()
	resp, err := noRedirect.Get(hlsURL)
	if err != nil || resp.StatusCode != http.StatusFound {
		t.Fatalf("hls: %v %v", resp, err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	viewer := hlsURL + "?" + loc.RawQuery
	sc, err := srtDial(addr, srtPlay)
	if err != nil {
		t.Fatalf("srt play: %v", err)
	}
	defer sc.Close()

	s.setRules(t, "allow publish all", "allow play all", "deny play 127.0.0.0/8")

	// New players are refused, each with its protocol's error.
	_, err = rtmpPlay(s.rtmpURL(name))
	wantRejected(t, "rtmp play", err, "NetStream.Play.Failed")
	if code, _ := secGet(t, s.flvURL(name)); code != http.StatusForbidden {
		t.Errorf("flv play: %d, want 403", code)
	}
	if code, _ := secGet(t, hlsURL); code != http.StatusForbidden {
		t.Errorf("hls play: %d, want 403", code)
	}
	c, err := srtDial(addr, srtPlay)
	wantSRTForbidden(t, "srt play", c, err)
	s.waitLog(t, "security: deny play 127.0.0.0/8 matched 127.0.0.1", 5*time.Second)
	for _, p := range []string{"rtmp", "flv", "hls", "srt"} {
		s.waitLog(t, "proto="+p, 5*time.Second)
	}

	// Those admitted before keep playing, for 3 s more.
	end := time.Now().Add(3 * time.Second)
	var f media.Frame
	frames := 0
	for time.Now().Before(end) {
		if err := rc.ReadFrame(&f); err != nil {
			t.Fatalf("rtmp player dropped after the reload: %v", err)
		}
		f.Release()
		frames++
	}
	buf := make([]byte, 64<<10)
	total := 0
	for total < 100<<10 {
		n, err := flv.Body.Read(buf)
		total += n
		if err != nil {
			t.Fatalf("flv player dropped after the reload: %v after %d bytes", err, total)
		}
	}
	_ = sc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := sc.Read(buf); err != nil || n == 0 {
		t.Fatalf("srt player dropped after the reload: %v", err)
	}
	code, pl := secGet(t, viewer)
	if code != 200 {
		t.Fatalf("hls viewer's playlist after the reload: %d", code)
	}
	b, _ := io.ReadAll(pl.Body)
	pl.Body.Close()
	var seg string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasSuffix(strings.SplitN(l, "?", 2)[0], ".ts") {
			seg = l
		}
	}
	if code, r := secGet(t, "http://"+s.http+"/live/"+seg); code != 200 {
		t.Errorf("hls viewer's segment %s after the reload: %d", seg, code)
	} else {
		r.Body.Close()
	}
	t.Logf("after the reload: rtmp %d frames in 3 s, flv %d bytes, hls viewer and srt player still served", frames, total)
}

// TestSecurityIPv6: rules with an IPv6 address apply to clients over IPv6
// (HTTP-FLV and HLS on [::1]); publish over IPv4 stays allowed.
func TestSecurityIPv6(t *testing.T) {
	needTools(t, "ffmpeg")
	t.Parallel()
	dir := t.TempDir()
	conf := dir + "/srs-lite.toml"
	body := "[log]\nlevel = \"info\"\n[rtmp]\nlisten = \"127.0.0.1:0\"\n[http_api]\nlisten = \"127.0.0.1:0\"\n" +
		"[http_server]\nlisten = \"[::1]:0\"\n[srt]\nlisten = \"127.0.0.1:0\"\n[rtc]\nlisten = \"127.0.0.1:0\"\n[rtsp]\nlisten = \"127.0.0.1:0\"\n" +
		securityConf("allow publish all", "deny play ::1", "allow play 127.0.0.1")
	if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	s := launch(t, exec.Command(binPath, "-c", conf), conf, "server", 10*time.Second)
	if !strings.HasPrefix(s.http, "[::1]") {
		t.Skipf("SKIPPED: no IPv6 loopback (http_server=%s)", s.http)
	}
	name := streamName()
	s.publish(t, name, true)
	s.waitPublishing(t, name)
	if code, _ := secGet(t, s.flvURL(name)); code != http.StatusForbidden {
		t.Errorf("flv over ::1: %d, want 403", code)
	}
	if code, _ := secGet(t, fmt.Sprintf("http://%s/live/%s.m3u8", s.http, name)); code != http.StatusForbidden {
		t.Errorf("hls over ::1: %d, want 403", code)
	}
	s.waitLog(t, "security: deny play ::1 matched ::1", 5*time.Second)
	c, err := rtmpPlay(s.rtmpURL(name)) // 127.0.0.1: allowed
	if err != nil {
		t.Fatalf("rtmp play over IPv4: %v", err)
	}
	c.Close()
}
