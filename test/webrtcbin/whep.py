#!/usr/bin/python3
"""A WHEP player on GStreamer's webrtcbin: POSTs its offer to the WHEP URL,
decodes the H.264 (or H.265) it receives and prints a JSON report of decoded
frames. WHEP_DEBUG=1 writes the offer to stderr.

usage: whep.py URL SECONDS [H264|H265]
"""
import json
import sys

import session
from session import GLib, Gst, GstWebRTC

Gst.init(None)
url, seconds = sys.argv[1], float(sys.argv[2])
codec = sys.argv[3] if len(sys.argv) > 3 else "H264"
loop = GLib.MainLoop()
report = {"frames": 0, "width": 0, "height": 0, "errors": []}
pipe = Gst.Pipeline.new("p")
webrtc = Gst.ElementFactory.make("webrtcbin", "w")
webrtc.set_property("bundle-policy", GstWebRTC.WebRTCBundlePolicy.MAX_BUNDLE)
pipe.add(webrtc)
if codec == "H265":
    caps = Gst.Caps.from_string("application/x-rtp,media=video,encoding-name=H265,payload=104,clock-rate=90000")
else:
    caps = Gst.Caps.from_string("application/x-rtp,media=video,encoding-name=H264,payload=102,clock-rate=90000,"
                                "packetization-mode=(string)1,profile-level-id=(string)42e01f")
depay = "rtph265depay ! h265parse ! avdec_h265" if codec == "H265" else "rtph264depay ! h264parse ! avdec_h264"
webrtc.emit("add-transceiver", GstWebRTC.WebRTCRTPTransceiverDirection.RECVONLY, caps)


def on_frame(_sink, buf, pad):
    report["frames"] += 1
    if not report["width"]:
        s = pad.get_current_caps().get_structure(0)
        report["width"], report["height"] = s.get_value("width"), s.get_value("height")


def on_pad(_w, pad):
    if pad.direction != Gst.PadDirection.SRC:
        return
    chain = Gst.parse_bin_from_description(
        depay + " ! videoconvert ! fakesink name=sink signal-handoffs=true sync=false", True)
    pipe.add(chain)
    chain.sync_state_with_parent()
    pad.link(chain.get_static_pad("sink"))
    sink = chain.get_by_name("sink")
    sink.connect("handoff", on_frame)


def on_response(res):
    if res.status != 201:
        report["errors"].append("POST: %d" % res.status)


session.negotiate(webrtc, url, report, loop, "WHEP_DEBUG", on_response)
webrtc.connect("pad-added", on_pad)
session.run(pipe, loop, seconds, report)
pipe.set_state(Gst.State.NULL)
print(json.dumps(report))
