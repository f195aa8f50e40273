#!/bin/sh
# Runs the unit tests of the byte-order-sensitive packages on big-endian MIPS
# under qemu-user (no binfmt needed: go test -exec):
#   scripts/cross-unit.sh [PKG...]    (default: the wire-format packages that exist)
# -short leaves out the slow interop tests with third-party peers, which run
# natively in make unit. The test binaries are built with -trimpath, like scripts/cross.sh, so the
# standard library compiled for mips is shared with the cross builds.
set -eu
cd "$(dirname "$0")/.."
GO=${GO:-go}
QEMU=${QEMU:-qemu-mips-static}
if ! command -v "$QEMU" >/dev/null 2>&1; then
	echo "cross-unit: SKIPPED: $QEMU is not installed (Debian/Ubuntu: apt-get install qemu-user-static; make test installs it when run as root)" >&2
	exit 0
fi
if [ $# -eq 0 ]; then
	# RTMP chunking, AMF0, FLV, MPEG-TS, SRT, RTP, MPEG-PS, RTP/PS, Ogg, WebRTC, the batched UDP
	# system calls (socket addresses, mmsghdr): what reads or
	# writes multi-byte fields on the wire.
	for p in protocol/rtmp format/amf0 format/flv format/ts protocol/srt format/rtp format/ps protocol/gb28181/rtpps format/ogg format/stun protocol/rtc dgram; do
		[ -d "internal/$p" ] && set -- "$@" "./internal/$p/"
	done
fi
echo "cross-unit: GOARCH=mips GOMIPS=softfloat go test -exec $QEMU $*"
CGO_ENABLED=0 GOOS=linux GOARCH=mips GOMIPS=softfloat \
	$GO test -short -trimpath -count=1 -timeout 10m -exec "$QEMU" "$@"
