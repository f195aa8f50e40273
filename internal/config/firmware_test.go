package config

import (
	"strings"
	"testing"
)

func TestDefined(t *testing.T) {
	c, err := Parse("c.toml", []byte(`
[server]
max_connections = 50

[[vhost]]
name = "a"
ring_frames = 128
hls = {fragment = "1s"}

[[vhost]]
name = "b"
  [vhost.hls]
  path = "/tmp/hls"

[log]
"level" = "debug"
`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		key  string
		want bool
	}{
		{"server.max_connections", true},
		{"server.memory_limit", false},
		{"server", true},
		{"vhost[0].ring_frames", true},
		{"vhost[0].gop_cache_max_frames", false},
		{"vhost[0].hls.fragment", true},
		{"vhost[0].hls.path", true}, // inside an inline table: counted as set
		{"vhost[1].ring_frames", false},
		{"vhost[1].hls.path", true},
		{"vhost[1].hls.fragment", false},
		{"vhost[2].ring_frames", false}, // the default vhost, added by Parse
		{"log.level", true},
		{"log.file", false},
		{"ota.url", false},
		{"", false},
		{"vhost[x].ring_frames", false},
		{"vhost[0.ring_frames", false},
		{".a", false},
	}
	for _, tt := range tests {
		if got := c.Defined(tt.key); got != tt.want {
			t.Errorf("Defined(%q) = %v, want %v", tt.key, got, tt.want)
		}
	}
	if Default().Defined("server.max_connections") {
		t.Error("Default defines a key")
	}
	if !c.Clone().Defined("server.max_connections") {
		t.Error("a clone forgets the source")
	}
}

func TestFirmwareProblems(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"user without password", "[http_api.auth]\nusername = \"admin\"\n", "http_api.auth.password: empty: a username needs a password"},
		{"password without user", "[http_api.auth]\npassword = \"longenough\"\n", "http_api.auth.username: empty"},
		{"short password", "[http_api.auth]\nusername = \"a\"\npassword = \"short\"\n", "http_api.auth.password: 5 characters"},
		{"short token", "[http_api.auth]\ntoken = \"abc\"\n", "http_api.auth.token: 3 characters"},
		{"token with space", "[http_api.auth]\ntoken = \"abc defghij\"\n", "http_api.auth.token: contains a space"},
		{"colon user", "[http_api.auth]\nusername = \"a:b\"\npassword = \"longenough\"\n", "contains a colon"},
		{"control", "[http_api.auth]\ntoken = \"abcdefgh\\u0001\"\n", "control character"},
		{"read without credentials", "[http_api.auth]\nread = true\n", "http_api.auth.read: true without credentials"},
		{"redacted password", "[http_api.auth]\nusername = \"a\"\npassword = \"(redacted)\"\n", "placeholder"},
		{"redacted token", "[http_api.auth]\ntoken = \"(redacted)\"\n", "http_api.auth.token: \"(redacted)\" is the placeholder"},
		{"redacted passphrase", "[srt]\npassphrase = \"(redacted)\"\n", "srt.passphrase: \"(redacted)\" is the placeholder"},
		{"redacted gb28181 password", "[gb28181]\npassword = \"(redacted)\"\n", "gb28181.password: \"(redacted)\" is the placeholder"},
		{"ota url", "[ota]\nurl = \"ftp://x/c.toml\"\n", "ota.url: invalid URL"},
		{"ota sha without url", "[ota]\nsha256_url = \"http://x/c.sha256\"\n", "ota.sha256_url: set without ota.url"},
		{"ota interval", "[ota]\ninterval = \"1s\"\n", "ota.interval: 1s out of range 10s..168h"},
		{"ota grace", "[ota]\nhealth_grace = \"20m\"\n", "ota.health_grace"},
		{"ota health url", "[ota]\nhealth_url = \"nope\"\n", "ota.health_url: invalid URL"},
		{"serial device", "[[serial]]\nname = \"p\"\ndevice = \"ttyS0\"\naddress = 1\n", "serial.device: \"ttyS0\": want the absolute path"},
		{"serial baud", "[[serial]]\nname = \"p\"\ndevice = \"/dev/ttyS0\"\nbaud = 1234\naddress = 1\n", "serial.baud: 1234"},
		{"serial protocol", "[[serial]]\nname = \"p\"\ndevice = \"/dev/ttyS0\"\nprotocol = \"visca\"\naddress = 1\n", "serial.protocol: \"visca\": must be pelco-d or pelco-p"},
		{"serial address d", "[[serial]]\nname = \"p\"\ndevice = \"/dev/ttyS0\"\n", "serial.address: 0 out of range 1..255"},
		{"serial address p", "[[serial]]\nname = \"p\"\ndevice = \"/dev/ttyS0\"\nprotocol = \"pelco-p\"\naddress = 256\n", "serial.address: 256 out of range 0..255"},
		{"serial name", "[[serial]]\nname = \"a b\"\ndevice = \"/dev/ttyS0\"\naddress = 1\n", "serial.name"},
		{"serial duplicate", "[[serial]]\nname = \"p\"\ndevice = \"/dev/ttyS0\"\naddress = 1\n[[serial]]\nname = \"p\"\ndevice = \"/dev/ttyS1\"\naddress = 1\n", "duplicate serial port \"p\" (also at line 2)"},
		{"serial unknown key", "[[serial]]\nname = \"p\"\nspeed = 1\n", "serial.speed: unknown key"},
		{"memory limit", "[server]\nmemory_limit = \"-1\"\n", "server.memory_limit"},
		{"gc percent", "[server]\ngc_percent = 0\n", "server.gc_percent: 0: must be -1 (collector off) or 10..10000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("c.toml", []byte(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
	ok := `[server]
memory_limit = "48MiB"
gc_percent = -1
[http_api.auth]
username = "admin"
password = "s3cret-pass"
token = "0123456789abcdef"
read = true
[ota]
url = "http://example.com/c.toml"
sha256_url = "http://example.com/c.toml.sha256"
interval = "1h"
health_grace = "500ms"
health_url = "http://127.0.0.1:8080/live/cam.m3u8"
[[serial]]
name = "ptz"
device = "/dev/ttyUSB0"
[[serial]]
name = "p2"
device = "/dev/ttyUSB1"
protocol = "pelco-p"
baud = 9600
address = 0
`
	c, err := Parse("ok.toml", []byte(strings.Replace(ok, "device = \"/dev/ttyUSB0\"\n", "device = \"/dev/ttyUSB0\"\naddress = 1\n", 1)))
	if err != nil {
		t.Fatal(err)
	}
	if c.Server.MemoryLimit != 48<<20 || c.Server.GCPercent != -1 || !c.HTTPAPI.Auth.Configured() ||
		c.OTA.Interval.String() != "1h" || len(c.Serials) != 2 || c.Serials[1].Address != 0 {
		t.Fatalf("%+v", c)
	}
}

func TestRedacted(t *testing.T) {
	c := Default()
	c.HTTPAPI.Auth = Auth{Username: "admin", Password: "s3cret-pass", Token: "0123456789abcdef"}
	c.SRT.Passphrase = "0123456789ab"
	c.Ingests = []Ingest{{Name: "cam", Input: "rtsp://u:p4ss@10.0.0.1/s", Output: "rtmp://u:x@h/live/s"}, {Name: "f", Input: "/data/x.flv"}}
	c.OTA.URL = "https://ota:t0k@example.com/c.toml"
	c.GB28181.Password = "cam-pass"
	r := c.Redacted()
	if r.HTTPAPI.Auth.Password != Redacted || r.HTTPAPI.Auth.Token != Redacted || r.HTTPAPI.Auth.Username != "admin" ||
		r.SRT.Passphrase != Redacted || r.Ingests[0].Input != "rtsp://u:xxxxx@10.0.0.1/s" ||
		r.Ingests[0].Output != "rtmp://u:xxxxx@h/live/s" || r.Ingests[1].Input != "/data/x.flv" ||
		r.OTA.URL != "https://ota:xxxxx@example.com/c.toml" || r.GB28181.Password != Redacted {
		t.Fatalf("%+v", r)
	}
	if c.HTTPAPI.Auth.Password != "s3cret-pass" || c.Ingests[0].Input != "rtsp://u:p4ss@10.0.0.1/s" {
		t.Fatal("Redacted changed the original")
	}
	if d := Default().Redacted(); d.HTTPAPI.Auth.Password != "" || d.SRT.Passphrase != "" {
		t.Fatal("empty secrets redacted")
	}
}

func TestFirmwareDiffAndClone(t *testing.T) {
	a := Default()
	a.Serials = []Serial{{Name: "p", Device: "/dev/ttyS0", Address: 1}}
	b := a.Clone()
	b.Serials[0].Address = 2
	if a.Serials[0].Address != 1 {
		t.Fatal("Clone shares the serial list")
	}
	if d := Diff(a, b); d != SectionSerial {
		t.Errorf("serial change: %v", d)
	}
	c := a.Clone()
	c.OTA.URL = "http://x/c.toml"
	if d := Diff(a, c); d != SectionOTA {
		t.Errorf("ota change: %v", d)
	}
	e := a.Clone()
	e.HTTPAPI.Auth.Token = "0123456789"
	if d := Diff(a, e); d != SectionHTTPAPI {
		t.Errorf("auth change: %v", d)
	}
	f := a.Clone()
	f.Serials = nil
	g := f.Clone()
	g.Serials = []Serial{}
	if d := Diff(f, g); d != 0 {
		t.Errorf("nil and empty serial lists differ: %v", d)
	}
}
