#!/bin/sh
# Installs the third-party peers the tests talk to when they are missing and
# we may (root with apt-get); otherwise says what to install, and the tests
# that need a missing tool skip with a loud message.
#
# One line per tool: the command that must be on PATH, then the Debian
# package(s) that provide it. Add a line for each new test peer.
set -e
TOOLS='
ffmpeg            ffmpeg
ffprobe           ffmpeg
srt-live-transmit srt-tools
chromium          chromium
npm               npm
gst-launch-1.0    gstreamer1.0-tools gir1.2-gst-rtsp-server-1.0 python3-gi gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly gstreamer1.0-libav
qemu-mipsel-static qemu-user-static
qemu-system-x86_64 qemu-system-x86
shellcheck        shellcheck
'
pkgs=""
echo "$TOOLS" | { while read -r cmd pk; do
	[ -z "$cmd" ] && continue
	command -v "$cmd" >/dev/null 2>&1 || echo "$pk"
done; } >/tmp/srs-lite-deps.$$
pkgs=$(sort -u /tmp/srs-lite-deps.$$ | tr '\n' ' ')
rm -f /tmp/srs-lite-deps.$$
[ -z "$(echo "$pkgs" | tr -d ' ')" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
	echo "test-deps: installing $pkgs with apt-get (once; this takes a minute or two) ..."
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $pkgs >/dev/null
	echo "test-deps: installed $pkgs"
	exit 0
fi
echo "test-deps: missing: $pkgs. Install them (Debian/Ubuntu: sudo apt-get install $pkgs)." >&2
echo "test-deps: the integration tests that need them will be skipped." >&2
exit 0
