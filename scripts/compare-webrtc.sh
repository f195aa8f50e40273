#!/bin/bash
# WebRTC (WHEP) fan-out cost: one ~1 Mbps H.264+AAC stream published by
# ffmpeg over RTMP, played by N WHEP viewers (srs-lite bench play whep://,
# the lean client) and, as the reference, by N RTMP players; then the same
# WHEP load on a peer in the same run: MediaMTX when MTX=path/to/mediamtx is
# given (the Go module proxy does not serve it: go install fails), else
# scripts/bench/pionfanout (pion/webrtc/v4, one PeerConnection per viewer,
# default interceptors, one UDP port) fed the same stream as RTP by ffmpeg
# (H.264 copied, AAC as Opus). Each server is pinned to CPU 0, ffmpeg and
# the bench tool to CPU 1:
#   scripts/compare-webrtc.sh            (points: 100, 300 WHEP; 100 RTMP)
#   POINTS="100 300" RTMP=100 DURATION=20s RAMP=0s scripts/compare-webrtc.sh
#   OLD=path/to/srs-lite scripts/compare-webrtc.sh  (adds a binary from
#   before, measured the same way in its own run first; PEER=no leaves the
#   peer out)
# Prints per point: server CPU (% of one core; srs-lite's includes its
# AAC->Opus ffmpeg child, also shown apart), RSS, RSS per viewer over the
# idle RSS, kbps per player (over the run, connects included, and over its
# last 5 s), ttff p50 and stalls (no video frame for >1 s).
# The bench tool's own CPU (% of one core) is printed too: when it nears
# 100% the client, not the server, limits the point. So are the server's
# "waited" (time its threads were runnable but not running, from
# /proc/PID/task/*/schedstat, % of the wall time summed over threads: the
# core was busy with other jobs) and the UDP drops counted on the server's
# and the players' sockets (/proc/net/udp): stalls with a high "waited" and
# no drops are a server short of CPU on a shared core, stalls with drops a
# client (or buffer) that did not keep up.
# Needs: ffmpeg (with libopus for audio), taskset (util-linux), GNU time,
# python3, go.
set -euo pipefail
cd "$(dirname "$0")/.."
points=${POINTS:-"100 300"}
nrtmp=${RTMP:-100}
dur=${DURATION:-20s}
ramp=${RAMP:-0s} # spread the connects over this time (bench -ramp); 0s: 50 in flight at once
[ -x /usr/bin/time ] || { echo "compare-webrtc: needs GNU time (apt-get install time)" >&2; exit 1; }
command -v taskset > /dev/null || { echo "compare-webrtc: needs taskset (util-linux)" >&2; exit 1; }
# shellcheck source=scripts/load-lib.sh
. scripts/load-lib.sh
go build -o bin/srs-lite ./cmd/srs-lite
bin=$PWD/bin/srs-lite
if [ -z "${MTX:-}" ]; then
	(cd scripts/bench/pionfanout && go build -o "$work/pionfanout" .)
fi
# The fixture: 60 s of 720p30 H.264 at ~900 kbit/s with a 2 s GOP and no
# B-frames (WebRTC viewers get none: srs-lite drops them as SRS does, so a
# stream with B-frames would compare unequal bitrates), and 64 kbit/s AAC.
echo "making a 1 Mbps 30 fps 2 s GOP H.264 (no B-frames) + AAC fixture ..."
ffmpeg -hide_banner -loglevel error -f lavfi -i testsrc2=size=1280x720:rate=30 -f lavfi -i sine=sample_rate=44100 \
	-c:v libx264 -preset veryfast -bf 0 -g 60 -keyint_min 60 -sc_threshold 0 -b:v 900k -maxrate 1M -bufsize 1M \
	-c:a aac -b:a 64k -t 60 -f flv "$work/fixture.flv"

free_port() { # a free port number for proto (tcp|udp) on 127.0.0.1
	python3 -c "import socket,sys; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM if sys.argv[1]=='udp' else socket.SOCK_STREAM); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])" "$1"
}
sched_ns() { # "ran waited" ns summed over pid's threads (/proc/PID/task/*/schedstat):
	# waited is time runnable but not running, i.e. the core was busy with others
	local r=0 q=0 a b c f
	for f in /proc/"$1"/task/*/schedstat; do
		read -r a b c < "$f" 2>/dev/null || continue
		r=$((r + a)); q=$((q + b))
	done
	echo "$r $q"
}
udp_drops() { # datagrams dropped by the sockets connected to (or bound on) 127.0.0.1:port, from /proc/net/udp
	awk -v p="$(printf ':%04X' "$1")" 'NR > 1 && (index($2, p) || index($3, p)) { d += $NF } END { print d + 0 }' /proc/net/udp
}
child_ticks() { # CPU ticks of pid's children (the audio bridge's ffmpeg)
	local t=0 c
	for c in $(pgrep -P "$1" || true); do t=$((t + $(cpu_ticks "$c" 2>/dev/null || echo 0))); done
	echo "$t"
}

measure() { # name pid url players [udp port] -> prints a row
	local name=$1 pid=$2 url=$3 np=$4 port=${5:-0} c0 k0 t0 c1 k1 t1 rss idle s0 s1 drops=0
	idle=$(rss_kb "$pid")
	s0=$(sched_ns "$pid")
	c0=$(cpu_ticks "$pid"); k0=$(child_ticks "$pid"); t0=$(date +%s.%N)
	taskset -c 1 /usr/bin/time -f "%U %S" -o "$work/bench.time" "$bin" bench play -n "$np" -d "$dur" -ramp "$ramp" -stall 1s -json "$url" > "$work/bench.json" 2> "$work/bench.err" &
	local bp=$!
	sleep $((${dur%s} * 3 / 4))
	rss=$(rss_kb "$pid")
	k1=$(child_ticks "$pid")
	# The sockets' drop counters while the players are still there (the
	# server's socket and each player's): a client that cannot keep up
	# shows here, a server short of CPU in "waited".
	[ "$port" != 0 ] && drops=$(udp_drops "$port")
	wait $bp || true
	c1=$(cpu_ticks "$pid"); t1=$(date +%s.%N)
	s1=$(sched_ns "$pid")
	python3 - "$name" "$np" "$c0" "$c1" "$k0" "$k1" "$t0" "$t1" "$hz" "$rss" "$idle" "$work/bench.json" "$work/bench.time" "$work/bench.err" "$s0" "$s1" "$drops" <<'PY'
import json, re, sys
name, n, c0, c1, k0, k1, t0, t1, hz, rss, idle, out, btime, berr, s0, s1, drops = sys.argv[1:]
r = json.load(open(out))
# The last 5 s progress interval's rate per active player (the summary's
# is averaged over the whole run, connects included).
prog = [float(m.group(1)) for m in re.finditer(r"\((\d+) kbps/player\)", open(berr).read())]
steady = prog[-2] if len(prog) >= 2 else (prog[-1] if prog else 0)
bcpu = sum(float(x) for x in open(btime).read().split()[-2:]) / (r['duration_ms'] / 1000) * 100
secs = float(t1) - float(t0)
cpu = (int(c1) - int(c0)) / int(hz) / secs * 100
kid = max(int(k1) - int(k0), 0) / int(hz) / secs * 100
per = (int(rss) - int(idle)) / max(r['connected'], 1)
waited = (int(s1.split()[1]) - int(s0.split()[1])) / 1e9 / secs * 100
print(f"{name:22s} players={int(n):4d} connected={r['connected']:4d} cpu={cpu + kid:5.1f}% (children {kid:4.1f}%) "
      f"rss={int(rss)/1024:6.1f}MiB rss/viewer={per:5.0f}KiB kbps/player={r['per_player_kbps']:5.0f} (last 5 s {steady:5.0f}) "
      f"ttff p50={r['ttff_ms']['p50']}ms p95={r['ttff_ms']['p95']}ms stalls={r['stalls']} bench cpu={bcpu:3.0f}% "
      f"server waited={waited:4.1f}% udp drops={drops} errors={r['errors'][:1]}", flush=True)
PY
	sleep 3 # sessions torn down (DELETE) before the next point
}

srslite() { # [label binary]
	local label=${1:-srs-lite} b=${2:-$bin} rtmp api rtc
	rtmp=$(free_port tcp); api=$(free_port tcp); rtc=$(free_port udp)
	printf '[log]\nlevel = "warn"\n[rtmp]\nlisten = "127.0.0.1:%s"\n[http_api]\nlisten = "127.0.0.1:%s"\n[http_server]\nenabled = false\n[srt]\nenabled = false\n[rtsp]\nenabled = false\n[rtc]\nlisten = "127.0.0.1:%s"\ncandidate = "127.0.0.1"\n[server]\nmax_connections = 10000\n' \
		"$rtmp" "$api" "$rtc" > "$work/srs-lite.toml"
	taskset -c 0 "$b" -c "$work/srs-lite.toml" > "$work/srs-lite.log" 2>&1 &
	local pid=$!
	sleep 1
	taskset -c 1 ffmpeg -hide_banner -loglevel error -re -stream_loop -1 -i "$work/fixture.flv" -c copy -f flv "rtmp://127.0.0.1:$rtmp/live/s" 2> "$work/ffmpeg.log" &
	local fp=$!
	sleep 3
	measure "$label rtmp" "$pid" "rtmp://127.0.0.1:$rtmp/live/s" "$nrtmp"
	for n in $points; do
		measure "$label whep" "$pid" "whep://127.0.0.1:$api/live/s" "$n" "$rtc"
	done
	kill "$fp" "$pid"
	wait "$fp" "$pid" 2>/dev/null || true
}

peer() { # pionfanout (or MediaMTX) fed by ffmpeg
	local http udp v a pid fp name url
	http=$(free_port tcp); udp=$(free_port udp); v=$(free_port udp); a=$(free_port udp)
	if [ -n "${MTX:-}" ]; then
		local rtsp
		rtsp=$(free_port tcp)
		name=mediamtx
		printf 'logLevel: warn\nrtspAddress: 127.0.0.1:%s\nrtmp: no\nhls: no\nsrt: no\napi: no\nwebrtcAddress: 127.0.0.1:%s\nwebrtcLocalUDPAddress: 127.0.0.1:%s\nwebrtcLocalTCPAddress: ""\nwebrtcAdditionalHosts: [127.0.0.1]\npaths:\n  all_others:\n' \
			"$rtsp" "$http" "$udp" > "$work/mediamtx.yml"
		taskset -c 0 "$MTX" "$work/mediamtx.yml" > "$work/peer.log" 2>&1 &
		pid=$!
		sleep 1
		taskset -c 1 ffmpeg -hide_banner -loglevel error -re -stream_loop -1 -i "$work/fixture.flv" -map 0:v -c:v copy \
			-map 0:a -c:a libopus -b:a 64k -ar 48000 -f rtsp "rtsp://127.0.0.1:$rtsp/s" 2> "$work/ffmpeg.log" &
		fp=$!
		url="http://127.0.0.1:$http/s/whep"
	else
		name=pion/webrtc
		taskset -c 0 "$work/pionfanout" -http "127.0.0.1:$http" -udp "127.0.0.1:$udp" -video "127.0.0.1:$v" -audio "127.0.0.1:$a" > "$work/peer.log" 2>&1 &
		pid=$!
		sleep 1
		taskset -c 1 ffmpeg -hide_banner -loglevel error -re -stream_loop -1 -i "$work/fixture.flv" \
			-map 0:v -c:v copy -bsf:v h264_mp4toannexb -f rtp "rtp://127.0.0.1:$v?pkt_size=1200" \
			-map 0:a -c:a libopus -b:a 64k -ar 48000 -f rtp "rtp://127.0.0.1:$a?pkt_size=1200" > /dev/null 2> "$work/ffmpeg.log" &
		fp=$!
		url="http://127.0.0.1:$http/s/whep"
	fi
	sleep 3
	for n in $points; do
		measure "$name whep" "$pid" "$url" "$n" "$udp"
	done
	[ -n "${KEEP_LOGS:-}" ] && cp "$work/peer.log" "$work/ffmpeg.log" "$KEEP_LOGS/"
	kill "$fp" "$pid"
	wait "$fp" "$pid" 2>/dev/null || true
}

echo "server on CPU 0, ffmpeg and bench on CPU 1; $dur per point"
[ -n "${OLD:-}" ] && srslite "before" "$OLD"
srslite
[ "${PEER:-yes}" = no ] || peer
