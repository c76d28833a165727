"""The hub service: MQTT in, journal, acks to agents, set attribution, InfluxDB out, health stats. One TaskGroup."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field

import aiomqtt

from replens.backoff import Backoff
from replens.config import RepLensConfig
from replens.contract import (
    Ack,
    AgentState,
    Availability,
    ClaimCommand,
    ClaimLastCommand,
    DecodedBatch,
    RepEvent,
    SetEvent,
    SetPhase,
    Stats,
    VisitEvent,
    decode_incoming,
    utc_from_unix,
)
from replens.errors import ContractError, TransientError
from replens.hub.acks import AckBook
from replens.hub.homeassistant import HomeAssistantBridge, JournalViews
from replens.hub.identity.announcer import Announcer
from replens.hub.identity.attributor import Attributor
from replens.hub.journal import BatchResult, Inbound, Journal
from replens.hub.read_gate import ReadGate
from replens.hub.readahead import read_ahead
from replens.hub.storage.forwarder import Forwarder
from replens.hub.storage.transports import LineWriter
from replens.mqtt_options import password, tls_context

log = logging.getLogger(__name__)

HUB_ID = "hub"
_BATCH = 5000
"""Most messages recorded in one journal transaction: under load, fewer and larger commits (one fsync each)."""
_BATCH_BYTES = 1 << 20
"""Most payload bytes in one transaction (about 1,500 events): bounds the hub's memory and how long the
journal is locked, which the InfluxDB forwarder waits for."""
_IDENTITY_TRIES = 5


def _size(message: aiomqtt.Message) -> int:
    payload = message.payload
    return len(payload) if isinstance(payload, bytes | bytearray | str) else 8


@dataclass
class HubCounters:
    """What the hub saw; published in its stats and printed by the CLI."""

    counts: Counter[str] = field(default_factory=Counter)
    last_rejection: str | None = None


class Hub:
    def __init__(self, config: RepLensConfig, *, writer: LineWriter | None = None) -> None:
        self._config = config
        self._topics = config.mqtt.topics
        self._mqtt_password = password(config.mqtt)  # now: a secret this process was not given fails at start
        self.journal = Journal(config.journal_path())
        self.forwarder = Forwarder(self.journal, config.influxdb, writer) if config.influxdb else None
        self.attributor = Attributor(self.journal, config.identity, config.members_db())
        self.announcer = Announcer(self.journal, self.attributor, self._topics)
        self.homeassistant = HomeAssistantBridge(config, self.attributor, JournalViews(self.journal.path))
        self.counters = HubCounters()
        self.connected = asyncio.Event()
        # Bounded by the read gate (or, without one, by waiting for room): see _take and hub/read_gate.py.
        self._inbox: asyncio.Queue[aiomqtt.Message] = asyncio.Queue()
        self._inbox_bytes = 0
        self._inbox_limits = (config.hub.inbox_messages, int(config.hub.inbox_mib * 2**20))
        self._room = asyncio.Event()
        self._gate: ReadGate | None = None
        self._acks = AckBook()
        self._client: aiomqtt.Client | None = None
        self._started = time.monotonic()

    async def run(self, stop: asyncio.Event) -> None:
        """Serve until ``stop`` is set, then say ``stopped`` on the availability topic."""
        try:
            async with asyncio.TaskGroup() as group:
                tasks = [
                    group.create_task(self._mqtt_session(), name="mqtt"),
                    group.create_task(self._journal_loop(), name="journal"),
                    group.create_task(self._ack_loop(), name="acks"),
                    group.create_task(self._stats_loop(), name="stats"),
                    group.create_task(self.announcer.run_announcements(self._current_client), name="announcements"),
                    group.create_task(self.announcer.run_presence(self._current_client), name="presence"),
                    group.create_task(self.homeassistant.run(self._current_client), name="homeassistant"),
                ]
                if self.forwarder is not None:
                    tasks.append(group.create_task(self.forwarder.run(), name="influxdb"))
                await stop.wait()
                await self._say_stopped()
                for task in tasks:
                    task.cancel()
        finally:
            if self.forwarder is not None:
                self.forwarder.close()
            self.homeassistant.close()
            self.journal.close()

    # MQTT ----------------------------------------------------------------------------------------
    def _make_client(self) -> aiomqtt.Client:
        mqtt = self._config.mqtt
        return aiomqtt.Client(
            mqtt.host,
            mqtt.port,
            username=mqtt.username,
            password=self._mqtt_password,
            identifier=f"replens-hub-{self._topics.prefix}",
            will=aiomqtt.Will(self._topics.hub_available, Availability.OFFLINE.value, qos=1, retain=True),
            clean_session=True,
            keepalive=mqtt.keepalive_s,
            tls_context=tls_context(mqtt),
            logger=logging.getLogger("aiomqtt.hub"),
        )

    async def _mqtt_session(self) -> None:
        backoff = Backoff(initial_s=0.5, maximum_s=30.0)
        where = f"{self._config.mqtt.host}:{self._config.mqtt.port}"
        while True:
            try:
                async with self._make_client() as client:
                    read_ahead(client)
                    self._gate = self._open_gate(client)
                    for topic in self._subscriptions():
                        await client.subscribe(topic, qos=1)
                    await client.publish(self._topics.hub_available, Availability.ONLINE.value, qos=1, retain=True)
                    self._client = client
                    self.connected.set()
                    self.announcer.presence_due.set()  # retained, but the broker may have restarted empty
                    self.announcer.wake.set()
                    self.homeassistant.on_connect()
                    backoff.reset()
                    log.info("hub: connected to %s, prefix %s", where, self._topics.prefix)
                    async for message in client.messages:
                        await self._take(message)
            except aiomqtt.MqttError as err:
                delay = backoff.next_delay()
                log.warning("hub: broker %s unreachable (%s); retrying in %.1f s", where, err, delay)
                self.counters.counts["mqtt_disconnects"] += 1
            finally:
                self._client = None
                if self._gate is not None:
                    self._gate.close()  # its socket is gone; the next connection gets its own
                    self._gate = None
                self.connected.clear()
            await asyncio.sleep(delay)

    async def _take(self, message: aiomqtt.Message) -> None:
        """Into the inbox. The read gate keeps what the hub holds bounded; without one, wait for room."""
        self._inbox_bytes += _size(message)
        self._inbox.put_nowait(message)
        if (self._gate is None or not self._gate.usable) and self._holding_too_much():
            self._room.clear()
            await self._room.wait()  # aiomqtt's own queue holds what comes meanwhile

    def _holding_too_much(self) -> bool:
        """Messages in the inbox and in aiomqtt's queue, or payload bytes in the inbox, at a limit."""
        most, most_bytes = self._inbox_limits
        client = self._client
        held = self._inbox.qsize() + (len(client.messages) if client is not None else 0)
        return held >= most or self._inbox_bytes >= most_bytes

    def _open_gate(self, client: aiomqtt.Client) -> ReadGate:
        gate = ReadGate(client, asyncio.get_running_loop(), full=self._holding_too_much,
                        on_pause=self._count_read_pause)
        if gate.unavailable is not None and not self.counters.counts["read_gate_unavailable"]:
            log.warning("hub: MQTT backpressure is off: aiomqtt, paho or asyncio changed a private attribute the "
                        "read gate uses (%s); under overload the hub's memory grows instead of the broker's "
                        "queue. Please report this with `pip show aiomqtt paho-mqtt`", gate.unavailable)
        self.counters.counts["read_gate_unavailable"] = int(gate.unavailable is not None)
        return gate

    def _count_read_pause(self) -> None:
        self.counters.counts["read_pauses"] += 1

    def _taken(self, size: int) -> None:
        """The journal took messages of ``size`` payload bytes: at half the limits, read again."""
        self._inbox_bytes -= size
        most, most_bytes = self._inbox_limits
        if self._inbox.qsize() <= most // 2 and self._inbox_bytes <= most_bytes // 2:
            self._room.set()
            if self._gate is not None:
                self._gate.resume()

    def _subscriptions(self) -> tuple[str, ...]:
        return (*self._topics.hub_subscriptions(), self._config.homeassistant.status_topic)

    def _current_client(self) -> aiomqtt.Client | None:
        return self._client

    async def _say_stopped(self) -> None:
        client = self._client
        if client is None:
            return
        with contextlib.suppress(aiomqtt.MqttError, TimeoutError):
            await asyncio.wait_for(
                client.publish(self._topics.hub_available, Availability.STOPPED.value, qos=1, retain=True), 2.0
            )

    # Ingest --------------------------------------------------------------------------------------
    async def _journal_loop(self) -> None:
        backoff = Backoff(initial_s=0.2, maximum_s=10.0)
        while True:
            batch = [await self._inbox.get()]
            size = _size(batch[0])
            while len(batch) < _BATCH and size < _BATCH_BYTES and not self._inbox.empty():
                batch.append(self._inbox.get_nowait())
                size += _size(batch[-1])
            self._taken(size)
            inbound, claims, claims_by_name = self._sort_out(batch)
            if claims_by_name:
                claims += await self._resolve_claims(claims_by_name)
            if not inbound and not claims:
                continue
            try:
                result = await self._record(inbound)
            except TransientError as err:
                # Not confirmed to the agents, so they will send these again: nothing is lost.
                self.counters.counts["journal_errors"] += 1
                log.error("hub: cannot record %d messages: %s", len(batch), err)
                await asyncio.sleep(backoff.next_delay())
                continue
            backoff.reset()
            self.counters.counts["stored"] += len(result.stored)
            self.counters.counts["duplicates"] += len(result.duplicates)
            self._acks.add(result.stored)
            self._acks.add(result.duplicates)
            if self.forwarder is not None:
                self.forwarder.wake.set()
            if result.sets or result.visits or claims:
                await self._identify(result, claims)
            stored = set(result.stored)
            self.homeassistant.sets_ended(
                e.set_id for e in inbound.events
                if isinstance(e, SetEvent) and e.event is SetPhase.END and (e.agent_id, e.seq) in stored
            )

    async def _resolve_claims(self, commands: list[ClaimLastCommand]) -> list[ClaimCommand]:
        """Claims of a station's last set by member name (Home Assistant's select) → ordinary claims."""
        try:
            claims, rejected = await asyncio.to_thread(self.homeassistant.resolve_claims, commands)
        except TransientError as err:
            claims, rejected = [], [f"{len(commands)} claims of a station's last set: {err}"]
        for reason in rejected:
            self.counters.counts["claims_rejected"] += 1
            self.counters.last_rejection = reason
            log.warning("hub: rejected %s", reason)
        return claims

    async def _record(self, inbound: Inbound) -> BatchResult:
        if any(getattr(event, "member", None) for event in inbound.events):
            self.counters.counts["unknown_members"] += await asyncio.to_thread(self.attributor.screen, inbound)
        if not inbound:
            return BatchResult([], [])
        return await asyncio.to_thread(self.journal.record, inbound)

    async def _identify(self, result: BatchResult, claims: list[ClaimCommand]) -> None:
        """Apply claims and attribute sets; a journal hiccup is retried, since claims are not sent again."""
        backoff = Backoff(initial_s=0.2, maximum_s=5.0)
        for attempt in range(1, _IDENTITY_TRIES + 1):
            try:
                outcome = await asyncio.to_thread(self.attributor.after_batch, result, claims)
                break
            except TransientError as err:
                self.counters.counts["identity_errors"] += 1
                log.error("hub: attribution failed (try %d of %d): %s", attempt, _IDENTITY_TRIES, err)
                await asyncio.sleep(backoff.next_delay())
        else:
            log.error("hub: gave up on %d claims and the attribution of %d sets", len(claims), len(result.sets))
            return
        for reason in outcome.rejected:
            self.counters.counts["claims_rejected"] += 1
            self.counters.last_rejection = reason
            log.warning("hub: rejected %s", reason)
        self.counters.counts["attributions"] += len(outcome.changed)
        if outcome.changed:
            self.announcer.wake.set()
            self.homeassistant.due.set()
            if self.forwarder is not None:
                self.forwarder.wake.set()
        if result.visits:
            self.announcer.presence_due.set()

    def _sort_out(self, batch: list[aiomqtt.Message]) -> tuple[Inbound, list[ClaimCommand], list[ClaimLastCommand]]:
        """Decode every message; a bad one is counted and logged with its topic and reason."""
        inbound = Inbound()
        claims: list[ClaimCommand] = []
        claims_by_name: list[ClaimLastCommand] = []
        for message in batch:
            topic = message.topic.value
            payload = message.payload if isinstance(message.payload, bytes) else str(message.payload).encode()
            if self._home_assistant_message(topic, payload):
                continue
            self.counters.counts["received"] += 1
            try:
                item = decode_incoming(self._topics, topic, payload)
            except ContractError as err:
                self._reject(str(err))
                continue
            if isinstance(item, SetEvent | RepEvent | VisitEvent):
                inbound.events.append(item)
            elif isinstance(item, DecodedBatch):
                inbound.events += item.events
                self.counters.counts["batched_events"] += len(item.events)
                for reason in item.rejected:
                    self._reject(reason)
            elif isinstance(item, ClaimCommand):
                claims.append(item)
            elif isinstance(item, ClaimLastCommand):
                claims_by_name.append(item)
            elif isinstance(item, Stats):
                if item.source == "agent":
                    inbound.stats.append(item)
            elif isinstance(item, AgentState):
                inbound.agents.append((item.agent_id, None, item.model_dump_json()))
                self.homeassistant.on_agent_state(item)
            else:
                inbound.agents.append((item[0], item[1].value, None))
        return inbound, claims, claims_by_name

    def _home_assistant_message(self, topic: str, payload: bytes) -> bool:
        """Home Assistant's birth message, or an agent's retained state cleared (the agent was removed)."""
        if topic == self._config.homeassistant.status_topic:
            self.homeassistant.on_status(payload)
            return True
        agent_id = self._topics.agent_id_from(topic)
        if not payload and agent_id is not None and topic == self._topics.agent_state(agent_id):
            self.homeassistant.forget_agent(agent_id)
            return True
        return False

    def _reject(self, reason: str) -> None:
        self.counters.counts["rejected"] += 1
        self.counters.last_rejection = reason
        log.warning("hub: rejected message: %s", reason)

    # Acks and stats ------------------------------------------------------------------------------
    async def _ack_loop(self) -> None:
        while True:
            await asyncio.sleep(self._config.hub.ack_interval_s)
            client = self._client
            if client is None:
                continue  # agents resend after our reconnect; duplicates are confirmed then
            for agent_id, ranges in self._acks.take().items():
                for start in range(0, len(ranges), 5000):
                    chunk = ranges[start : start + 5000]
                    try:
                        await client.publish(self._topics.agent_ack(agent_id), Ack(ranges=chunk).to_json(), qos=1)
                    except aiomqtt.MqttError as err:  # the link went since we looked: confirm on the next round
                        self._acks.add_ranges(agent_id, chunk)
                        log.warning("hub: could not confirm to agent %s: %s", agent_id, err)

    async def _stats_loop(self) -> None:
        while True:
            await asyncio.sleep(self._config.hub.stats_interval_s)
            try:
                await self._publish_stats()
            except Exception:  # health reporting must never take the hub down
                log.exception("hub: could not report health")

    async def _publish_stats(self) -> None:
        stats = self.stats()
        try:
            await asyncio.to_thread(self.journal.record, Inbound(stats=[stats]))
        except TransientError as err:
            log.error("hub: %s", err)
        client = self._client
        if client is not None:
            with contextlib.suppress(aiomqtt.MqttError):
                await client.publish(self._topics.stats, stats.to_json(), qos=0)

    def stats(self) -> Stats:
        depth, oldest = self.journal.points_depth()
        latency_ms = p99_ms = None
        counts = dict(self.counters.counts)
        if self.forwarder is not None:
            samples = sorted(self.forwarder.latencies_s)
            if samples:
                latency_ms = statistics.median(samples) * 1000
                p99_ms = samples[min(len(samples) - 1, int(len(samples) * 0.99))] * 1000
            counts.update(influx_written=self.forwarder.written, influx_failures=self.forwarder.failures,
                          influx_rejected=self.forwarder.rejected)
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
