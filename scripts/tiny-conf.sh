#!/bin/sh
# tiny-conf.sh: the shipped config (conf/srs-lite.toml, or $1) for a build
# without WebRTC and the RTSP server (the tiny profile, or nortc/nortsp),
# written to stdout: [rtc] and [rtsp] say enabled = false, which such a build
# accepts (it refuses enabled = true rather than ignore it). Used by the
# OpenWrt package when CONFIG_SRS_LITE_TINY is set, and by make run TAGS=tiny.
set -eu
sed -e '/^\[rtc\]/,/^\[/s/^enabled = true /enabled = false/' \
    -e '/^\[rtsp\]/,/^\[/s/^enabled = true /enabled = false/' \
    "${1:-conf/srs-lite.toml}"
