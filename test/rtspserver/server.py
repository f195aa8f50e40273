#!/usr/bin/python3
"""A camera for srs-lite's tests: GStreamer's RTSP server on 127.0.0.1.

It serves live test patterns at rtsp://127.0.0.1:PORT/NAME for each NAME of
MOUNTS, prints "PORT <n>" once it listens, and runs until killed.

  /usr/bin/python3 server.py [--port N] [--user U --password P] [--protocols tcp|udp|all]

Needs Debian's python3-gi, gir1.2-gst-rtsp-server-1.0 and the GStreamer
plugins (base, good, bad, ugly, libav). Use Debian's /usr/bin/python3: the
GObject bindings are installed for it.
"""
import argparse
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtsp", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtsp, GstRtspServer  # noqa: E402

VIDEO_RAW = (
    "videotestsrc is-live=true pattern=ball ! "
    "video/x-raw,width=320,height=240,framerate=25/1 ! "
)
H264 = VIDEO_RAW + (
    "x264enc tune=zerolatency speed-preset=ultrafast key-int-max=25 bitrate=400 ! "
    "video/x-h264,profile=constrained-baseline ! rtph264pay name=pay0 pt=96 {extra}"
)
H265 = VIDEO_RAW + (
    "x265enc tune=zerolatency speed-preset=ultrafast key-int-max=25 bitrate=400 ! "
    "rtph265pay name=pay0 pt=96"
)


def audio(rate, channels, enc):
    return (
        "audiotestsrc is-live=true wave=sine freq=440 ! audioconvert ! audioresample ! "
        "audio/x-raw,rate=%d,channels=%d ! %s" % (rate, channels, enc)
    )


MOUNTS = {
    # H.264 with parameter sets in the SDP only, AAC as mpeg4-generic.
    "h264aac": H264.format(extra="")
    + " "
    + audio(44100, 2, "avenc_aac ! rtpmp4gpay name=pay1 pt=97"),
    # H.264 with parameter sets in band too, G.711 µ-law.
    "h264pcmu": H264.format(extra="config-interval=-1")
    + " "
    + audio(8000, 1, "mulawenc ! rtppcmupay name=pay1"),
    # AAC in LATM (MP4A-LATM).
    "h264latm": H264.format(extra="")
    + " "
    + audio(44100, 2, "avenc_aac ! rtpmp4apay name=pay1 pt=97"),
    # G.711 A-law.
    "h264pcma": H264.format(extra="")
    + " "
    + audio(8000, 1, "alawenc ! rtppcmapay name=pay1"),
    # Opus.
    "h264opus": H264.format(extra="")
    + " "
    + audio(48000, 2, "opusenc ! rtpopuspay name=pay1 pt=98"),
    # H.265 alone.
    "h265": H265,
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--user", default="")
    ap.add_argument("--password", default="")
    ap.add_argument("--protocols", default="all", choices=["all", "tcp", "udp"])
    args = ap.parse_args()

    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(args.port))
    mounts = server.get_mount_points()

    protocols = {
        "all": GstRtsp.RTSPLowerTrans.UDP | GstRtsp.RTSPLowerTrans.TCP,
        "tcp": GstRtsp.RTSPLowerTrans.TCP,
        "udp": GstRtsp.RTSPLowerTrans.UDP,
    }[args.protocols]

    permissions = None
    if args.user:
        auth = GstRtspServer.RTSPAuth()
        token = GstRtspServer.RTSPToken()
        token.set_string("media.factory.role", "user")
        auth.add_digest(args.user, args.password, token)
        auth.set_supported_methods(GstRtsp.RTSPAuthMethod.DIGEST)
        server.set_auth(auth)
        permissions = GstRtspServer.RTSPPermissions()
        permissions.add_permission_for_role("user", "media.factory.access", True)
        permissions.add_permission_for_role("user", "media.factory.construct", True)

    for name, launch in MOUNTS.items():
        f = GstRtspServer.RTSPMediaFactory()
        f.set_launch("( " + launch + " )")
        f.set_shared(True)
        f.set_protocols(protocols)
        if permissions is not None:
            f.set_permissions(permissions)
        mounts.add_factory("/" + name, f)

    if server.attach(None) == 0:
        print("cannot listen on 127.0.0.1:%d" % args.port, file=sys.stderr)
        sys.exit(1)
    print("PORT %d" % server.get_bound_port(), flush=True)
    GLib.MainLoop().run()


if __name__ == "__main__":
    main()
