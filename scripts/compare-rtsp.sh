#!/bin/bash
# RTSP fan-out cost against RTMP's: the same ~1 Mbps H.264+AAC stream played
# by N RTMP and then N RTSP/TCP players (srs-lite bench play, its lean
# interleaved client) of one srs-lite, the server pinned to CPU 0, the
# publisher and the bench tool to CPU 1:
#   scripts/compare-rtsp.sh [PLAYERS]      (default: 200)
# Prints server CPU (% of one core), RSS, kbps per player, stalls, and the
# RTSP/RTMP CPU ratio. DURATION (default 20s, whole seconds) is the length of
# each point. The server listens on free ports (read from its start line).
# Needs: ffmpeg, taskset (util-linux), python3.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-200}
dur=${DURATION:-20s}
# shellcheck source=scripts/load-lib.sh
. scripts/load-lib.sh
go build -o bin/srs-lite ./cmd/srs-lite
bin=$PWD/bin/srs-lite
make_fixture 900

measure() { # name pid url players -> prints a row, leaves cpu in $work/cpu
	local name=$1 pid=$2 url=$3 np=$4 c0 t0 c1 t1 rss
	c0=$(cpu_ticks "$pid"); t0=$(date +%s.%N)
	taskset -c 1 "$bin" bench play -n "$np" -d "$dur" -json "$url" > "$work/bench.json" 2>/dev/null &
	local bp=$!
	sleep $(( ${dur%s} * 3 / 4 ))
	rss=$(rss_kb "$pid")
	wait $bp || true
	c1=$(cpu_ticks "$pid"); t1=$(date +%s.%N)
	python3 - "$name" "$np" "$c0" "$c1" "$t0" "$t1" "$hz" "$rss" "$(cat "$work/bench.json")" "$work/cpu" <<'PY'
import json, sys
name, n, c0, c1, t0, t1, hz, rss, out, cpuf = sys.argv[1:]
r = json.loads(out)
cpu = (int(c1) - int(c0)) / int(hz) / (float(t1) - float(t0)) * 100
open(cpuf, "w").write(f"{cpu:.2f}")
print(f"{name:12s} players={int(n):4d} connected={r['connected']:4d} cpu={cpu:5.1f}% rss={int(rss)/1024:6.1f}MiB "
      f"kbps/player={r['per_player_kbps']:6.0f} ttff p50={r['ttff_ms']['p50']}ms stalls={r['stalls']}", flush=True)
PY
}

printf '[log]\nlevel = "info"\n[rtmp]\nlisten = "127.0.0.1:0"\n[http_api]\nlisten = "127.0.0.1:0"\n[http_server]\nenabled = false\n[srt]\nenabled = false\n[rtsp]\nlisten = "127.0.0.1:0"\n[server]\nmax_connections = 10000\n' > "$work/s.toml"
taskset -c 0 "$bin" -c "$work/s.toml" > "$work/s.log" 2>&1 &
pid=$!
for _ in $(seq 50); do grep -q "srs-lite started" "$work/s.log" && break; sleep 0.1; done
line=$(grep "srs-lite started" "$work/s.log")
rtmp=$(echo "$line" | grep -o 'rtmp=[^ ]*' | cut -d= -f2)
rtsp=$(echo "$line" | grep -o 'rtsp=[^ ]*' | cut -d= -f2)
taskset -c 1 ffmpeg -hide_banner -loglevel error -re -stream_loop -1 -i "$work/fixture.flv" -c copy -f flv "rtmp://$rtmp/live/s" &
fp=$!
sleep 3
measure rtmp "$pid" "rtmp://$rtmp/live/s" "$n"; a=$(cat "$work/cpu")
measure rtsp/tcp "$pid" "rtsp://$rtsp/live/s" "$n"; b=$(cat "$work/cpu")
python3 -c "print(f'{$n} RTSP/TCP players cost {$b/$a:.2f}x what {$n} RTMP players cost')"
kill "$fp" "$pid"
wait "$fp" "$pid" 2>/dev/null || true
