#!/bin/bash
# Servers measured side by side: each BINARY:PROTO is a server of its own,
# all pinned to CPU 0 and measured over the same window, each with its own
# publisher (the same ~3 Mbps H.264+AAC stream) and PLAYERS players of
# PROTO (rtmp, srt, flv for HTTP-FLV, or hls) on CPU 1:
#   scripts/side-by-side.sh bin/srs-lite:rtmp bin/srs-lite:srt
#   scripts/side-by-side.sh old/srs-lite:srt bin/srs-lite:srt
#   scripts/side-by-side.sh bin/srs-lite:hls bin/srs-lite-tiny:hls   (net/http against internal/http1)
# On a shared VM a measurement moves by ±20% from one minute to the next;
# run at once, two servers see the same machine, so their ratio holds
# better than that of two points measured one after the other
# (compare-srt.sh). The core is shared, so keep the sum of their CPU well
# under 100%. Prints each server's CPU (% of one core) over WINDOW seconds
# (default 12) after the players joined, and the bench's kbps and stalls.
# PLAYERS (default 100); KBPS, the stream's video bitrate (default 2900).
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 1 ] || { echo "usage: $0 BINARY:PROTO ..." >&2; exit 2; }
n=${PLAYERS:-100}
win=${WINDOW:-12}
dur="$((win + 8))s"
# shellcheck source=scripts/load-lib.sh
. scripts/load-lib.sh
go build -o bin/srs-lite ./cmd/srs-lite
bin=$PWD/bin/srs-lite # the bench tool
make_fixture "${KBPS:-2900}"

free_port() { # a free port number for proto (tcp|udp) on 127.0.0.1
	python3 -c "import socket,sys; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM if sys.argv[1]=='udp' else socket.SOCK_STREAM); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])" "$1"
}

pids=() names=() urls=() benches=()
for spec in "$@"; do
	b=${spec%:*} proto=${spec##*:}
	i=${#pids[@]}
	pr=$(free_port tcp) pa=$(free_port tcp) ps=$(free_port udp) ph=$(free_port tcp)
	printf '[log]\nlevel = "warn"\n[rtmp]\nlisten = "127.0.0.1:%s"\n[http_api]\nlisten = "127.0.0.1:%s"\n[http_server]\nlisten = "127.0.0.1:%s"\n[srt]\nlisten = "127.0.0.1:%s"\n[rtsp]\nenabled = false\n[rtc]\nenabled = false\n[server]\nmax_connections = 10000\n[[vhost]]\nname = "__defaultVhost__"\n[vhost.hls]\nfragment = "2s"\n' \
		"$pr" "$pa" "$ph" "$ps" > "$work/s$i.toml"
	taskset -c 0 "$b" -c "$work/s$i.toml" > "$work/s$i.log" 2>&1 &
	pids+=($!)
	names+=("$spec")
	case $proto in
	srt) urls+=("srt://127.0.0.1:$ps?streamid=#!::r=live/s,m=request") ;;
	rtmp) urls+=("rtmp://127.0.0.1:$pr/live/s") ;;
	flv) urls+=("http://127.0.0.1:$ph/live/s.flv") ;;
	hls) urls+=("http://127.0.0.1:$ph/live/s.m3u8") ;;
	*) echo "$spec: PROTO is rtmp, srt, flv or hls" >&2; exit 2 ;;
	esac
	sleep 0.5
	taskset -c 1 ffmpeg -hide_banner -loglevel error -re -stream_loop -1 -i "$work/fixture.flv" -c copy -f flv "rtmp://127.0.0.1:$pr/live/s" &
done
sleep 3
for u in "${urls[@]}"; do # an HLS player starts three segments back: wait for them
	case $u in *.m3u8)
		for _ in $(seq 1 40); do
			[ "$(curl -s "$u" | grep -c '^#EXTINF')" -ge 3 ] && break
			sleep 0.5
		done ;;
	esac
done
for i in "${!pids[@]}"; do
	taskset -c 1 "$bin" bench play -n "$n" -d "$dur" -json "${urls[$i]}" > "$work/bench$i.json" 2>/dev/null &
	benches+=($!)
done
sleep 5 # the joins (and their catch-up) are not measured
c0=() c1=()
for p in "${pids[@]}"; do c0+=("$(cpu_ticks "$p")"); done
t0=$(date +%s.%N)
echo "measuring ${#pids[@]} servers for ${win}s ..."
sleep "$win"
for p in "${pids[@]}"; do c1+=("$(cpu_ticks "$p")"); done
t1=$(date +%s.%N)
for b in "${benches[@]}"; do wait "$b" || true; done
for i in "${!pids[@]}"; do
	python3 - "${names[$i]}" "${c0[$i]}" "${c1[$i]}" "$t0" "$t1" "$hz" "$work/bench$i.json" "$n" <<'PY'
import json, sys
name, c0, c1, t0, t1, hz, bench, n = sys.argv[1:]
r = json.load(open(bench))
cpu = (int(c1) - int(c0)) / int(hz) / (float(t1) - float(t0)) * 100
print(f"{name:40s} players={int(n):4d} connected={r['connected']:4d} cpu={cpu:5.1f}% "
      f"kbps/player={r['per_player_kbps']:6.0f} stalls={r['stalls']}", flush=True)
PY
done
kill "${pids[@]}" 2>/dev/null || true
