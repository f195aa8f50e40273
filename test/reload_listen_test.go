package test

import (
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestReloadMovesListeners: a reload that moves [srt] and [rtsp] to new
// addresses binds them first; players on the old ones play on (their
// sessions drain), new players come in on the new ones, and the old
// addresses take no one new.
func TestReloadMovesListeners(t *testing.T) {
	needTools(t, "ffmpeg")
	t.Parallel()
	s, name := liveServer(t)
	oldSRT, oldRTSP := srtAddr(t, s), s.rtsp
	srtPlayer := startBench(t, 1, 5*time.Second, srtURL(oldSRT, name, "request", ""))
	rtspPlayer := startBench(t, 1, 5*time.Second, s.rtspURL(name))
	time.Sleep(1500 * time.Millisecond)

	newRTSP := freeAddr(t)
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	newSRT := pc.LocalAddr().String()
	pc.Close()
	conf, _ := os.ReadFile(s.conf)
	c := strings.Replace(string(conf), "[srt]\nlisten = \"127.0.0.1:0\"", "[srt]\nlisten = \""+newSRT+"\"", 1)
	c = strings.Replace(c, "[rtsp]\nlisten = \"127.0.0.1:0\"", "[rtsp]\nlisten = \""+newRTSP+"\"", 1)
	if c == string(conf) {
		t.Fatalf("the harness config has no [srt]/[rtsp] listen to move:\n%s", conf)
	}
	if err := os.WriteFile(s.conf, []byte(c), 0o644); err != nil {
		t.Fatal(err)
	}
	_ = s.cmd.Process.Signal(syscall.SIGHUP)
	s.waitLog(t, "srt: listen address changed", 5*time.Second)
	s.waitLog(t, "rtsp: listen address changed", 5*time.Second)

	for proto, url := range map[string]string{"srt": srtURL(newSRT, name, "request", ""), "rtsp": "rtsp://" + newRTSP + "/live/" + name} {
		if r := runBench(t, 1, 2*time.Second, url); r.Connected != 1 || r.Frames == 0 {
			t.Errorf("%s player on the new address: %+v", proto, r)
		}
	}
	for proto, wait := range map[string]func() benchResult{"srt": srtPlayer, "rtsp": rtspPlayer} {
		if r := wait(); r.Connected != 1 || r.Failed != 0 || r.Stalls != 0 {
			t.Errorf("%s player across the move: %+v", proto, r)
		}
	}
	if _, err := net.DialTimeout("tcp", oldRTSP, time.Second); err == nil {
		t.Errorf("the old RTSP address %s still accepts", oldRTSP)
	}
	if r := runBench(t, 1, time.Second, srtURL(oldSRT, name, "request", "")); r.Frames != 0 {
		t.Errorf("a new SRT player on the draining address %s played: %+v", oldSRT, r)
	}
}
