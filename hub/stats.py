"""The hub's health: what it counted, and the ``Stats`` it records in the journal and publishes every interval."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import statistics
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import aiomqtt

from replens.contract import Stats, Topics, utc_from_unix
from replens.errors import TransientError
from replens.hub.journal import Inbound, Journal
from replens.hub.storage.forwarder import Forwarder

log = logging.getLogger(__name__)

HUB_ID = "hub"


@dataclass
class HubCounters:
    """What the hub saw; published in its stats and printed by the CLI."""

    counts: Counter[str] = field(default_factory=Counter)
    last_rejection: str | None = None

    def reject(self, reason: str, counter: str = "rejected") -> None:
        self.counts[counter] += 1
        self.last_rejection = reason
        log.warning("hub: rejected %s", reason)


class StatsReporter:
    def __init__(self, journal: Journal, forwarder: Forwarder | None, counters: HubCounters, topics: Topics,
                 client_of: Callable[[], aiomqtt.Client | None]) -> None:
        self._journal = journal
        self._forwarder = forwarder
        self._counters = counters
        self._topics = topics
        self._client_of = client_of
        self._started = time.monotonic()

    async def run(self, interval_s: float) -> None:
        while True:
            await asyncio.sleep(interval_s)
            try:
                await self.publish()
            except Exception:  # health reporting must never take the hub down
                log.exception("hub: could not report health")

    async def publish(self) -> None:
        stats = self.stats()
        try:
            await asyncio.to_thread(self._journal.record, Inbound(stats=[stats]))
        except TransientError as err:
            log.error("hub: %s", err)
        client = self._client_of()
        if client is not None:
            with contextlib.suppress(aiomqtt.MqttError):
                await client.publish(self._topics.stats, stats.to_json(), qos=0)

    def stats(self) -> Stats:
        depth, oldest = self._journal.points_depth()
        latency_ms = p99_ms = None
        counts = dict(self._counters.counts)
        if self._forwarder is not None:
            samples = sorted(self._forwarder.latencies_s)
            if samples:
                latency_ms = statistics.median(samples) * 1000
                p99_ms = samples[min(len(samples) - 1, int(len(samples) * 0.99))] * 1000
            counts.update(influx_written=self._forwarder.written, influx_deleted=self._forwarder.deleted,
                          influx_failures=self._forwarder.failures, influx_rejected=self._forwarder.rejected)
        return Stats(
            source="hub",
            id=HUB_ID,
            at=utc_from_unix(time.time()),
            uptime_s=time.monotonic() - self._started,
            latency_ms=latency_ms,
            latency_p99_ms=p99_ms,
            outbox_depth=depth,
            outbox_oldest_s=None if oldest is None else max(0.0, time.time() - oldest),
            counters=counts,
        )
