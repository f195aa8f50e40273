package test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/srs-lite/srs-lite/internal/protocol/gb28181/gbsim"
	"github.com/srs-lite/srs-lite/internal/protocol/gb28181/manscdp"
)

const (
	gbServerID = "34020000002000000001"
	gbDomain   = "3402000000"
	gbDevice   = "34020000001320000001"
	gbChannel  = "34020000001310000001"
)

// gbServer runs the binary with [gb28181] on free loopback ports; extra is
// appended TOML. It returns the server and the SIP address.
func gbServer(t *testing.T, extra string) (*srv, string) {
	t.Helper()
	media := freePort(t)
	var port int
	fmt.Sscanf(media[strings.LastIndexByte(media, ':')+1:], "%d", &port)
	s := startServer(t, fmt.Sprintf("[gb28181]\nenabled = true\nlisten = \"127.0.0.1:0\"\npassword = \"secret\"\n"+
		"keepalive_timeout = \"10s\"\nmedia_port = %d\n%s", port, extra))
	s.waitLog(t, "gb28181: SIP server listening", 5*time.Second)
	t.Cleanup(func() {
		// A binary built with -race reports here.
		if strings.Contains(s.logs(), "WARNING: DATA RACE") {
			t.Errorf("data race in the server:\n%s", s.logs())
		}
	})
	line := ""
	for _, l := range strings.Split(s.logs(), "\n") {
		if strings.Contains(l, "gb28181: SIP server listening") {
			line = l
		}
	}
	return s, field(line, "udp")
}

func gbDeviceSim(t *testing.T, addr, transport string, media func(context.Context, gbsim.Invite)) *gbsim.Device {
	t.Helper()
	d, err := gbsim.Dial(gbsim.Config{Server: addr, Transport: transport, ServerID: gbServerID, Domain: gbDomain,
		DeviceID: gbDevice, Password: "secret", Name: "Gate", Manufacturer: "Hikvision", Model: "DS-2DE2204IW-DE3",
		Firmware: "V5.6.0", Keepalive: time.Second, CatalogChunk: 1, Media: media,
		Channels: []manscdp.Item{{DeviceID: gbChannel, Name: "Gate cam", Status: "ON", PTZType: 1},
			{DeviceID: "34020000001310000002", Name: "Yard", Status: "ON", PTZType: 3}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

type gbDevicesReply struct {
	Code    int `json:"code"`
	Devices []struct {
		ID           string `json:"id"`
		Online       bool   `json:"online"`
		Manufacturer string `json:"manufacturer"`
		Model        string `json:"model"`
		Firmware     string `json:"firmware"`
		Transport    string `json:"transport"`
		Channels     []struct {
			ID      string `json:"id"`
			Name    string `json:"name"`
			Status  string `json:"status"`
			PTZType int    `json:"ptz_type"`
		} `json:"channels"`
	} `json:"devices"`
}

// TestGB28181Register: a simulated camera with a wrong password is refused
// (401, then 403 for the bad digest); with the right one it registers over
// TCP, shows in the API with its DeviceInfo and its channels (catalog in
// two MESSAGEs), gets on_connect, takes PTZ commands as DeviceControl
// PTZCmd, and goes offline (on_close) when its keepalives stop.
func TestGB28181Register(t *testing.T) {
	t.Parallel()
	hooks, urls := startHookServer(t, func(hookEvent) string { return `{"code":0}` })
	s, addr := gbServer(t, "[[vhost]]\nname = \"__defaultVhost__\"\n[vhost.hooks]\non_connect = "+urls+"\non_close = "+urls+"\n")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	bad := gbDeviceSim(t, addr, "udp", nil)
	if st, err := bad.Register(ctx, "wrong", 3600); err != nil || fmt.Sprint(st) != "[401 403]" {
		t.Fatalf("wrong password: %v %v, want [401 403]", st, err)
	}
	s.waitLog(t, "gb28181: register refused: wrong credentials", 5*time.Second)

	d := gbDeviceSim(t, addr, "tcp", nil)
	if st, err := d.Register(ctx, "secret", 3600); err != nil || fmt.Sprint(st) != "[401 200]" {
		t.Fatalf("register: %v %v, want [401 200]", st, err)
	}
	go d.Run(ctx)
	var r gbDevicesReply
	deadline := time.Now().Add(5 * time.Second)
	for {
		s.getJSON(t, "/api/v1/gb28181/devices", &r)
		if len(r.Devices) == 1 && len(r.Devices[0].Channels) == 2 && r.Devices[0].Manufacturer != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("devices %+v", r)
		}
		time.Sleep(100 * time.Millisecond)
	}
	dv := r.Devices[0]
	if r.Code != 0 || dv.ID != gbDevice || !dv.Online || dv.Manufacturer != "Hikvision" || dv.Model != "DS-2DE2204IW-DE3" ||
		dv.Firmware != "V5.6.0" || dv.Transport != "tcp" || dv.Channels[0].ID != gbChannel || dv.Channels[0].Name != "Gate cam" ||
		dv.Channels[0].PTZType != 1 {
		t.Fatalf("device %+v", dv)
	}
	var one map[string]any
	s.getJSON(t, "/api/v1/gb28181/devices/"+gbDevice, &one)
	if one["code"].(float64) != 0 || one["device"].(map[string]any)["id"] != gbDevice {
		t.Fatalf("GET devices/{id}: %v", one)
	}
	if e := hooks.wait(t, "on_connect", gbDevice); e.App != "gb28181" || e.IP != "127.0.0.1" {
		t.Fatalf("on_connect %+v", e)
	}

	// PTZ: by channel id and by DEVICE_CHANNEL; the bytes of GB/T 28181 A.3.
	for _, c := range []struct{ name, body, want string }{
		{gbChannel, `{"action":"pan_left","speed":8}`, "A50F0102200000D7"},
		{gbDevice + "_" + gbChannel, `{"action":"tilt_up","speed":63}`, "A50F010800FF00BC"},
		{gbChannel, `{"action":"zoom_in"}`, ""},
		{gbChannel, `{"action":"stop"}`, "A50F0100000000B5"},
		{gbChannel, `{"action":"preset_go","preset":5}`, "A50F01820005003C"},
	} {
		n := len(d.PTZ())
		status, m, _ := s.apiDo(t, http.MethodPost, "/api/v1/ptz/"+c.name, "", c.body)
		if status != 200 || m["code"].(float64) != 0 {
			t.Fatalf("ptz %s %s: %d %v", c.name, c.body, status, m)
		}
		got := d.PTZ()
		if len(got) != n+1 || c.want != "" && got[n] != c.want {
			t.Fatalf("ptz %s: device got %v, want %s", c.body, got, c.want)
		}
	}

	d.Silence()
	s.waitLog(t, "gb28181: device offline", 15*time.Second)
	hooks.wait(t, "on_close", gbDevice)
	s.getJSON(t, "/api/v1/gb28181/devices", &r)
	if len(r.Devices) != 1 || r.Devices[0].Online {
		t.Fatalf("after silence: %+v", r)
	}
}

// TestGB28181Reload: a reload that changes the password applies to the
// next REGISTER, with the SIP socket kept; one that disables [gb28181]
// closes it.
func TestGB28181Reload(t *testing.T) {
	t.Parallel()
	s, addr := gbServer(t, "")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	reload := func(from, to string) {
		t.Helper()
		conf, err := os.ReadFile(s.conf)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(s.conf, []byte(strings.Replace(string(conf), from, to, 1)), 0o644); err != nil {
			t.Fatal(err)
		}
		n := strings.Count(s.logs(), "config reloaded")
		_ = s.cmd.Process.Signal(syscall.SIGHUP)
		deadline := time.Now().Add(5 * time.Second)
		for strings.Count(s.logs(), "config reloaded") == n {
			if time.Now().After(deadline) {
				t.Fatalf("no reload:\n%s", tail(s.logs(), 10))
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	reload(`password = "secret"`, `password = "changed"`)
	d := gbDeviceSim(t, addr, "udp", nil)
	if st, err := d.Register(ctx, "secret", 3600); err != nil || fmt.Sprint(st) != "[401 403]" {
		t.Fatalf("old password after the reload: %v %v", st, err)
	}
	d2 := gbDeviceSim(t, addr, "udp", nil)
	if st, err := d2.Register(ctx, "changed", 3600); err != nil || fmt.Sprint(st) != "[401 200]" {
		t.Fatalf("new password: %v %v", st, err)
	}
	reload("enabled = true", "enabled = false")
	var r gbDevicesReply
	s.getJSON(t, "/api/v1/gb28181/devices", &r)
	if len(r.Devices) != 0 {
		t.Fatalf("devices with gb28181 off: %+v", r)
	}
	d3 := gbDeviceSim(t, addr, "udp", nil)
	cctx, ccancel := context.WithTimeout(ctx, time.Second)
	defer ccancel()
	if st, err := d3.Register(cctx, "changed", 3600); err == nil {
		t.Fatalf("REGISTER answered with gb28181 off: %v", st)
	}
}
