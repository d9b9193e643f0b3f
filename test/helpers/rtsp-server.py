#!/usr/bin/env python3
"""A real RTSP server on loopback for the IP-camera tests: GStreamer's gst-rtsp-server (Debian
packages python3-gi, gir1.2-gst-rtsp-server-1.0, gstreamer1.0-plugins-{base,good,ugly}; installed by
`scripts/deps.sh rtsp`). It serves one live H.264 stream (videotestsrc -> x264enc -> rtph264pay),
as an IP camera does, behind Basic authentication, so the test proves the agent logs in with the
credentials file.

Usage: rtsp-server.py PORT PATH USER PASSWORD [WIDTHxHEIGHT] [FPS]
Prints "READY rtsp://127.0.0.1:PORT/PATH" on stdout once it listens. Stopped by SIGTERM/SIGINT
(the test stops it for real, then starts a new one on the same port).
"""
import signal
import sys

import gi

gi.require_version('Gst', '1.0')
gi.require_version('GstRtspServer', '1.0')
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402


def main() -> int:
    port, path, user, password = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
    width, height = (sys.argv[5] if len(sys.argv) > 5 else '320x180').split('x')
    fps = sys.argv[6] if len(sys.argv) > 6 else '15'
    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address('127.0.0.1')
    server.set_service(port)

    factory = GstRtspServer.RTSPMediaFactory()
    # is-live: frames come at the camera's own pace, stamped by the pipeline clock, as a real
    # camera's do. key-int-max = fps: a reconnecting client waits at most 1 s for a keyframe.
    factory.set_launch(
        f'( videotestsrc is-live=true pattern=ball ! video/x-raw,width={width},height={height},framerate={fps}/1 '
        f'! x264enc tune=zerolatency speed-preset=ultrafast key-int-max={fps} ! rtph264pay name=pay0 pt=96 config-interval=1 )'
    )
    # One pipeline shared by every client, as a camera has one sensor.
    factory.set_shared(True)
    factory.add_role_from_structure(Gst.Structure.from_string(
        'user,media.factory.access=(boolean)true,media.factory.construct=(boolean)true')[0])

    auth = GstRtspServer.RTSPAuth()
    token = GstRtspServer.RTSPToken()
    token.set_string(GstRtspServer.RTSP_TOKEN_MEDIA_FACTORY_ROLE, 'user')
    auth.add_basic(GstRtspServer.RTSPAuth.make_basic(user, password), token)
    server.set_auth(auth)

    server.get_mount_points().add_factory('/' + path, factory)
    if server.attach(None) == 0:
        print(f'cannot listen on 127.0.0.1:{port}', file=sys.stderr)
        return 1
    loop = GLib.MainLoop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, sig, loop.quit)
    print(f'READY rtsp://127.0.0.1:{port}/{path}', flush=True)
    loop.run()
    return 0


if __name__ == '__main__':
    sys.exit(main())
