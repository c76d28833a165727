"""Read-ahead for the hub's MQTT socket: one ``recv`` of up to 64 KiB instead of several per message.

paho reads a packet in pieces (the command byte, each byte of the length, then the body), one ``recv``
system call each, and aiomqtt runs paho's reader once per readiness event: under load that is several
system calls and an event-loop turn per message, most of the hub's CPU. Wrapped in ``ReadAheadSocket``,
paho's small reads are served from memory, and ``pending()`` (which aiomqtt checks, for TLS sockets) makes
aiomqtt's reader go on with the packets already buffered in the same turn.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import aiomqtt

log = logging.getLogger(__name__)

_CHUNK = 65536


class ReadAheadSocket:
    """Wraps a connected non-blocking socket (plain or TLS); everything but ``recv`` and ``pending`` passes through."""

    def __init__(self, sock: Any) -> None:
        self._sock = sock
        self._buffer = b""
        self._offset = 0
        self.hold: Callable[[], bool] | None = None
        """Set by the read gate: while it says True, read nothing more from the socket (see read_gate.py)."""

    def recv(self, size: int) -> bytes:
        if self._offset >= len(self._buffer):
            if self.hold is not None and self.hold():
                raise BlockingIOError("the hub holds enough messages for now")
            data: bytes = self._sock.recv(_CHUNK)  # BlockingIOError (nothing to read) and b"" (EOF) pass as they are
            if len(data) <= size:
                return data
            self._buffer, self._offset = data, 0
        chunk = self._buffer[self._offset : self._offset + size]
        self._offset += len(chunk)
        return chunk

    def pending(self) -> int:
        """What aiomqtt asks before reading on: nothing while the gate holds and our buffer is empty.

        Otherwise bytes readable without waiting: ours, plus the TLS layer's already decrypted ones.
        """
        if self._offset >= len(self._buffer) and self.hold is not None and self.hold():
            return 0
        return self.buffered()

    def buffered(self) -> int:
        inner = getattr(self._sock, "pending", None)
        return len(self._buffer) - self._offset + (int(inner()) if inner is not None else 0)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


def read_ahead(client: aiomqtt.Client) -> bool:
    """Wrap a connected client's socket; False (and nothing changed) if this aiomqtt/paho looks different.

    Uses aiomqtt's paho client (``_client``) and paho's socket attribute (``_sock``): both private, so
    anything unexpected leaves the client as it is, which only costs speed.
    """
    paho = getattr(client, "_client", None)
    sock = getattr(paho, "_sock", None)
    if sock is None or isinstance(sock, ReadAheadSocket) or not hasattr(sock, "recv"):
        log.debug("hub: MQTT read-ahead not available with this aiomqtt/paho")
        return False
    paho._sock = ReadAheadSocket(sock)  # type: ignore[union-attr]
    return True
