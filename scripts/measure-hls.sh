#!/bin/bash
# Reproduces the HLS numbers of the issue 3 closing note on this machine:
#   1. publish start -> first segment playable, at fragment 1 s and 2 s (GOP 1 s);
#   2. RSS of one 2 Mbps 720p30 stream with HLS on and off (window 10 s);
#   3. 500 HLS clients (srs-lite bench, real-time players) for 30 s: server CPU.
# srs-lite runs pinned to CPU 0, ffmpeg and the bench to CPU 1. Needs ffmpeg,
# taskset, curl; builds bin/srs-lite first. Ports 19350/18080/19850 on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
make -s build
W=$(mktemp -d); trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$W"' EXIT
conf() { # $1 fragment, $2 hls enabled
	cat >"$W/c.toml" <<EOT
[rtmp]
listen = "127.0.0.1:19350"
[http_api]
listen = "127.0.0.1:19850"
[http_server]
listen = "127.0.0.1:18080"
dir = "$W"
[srt]
enabled = false
[[vhost]]
name = "__defaultVhost__"
[vhost.hls]
enabled = $2
fragment = "$1"
window = "10s"
EOT
}
serve() { taskset -c 0 bin/srs-lite -c "$W/c.toml" 2>"$W/srv.log" & S=$!; sleep 0.5; }
publish() {
	taskset -c 1 ffmpeg -hide_banner -loglevel error -re -f lavfi -i testsrc2=size=1280x720:rate=30 \
		-f lavfi -i sine -c:v libx264 -preset ultrafast -tune zerolatency -g 30 -b:v 2M -maxrate 2M -bufsize 2M \
		-c:a aac -f flv rtmp://127.0.0.1:19350/live/livestream 2>"$W/ff.log" & F=$!
}
stop() { kill $F 2>/dev/null; sleep 0.3; kill $S 2>/dev/null; wait $F $S 2>/dev/null || true; }
URL=http://127.0.0.1:18080/live/livestream.m3u8

for frag in 1s 2s; do
	conf $frag true; serve
	t0=$(date +%s.%N); publish
	until curl -sf -o /dev/null $URL; do sleep 0.02; done
	echo "fragment $frag: publish start -> first segment playable: $(echo "$(date +%s.%N) - $t0" | bc) s"
	stop
done

for on in true false; do
	conf 1s $on; serve; publish; sleep 20
	rss=0; for _ in 1 2 3 4 5; do r=$(ps -o rss= -p $S); ((r > rss)) && rss=$r; sleep 2; done
	echo "RSS with hls.enabled=$on: $((rss / 1024)) MiB"
	stop
done

conf 2s true; serve; publish; sleep 14
taskset -c 1 bin/srs-lite bench play -n 500 -d 30s -ramp 5s $URL >"$W/bench.txt" 2>/dev/null & B=$!
sleep 8
t0=$(awk '{print $14+$15}' /proc/$S/stat); sleep 20; t1=$(awk '{print $14+$15}' /proc/$S/stat)
wait $B || true
echo "500 HLS clients: server CPU $(echo "scale=1; ($t1 - $t0) / 20" | bc)% of one core"
cat "$W/bench.txt"
stop
