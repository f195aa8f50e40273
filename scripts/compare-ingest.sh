#!/bin/bash
# Measures srs-lite's camera gateway: 4 RTSP cameras (pre-encoded 1280x720
# 25 fps ~2 Mbps H.264 main, 2 s GOP, no B-frames, + AAC-LC 44.1 kHz stereo
# 64 kbps, looped in real time by GStreamer's RTSP server, no live encoder)
# pulled
#   A) by srs-lite's built-in pure-Go RTSP ingest ([[ingest]], transport tcp)
#   B) by 4 ffmpeg processes (-rtsp_transport tcp -c copy -f flv) publishing
#      RTMP into srs-lite (no [[ingest]])
# with PLAYERS (50) players per stream (4 `srs-lite bench play` processes).
# srs-lite runs on CPU 0; cameras, ffmpeg, bench and pollers on CPU 1.
#
#   scripts/compare-ingest.sh            (env: PLAYERS=50 DURATION=30 PROTO=rtmp|flv
#                                         TRIALS=3 SKIP_BUILD=1 INGEST_TRANSPORT=tcp)
#
# Prints, per case: CPU (% of one core, utime+stime from /proc/PID/stat over
# a 20 s window from 5 s into the bench run), max RSS (1 s samples over the
# run), busy % of CPU 0 and CPU 1 (/proc/stat, shows interference), and the
# bench results. Then time to first frame: from the moment the pull starts
# (SIGHUP adding the [[ingest]] / exec of ffmpeg) with the camera up, until a
# new HTTP-FLV player of the output gets its first video keyframe tag; and,
# for the built-in ingest, from the exec of a camera that was down (the
# ingest retrying with its backoff) to that keyframe.
# Needs: ffmpeg, /usr/bin/python3 with python3-gi, gir1.2-gst-rtsp-server-1.0,
# gstreamer1.0-plugins-{base,good,bad}, taskset (util-linux).
# Note: the ffmpeg RSS sum counts their shared libraries 4 times (one ffmpeg
# pull measured ~52 MiB RSS, ~19 MiB PSS, ~12 MiB private dirty).
set -euo pipefail
cd "$(dirname "$0")/.."
players=${PLAYERS:-50}
dur=${DURATION:-30}
proto=${PROTO:-rtmp}
trials=${TRIALS:-3}
transport=${INGEST_TRANSPORT:-tcp}
cams=4
[ "$dur" -ge 26 ] || { echo "DURATION must be at least 26 (seconds)" >&2; exit 2; }
py=/usr/bin/python3
work=$(mktemp -d)
pids=() # every process this script starts, killed by PID at exit

cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do
		for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
		kill -9 "$p" 2>/dev/null || true
	done
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[ -n "${SKIP_BUILD:-}" ] || make -s build
bin=$PWD/bin/srs-lite
hz=$(getconf CLK_TCK)

# Fixture, cached between runs (encoding it takes ~5 s of one core).
fix=${TMPDIR:-/tmp}/srs-lite-compare-ingest-v1
if [ ! -s "$fix/cam.h264" ] || [ ! -s "$fix/cam.aac" ]; then
	echo "encoding a 20 s 1280x720 25 fps 2 Mbps H.264 + AAC fixture into $fix ..."
	mkdir -p "$fix"
	taskset -c 1 ffmpeg -hide_banner -loglevel error -y \
		-f lavfi -i "testsrc2=size=1280x720:rate=25,noise=alls=12:allf=t" \
		-c:v libx264 -preset veryfast -profile:v main -bf 0 -g 50 -keyint_min 50 -sc_threshold 0 \
		-b:v 2M -maxrate 2M -bufsize 2M -x264-params aud=1 -pix_fmt yuv420p -t 20 -f h264 "$fix/cam.h264.tmp"
	taskset -c 1 ffmpeg -hide_banner -loglevel error -y -f lavfi -i sine=frequency=440:sample_rate=44100 \
		-ac 2 -c:a aac -b:a 64k -t 20 -f adts "$fix/cam.aac.tmp"
	mv "$fix/cam.h264.tmp" "$fix/cam.h264"
	mv "$fix/cam.aac.tmp" "$fix/cam.aac"
fi

# --- the camera: GStreamer's RTSP server looping the fixture -------------
cat > "$work/camera.py" <<'PY'
"""RTSP cameras on 127.0.0.1: rtsp://127.0.0.1:PORT/camN, N = 1..COUNT, each
a pre-encoded H.264 Annex B file (split at its AUDs) and an ADTS file pushed
in real time through appsrc. Every new session starts at the file's first
IDR frame; timestamps keep growing across loops.
  camera.py VIDEO.h264 AUDIO.aac FPS COUNT [PORT]"""
import sys, threading, time
import gi
gi.require_version("Gst", "1.0")
gi.require_version("GstRtsp", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtsp, GstRtspServer  # noqa: E402


def h264_frames(path):
    d = open(path, "rb").read()
    starts = []
    i = d.find(b"\x00\x00\x01\x09")
    while i >= 0:
        starts.append(i - 1 if i > 0 and d[i - 1] == 0 else i)
        i = d.find(b"\x00\x00\x01\x09", i + 4)
    starts.append(len(d))
    return [d[starts[k]:starts[k + 1]] for k in range(len(starts) - 1)]


def adts_frames(path):
    d = open(path, "rb").read()
    out, i = [], 0
    while i + 7 <= len(d) and d[i] == 0xFF and d[i + 1] & 0xF0 == 0xF0:
        n = ((d[i + 3] & 3) << 11) | (d[i + 4] << 3) | (d[i + 5] >> 5)
        out.append(d[i:i + n])
        i += n
    return out


VF, AF = h264_frames(sys.argv[1]), adts_frames(sys.argv[2])
FPS, COUNT = int(sys.argv[3]), int(sys.argv[4])
PORT = sys.argv[5] if len(sys.argv) > 5 else "0"
RATE = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350][(AF[0][2] >> 2) & 0xF]
CH = ((AF[0][2] & 1) << 2) | (AF[0][3] >> 6)
LAUNCH = (
    "( appsrc name=v is-live=true format=time "
    "caps=video/x-h264,stream-format=byte-stream,alignment=au,framerate=%d/1 "
    "! h264parse ! rtph264pay name=pay0 pt=96 config-interval=-1 "
    "appsrc name=a is-live=true format=time "
    "caps=audio/mpeg,mpegversion=4,stream-format=adts,rate=%d,channels=%d "
    "! aacparse ! rtpmp4gpay name=pay1 pt=97 )" % (FPS, RATE, CH))


def buf(data, pts, dur):
    b = Gst.Buffer.new_wrapped(data)
    b.pts = b.dts = pts
    b.duration = dur
    return b


def feed(v, a, stop):
    # A live media prepares in PLAYING (blocked): stamp with running time.
    for _ in range(400):
        if v.get_clock() is not None or stop.is_set():
            break
        time.sleep(0.005)
    clock = v.get_clock()
    base = clock.get_time() - v.get_base_time() if clock is not None else 0
    t0 = time.monotonic()
    vi = ai = 0
    while not stop.is_set():
        vt = vi * Gst.SECOND // FPS
        at = ai * 1024 * Gst.SECOND // RATE
        delay = t0 + min(vt, at) / 1e9 - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        if vt <= at:
            r = v.emit("push-buffer", buf(VF[vi % len(VF)], base + vt, Gst.SECOND // FPS))
            vi += 1
        else:
            r = a.emit("push-buffer", buf(AF[ai % len(AF)], base + at, 1024 * Gst.SECOND // RATE))
            ai += 1
        if r != Gst.FlowReturn.OK:
            break


def configure(factory, media):
    b = media.get_element()
    stop = threading.Event()
    media.connect("unprepared", lambda *_: stop.set())
    threading.Thread(target=feed, args=(b.get_by_name("v"), b.get_by_name("a"), stop), daemon=True).start()


Gst.init(None)
server = GstRtspServer.RTSPServer()
server.set_address("127.0.0.1")
server.set_service(PORT)
for n in range(1, COUNT + 1):
    f = GstRtspServer.RTSPMediaFactory()
    f.set_launch(LAUNCH)
    f.set_shared(True)
    f.set_protocols(GstRtsp.RTSPLowerTrans.TCP | GstRtsp.RTSPLowerTrans.UDP)
    f.connect("media-configure", configure)
    server.get_mount_points().add_factory("/cam%d" % n, f)
if server.attach(None) == 0:
    sys.exit("cannot listen on 127.0.0.1:%s" % PORT)
print("PORT %d" % server.get_bound_port(), flush=True)
GLib.MainLoop().run()
PY

# --- the first-frame poller ---------------------------------------------
cat > "$work/firstframe.py" <<'PY'
"""firstframe.py URL PIDFILE [hup PID | spawn CMD...]
Takes t0, then sends SIGHUP to PID or starts CMD (its PID goes to PIDFILE;
it is left running), then GETs the HTTP-FLV URL (srs-lite holds a request
for a stream not yet published up to 10 s; 404s and errors are retried every
20 ms) and prints the ms from t0 to the first video keyframe tag that is not
a sequence header (FLV spec E.4.3.1), or "timeout" after 30 s."""
import http.client, os, signal, subprocess, sys, time
from urllib.parse import urlsplit

url, pidfile, mode, args = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
u = urlsplit(url)


def readn(r, n):
    b = b""
    while len(b) < n:
        c = r.read(n - len(b))
        if not c:
            raise EOFError
        b += c
    return b


t0 = time.monotonic()
if mode == "hup":
    os.kill(int(args[0]), signal.SIGHUP)
elif mode == "spawn":
    p = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    open(pidfile, "w").write(str(p.pid))
while time.monotonic() - t0 < 30:
    try:
        c = http.client.HTTPConnection(u.hostname, u.port, timeout=15)
        c.request("GET", u.path)
        r = c.getresponse()
        if r.status != 200:
            r.read()
            c.close()
            time.sleep(0.02)
            continue
        readn(r, 13)
        while True:
            th = readn(r, 11)
            body = readn(r, int.from_bytes(th[1:4], "big") + 4)
            if th[0] & 0x1F == 9 and body[0] >> 4 == 1 and body[1] == 1:
                print("%.0f" % ((time.monotonic() - t0) * 1000))
                sys.exit(0)
    except (OSError, EOFError, http.client.HTTPException):
        time.sleep(0.02)
print("timeout")
PY

freeport() { "$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
rtmp_port=$(freeport); api_port=$(freeport); http_port=$(freeport); cam_port=$(freeport); cam2_port=$(freeport)

# conf FILE CAMPORT [NAME...]: srs-lite config with an [[ingest]] per NAME.
conf() {
	local f=$1 port=$2 n
	shift 2
	cat > "$f" <<CONF
[log]
level = "warn"
[rtmp]
listen = "127.0.0.1:$rtmp_port"
[http_api]
listen = "127.0.0.1:$api_port"
[http_server]
listen = "127.0.0.1:$http_port"
[srt]
enabled = false
CONF
	for n in "$@"; do
		printf '[[ingest]]\nname = "%s"\ninput = "rtsp://127.0.0.1:%s/%s"\noutput = "live/%s"\ntransport = "%s"\n' \
			"$n" "$port" "$n" "$n" "$transport" >> "$f"
	done
}

start_srs() { # CONF; sets srs
	taskset -c 0 "$bin" -c "$1" >> "$work/srs.log" 2>&1 &
	srs=$!
	pids+=("$srs")
	for _ in $(seq 100); do
		(exec 3<>"/dev/tcp/127.0.0.1/$http_port") 2>/dev/null && return 0
		sleep 0.1
	done
	echo "srs-lite did not start:" >&2
	cat "$work/srs.log" >&2
	exit 1
}

stop_pid() { # PID...
	local p
	for p in "$@"; do kill "$p" 2>/dev/null || true; done
	for p in "$@"; do
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
}

ffmpeg_pull() { # CAMPORT NAME: sets ffargs
	ffargs=(taskset -c 1 ffmpeg -hide_banner -nostdin -loglevel error -rtsp_transport tcp
		-i "rtsp://127.0.0.1:$1/$2" -c copy -f flv "rtmp://127.0.0.1:$rtmp_port/live/$2")
}

play_url() { # NAME
	if [ "$proto" = flv ]; then echo "http://127.0.0.1:$http_port/live/$1.flv"; else echo "rtmp://127.0.0.1:$rtmp_port/live/$1"; fi
}

ticks() { local p s=0; for p in "$@"; do s=$((s + $(awk '{print $14+$15}' "/proc/$p/stat"))); done; echo $s; }
rss() { local p s=0; for p in "$@"; do s=$((s + $(awk '/VmRSS/{print $2}' "/proc/$p/status"))); done; echo $s; }
cpustat() { awk -v c="cpu$1" '$1==c{print $2+$3+$4+$7+$8, $2+$3+$4+$5+$6+$7+$8}' /proc/stat; }

echo "starting the cameras (CPU 1) ..."
taskset -c 1 "$py" "$work/camera.py" "$fix/cam.h264" "$fix/cam.aac" 25 12 "$cam_port" > "$work/cam.out" 2> "$work/cam.err" &
cam=$!
pids+=("$cam")
t=$(date +%s%N)
for _ in $(seq 1000); do grep -q PORT "$work/cam.out" && break; sleep 0.01; done
grep -q PORT "$work/cam.out" || { cat "$work/cam.err" >&2; exit 1; }
echo "  camera process up (PORT printed) in $(( ($(date +%s%N) - t) / 1000000 )) ms"

names=()
for i in $(seq $cams); do names+=("cam$i"); done

sample() { # max RSS of srs-lite ($srs) and of srs-lite + ffmpegs (${ff[@]})
	local s t
	s=$(rss "$srs"); t=$((s + $(rss ${ff[@]+"${ff[@]}"})))
	maxs=$((s > maxs ? s : maxs)); maxt=$((t > maxt ? t : maxt))
}

# run_case LABEL MODE: MODE builtin | ffmpeg
run_case() {
	local label=$1 mode=$2 n ts c0 c1 t0 t1 f0 f1 k0 k1 a0 a1 b0 b1 x0 x1 y0 y1
	ff=() maxs=0 maxt=0
	if [ "$mode" = builtin ]; then
		conf "$work/$mode.toml" "$cam_port" "${names[@]}"
		start_srs "$work/$mode.toml"
		ts=$(date +%s%N)
	else
		conf "$work/$mode.toml" "$cam_port"
		start_srs "$work/$mode.toml"
		ts=$(date +%s%N)
		for n in "${names[@]}"; do
			ffmpeg_pull "$cam_port" "$n"
			"${ffargs[@]}" 2>> "$work/ffmpeg.log" &
			ff+=("$!")
			pids+=("$!")
		done
	fi
	for n in "${names[@]}"; do # every stream has a keyframe
		taskset -c 1 "$py" "$work/firstframe.py" "http://127.0.0.1:$http_port/live/$n.flv" /dev/null none > "$work/ready"
		grep -q timeout "$work/ready" && { echo "$label: live/$n never got a keyframe" >&2; cat "$work/srs.log" >&2; exit 1; }
	done
	# The cameras start their sessions at an IDR frame, 2 s GOP: start the
	# players 7 s after the pulls, mid-GOP in both cases, so that the GOP
	# cache burst each player gets first (~1 s of frames) is the same.
	sleep "$(awk -v t="$ts" -v n="$(date +%s%N)" 'BEGIN{d=7-(n-t)/1e9; print (d>0?d:0)}')"
	local benches=()
	for n in "${names[@]}"; do
		taskset -c 1 "$bin" bench play -n "$players" -d "${dur}s" -json "$(play_url "$n")" > "$work/bench-$mode-$n.json" 2>/dev/null &
		benches+=("$!")
		pids+=("$!")
	done
	for _ in $(seq 5); do sleep 1; sample; done # RSS samples, 1 s apart, over the run
	c0=$(ticks "$srs"); f0=$(ticks ${ff[@]+"${ff[@]}"}); k0=$(ticks "$cam"); read -r a0 b0 < <(cpustat 0); read -r x0 y0 < <(cpustat 1); t0=$(date +%s.%N)
	for _ in $(seq 20); do sleep 1; sample; done
	c1=$(ticks "$srs"); f1=$(ticks ${ff[@]+"${ff[@]}"}); k1=$(ticks "$cam"); read -r a1 b1 < <(cpustat 0); read -r x1 y1 < <(cpustat 1); t1=$(date +%s.%N)
	while kill -0 "${benches[0]}" 2>/dev/null; do sleep 1; sample; done
	for n in "${benches[@]}"; do wait "$n" || true; done
	"$py" - "$label" "$hz" "$t0" "$t1" "$c0" "$c1" "$f0" "$f1" "$k0" "$k1" "$a0" "$a1" "$b0" "$b1" "$x0" "$x1" "$y0" "$y1" \
		"$maxs" "$maxt" "${#ff[@]}" "$work"/bench-"$mode"-*.json <<'PY'
import json, sys
a = sys.argv[1:]
label, hz, t0, t1 = a[0], int(a[1]), float(a[2]), float(a[3])
c0, c1, f0, f1, k0, k1, a0, a1, b0, b1, x0, x1, y0, y1, maxs, maxt, nff = map(int, a[4:21])
w = t1 - t0
pct = lambda d: d / hz / w * 100
line = f"{label}: srs-lite cpu={pct(c1 - c0):.1f}% rss_max={maxs / 1024:.1f}MiB"
if nff:
    line += f" | +{nff} ffmpeg cpu={pct(c1 - c0 + f1 - f0):.1f}% rss_max={maxt / 1024:.1f}MiB (ffmpeg alone {pct(f1 - f0):.1f}%)"
line += f" | camera cpu={pct(k1 - k0):.1f}% | cpu0 busy={(a1 - a0) / max(b1 - b0, 1) * 100:.0f}% cpu1 busy={(x1 - x0) / max(y1 - y0, 1) * 100:.0f}%"
print(line)
for f in a[21:]:
    r = json.load(open(f))
    name = f.rsplit("-", 1)[1][:-5]
    print(f"  {name}: connected={r['connected']}/{r['players']} failed={r['failed']} kbps/player={r['per_player_kbps']:.0f} "
          f"frames={r['frames']} ttff p50={r['ttff_ms']['p50']} p95={r['ttff_ms']['p95']} max={r['ttff_ms']['max']}ms "
          f"stalls={r['stalls']} errors={r['errors']}")
PY
	stop_pid ${ff[@]+"${ff[@]}"} "$srs"
}

echo "A) built-in RTSP ingest vs B) ffmpeg pull; $cams cameras, $players $proto players each, ${dur}s; srs-lite on CPU 0, the rest on CPU 1"
run_case "A builtin" builtin
run_case "B ffmpeg " ffmpeg

# --- time to first frame --------------------------------------------------
# Each trial pulls a fresh mount (cam5, cam6, ...) so the camera starts its
# session at an IDR frame and the times hold no wait for a keyframe.
echo "time to first frame (ms), camera up, pull started at t0, until a new HTTP-FLV player gets a keyframe:"
conf "$work/ttff.toml" "$cam_port"
start_srs "$work/ttff.toml"
m=5
res_b=() res_f=()
for i in $(seq "$trials"); do
	conf "$work/ttff.toml" "$cam_port" "cam$m"
	res_b+=("$(taskset -c 1 "$py" "$work/firstframe.py" "http://127.0.0.1:$http_port/live/cam$m.flv" /dev/null hup "$srs")")
	conf "$work/ttff.toml" "$cam_port" # drop it again, so that the next SIGHUP only adds
	kill -HUP "$srs"
	sleep 1
	m=$((m + 1))
	ffmpeg_pull "$cam_port" "cam$m"
	taskset -c 1 "$py" "$work/firstframe.py" "http://127.0.0.1:$http_port/live/cam$m.flv" "$work/ff.pid" spawn "${ffargs[@]}" > "$work/ff.ms"
	res_f+=("$(cat "$work/ff.ms")")
	stop_pid "$(cat "$work/ff.pid")"
	m=$((m + 1))
done
echo "  built-in ingest (SIGHUP adding the [[ingest]]): ${res_b[*]}"
echo "  ffmpeg -c copy -f flv (exec of ffmpeg):         ${res_f[*]}"
stop_pid "$srs"

echo "time to first frame (ms), built-in ingest, camera down for DOWN s while srs-lite retries, t0 = exec of the camera:"
for down in 3 10; do
	conf "$work/down.toml" "$cam2_port" cam1
	start_srs "$work/down.toml"
	sleep "$down"
	ms=$(taskset -c 1 "$py" "$work/firstframe.py" "http://127.0.0.1:$http_port/live/cam1.flv" "$work/cam2.pid" \
		spawn taskset -c 1 "$py" "$work/camera.py" "$fix/cam.h264" "$fix/cam.aac" 25 1 "$cam2_port")
	echo "  DOWN=$down: $ms"
	stop_pid "$(cat "$work/cam2.pid")" "$srs"
done
