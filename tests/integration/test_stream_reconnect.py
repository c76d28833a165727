"""A camera stream that drops out: a real MJPEG-over-HTTP server, decoded by OpenCV's FFmpeg backend.

The server is stopped mid-stream and started again on the same port; the source must back off,
reconnect and go on delivering frames, never raising and never spinning in a tight loop.
"""

from __future__ import annotations

import http.server
import socketserver
import threading
import time
from typing import Any

import cv2
import numpy as np
import pytest

from replens.device_agent.sources.opencv_source import open_source
from tests.servers import free_port

pytestmark = pytest.mark.integration


class _Mjpeg(http.server.BaseHTTPRequestHandler):
    def log_message(self, *_: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
        self.end_headers()
        index = 0
        try:
            while not getattr(self.server, "stopping", False):
                _, jpeg = cv2.imencode(".jpg", np.full((120, 160, 3), (index * 7) % 255, np.uint8))
                head = b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n" % len(jpeg)
                self.wfile.write(head + jpeg.tobytes() + b"\r\n")
                index += 1
                time.sleep(1 / 20)
        except (BrokenPipeError, ConnectionResetError):
            pass


class _Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
    stopping = False


def serve(port: int) -> _Server:
    server = _Server(("127.0.0.1", port), _Mjpeg)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def stop(server: _Server) -> None:
    server.stopping = True
    server.shutdown()
    server.server_close()


def test_stream_survives_a_server_restart(caplog: pytest.LogCaptureFixture) -> None:
    port = free_port()
    servers = [serve(port)]
    source = open_source(f"http://user:secret@127.0.0.1:{port}/stream.mjpg", realtime=True)
    frames_before = frames_after = 0
    stopped_at: float | None = None
    deadline = time.monotonic() + 45
    try:
        for frame in source:
            assert frame.image.shape == (120, 160, 3)
            if stopped_at is None:
                frames_before += 1
                if frames_before == 20:
                    stop(servers[0])
                    stopped_at = time.monotonic()
                    threading.Timer(2.0, lambda: servers.append(serve(port))).start()
            elif time.monotonic() - stopped_at > 2.0:
                frames_after += 1
                if frames_after == 20:
                    break
            assert time.monotonic() < deadline, "the source did not come back after the server restarted"
    finally:
        source.close()
        for server in servers:
            stop(server)
    assert frames_after == 20
    assert "reconnecting in" in caplog.text
    assert "secret" not in caplog.text  # credentials never reach the log
    attempts = caplog.text.count("reconnecting in")
    assert attempts <= 8, f"{attempts} reconnect attempts in about 2 s: not backing off"
