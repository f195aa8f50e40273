#!/bin/bash
# RTMPS against RTMP: the server's CPU for the TLS handshake of one RTMPS
# player, and the server's CPU with N RTMPS players against N RTMP players
# of a ~1 Mbps H.264+AAC stream. The server (with its self-signed ECDSA
# P-256 certificate) is pinned to CPU 0; the publisher, openssl and the
# bench tool run on CPU 1:
#   scripts/rtmps-load.sh [PLAYERS]        (default: 500)
# DURATION (default 30s, whole seconds) is the length of each point;
# HANDSHAKES_FOR (default 10) the seconds of back-to-back handshakes.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-500}
dur=${DURATION:-30s}
hs_for=${HANDSHAKES_FOR:-10}
# shellcheck source=scripts/load-lib.sh
. scripts/load-lib.sh
go build -o bin/srs-lite ./cmd/srs-lite
bin=$PWD/bin/srs-lite
make_fixture 900

cat > "$work/srs-lite.toml" <<EOF
[log]
level = "warn"
[rtmp]
listen = "127.0.0.1:19391"
rtmps_listen = "127.0.0.1:19392"
[http_api]
listen = "127.0.0.1:19893"
[http_server]
enabled = false
[srt]
enabled = false
[server]
max_connections = 10000
EOF
taskset -c 0 "$bin" -c "$work/srs-lite.toml" > "$work/server.log" 2>&1 &
spid=$!
sleep 1
taskset -c 1 ffmpeg -hide_banner -loglevel error -re -stream_loop -1 -i "$work/fixture.flv" -c copy \
	-f flv rtmp://127.0.0.1:19391/live/s &
sleep 3

# Handshakes: openssl s_time makes full handshakes (no resumption) back to
# back for HANDSHAKES_FOR seconds; the server's CPU over that time divided
# by their number is one RTMPS player's handshake.
c0=$(cpu_ticks "$spid")
out=$(taskset -c 1 openssl s_time -connect 127.0.0.1:19392 -new -time "$hs_for" 2>/dev/null | grep 'connections in' | head -1)
c1=$(cpu_ticks "$spid")
python3 - "$out" "$c0" "$c1" "$hz" <<'PY'
import re, sys
out, c0, c1, hz = sys.argv[1:]
m = re.match(r"(\d+) connections in ([\d.]+)", out)
k = int(m.group(1))
cpu = (int(c1) - int(c0)) / int(hz)
print(f"TLS handshakes (ECDSA P-256, TLS 1.3, no resumption): {k} in {m.group(2)} s; "
      f"server CPU {cpu:.2f} s: {cpu / k * 1e6:.0f} us per handshake, {k / cpu:.0f} per CPU-second")
PY

measure() { # name url
	local name=$1 url=$2 c0 t0 c1 t1 rss
	c0=$(cpu_ticks "$spid"); t0=$(date +%s.%N)
	taskset -c 1 "$bin" bench play -n "$n" -d "$dur" -json "$url" > "$work/bench.json" 2>/dev/null &
	local bp=$!
	sleep $(( ${dur%s} * 3 / 4 ))
	rss=$(rss_kb "$spid")
	wait $bp || true
	c1=$(cpu_ticks "$spid"); t1=$(date +%s.%N)
	python3 - "$name" "$n" "$c0" "$c1" "$t0" "$t1" "$hz" "$rss" "$(cat "$work/bench.json")" <<'PY'
import json, sys
name, n, c0, c1, t0, t1, hz, rss, out = sys.argv[1:]
r = json.loads(out)
cpu = (int(c1) - int(c0)) / int(hz) / (float(t1) - float(t0)) * 100
print(f"{name:6s} players={int(n):5d} connected={r['connected']:5d} server cpu={cpu:5.1f}% rss={int(rss)/1024:6.1f}MiB "
      f"kbps/player={r['per_player_kbps']:6.0f} stalls={r['stalls']} ttff_p50={r['ttff_ms']['p50']:.0f}ms")
PY
	sleep 3
}
measure rtmp rtmp://127.0.0.1:19391/live/s
measure rtmps rtmps://127.0.0.1:19392/live/s
