#!/bin/bash
# SRT fan-out cost against RTMP's: the same ~3 Mbps H.264+AAC stream played
# by N RTMP and then N SRT players of one srs-lite, the server pinned to
# CPU 0, the publisher and the bench tool to CPU 1:
#   scripts/compare-srt.sh [PLAYERS]             (default: 100)
#   OLD=path/to/srs-lite scripts/compare-srt.sh  (adds a binary from before,
#   measured the same way in its own run)
# The reference is srt-live-transmit relaying the same stream (published to
# it over SRT) to one SRT player; srs-lite's cost for one SRT player is
# printed beside it. Prints server CPU (% of one core), RSS, kbps per player,
# stalls, and the SRT/RTMP CPU ratio of each run.
# DURATION (default 20s, whole seconds) is the length of each point.
# Needs: ffmpeg, srt-tools (srt-live-transmit), taskset (util-linux).
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-100}
dur=${DURATION:-20s}
# shellcheck source=scripts/load-lib.sh
. scripts/load-lib.sh
go build -o bin/srs-lite ./cmd/srs-lite
bin=$PWD/bin/srs-lite
make_fixture 2900

free_port() { # a free port number for proto (tcp|udp) on 127.0.0.1
	python3 -c "import socket,sys; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM if sys.argv[1]=='udp' else socket.SOCK_STREAM); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])" "$1"
}

srt_counters() { # API port -> "sent retransmitted sender-drops" of the SRT server so far (GET /metrics)
	curl -s "http://127.0.0.1:$1/metrics" | awk '
		/^srs_lite_srt_packets_sent_total / {s=$2}
		/^srs_lite_srt_packets_retransmitted_total / {r=$2}
		/^srs_lite_srt_packets_too_late_total\{side="sender"\} / {d=$2}
		END {printf "%d %d %d\n", s, r, d}'
}

run() { # name binary
	local name=$1 b=$2 rtmp srt pr pa ps
	pr=$(free_port tcp); pa=$(free_port tcp); ps=$(free_port udp)
	# RTSP and WebRTC off: their default ports may be another server's.
	printf '[log]\nlevel = "warn"\n[rtmp]\nlisten = "127.0.0.1:%s"\n[http_api]\nlisten = "127.0.0.1:%s"\n[http_server]\nenabled = false\n[srt]\nlisten = "127.0.0.1:%s"\n[rtsp]\nenabled = false\n[rtc]\nenabled = false\n[server]\nmax_connections = 10000\n' \
		"$pr" "$pa" "$ps" > "$work/$name.toml"
	taskset -c 0 "$b" -c "$work/$name.toml" > "$work/$name.log" 2>&1 &
	local pid=$!
	sleep 1
	taskset -c 1 ffmpeg -hide_banner -loglevel error -re -stream_loop -1 -i "$work/fixture.flv" -c copy -f flv rtmp://127.0.0.1:$pr/live/s &
	local fp=$!
	sleep 3
	measure_bench "$name rtmp" "$pid" rtmp://127.0.0.1:$pr/live/s "$n"; rtmp=$(cat "$work/cpu")
	local m0 m1
	m0=$(srt_counters "$pa")
	measure_bench "$name srt" "$pid" "srt://127.0.0.1:$ps?streamid=#!::r=live/s,m=request" "$n"; srt=$(cat "$work/cpu")
	m1=$(srt_counters "$pa")
	python3 -c "
a, b = [int(x) for x in '$m0'.split()], [int(x) for x in '$m1'.split()]
sent, rexmit, drop = (b[i] - a[i] for i in range(3))
print(f'$name srt: {sent} data packets sent, {rexmit} retransmitted ({100 * rexmit / max(sent, 1):.3f}%), {drop} dropped as too late by the sender')"
	measure_bench "$name srt (1 player)" "$pid" "srt://127.0.0.1:$ps?streamid=#!::r=live/s,m=request" 1
	python3 -c "print(f'$name: {$n} SRT players cost {$srt/$rtmp:.1f}x what {$n} RTMP players cost')"
	kill "$fp" "$pid"
	wait "$fp" "$pid" 2>/dev/null || true
}

reference() { # srt-live-transmit relaying the stream to one SRT player
	command -v srt-live-transmit > /dev/null || { echo "srt-live-transmit missing (apt-get install srt-tools): no reference"; return; }
	local pin pout
	pin=$(free_port udp); pout=$(free_port udp)
	taskset -c 0 srt-live-transmit -q "srt://127.0.0.1:$pin?mode=listener" "srt://127.0.0.1:$pout?mode=listener" &
	local pid=$!
	sleep 0.5
	taskset -c 1 ffmpeg -hide_banner -loglevel error -re -stream_loop -1 -i "$work/fixture.flv" -c copy -f mpegts \
		"srt://127.0.0.1:$pin?pkt_size=1316" &
	local fp=$!
	sleep 2
	measure_bench "srt-live-transmit (1 player)" "$pid" "srt://127.0.0.1:$pout" 1
	kill "$fp" "$pid"
	wait "$fp" "$pid" 2>/dev/null || true
}

[ -n "${OLD:-}" ] && run before "$OLD"
run after "$bin"
reference
