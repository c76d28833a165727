"""The hub's one broker connection: reconnect with backoff, subscriptions, availability, backpressure.

Every message goes into the :class:`Inbox`; the rest of the hub publishes through :attr:`client`, which is
None while disconnected (the publishers then wait: acks, announcements and views are all re-derived).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import aiomqtt

from replens.backoff import Backoff
from replens.config import RepLensConfig
from replens.contract import Availability
from replens.hub.inbox import Inbox
from replens.hub.read_gate import ReadGate
from replens.hub.readahead import read_ahead
from replens.hub.stats import HubCounters
from replens.mqtt_options import password, tls_context

log = logging.getLogger(__name__)


class MqttSession:
    def __init__(self, config: RepLensConfig, counters: HubCounters, on_connect: Callable[[], None]) -> None:
        self._config = config
        self._topics = config.mqtt.topics
        self._password = password(config.mqtt)  # now: a secret this process was not given fails at start
        self._counters = counters
        self._on_connect = on_connect
        self.client: aiomqtt.Client | None = None
        self.connected = asyncio.Event()
        self.inbox = Inbox(config.hub.inbox_messages, int(config.hub.inbox_mib * 2**20), self._queued_in_aiomqtt)
        self.inbox.on_room = self._resume_reading
        self._gate: ReadGate | None = None

    def current_client(self) -> aiomqtt.Client | None:
        return self.client

    async def run(self) -> None:
        backoff = Backoff(initial_s=0.5, maximum_s=30.0)
        where = f"{self._config.mqtt.host}:{self._config.mqtt.port}"
        while True:
            try:
                async with self._make_client() as client:
                    await self._start(client)
                    backoff.reset()
                    log.info("hub: connected to %s, prefix %s", where, self._topics.prefix)
                    async for message in client.messages:
                        self.inbox.put(message)
                        if self._gate is None or not self._gate.usable:
                            await self.inbox.wait_for_room()
            except aiomqtt.MqttError as err:
                delay = backoff.next_delay()
                log.warning("hub: broker %s unreachable (%s); retrying in %.1f s", where, err, delay)
                self._counters.counts["mqtt_disconnects"] += 1
            finally:
                self.client = None
                if self._gate is not None:
                    self._gate.close()  # its socket is gone; the next connection gets its own
                    self._gate = None
                self.connected.clear()
            await asyncio.sleep(delay)

    async def say_stopped(self) -> None:
        """Clean exit: ``stopped`` (not the ``offline`` will) tells Home Assistant this was on purpose."""
        client = self.client
        if client is None:
            return
        with contextlib.suppress(aiomqtt.MqttError, TimeoutError):
            async with asyncio.timeout(2.0):
                await client.publish(self._topics.hub_available, Availability.STOPPED.value, qos=1, retain=True)

    async def _start(self, client: aiomqtt.Client) -> None:
        read_ahead(client)
        self._gate = self.open_gate(client)
        for topic in (*self._topics.hub_subscriptions(), self._config.homeassistant.status_topic):
            await client.subscribe(topic, qos=1)
        await client.publish(self._topics.hub_available, Availability.ONLINE.value, qos=1, retain=True)
        self.client = client
        self.connected.set()
        self._on_connect()

    def open_gate(self, client: aiomqtt.Client) -> ReadGate:
        gate = ReadGate(client, asyncio.get_running_loop(), full=self.inbox.full, on_pause=self._count_read_pause)
        if gate.unavailable is not None and not self._counters.counts["read_gate_unavailable"]:
            log.warning("hub: MQTT backpressure is off: aiomqtt, paho or asyncio changed a private attribute the "
                        "read gate uses (%s); under overload the hub's memory grows instead of the broker's "
                        "queue. Please report this with `pip show aiomqtt paho-mqtt`", gate.unavailable)
        self._counters.counts["read_gate_unavailable"] = int(gate.unavailable is not None)
        return gate

    def _make_client(self) -> aiomqtt.Client:
        mqtt = self._config.mqtt
        return aiomqtt.Client(
            mqtt.host,
            mqtt.port,
            username=mqtt.username,
            password=self._password,
            identifier=f"replens-hub-{self._topics.prefix}",
            will=aiomqtt.Will(self._topics.hub_available, Availability.OFFLINE.value, qos=1, retain=True),
            clean_session=True,
            keepalive=mqtt.keepalive_s,
            tls_context=tls_context(mqtt),
            logger=logging.getLogger("aiomqtt.hub"),
        )

    def _queued_in_aiomqtt(self) -> int:
        client = self.client
        return len(client.messages) if client is not None else 0

    def _resume_reading(self) -> None:
        if self._gate is not None:
            self._gate.resume()

    def _count_read_pause(self) -> None:
        self._counters.counts["read_pauses"] += 1
