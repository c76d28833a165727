"""Backpressure for the hub's MQTT socket: stop reading while the journal is behind, so the broker holds the backlog.

aiomqtt reads the socket whenever it is readable and queues every message in memory, with no bound
that does not drop messages; under overload that queue held the backlog and the hub's memory grew by
hundreds of MiB. ``ReadGate`` puts its own reader in front of aiomqtt's: after each read it asks the hub
whether too much is waiting and, if so, takes the socket out of the event loop until the hub calls
``resume``. Then nothing is read, no PUBACK goes out, the broker stops sending after its in-flight window,
and the backlog waits in the broker's per-client queue (bounded by ``max_queued_messages``/``bytes``;
what that drops, agents send again, since the hub has not confirmed it). The hub holds at most its
limit plus one read (64 KiB, see readahead.py).

It relies on aiomqtt's paho client (``_client``), paho's socket (``_sock``) and the selector event
loop's reader registry (``_selector``); anything unexpected leaves aiomqtt as it was (``usable`` is
False, ``unavailable`` says why) and the hub falls back to waiting on its inbox, which only costs memory:
the hub logs that once as a WARNING and reports it in its stats, since it means an upgrade changed them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import aiomqtt

from replens.hub.readahead import ReadAheadSocket

log = logging.getLogger(__name__)


class ReadGate:
    def __init__(self, client: aiomqtt.Client, loop: asyncio.AbstractEventLoop, *, full: Callable[[], bool],
                 on_pause: Callable[[], None] = lambda: None) -> None:
        self._loop = loop
        self._full = full
        self._on_pause = on_pause
        self._fd = -1
        self._reader: tuple[Callable[..., Any], tuple[Any, ...]] | None = None
        self._sock: ReadAheadSocket | None = None
        self.paused = False
        self.unavailable: str | None = None
        """Why the gate could not take over the socket (None: it did)."""
        try:
            fd = int(client._client._sock.fileno())  # type: ignore[union-attr]
            handle = loop._selector.get_key(fd).data[0]  # type: ignore[attr-defined]
            self._reader = (handle._callback, handle._args)
        except (AttributeError, KeyError, IndexError, TypeError, ValueError, OSError) as err:
            self.unavailable = f"{type(err).__name__}: {err}"
            return
        self._fd = fd
        loop.remove_reader(fd)
        loop.add_reader(fd, self._read)
        sock = client._client._sock
        # aiomqtt's reader goes on while data is buffered, and the read-ahead refills its buffer from the
        # socket: without this it would read all the socket has before the gate gets a say.
        self._sock = sock if isinstance(sock, ReadAheadSocket) else None
        if self._sock is not None:
            self._sock.hold = full

    @property
    def usable(self) -> bool:
        return self._fd >= 0

    def _read(self) -> None:
        if self._reader is None or not self.usable:
            return  # a read scheduled by resume() after the connection ended
        callback, args = self._reader
        callback(*args)
        if self._full() and not self.paused:
            self._loop.remove_reader(self._fd)
            self.paused = True
            self._on_pause()

    def resume(self) -> None:
        if not self.paused or not self.usable:
            return
        self.paused = False
        try:
            self._loop.add_reader(self._fd, self._read)
        except (OSError, ValueError) as err:  # the socket closed meanwhile: the reconnect makes a new one
            log.debug("hub: MQTT socket gone while paused: %s", err)
            return
        if self._sock is not None and self._sock.buffered():
            # Bytes already taken off the socket (ours, or decrypted by TLS) make it readable no more.
            self._loop.call_soon(self._read)

    def close(self) -> None:
        """The connection ended: never touch this descriptor again (its number may be reused)."""
        self._fd = -1
        self.paused = False
        if self._sock is not None:
            self._sock.hold = None
