"""Messages taken off the broker and waiting for the journal, with the limits that make the hub stop reading.

The read gate (read_gate.py) asks :meth:`Inbox.full` after each socket read; the journal loop takes
batches and, at half the limits, lets reading start again. Without a usable gate (an aiomqtt, paho or
asyncio upgrade) the MQTT loop waits for room instead, and aiomqtt's own queue holds what comes meanwhile.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import aiomqtt


def payload_size(message: aiomqtt.Message) -> int:
    payload = message.payload
    return len(payload) if isinstance(payload, bytes | bytearray | str) else 8


class Inbox:
    def __init__(self, most_messages: int, most_bytes: int, queued_elsewhere: Callable[[], int]) -> None:
        """``queued_elsewhere``: messages aiomqtt has read but not yet handed over; they count against the limit."""
        self._queue: asyncio.Queue[aiomqtt.Message] = asyncio.Queue()
        self._bytes = 0
        self._most, self._most_bytes = most_messages, most_bytes
        self._queued_elsewhere = queued_elsewhere
        self._room = asyncio.Event()
        self.on_room: Callable[[], None] = lambda: None
        """Called when the journal has made room (the read gate resumes)."""

    def held(self) -> int:
        """Messages the hub holds: in the inbox and in aiomqtt's queue."""
        return self._queue.qsize() + self._queued_elsewhere()

    def full(self) -> bool:
        return self.held() >= self._most or self._bytes >= self._most_bytes

    def put(self, message: aiomqtt.Message) -> None:
        self._bytes += payload_size(message)
        self._queue.put_nowait(message)

    async def wait_for_room(self) -> None:
        """Only without a read gate: park the reader until the journal has caught up to half the limits."""
        if self.full():
            self._room.clear()
            await self._room.wait()

    async def take(self, most: int, most_bytes: int) -> list[aiomqtt.Message]:
        """Wait for one message, then take what else is waiting, up to ``most`` messages and ``most_bytes``."""
        batch = [await self._queue.get()]
        size = payload_size(batch[0])
        while len(batch) < most and size < most_bytes and not self._queue.empty():
            batch.append(self._queue.get_nowait())
            size += payload_size(batch[-1])
        self._bytes -= size
        if self._queue.qsize() <= self._most // 2 and self._bytes <= self._most_bytes // 2:
            self._room.set()
            self.on_room()
        return batch
