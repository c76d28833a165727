"""The hub service: MQTT in, journal, acks to agents, set attribution, InfluxDB out, health stats. One TaskGroup.

Each job lives in its own module; this one wires them and runs the journal loop, the step that records
what came in and tells the others.
"""

from __future__ import annotations

import asyncio
import logging

from replens.backoff import Backoff
from replens.config import RepLensConfig
from replens.contract import SetEvent, SetPhase, Stats
from replens.errors import TransientError
from replens.hub.acks import AckBook, send_acks
from replens.hub.body_weights import BodyWeightStep
from replens.hub.editing import EditStep
from replens.hub.homeassistant import HomeAssistantBridge, JournalViews
from replens.hub.identity.announcer import Announcer
from replens.hub.identity.attributor import Attributor
from replens.hub.identity.deciding import IdentityStep
from replens.hub.intake import Intake, Sorter
from replens.hub.journal import BatchResult, Inbound, Journal
from replens.hub.mqtt_session import MqttSession
from replens.hub.stats import HubCounters, StatsReporter
from replens.hub.storage.forwarder import Forwarder
from replens.hub.storage.transports import LineWriter
from replens.hub.web.server import WebServer, open_state

log = logging.getLogger(__name__)

_BATCH = 5000
"""Most messages recorded in one journal transaction: under load, fewer and larger commits (one fsync each)."""
_BATCH_BYTES = 1 << 20
"""Most payload bytes in one transaction (about 1,500 events): bounds the hub's memory and how long the
journal is locked, which the InfluxDB forwarder waits for."""


class Hub:
    def __init__(self, config: RepLensConfig, *, writer: LineWriter | None = None) -> None:
        self._config = config
        self.counters = HubCounters()
        self.mqtt = MqttSession(config, self.counters, on_connect=self._connected)
        self.journal = Journal(config.journal_path())
        self.forwarder = Forwarder(self.journal, config.influxdb, writer) if config.influxdb else None
        self.attributor = Attributor(self.journal, config.identity, config.members_db())
        self.announcer = Announcer(self.journal, self.attributor, config.mqtt.topics)
        self.homeassistant = HomeAssistantBridge(config, self.attributor, JournalViews(self.journal.path))
        self._sorter = Sorter(config.mqtt.topics, config.homeassistant.status_topic, self.counters,
                              self.homeassistant)
        self._identity = IdentityStep(self.attributor, self.homeassistant, self.counters)
        self._edits = EditStep(self.journal, self.counters)
        self._body_weights = BodyWeightStep(self.journal, self.attributor.names, self.counters)
        self._acks = AckBook()
        self.web = WebServer(open_state(config, self.journal, self._changed)) if config.hub.web else None
        self._stats = StatsReporter(self.journal, self.forwarder, self.counters, config.mqtt.topics,
                                    self.mqtt.current_client)

    @property
    def connected(self) -> asyncio.Event:
        return self.mqtt.connected

    def stats(self) -> Stats:
        return self._stats.stats()

    async def run(self, stop: asyncio.Event) -> None:
        """Serve until ``stop`` is set, then say ``stopped`` on the availability topic."""
        client_of = self.mqtt.current_client
        hub = self._config.hub
        try:
            async with asyncio.TaskGroup() as group:
                tasks = [
                    group.create_task(self.mqtt.run(), name="mqtt"),
                    group.create_task(self._journal_loop(), name="journal"),
                    group.create_task(send_acks(self._acks, hub.ack_interval_s, self._config.mqtt.topics,
                                                client_of), name="acks"),
                    group.create_task(self._stats.run(hub.stats_interval_s), name="stats"),
                    group.create_task(self.announcer.run_announcements(client_of), name="announcements"),
                    group.create_task(self.announcer.run_presence(client_of), name="presence"),
                    group.create_task(self.homeassistant.run(client_of), name="homeassistant"),
                ]
                if self.forwarder is not None:
                    tasks.append(group.create_task(self.forwarder.run(), name="influxdb"))
                if self.web is not None:
                    tasks.append(group.create_task(self.web.run(), name="web"))
                await stop.wait()
                await self.mqtt.say_stopped()
                for task in tasks:
                    task.cancel()
        finally:
            if self.forwarder is not None:
                self.forwarder.close()
            self.homeassistant.close()
            self.journal.close()

    def _connected(self) -> None:
        self.announcer.presence_due.set()  # retained, but the broker may have restarted empty
        self.announcer.wake.set()
        self.homeassistant.on_connect()

    async def _journal_loop(self) -> None:
        backoff = Backoff(initial_s=0.2, maximum_s=10.0)
        while True:
            batch = await self.mqtt.inbox.take(_BATCH, _BATCH_BYTES)
            intake = self._sorter.sort_out(batch)
            if intake.claims_by_name:
                intake.claims += await self._identity.resolve_claims(intake.claims_by_name)
            if not intake.inbound and not intake.commands:
                continue
            try:
                result = await self._record(intake.inbound)
            except TransientError as err:
                # Not confirmed to the agents, so they will send these again: nothing is lost.
                self.counters.counts["journal_errors"] += 1
                log.error("hub: cannot record %d messages: %s", len(batch), err)
                await asyncio.sleep(backoff.next_delay())
                continue
            backoff.reset()
            self._recorded(result)
            if result.sets or result.visits or intake.claims:
                await self._identify(result, intake)
            if intake.edits or intake.edits_of_last:
                edited = await self._edits.apply(intake.edits, intake.edits_of_last)
                if edited.changed:
                    self._changed()
            if intake.body_weights and await self._body_weights.apply(intake.body_weights):
                self.homeassistant.due.set()  # the member's state shows the new body weight
            stored = set(result.stored)  # after attribution: Home Assistant's set_completed names the member
            self.homeassistant.sets_ended(
                e.set_id for e in intake.inbound.events
                if isinstance(e, SetEvent) and e.event is SetPhase.END and (e.agent_id, e.seq) in stored
            )

    async def _record(self, inbound: Inbound) -> BatchResult:
        if any(getattr(event, "member", None) for event in inbound.events):
            self.counters.counts["unknown_members"] += await asyncio.to_thread(self.attributor.screen, inbound)
        if not inbound:
            return BatchResult([], [])
        return await asyncio.to_thread(self.journal.record, inbound)

    def _recorded(self, result: BatchResult) -> None:
        """Count, confirm to the agents, and wake the forwarder for the points the batch queued."""
        self.counters.counts["stored"] += len(result.stored)
        self.counters.counts["duplicates"] += len(result.duplicates)
        self._acks.add(result.stored)
        self._acks.add(result.duplicates)
        if self.forwarder is not None:
            self.forwarder.wake.set()

    def _changed(self) -> None:
        """Sets changed after the fact: publish what was queued, refresh Home Assistant, write the points."""
        self.announcer.wake.set()
        self.homeassistant.due.set()
        if self.forwarder is not None:
            self.forwarder.wake.set()

    async def _identify(self, result: BatchResult, intake: Intake) -> None:
        outcome = await self._identity.after(result, intake.claims)
        if outcome is None:
            return
        if outcome.changed:
            self._changed()
        if result.visits:
            self.announcer.presence_due.set()
