#!/bin/sh
# Installs the third-party peers the tests talk to when they are missing and
# we may (root with apt-get): ffmpeg and ffprobe (RTMP, HTTP-FLV), Chromium
# and npm (mpegts.js in a browser). Otherwise says what to install; the tests
# that need a missing tool skip with a loud message.
set -e
pkgs=""
command -v ffmpeg >/dev/null 2>&1 && command -v ffprobe >/dev/null 2>&1 || pkgs="$pkgs ffmpeg"
command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || pkgs="$pkgs chromium"
command -v npm >/dev/null 2>&1 || pkgs="$pkgs npm"
[ -z "$pkgs" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
	echo "test-deps: installing$pkgs with apt-get (once; this takes a minute) ..."
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends $pkgs >/dev/null
	echo "test-deps: installed$pkgs"
	exit 0
fi
echo "test-deps: missing:$pkgs. Install them (Debian/Ubuntu: sudo apt-get install$pkgs)." >&2
echo "test-deps: the integration tests that need them will be skipped." >&2
exit 0
