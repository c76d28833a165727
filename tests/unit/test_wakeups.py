"""Lost wake-ups: a loop that looks for work, finds none, then clears its wake event misses work queued while it
looked, and sleeps a whole poll interval with work waiting (InfluxDB points, set announcements: up to 1 s late).

Deterministic: the fake journal queues the work *during* the look, as the journal loop on another task would;
the poll interval is an hour, so only a wake that was kept gets the work done before the test's guard.
"""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from replens.config.influxdb import InfluxConfig
from replens.contract import Topics
from replens.hub.identity.announcer import Announcer
from replens.hub.journal import Announcement, Outgoing, PendingPoint
from replens.hub.storage.forwarder import Forwarder

HOUR = 3600.0
GUARD_S = 30.0  # only reached when the wake-up was lost


class Writer:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.wrote = asyncio.Event()

    def write(self, lines: list[str]) -> None:
        self.lines += lines
        self.wrote.set()

    def close(self) -> None:
        pass


class PointsJournal:
    """Empty at the first look, but a point is queued (and the forwarder woken) while it looks."""

    def __init__(self) -> None:
        self.forwarder: Forwarder | None = None
        self.queue: list[PendingPoint] = []
        self.looks = 0

    def pending_points(self, limit: int) -> list[PendingPoint]:
        self.looks += 1
        found = list(self.queue)
        if self.looks == 1:
            self.queue.append(PendingPoint(1, "m v=1 1", 0.0))
            assert self.forwarder is not None
            self.forwarder._loop.call_soon_threadsafe(self.forwarder.wake.set)  # type: ignore[attr-defined]
        return found

    def points_written(self, ids: list[int]) -> None:
        self.queue = [p for p in self.queue if p.id not in ids]


async def run_until(event: asyncio.Event, loop_coroutine: Any) -> None:
    task = asyncio.create_task(loop_coroutine)
    try:
        await asyncio.wait_for(event.wait(), GUARD_S)
    finally:
        task.cancel()


def test_forwarder_keeps_a_wake_that_came_while_it_looked() -> None:
    async def scenario() -> list[str]:
        journal, writer = PointsJournal(), Writer()
        config = InfluxConfig(api_version=1, database="d", flush_interval_s=0.0)
        forwarder = Forwarder(journal, config, writer, poll_s=HOUR)  # type: ignore[arg-type]
        forwarder._loop = asyncio.get_running_loop()  # type: ignore[attr-defined]
        journal.forwarder = forwarder
        await run_until(writer.wrote, forwarder.run())
        return writer.lines

    assert asyncio.run(scenario()) == ["m v=1 1"]


class AnnouncementsJournal:
    def __init__(self) -> None:
        self.announcer: Announcer | None = None
        self.queue: list[Announcement] = []
        self.looks = 0

    def pending_announcements(self, limit: int) -> list[Announcement]:
        self.looks += 1
        found = list(self.queue)
        if self.looks == 1:
            self.queue.append(Announcement(1, Outgoing.HUB_SETS, b"{}"))
            assert self.announcer is not None
            self.announcer._loop.call_soon_threadsafe(self.announcer.wake.set)  # type: ignore[attr-defined]
        return found

    def announced(self, ids: list[int]) -> None:
        self.queue = [a for a in self.queue if a.id not in ids]


class Client:
    def __init__(self) -> None:
        self.published = asyncio.Event()

    async def publish(self, topic: str, payload: bytes, qos: int = 0, retain: bool = False) -> None:
        self.published.set()


def test_announcer_keeps_a_wake_that_came_while_it_looked() -> None:
    async def scenario() -> int:
        journal, client = AnnouncementsJournal(), Client()
        announcer = Announcer(journal, SimpleNamespace(), Topics("t"), poll_s=HOUR)  # type: ignore[arg-type]
        announcer._loop = asyncio.get_running_loop()  # type: ignore[attr-defined]
        journal.announcer = announcer
        await run_until(client.published, announcer.run_announcements(lambda: client))  # type: ignore[arg-type, return-value]
        return announcer.published

    assert asyncio.run(scenario()) == 1
