//go:build tiny

package config

import (
	"strings"
	"testing"
)

// TestTinyHTTPS: the tiny build's HTTP client has no TLS, so the URLs the
// server calls (hooks, heartbeat, OTA) are refused at load when https://,
// with the line of the key; http:// is taken.
func TestTinyHTTPS(t *testing.T) {
	const why = `: https is not supported in the tiny build (no TLS: a full build has it): use http://`
	for _, tc := range []struct{ name, in, want string }{
		{"hook", "[[vhost]]\nname = \"a\"\nhooks.on_publish = [\"http://ok/\", \"HTTPS://h/p\"]\n",
			`c.toml:3: vhost.hooks.on_publish: "HTTPS://h/p"` + why},
		{"heartbeat", "[heartbeat]\nenabled = true\n\nurl = \"https://h/api/v1/heartbeat\"\n",
			`c.toml:4: heartbeat.url: "https://h/api/v1/heartbeat"` + why},
		{"ota", "[ota]\nurl = \"https://h/c.toml\"\nsha256_url = \"http://h/c.sha256\"\nhealth_url = \"https://h/health\"\n",
			`c.toml:2: ota.url: "https://h/c.toml"` + why + "\n" + `c.toml:4: ota.health_url: "https://h/health"` + why},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("c.toml", []byte(tc.in))
			if err == nil || err.Error() != tc.want {
				t.Fatalf("got:\n%v\nwant:\n%s", err, tc.want)
			}
			// The same with http:// loads.
			if _, err := Parse("c.toml", []byte(strings.ReplaceAll(strings.ReplaceAll(tc.in, "HTTPS:", "http:"), "https:", "http:"))); err != nil {
				t.Fatalf("http://: %v", err)
			}
		})
	}
}

// TestTinyRTMPS: the RTMP destinations the server dials itself (forward,
// an ingest's output) are refused as rtmps:// in the tiny build.
func TestTinyRTMPS(t *testing.T) {
	const why = `: rtmps is not supported in the tiny build (no TLS: a full build has it): use rtmp://`
	for _, tc := range []struct{ name, in, want string }{
		{"forward", "[[vhost]]\nname = \"a\"\n[vhost.forward]\ndestinations = [\"rtmps://h/live/[stream]\"]\n",
			`c.toml:4: vhost.forward.destinations: "rtmps://h/live/[stream]"` + why},
		{"ingest", "[[ingest]]\nname = \"cam\"\ninput = \"rtsp://cam/1\"\noutput = \"rtmps://h/live/cam\"\n",
			`c.toml:4: ingest.output: "rtmps://h/live/cam"` + why},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("c.toml", []byte(tc.in))
			if err == nil || err.Error() != tc.want {
				t.Fatalf("got:\n%v\nwant:\n%s", err, tc.want)
			}
			if _, err := Parse("c.toml", []byte(strings.ReplaceAll(tc.in, "rtmps:", "rtmp:"))); err != nil {
				t.Fatalf("rtmp://: %v", err)
			}
		})
	}
}
