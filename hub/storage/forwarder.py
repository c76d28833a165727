"""Moves queued points from the journal to InfluxDB: retries with backoff and drops nothing, whatever the age.

Deletes (a point whose tags changed) travel in the same queue and keep their place in it: the points
queued before a delete are written first, and those after it wait until it is done. A delete queued
after a write of the same point must never overtake it (squat → lunge → squat would lose the set).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Sequence
from itertools import takewhile

from replens.backoff import Backoff
from replens.config.influxdb import InfluxConfig
from replens.errors import TransientError
from replens.hub.journal import Journal, PendingPoint, PointOp
from replens.hub.storage.points import PointKey
from replens.hub.storage.transports import InfluxSettings, LineWriter, WriteRejected, make_writer
from replens.hub.wakeup import woken

log = logging.getLogger(__name__)

_RETRY_STATUSES = frozenset({401, 403, 404})
"""Refusals that are about the server's setup (credentials, missing database), not about a point: retry."""


class Forwarder:
    """One worker; blocking HTTP runs in a thread so the event loop keeps taking MQTT messages."""

    def __init__(self, journal: Journal, config: InfluxConfig, writer: LineWriter | None = None, *,
                 poll_s: float = 1.0) -> None:
        self._journal = journal
        self._poll_s = poll_s  # the CLI queues points from another process: no wake for those
        self._config = config
        self._writer = writer or make_writer(InfluxSettings.from_config(config))
        self._backoff = Backoff(initial_s=0.5, maximum_s=30.0)
        self.latencies_s: deque[float] = deque(maxlen=10_000)
        self.written = 0
        self.deleted = 0
        self.failures = 0
        self.rejected = 0
        self.wake = asyncio.Event()

    async def run(self) -> None:
        while True:
            self.wake.clear()  # before reading: points queued while we read set it again, and are not missed
            batch = await asyncio.to_thread(self._journal.pending_points, self._config.batch_size)
            if not batch:
                await woken(self.wake, self._poll_s)
                await asyncio.sleep(self._config.flush_interval_s)
                continue
            try:
                await self._send(batch)
            except TransientError as err:
                self.failures += 1
                delay = self._backoff.next_delay()
                log.warning("influxdb: %s; %d points wait in the journal, retrying in %.1f s",
                            err, len(batch), delay)
                await asyncio.sleep(delay)
                continue
            self._backoff.reset()

    async def _send(self, batch: Sequence[PendingPoint]) -> None:
        """The writes up to the first delete in one request; or that delete, when it comes first."""
        writes = list(takewhile(lambda p: p.op is PointOp.WRITE, batch))
        if writes:
            await self._write(writes)
        else:
            await self._delete(batch[0])

    async def _delete(self, point: PendingPoint) -> None:
        try:
            await asyncio.to_thread(self._writer.delete, PointKey.from_json(point.line))
        except WriteRejected as err:
            if getattr(err, "status", None) in _RETRY_STATUSES:
                raise TransientError(str(err)) from err
            log.error("influxdb refused a delete for good, kept in the journal's influx_rejected table: %s (%s)",
                      point.line[:200], err)
            await asyncio.to_thread(self._journal.point_rejected, point, str(err))
            self.rejected += 1
            return
        await asyncio.to_thread(self._journal.points_written, [point.id])
        self.deleted += 1

    async def _write(self, batch: Sequence[PendingPoint]) -> None:
        try:
            await asyncio.to_thread(self._writer.write, [p.line for p in batch])
        except WriteRejected as err:
            if getattr(err, "status", None) in _RETRY_STATUSES:
                raise TransientError(str(err)) from err
            await self._isolate_rejected(batch, err)
            return
        await asyncio.to_thread(self._journal.points_written, [p.id for p in batch])
        now = time.time()
        self.latencies_s.extend(max(0.0, now - p.queued_at) for p in batch)
        self.written += len(batch)

    async def _isolate_rejected(self, batch: Sequence[PendingPoint], err: WriteRejected) -> None:
        """Split the batch until the refused points are found; keep them aside, write the rest."""
        if len(batch) == 1:
            log.error("influxdb refused a point for good, kept in the journal's influx_rejected table: %s (%s)",
                      batch[0].line[:200], err)
            await asyncio.to_thread(self._journal.point_rejected, batch[0], str(err))
            self.rejected += 1
            return
        middle = len(batch) // 2
        for half in (batch[:middle], batch[middle:]):
            await self._write(half)

    def close(self) -> None:
        self._writer.close()
