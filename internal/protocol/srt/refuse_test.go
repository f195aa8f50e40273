package srt

import (
	"context"
	"errors"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestRefusals: callers are refused during the handshake with the reason
// libsrt's peers expect.
func TestRefusals(t *testing.T) {
	const secret = "the-right-passphrase"
	s := startSRT(t, ServerConfig{Config: Config{Passphrase: secret}, WaitPublisher: 300 * time.Millisecond})
	plain := startSRT(t, ServerConfig{WaitPublisher: -1})
	// A publisher makes live/busy busy.
	pub, err := Dial(context.Background(), s.addr, Config{StreamID: "#!::r=live/busy,m=publish", Passphrase: secret})
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	s.waitPublishing(t, "busy")
	for _, tc := range []struct {
		name string
		addr string
		cfg  Config
		want RejectReason
	}{
		{"wrong passphrase", s.addr, Config{StreamID: "#!::r=live/x,m=publish", Passphrase: "a-wrong-passphrase"}, RejBadSecret},
		{"no passphrase", s.addr, Config{StreamID: "#!::r=live/x,m=publish"}, RejUnsecure},
		{"passphrase to a plain server", plain.addr, Config{StreamID: "#!::r=live/x,m=publish", Passphrase: secret}, RejUnsecure},
		{"unknown stream", s.addr, Config{StreamID: "#!::r=live/nosuch,m=request", Passphrase: secret}, RejXNotFound},
		{"unknown stream, no wait", plain.addr, Config{StreamID: "live/nosuch"}, RejXNotFound},
		{"busy stream", s.addr, Config{StreamID: "#!::r=live/busy,m=publish", Passphrase: secret}, RejXConflict},
		{"no stream name", plain.addr, Config{StreamID: "#!::m=publish"}, RejXBadRequest},
		{"no stream id", plain.addr, Config{}, RejXBadRequest},
		{"bad mode", plain.addr, Config{StreamID: "#!::r=live/x,m=bidirectional"}, RejXBadMode},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Dial(context.Background(), tc.addr, tc.cfg)
			if err == nil {
				c.Close()
				t.Fatalf("connected, want %v", tc.want)
			}
			var r RejectReason
			if !errors.As(err, &r) || r != tc.want {
				t.Errorf("got %v, want %v", err, tc.want)
			}
		})
	}
	// The busy stream's player is fine.
	c, err := Dial(context.Background(), s.addr, Config{StreamID: "live/busy", Passphrase: secret})
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if !strings.Contains(s.logs.String(), "SRT_REJ_BADSECRET") {
		t.Errorf("the log does not name SRT_REJ_BADSECRET:\n%s", s.logs.String())
	}
}

// TestRefuseHSv4: a caller that concludes with HSv4 (libsrt before 1.3) is
// refused with SRT_REJ_VERSION.
func TestRefuseHSv4(t *testing.T) {
	ln, err := Listen("127.0.0.1:0", ListenConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	pc, err := net.DialUDP("udp", nil, ln.Addr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	exchange := func(hs *handshake) *handshake {
		t.Helper()
		b := hs.append(appendCtrl(nil, ctrlHeader{typ: ctrlHandshake}))
		buf := make([]byte, 1500)
		for range 10 {
			_, _ = pc.Write(b)
			_ = pc.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
			n, err := pc.Read(buf)
			if err != nil {
				continue
			}
			_, cif, err := parseCtrl(buf[:n])
			if err != nil {
				t.Fatal(err)
			}
			r, err := parseHandshake(cif)
			if err != nil {
				t.Fatal(err)
			}
			return r
		}
		t.Fatal("no answer")
		return nil
	}
	ind := exchange(&handshake{version: 4, extField: udtDgram, isn: 1, mtu: 1500, flowWindow: 8192, typ: hsInduction, socketID: 42})
	if ind.version != 5 || ind.extField != srtMagic || ind.cookie == 0 {
		t.Fatalf("induction response %+v", ind)
	}
	con := exchange(&handshake{version: 4, extField: udtDgram, isn: 1, mtu: 1500, flowWindow: 8192, typ: hsConclusion,
		socketID: 42, cookie: ind.cookie})
	if con.typ != hsRejectBase+uint32(RejVersion) {
		t.Errorf("conclusion answered with type %d, want %d", con.typ, hsRejectBase+uint32(RejVersion))
	}
	// A conclusion with a forged cookie gets no answer at all.
	b := (&handshake{version: 5, typ: hsConclusion, socketID: 43, cookie: ind.cookie ^ 1}).append(appendCtrl(nil, ctrlHeader{typ: ctrlHandshake}))
	_, _ = pc.Write(b)
	_ = pc.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	buf := make([]byte, 1500)
	if n, err := pc.Read(buf); err == nil {
		t.Errorf("forged cookie answered: % x", buf[:n])
	}
	if ln.Rejected() != 1 {
		t.Errorf("rejected %d, want 1", ln.Rejected())
	}
}

// TestLibsrtRefused: libsrt callers (ffmpeg, srt-live-transmit) with a
// wrong passphrase, and a player of a stream nobody publishes, fail to
// connect, and the server says why.
func TestLibsrtRefused(t *testing.T) {
	needFixture(t)
	needTool(t, "srt-live-transmit", "srt-tools")
	s := startSRT(t, ServerConfig{Config: Config{Passphrase: "the-right-passphrase"}, WaitPublisher: -1})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ffmpeg", "-hide_banner", "-loglevel", "error", "-i", fixture, "-c", "copy",
		"-f", "mpegts", publishURL(s.addr, "x", "&passphrase=a-wrong-passphrase")).CombinedOutput()
	if err == nil {
		t.Errorf("ffmpeg published with a wrong passphrase: %s", out)
	}
	out, err = exec.CommandContext(ctx, "srt-live-transmit", "-a:no", "-t:5",
		"srt://"+s.addr+"?streamid=live/nosuch&passphrase=the-right-passphrase", "file://con").CombinedOutput()
	if err == nil && len(out) == 0 {
		t.Errorf("srt-live-transmit played a stream nobody publishes")
	}
	logs := s.logs.String()
	if !strings.Contains(logs, "SRT_REJ_BADSECRET") || !strings.Contains(logs, "SRT_REJX_NOTFOUND") {
		t.Errorf("server log:\n%s\nsrt-live-transmit: %s", logs, out)
	}
}
