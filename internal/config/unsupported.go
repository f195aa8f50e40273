package config

import (
	"regexp"
	"strings"
)

// unsupported names the keys of the public interface (docs/INTERFACE in the
// README) that this build does not implement yet, with what they are for.
// A file that sets one is refused with "not supported yet", never silently
// ignored: a documented key either works or says so. A key leaves this
// list when the feature lands.
var unsupported = map[string]string{
	"rtc":                      "WebRTC (WHIP/WHEP)",
	"rtsp":                     "the RTSP server (play out and publish)",
	"gb28181":                  "GB28181",
	"heartbeat":                "the SRS heartbeat",
	"tls":                      "TLS certificates (HTTPS, RTMPS)",
	"rtmp.rtmps_listen":        "RTMPS",
	"http_api.https_listen":    "HTTPS for the API",
	"http_server.https_listen": "HTTPS for the HTTP server",
	"vhost.atc":                "ATC (absolute time)",
	"vhost.forward":            "forward",
	"vhost.security":           "security rules",
	"vhost.hls.low_latency":    "low-latency HLS",
	"vhost.hls.part":           "low-latency HLS parts",
	"vhost.hooks.on_forward":   "the on_forward hook",
}

var indexMarker = regexp.MustCompile("\x00[0-9]+")

// notSupported returns what the key at path (as decodeState names it) is
// for when this build does not implement it, or "".
func notSupported(path string) string {
	return unsupported[indexMarker.ReplaceAllString(strings.ReplaceAll(path, `"`, ""), "")]
}
