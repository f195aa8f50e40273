#!/bin/bash
# Measures srs-lite against nginx-rtmp (Debian's libnginx-mod-rtmp, one
# worker) on the same ~1 Mbps H.264+AAC stream, the server pinned to CPU 0 and
# the publisher and bench tool to CPU 1:
#   scripts/compare-nginx.sh [PLAYERS...]     (default: 1000 2000)
# Prints server CPU (% of one core), RSS while the players are connected (and
# per player over the RSS before the point), time to first frame and stalls.
# DURATION (default 30s, whole seconds) is the length of each point.
# Needs: ffmpeg, nginx-light + libnginx-mod-rtmp, taskset (util-linux).
set -euo pipefail
cd "$(dirname "$0")/.."
players=("${@:-1000 2000}")
[ $# -eq 0 ] && players=(1000 2000)
dur=${DURATION:-30s}
# shellcheck source=scripts/load-lib.sh
. scripts/load-lib.sh
make -s build
bin=$PWD/bin/srs-lite

make_fixture 900

cat > "$work/nginx.conf" <<CONF
worker_processes 1;
worker_rlimit_nofile 16384;
daemon off;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
load_module /usr/lib/nginx/modules/ngx_rtmp_module.so;
events { worker_connections 16384; }
rtmp { server { listen 127.0.0.1:19350; chunk_size 60000; application live { live on; } } }
CONF
cat > "$work/srs-lite.toml" <<CONF
[log]
level = "warn"
[rtmp]
listen = "127.0.0.1:19351"
[http_api]
listen = "127.0.0.1:19852"
[http_server]
listen = "127.0.0.1:19853"
[server]
max_connections = 10000
CONF


measure() { # name pid url n
	local name=$1 pid=$2 url=$3 n=$4
	local rss0 t0 c0 t1 c1 out
	local rss
	rss0=$(rss_kb "$pid")
	c0=$(cpu_ticks "$pid"); t0=$(date +%s.%N)
	taskset -c 1 "$bin" bench play -n "$n" -d "$dur" -json "$url" > "$work/bench.json" 2>/dev/null &
	local bp=$!
	sleep $(( ${dur%s} * 3 / 4 ))
	rss=$(rss_kb "$pid") # while all players are connected
	wait $bp || true
	out=$(cat "$work/bench.json")
	c1=$(cpu_ticks "$pid"); t1=$(date +%s.%N)
	python3 - "$name" "$n" "$c0" "$c1" "$t0" "$t1" "$hz" "$rss" "$rss0" "$out" <<'PY'
import json, sys
name, n, c0, c1, t0, t1, hz, rss, rss0, out = sys.argv[1:]
r = json.loads(out)
cpu = (int(c1) - int(c0)) / int(hz) / (float(t1) - float(t0)) * 100
n = int(n)
per = (int(rss) - int(rss0)) / max(n, 1)
print(f"{name:22s} players={n:5d} connected={r['connected']:5d} failed={r['failed']:4d} cpu={cpu:5.1f}% "
      f"rss={int(rss)/1024:6.1f}MiB ({per:5.1f} KiB/player over the RSS before) kbps/player={r['per_player_kbps']:6.0f} "
      f"ttff p50={r['ttff_ms']['p50']}ms p95={r['ttff_ms']['p95']}ms max={r['ttff_ms']['max']}ms stalls={r['stalls']}")
PY
}

run_server() { # name cmd... ; sets spid
	taskset -c 0 "$@" > "$work/$1.log" 2>&1 &
}

echo "starting nginx-rtmp and srs-lite on CPU 0 ..."
taskset -c 0 nginx -c "$work/nginx.conf" > "$work/nginx.out" 2>&1 &
taskset -c 0 "$bin" -c "$work/srs-lite.toml" > "$work/srs.log" 2>&1 &
srspid=$!
sleep 1
ngxpid=$(pgrep -P "$(cat "$work/nginx.pid")" nginx | head -1)
taskset -c 1 ffmpeg -hide_banner -loglevel error -re -stream_loop -1 -i "$work/fixture.flv" -c copy -f flv rtmp://127.0.0.1:19350/live/s &
taskset -c 1 ffmpeg -hide_banner -loglevel error -re -stream_loop -1 -i "$work/fixture.flv" -c copy -f flv rtmp://127.0.0.1:19351/live/s &
sleep 3
for n in "${players[@]}"; do
	measure "nginx-rtmp rtmp" "$ngxpid" rtmp://127.0.0.1:19350/live/s "$n"
	measure "srs-lite rtmp" "$srspid" rtmp://127.0.0.1:19351/live/s "$n"
	measure "srs-lite http-flv" "$srspid" http://127.0.0.1:19853/live/s.flv "$n"
done
