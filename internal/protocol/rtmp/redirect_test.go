package rtmp

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/srs-lite/srs-lite/internal/format/amf0"
)

func TestRedirectInfo(t *testing.T) {
	url := "rtmp://10.0.0.2:19351/live/livestream?vhost=v.com"
	info := Redirect(url)
	b, err := amf0.AppendAll(nil, info)
	if err != nil {
		t.Fatal(err)
	}
	vs, err := amf0.DecodeAll(b)
	if err != nil || len(vs) != 1 {
		t.Fatalf("decode: %v %v", vs, err)
	}
	got := amf0.Object(amf0.Properties(vs[0]))
	if l, _ := got.String("level"); l != "error" {
		t.Errorf("level %q", l)
	}
	if c, _ := got.String("code"); c != "NetConnection.Connect.Rejected" {
		t.Errorf("code %q", c)
	}
	if u := RedirectURL(got); u != url {
		t.Errorf("RedirectURL = %q", u)
	}
	ex, _ := got.Get("ex")
	if tc, _ := amf0.Object(amf0.Properties(ex)).String("redirect"); tc != "rtmp://10.0.0.2:19351/live" {
		t.Errorf("redirect (tcUrl) = %q", tc)
	}
	if RedirectURL(amf0.Object{{Key: "code", Value: "NetStream.Play.Failed"}}) != "" {
		t.Error("not a 302")
	}
}

// redirector is a fake origin of SRS's origin cluster: it answers connect,
// createStream, and then the connect (atConnect) or the play with an RTMP
// 302 as SrsRtmpServer::redirect sends it.
func redirector(t *testing.T, atConnect bool, exOf func(self string) amf0.Object) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	ex := exOf(ln.Addr().String())
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer nc.Close()
				br := bufio.NewReader(nc)
				if ServerHandshake(struct {
					io.Reader
					io.Writer
				}{br, nc}) != nil {
					return
				}
				cr, cw := NewChunkReader(br, ReaderOptions{}), NewChunkWriter(nc)
				rejected := amf0.Object{{Key: "level", Value: "error"}, {Key: "code", Value: "NetConnection.Connect.Rejected"},
					{Key: "description", Value: "RTMP 302 Redirect"}, {Key: "ex", Value: ex}}
				for {
					m, err := cr.ReadMessage()
					if err != nil {
						return
					}
					if m.Type != TypeCommandAMF0 {
						m.Release()
						continue
					}
					cmd, err := ParseCommand(m.Payload, false)
					m.Release()
					if err != nil {
						return
					}
					switch cmd.Name {
					case "connect":
						if atConnect {
							cw.WriteCommand(csidOverConnection, 0, "_error", cmd.TransactionID, nil, rejected)
							continue
						}
						cw.WriteCommand(csidOverConnection, 0, "_result", cmd.TransactionID, amf0.Object{},
							amf0.Object{{Key: "level", Value: "status"}, {Key: "code", Value: "NetConnection.Connect.Success"},
								{Key: "data", Value: amf0.ECMAArray{{Key: "srs_id", Value: "redir1"}, {Key: "srs_pid", Value: float64(42)}}}})
					case "createStream":
						cw.WriteCommand(csidOverConnection, 0, "_result", cmd.TransactionID, nil, float64(1))
					case "play":
						cw.WriteCommand(csidOverStream, 1, "onStatus", 0, nil, rejected)
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

func TestDialPlayFollowsRedirect(t *testing.T) {
	ts := startServer(t, ServerConfig{}, nil)
	for _, tc := range []struct {
		name      string
		atConnect bool
		ex        amf0.Object
	}{
		{"play, redirect2", false, amf0.Object{{Key: "code", Value: float64(302)},
			{Key: "redirect", Value: "rtmp://" + ts.addr + "/live"}, {Key: "redirect2", Value: ts.url("r302")}}},
		{"play, tcUrl only", false, amf0.Object{{Key: "code", Value: float64(302)}, {Key: "redirect", Value: "rtmp://" + ts.addr + "/live"}}},
		{"connect", true, amf0.Object{{Key: "code", Value: float64(302)}, {Key: "redirect", Value: "rtmp://" + ts.addr + "/live"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := redirector(t, tc.atConnect, func(string) amf0.Object { return tc.ex })
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			c, err := DialPlay(ctx, "rtmp://"+addr+"/live/r302", ClientOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if c.nc.RemoteAddr().String() != ts.addr || c.stream != "r302" {
				t.Errorf("playing %s %q, want %s r302", c.nc.RemoteAddr(), c.stream, ts.addr)
			}
			if c.Server().ID == "" || c.Server().PID == "" || c.Server().IP != "127.0.0.1" {
				t.Errorf("server info %+v", c.Server())
			}
		})
	}
	t.Run("loop", func(t *testing.T) {
		// A redirect to itself: given up after maxRedirects.
		loop := redirector(t, false, func(self string) amf0.Object {
			return amf0.Object{{Key: "code", Value: float64(302)}, {Key: "redirect2", Value: "rtmp://" + self + "/live/x"}}
		})
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		var re *RedirectError
		if _, err := DialPlay(ctx, "rtmp://"+loop+"/live/x", ClientOptions{}); !errors.As(err, &re) || !errors.Is(err, ErrRejected) {
			t.Fatalf("DialPlay: %v", err)
		}
	})
}

func TestServerInfoParse(t *testing.T) {
	res := Command{Name: "_result", Args: []any{amf0.Object{{Key: "data", Value: amf0.ECMAArray{
		{Key: "srs_id", Value: float64(107)}, {Key: "srs_pid", Value: float64(9)}, {Key: "srs_server_ip", Value: "10.0.0.2"}}}}}}
	if p := serverInfo(res); p.ID != "107" || p.PID != "9" || p.IP != "10.0.0.2" {
		t.Errorf("serverInfo %+v", p)
	}
	if u := redirectOf(Command{Name: "onStatus", Args: []any{amf0.Object{{Key: "level", Value: "status"},
		{Key: "ex", Value: amf0.Object{{Key: "code", Value: float64(302)}, {Key: "redirect", Value: "rtmp://a/b"}}}}}}, "s"); u != "" {
		t.Errorf("a status-level onStatus redirected to %q", u)
	}
	if u := redirectOf(Command{Name: "_error", Args: []any{amf0.Object{{Key: "ex", Value: amf0.Object{
		{Key: "code", Value: float64(302)}, {Key: "redirect", Value: "rtmp://a/b/"}}}}}}, "s?t=1"); !strings.HasSuffix(u, "a/b/s?t=1") {
		t.Errorf("redirect %q", u)
	}
}
