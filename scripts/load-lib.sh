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

# measure_bench NAME PID URL PLAYERS: PLAYERS of `$bin bench play` (on CPU 1)
# for $dur against the server PID; prints a row (server CPU, RSS, kbps per
# player, ttff, stalls) and leaves the CPU % in $work/cpu. NAME_WIDTH sets
# the name column (default 36).
measure_bench() {
	local name=$1 pid=$2 url=$3 np=$4 c0 t0 c1 t1 rss
	c0=$(cpu_ticks "$pid"); t0=$(date +%s.%N)
	taskset -c 1 "$bin" bench play -n "$np" -d "$dur" -json "$url" > "$work/bench.json" 2>/dev/null &
	local bp=$!
	sleep $(( ${dur%s} * 3 / 4 ))
	rss=$(rss_kb "$pid")
	wait $bp || true
	c1=$(cpu_ticks "$pid"); t1=$(date +%s.%N)
	python3 - "$name" "$np" "$c0" "$c1" "$t0" "$t1" "$hz" "$rss" "$(cat "$work/bench.json")" "$work/cpu" "${NAME_WIDTH:-36}" <<'PY'
import json, sys
name, n, c0, c1, t0, t1, hz, rss, out, cpuf, width = sys.argv[1:]
r = json.loads(out)
cpu = (int(c1) - int(c0)) / int(hz) / (float(t1) - float(t0)) * 100
open(cpuf, "w").write(f"{cpu:.2f}")
print(f"{name:{int(width)}s} players={int(n):4d} connected={r['connected']:4d} cpu={cpu:5.1f}% rss={int(rss)/1024:6.1f}MiB "
      f"kbps/player={r['per_player_kbps']:6.0f} ttff p50={r['ttff_ms']['p50']}ms stalls={r['stalls']}", flush=True)
PY
}
