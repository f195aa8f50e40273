#!/bin/bash
# Edge fan-out: N RTMP players of a ~1 Mbps H.264+AAC stream on one srs-lite
# edge cost its origin one pull. The edge (or, for comparison, the origin
# itself with the same N players) is pinned to CPU 0; the origin, the
# publisher and the bench tool run on CPU 1:
#   scripts/edge-load.sh [PLAYERS]        (default: 1000)
# Prints the measured server's CPU (% of one core), RSS, kbps per player and
# stalls, and how many players the origin has while the edge serves N.
# DURATION (default 30s, whole seconds) is the length of each point.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000}
dur=${DURATION:-30s}
# shellcheck source=scripts/load-lib.sh
. scripts/load-lib.sh
make -s build
bin=$PWD/bin/srs-lite
make_fixture 900

conf() { # name rtmp api extra
	printf '[log]\nlevel = "warn"\n[rtmp]\nlisten = "127.0.0.1:%s"\n[http_api]\nlisten = "127.0.0.1:%s"\n' "$2" "$3"
	printf '[http_server]\nenabled = false\n[srt]\nenabled = false\n[server]\nmax_connections = 10000\n%b' "$4"
}
conf origin 19371 19872 "" > "$work/origin.toml"
conf edge 19381 19882 '[[vhost]]\nname = "__defaultVhost__"\n[vhost.cluster]\nmode = "remote"\norigins = ["127.0.0.1:19371"]\n' > "$work/edge.toml"

origin_players() { # players the origin lists (not its publisher)
	curl -s "http://127.0.0.1:19872/api/v1/clients?count=10000" |
		python3 -c 'import json,sys; print(sum(1 for c in json.load(sys.stdin)["clients"] if not c["publish"]))'
}

measure() { # name pid url
	local name=$1 pid=$2 url=$3 c0 t0 c1 t1 rss op
	c0=$(cpu_ticks "$pid"); t0=$(date +%s.%N)
	taskset -c 1 "$bin" bench play -n "$n" -d "$dur" -json "$url" > "$work/bench.json" 2>/dev/null &
	local bp=$!
	sleep $(( ${dur%s} * 3 / 4 ))
	rss=$(rss_kb "$pid")
	op=$(origin_players)
	wait $bp || true
	c1=$(cpu_ticks "$pid"); t1=$(date +%s.%N)
	python3 - "$name" "$n" "$c0" "$c1" "$t0" "$t1" "$hz" "$rss" "$op" "$(cat "$work/bench.json")" <<'PY'
import json, sys
name, n, c0, c1, t0, t1, hz, rss, op, out = sys.argv[1:]
r = json.loads(out)
cpu = (int(c1) - int(c0)) / int(hz) / (float(t1) - float(t0)) * 100
print(f"{name:22s} players={int(n):5d} connected={r['connected']:5d} cpu={cpu:5.1f}% rss={int(rss)/1024:6.1f}MiB "
      f"kbps/player={r['per_player_kbps']:6.0f} stalls={r['stalls']} origin_players={op}")
PY
}

# The origin and the publisher on CPU 1: only the edge is on CPU 0.
taskset -c 1 "$bin" -c "$work/origin.toml" > "$work/origin.log" 2>&1 &
opid=$!
sleep 1
taskset -c 1 ffmpeg -hide_banner -loglevel error -re -stream_loop -1 -i "$work/fixture.flv" -c copy -f flv rtmp://127.0.0.1:19371/live/s &
sleep 3
taskset -c 0 "$bin" -c "$work/edge.toml" > "$work/edge.log" 2>&1 &
epid=$!
sleep 1
measure "edge (CPU 0)" "$epid" rtmp://127.0.0.1:19381/live/s
kill "$epid"
wait "$epid" 2>/dev/null || true
sleep 5 # the edge's pull is gone
# The same load on the origin itself, now pinned to CPU 0.
taskset -apc 0 "$opid" > /dev/null
measure "origin (CPU 0)" "$opid" rtmp://127.0.0.1:19371/live/s
