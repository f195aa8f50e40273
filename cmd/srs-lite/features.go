package main

import "github.com/srs-lite/srs-lite/internal/buildinfo"

// The protocols and services every build has. Optional ones register
// themselves from files behind build constraints (see internal/buildinfo).
func init() {
	buildinfo.Register("rtmp", "http-flv", "http-api", "hls", "hls-fmp4", "dvr", "static-files",
		"rtsp-ingest", "srt")
}
