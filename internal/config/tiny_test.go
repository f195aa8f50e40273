//go:build tiny

package config

import (
	"strings"
	"testing"
)

// TestTinyTLSURLs: the tiny build's HTTP and RTMP clients have no TLS, so
// the https:// URLs the server calls (hooks, heartbeat, OTA) and the
// rtmps:// ones it dials (forward, an ingest's output) are refused at load,
// with the line of the key; http:// and rtmp:// are taken.
func TestTinyTLSURLs(t *testing.T) {
	const https = `: https is not supported in the tiny build (no TLS: a full build has it): use http://`
	const rtmps = `: rtmps is not supported in the tiny build (no TLS: a full build has it): use rtmp://`
	for _, tc := range []struct{ name, in, want string }{
		{"hook", "[[vhost]]\nname = \"a\"\nhooks.on_publish = [\"http://ok/\", \"HTTPS://h/p\"]\n",
			`c.toml:3: vhost.hooks.on_publish: "HTTPS://h/p"` + https},
		{"heartbeat", "[heartbeat]\nenabled = true\n\nurl = \"https://h/api/v1/heartbeat\"\n",
			`c.toml:4: heartbeat.url: "https://h/api/v1/heartbeat"` + https},
		{"ota", "[ota]\nurl = \"https://h/c.toml\"\nsha256_url = \"http://h/c.sha256\"\nhealth_url = \"https://h/health\"\n",
			`c.toml:2: ota.url: "https://h/c.toml"` + https + "\n" + `c.toml:4: ota.health_url: "https://h/health"` + https},
		{"forward", "[[vhost]]\nname = \"a\"\n[vhost.forward]\ndestinations = [\"rtmps://h/live/[stream]\"]\n",
			`c.toml:4: vhost.forward.destinations: "rtmps://h/live/[stream]"` + rtmps},
		{"ingest", "[[ingest]]\nname = \"cam\"\ninput = \"rtsp://cam/1\"\noutput = \"rtmps://h/live/cam\"\n",
			`c.toml:4: ingest.output: "rtmps://h/live/cam"` + rtmps},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("c.toml", []byte(tc.in))
			if err == nil || err.Error() != tc.want {
				t.Fatalf("got:\n%v\nwant:\n%s", err, tc.want)
			}
			// The same without TLS loads.
			plain := strings.NewReplacer("HTTPS:", "http:", "https:", "http:", "rtmps:", "rtmp:").Replace(tc.in)
			if _, err := Parse("c.toml", []byte(plain)); err != nil {
				t.Fatalf("without TLS: %v", err)
			}
		})
	}
}
