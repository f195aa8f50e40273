#!/usr/bin/python3
"""A WHIP publisher on GStreamer's webrtcbin: H.264 (x264enc) and Opus
(opusenc) test signals, its offer POSTed to the WHIP URL, published for
SECONDS; prints a JSON report (the answer's status, the session URL, errors)
and DELETEs the session at the end. WHIP_DEBUG=1 writes the SDPs to stderr.

usage: whip.py URL SECONDS
"""
import json
import os
import sys
import urllib.parse
import urllib.request

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstWebRTC", "1.0")
gi.require_version("GstSdp", "1.0")
from gi.repository import GLib, Gst, GstSdp, GstWebRTC  # noqa: E402

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


def on_offer(promise, _data):
    promise.wait()
    reply = promise.get_reply()
    offer = reply.get_value("offer") if reply else None
    if offer is None:
        report["errors"].append("create-offer gave no SDP")
        loop.quit()
        return
    webrtc.emit("set-local-description", offer, Gst.Promise.new())
    req = urllib.request.Request(url, data=offer.sdp.as_text().encode(), method="POST",
                                 headers={"Content-Type": "application/sdp"})
    try:
        with urllib.request.urlopen(req, timeout=10) as res:
            report["status"] = res.status
            report["location"] = res.headers.get("Location", "")
            answer = res.read().decode()
            if os.environ.get("WHIP_DEBUG"):
                sys.stderr.write(offer.sdp.as_text() + "\n----\n" + answer)
            ok, msg = GstSdp.SDPMessage.new_from_text(answer)
            ans = GstWebRTC.WebRTCSessionDescription.new(GstWebRTC.WebRTCSDPType.ANSWER, msg)
            webrtc.emit("set-remote-description", ans, Gst.Promise.new())
    except Exception as e:  # noqa: BLE001
        report["errors"].append("POST: %s" % e)
        loop.quit()


def on_negotiation(w):
    w.emit("create-offer", None, Gst.Promise.new_with_change_func(on_offer, None))


def on_message(_bus, m):
    if m.type == Gst.MessageType.ERROR:
        report["errors"].append(str(m.parse_error()[0]))
        loop.quit()


webrtc.connect("on-negotiation-needed", on_negotiation)
bus = pipe.get_bus()
bus.add_signal_watch()
bus.connect("message", on_message)
pipe.set_state(Gst.State.PLAYING)
GLib.timeout_add(int(seconds * 1000), loop.quit)
loop.run()
if report["location"]:
    try:
        req = urllib.request.Request(urllib.parse.urljoin(url, report["location"]), method="DELETE")
        with urllib.request.urlopen(req, timeout=5) as res:
            report["deleted"] = res.status
    except Exception as e:  # noqa: BLE001
        report["errors"].append("DELETE: %s" % e)
pipe.set_state(Gst.State.NULL)
print(json.dumps(report))
