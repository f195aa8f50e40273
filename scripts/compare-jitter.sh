#!/bin/bash
# Fan-out cost of time_jitter: the same ~1 Mbps H.264+AAC stream played by N
# RTMP and N HTTP-FLV players of one srs-lite per mode, the server pinned to
# CPU 0, the publisher and bench tool to CPU 1:
#   scripts/compare-jitter.sh [PLAYERS]            (default: 1000)
#   OLD=path/to/srs-lite scripts/compare-jitter.sh  (adds a binary from
#   before time_jitter, which plays the publisher's timestamps)
# Prints server CPU (% of one core), RSS, kbps per player and stalls per run.
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

measure() { # name pid url
	local name=$1 pid=$2 url=$3 c0 t0 c1 t1 rss
	c0=$(cpu_ticks "$pid"); t0=$(date +%s.%N)
	taskset -c 1 "$bin" bench play -n "$n" -d "$dur" -json "$url" > "$work/bench.json" 2>/dev/null &
	local bp=$!
	sleep $(( ${dur%s} * 3 / 4 ))
	rss=$(rss_kb "$pid")
	wait $bp || true
	c1=$(cpu_ticks "$pid"); t1=$(date +%s.%N)
	python3 - "$name" "$n" "$c0" "$c1" "$t0" "$t1" "$hz" "$rss" "$(cat "$work/bench.json")" <<'PY'
import json, sys
name, n, c0, c1, t0, t1, hz, rss, out = sys.argv[1:]
r = json.loads(out)
cpu = (int(c1) - int(c0)) / int(hz) / (float(t1) - float(t0)) * 100
print(f"{name:34s} players={int(n):5d} connected={r['connected']:5d} cpu={cpu:5.1f}% rss={int(rss)/1024:6.1f}MiB "
      f"kbps/player={r['per_player_kbps']:6.0f} ttff p50={r['ttff_ms']['p50']}ms stalls={r['stalls']}")
PY
}

run() { # name binary jitter(or "")
	local name=$1 b=$2 jit=$3
	{
		printf '[log]\nlevel = "warn"\n[rtmp]\nlisten = "127.0.0.1:19361"\n[http_api]\nlisten = "127.0.0.1:19862"\n'
		printf '[http_server]\nlisten = "127.0.0.1:19863"\n[srt]\nenabled = false\n[server]\nmax_connections = 10000\n'
		[ -n "$jit" ] && printf '[[vhost]]\nname = "__defaultVhost__"\ntime_jitter = "%s"\n' "$jit"
	} > "$work/$name.toml"
	taskset -c 0 "$b" -c "$work/$name.toml" > "$work/$name.log" 2>&1 &
	local pid=$!
	sleep 1
	taskset -c 1 ffmpeg -hide_banner -loglevel error -re -stream_loop -1 -i "$work/fixture.flv" -c copy -f flv rtmp://127.0.0.1:19361/live/s &
	local fp=$!
	sleep 3
	measure "$name rtmp" "$pid" rtmp://127.0.0.1:19361/live/s
	measure "$name http-flv" "$pid" http://127.0.0.1:19863/live/s.flv
	kill "$fp" "$pid"
	wait "$fp" "$pid" 2>/dev/null || true
}

[ -n "${OLD:-}" ] && run "before (no time_jitter)" "$OLD" ""
run "time_jitter=off" "$bin" off
run "time_jitter=full" "$bin" full
