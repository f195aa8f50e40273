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
NAME_WIDTH=12
go build -o bin/srs-lite ./cmd/srs-lite
bin=$PWD/bin/srs-lite
make_fixture 900

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
measure_bench rtmp "$pid" "rtmp://$rtmp/live/s" "$n"; a=$(cat "$work/cpu")
measure_bench rtsp/tcp "$pid" "rtsp://$rtsp/live/s" "$n"; b=$(cat "$work/cpu")
python3 -c "print(f'{$n} RTSP/TCP players cost {$b/$a:.2f}x what {$n} RTMP players cost')"
kill "$fp" "$pid"
wait "$fp" "$pid" 2>/dev/null || true
