"""What the WHIP publisher and the WHEP player on GStreamer's webrtcbin
share: the offer POSTed to the server when webrtcbin asks for one, the
answer set, and the pipeline played for a while with its errors reported."""
import os
import sys
import urllib.request

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstWebRTC", "1.0")
gi.require_version("GstSdp", "1.0")
from gi.repository import GLib, Gst, GstSdp, GstWebRTC  # noqa: E402


def negotiate(webrtc, url, report, loop, debug_var, on_response=None):
    """POSTs webrtcbin's offer to url and sets the answer. on_response, when
    given, sees the HTTP response first. Errors go to report["errors"] and
    end the loop. debug_var set in the environment writes the SDPs to stderr."""

    def fail(what):
        report["errors"].append(what)
        loop.quit()

    def on_offer(promise, _data):
        promise.wait()
        reply = promise.get_reply()
        if reply is not None and reply.has_field("error"):
            fail("create-offer: %s" % reply.get_value("error"))
            return
        offer = reply.get_value("offer") if reply else None
        if offer is None or offer.sdp is None:
            fail("create-offer gave no SDP")
            return
        webrtc.emit("set-local-description", offer, Gst.Promise.new())
        req = urllib.request.Request(url, data=offer.sdp.as_text().encode(), method="POST",
                                     headers={"Content-Type": "application/sdp"})
        try:
            with urllib.request.urlopen(req, timeout=10) as res:
                if on_response:
                    on_response(res)
                answer = res.read().decode()
                if os.environ.get(debug_var):
                    sys.stderr.write(offer.sdp.as_text() + "\n----\n" + answer)
                _ok, msg = GstSdp.SDPMessage.new_from_text(answer)
                ans = GstWebRTC.WebRTCSessionDescription.new(GstWebRTC.WebRTCSDPType.ANSWER, msg)
                webrtc.emit("set-remote-description", ans, Gst.Promise.new())
        except Exception as e:  # noqa: BLE001
            fail("POST: %s" % e)

    def on_negotiation(w):
        w.emit("create-offer", None, Gst.Promise.new_with_change_func(on_offer, None))

    webrtc.connect("on-negotiation-needed", on_negotiation)


def run(pipe, loop, seconds, report):
    """Plays pipe for seconds, less when an error (which goes to
    report["errors"]) ends it."""

    def on_message(_bus, m):
        if m.type == Gst.MessageType.ERROR:
            report["errors"].append(str(m.parse_error()[0]))
            loop.quit()

    bus = pipe.get_bus()
    bus.add_signal_watch()
    bus.connect("message", on_message)
    pipe.set_state(Gst.State.PLAYING)
    GLib.timeout_add(int(seconds * 1000), loop.quit)
    loop.run()
