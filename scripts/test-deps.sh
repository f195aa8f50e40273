#!/bin/sh
# Installs the third-party peers the tests talk to when they are missing and
# we may (root with apt-get); otherwise says what to install, and the tests
# that need a missing tool skip with a loud message.
#
# Checked per package, not per command: a machine may have gst-launch-1.0
# without gstreamer1.0-libav (whose avenc_aac the RTSP test camera uses). A
# package counts as present when what the tests use of it is there (the
# commands, GStreamer elements, typelibs and Python modules named on its line:
# that also covers a tool installed from elsewhere, such as npm beside a
# nodejs that did not come from Debian), or when dpkg says it is installed.
#
# One line per package: the Debian package, then its proofs (cmd:NAME a
# command, gst:ELEMENT a GStreamer element, typelib:NAME a GObject typelib,
# file:PATH a file, py:MODULE a Python module: of the python3 first on PATH,
# which may not be the system one; the tests that run /usr/bin/python3 prove
# its modules with file:). Add a line for each new test peer.
set -e
PKGS='
ffmpeg                      cmd:ffmpeg cmd:ffprobe
srt-tools                   cmd:srt-live-transmit
sip-tester                  cmd:sipp
chromium                    cmd:chromium
npm                         cmd:npm
gstreamer1.0-tools          cmd:gst-launch-1.0
gir1.2-gst-rtsp-server-1.0  typelib:GstRtspServer-1.0
gir1.2-gst-plugins-bad-1.0  typelib:GstWebRTC-1.0
gstreamer1.0-nice           gst:nicesrc
python3-gi                  py:gi
gstreamer1.0-plugins-base   gst:videotestsrc gst:audiotestsrc gst:opusenc
gstreamer1.0-plugins-good   gst:rtph264pay gst:rtpmp4gpay gst:rtpopuspay gst:rtph265depay
gstreamer1.0-plugins-bad    gst:mpegpsmux gst:hlsdemux
gstreamer1.0-plugins-ugly   gst:x264enc
gstreamer1.0-libav          gst:avenc_aac gst:avdec_h264 gst:avdec_h265
qemu-user-static            cmd:qemu-mipsel-static
qemu-system-x86             cmd:qemu-system-x86_64
shellcheck                  cmd:shellcheck
nginx-light                 cmd:nginx
libnginx-mod-rtmp           file:/usr/lib/nginx/modules/ngx_rtmp_module.so
curl                        cmd:curl
openssl                     cmd:openssl
python3-prometheus-client   file:/usr/lib/python3/dist-packages/prometheus_client/parser.py
vlc-bin                     cmd:cvlc
vlc-plugin-base             file:/usr/lib/x86_64-linux-gnu/vlc/plugins/access/liblive555_plugin.so
vlc-plugin-access-extra     file:/usr/lib/x86_64-linux-gnu/vlc/plugins/access/libaccess_srt_plugin.so
'

present() { # present PKG PROOF...
	pkg=$1
	shift
	proofs "$@" && return 0
	command -v dpkg-query >/dev/null 2>&1 &&
		dpkg-query -W -f='${Status}\n' "$pkg" 2>/dev/null | grep -q '^install ok installed$'
}

proofs() {
	for p in "$@"; do
		case $p in
		cmd:*) command -v "${p#cmd:}" >/dev/null 2>&1 || return 1 ;;
		gst:*) gst-inspect-1.0 --exists "${p#gst:}" 2>/dev/null || return 1 ;;
		typelib:*) ls /usr/lib/*/girepository-1.0/"${p#typelib:}".typelib >/dev/null 2>&1 || return 1 ;;
		file:*) [ -e "${p#file:}" ] || return 1 ;;
		py:*) python3 -c "import ${p#py:}" 2>/dev/null || return 1 ;;
		esac
	done
}

missing=$(echo "$PKGS" | while read -r pkg rest; do
	[ -z "$pkg" ] && continue
	# shellcheck disable=SC2086
	present "$pkg" $rest || echo "$pkg"
done | tr '\n' ' ')
[ -z "$(echo "$missing" | tr -d ' ')" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
	echo "test-deps: installing $missing with apt-get (once; this takes a few minutes) ..."
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# One package at a time when the batch fails, so one that the archive
	# lacks does not keep the others out; its tests skip loudly.
	# shellcheck disable=SC2086
	if ! apt-get install -y -qq --no-install-recommends $missing >/dev/null; then
		for pkg in $missing; do
			apt-get install -y -qq --no-install-recommends "$pkg" >/dev/null ||
				echo "test-deps: could not install $pkg; the tests that need it will be skipped" >&2
		done
	fi
	echo "test-deps: installed $missing"
	exit 0
fi
echo "test-deps: missing: $missing. Install them (Debian/Ubuntu: sudo apt-get install $missing)." >&2
echo "test-deps: the integration tests that need them will be skipped." >&2
exit 0
