#!/bin/sh
# Installs the third-party peers the tests talk to (ffmpeg, ffprobe) when they
# are missing and we may (root with apt-get); otherwise says what to install.
set -e
need=""
for t in ffmpeg ffprobe; do
	command -v "$t" >/dev/null 2>&1 || need="$need $t"
done
[ -z "$need" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
	echo "test-deps: installing ffmpeg (for$need) with apt-get ..."
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends ffmpeg >/dev/null
	echo "test-deps: ffmpeg installed: $(ffmpeg -version | head -1)"
	exit 0
fi
echo "test-deps: missing:$need. Install ffmpeg (Debian/Ubuntu: sudo apt-get install ffmpeg)." >&2
echo "test-deps: the integration tests that need it will be skipped." >&2
exit 0
