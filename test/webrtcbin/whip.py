#!/usr/bin/python3
"""A WHIP publisher on GStreamer's webrtcbin: H.264 (x264enc) and Opus
(opusenc) test signals, its offer POSTed to the WHIP URL, published for
SECONDS; prints a JSON report (the answer's status, the session URL, errors)
and DELETEs the session at the end. WHIP_DEBUG=1 writes the SDPs to stderr.

usage: whip.py URL SECONDS
"""
import json
import sys
import urllib.parse
import urllib.request

import session
from session import GLib, Gst

Gst.init(None)
url, seconds = sys.argv[1], float(sys.argv[2])
loop = GLib.MainLoop()
report = {"status": 0, "location": "", "errors": [], "deleted": 0}
pipe = Gst.parse_launch(
    "webrtcbin name=w bundle-policy=max-bundle "
    "videotestsrc is-live=true pattern=ball ! video/x-raw,width=640,height=360,framerate=25/1 ! "
    "x264enc tune=zerolatency speed-preset=ultrafast key-int-max=25 bitrate=600 ! "
    "video/x-h264,profile=constrained-baseline ! rtph264pay config-interval=-1 pt=102 ! "
    "application/x-rtp,media=video,encoding-name=H264,payload=102,clock-rate=90000 ! w. "
    "audiotestsrc is-live=true wave=sine ! audioconvert ! audioresample ! opusenc ! rtpopuspay pt=111 ! "
    "application/x-rtp,media=audio,encoding-name=OPUS,payload=111,clock-rate=48000 ! w.")
webrtc = pipe.get_by_name("w")


def on_response(res):
    report["status"] = res.status
    report["location"] = res.headers.get("Location", "")


session.negotiate(webrtc, url, report, loop, "WHIP_DEBUG", on_response)
session.run(pipe, loop, seconds, report)
if report["location"]:
    try:
        req = urllib.request.Request(urllib.parse.urljoin(url, report["location"]), method="DELETE")
        with urllib.request.urlopen(req, timeout=5) as res:
            report["deleted"] = res.status
    except Exception as e:  # noqa: BLE001
        report["errors"].append("DELETE: %s" % e)
pipe.set_state(Gst.State.NULL)
print(json.dumps(report))
