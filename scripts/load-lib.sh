#!/bin/bash
# Sourced by the load scripts (compare-*.sh, *-load.sh): a work folder and
# the background jobs cleaned up at exit, as many open files as allowed,
# the test stream, and the measuring helpers.
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; sleep 0.5; rm -rf "$work"' EXIT
ulimit -n "$(ulimit -Hn)"

# make_fixture KBPS: $work/fixture.flv, 60 s of 720p30 H.264 with a 2 s GOP
# at about KBPS kbit/s (video), and AAC.
make_fixture() {
	local kbps=$1 abr=64k
	[ "$kbps" -ge 2000 ] && abr=96k
	echo "making a $((kbps / 1000 + 1)) Mbps 30 fps 2 s GOP H.264+AAC fixture ..."
	ffmpeg -hide_banner -loglevel error -f lavfi -i testsrc2=size=1280x720:rate=30 -f lavfi -i sine=sample_rate=44100 \
		-c:v libx264 -preset veryfast -g 60 -keyint_min 60 -sc_threshold 0 -b:v "${kbps}k" \
		-maxrate "$((kbps / 900 + 1))M" -bufsize "$((kbps / 900 + 1))M" \
		-c:a aac -b:a "$abr" -t 60 -f flv "$work/fixture.flv"
}

cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
hwm_kb() { awk '/VmHWM/{print $2}' "/proc/$1/status"; }
rss_kb() { awk '/VmRSS/{print $2}' "/proc/$1/status"; }
hz=$(getconf CLK_TCK)
export hz
