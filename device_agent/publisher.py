"""Drains the outbox to the broker with paho-mqtt (QoS 1), keeps availability and retained state fresh."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from replens.config.mqtt import MqttConfig
from replens.contract import Availability, EnrolCommand, EventKind, StationCommand, decode, decode_ack, encode_batch
from replens.device_agent.outbox import Outbox, OutboxItem
from replens.errors import ContractError, TransientError
from replens.mqtt_options import password, tls_context

log = logging.getLogger(__name__)
M = TypeVar("M", StationCommand, EnrolCommand)

_DISK_RETRY_S = 5.0
BATCH_MAX_BYTES = 128 * 1024
"""A batch stays well under the hub's 256 KiB payload limit."""


class Publisher:
    """One MQTT connection per agent. Never drops an event: the outbox holds it until the hub confirms.

    Unconfirmed events are sent again after every reconnect, whenever the hub comes back online, and
    when they have waited ``resend_after_s``; the hub de-duplicates by (agent_id, seq).

    The retained snapshots (station state, health) are stored and published under one lock, and after a
    reconnect they go out when the broker acknowledges our subscriptions, not in ``on_connect``: paho
    sends what it queued while disconnected (perhaps an older snapshot) right after ``on_connect``
    returns, so a snapshot published there could be overtaken by a stale one. Lock order: ours, then
    paho's own; paho holds none of the locks ``publish`` takes while it calls us.
    """

    def __init__(
        self,
        config: MqttConfig,
        agent_id: str,
        outbox: Outbox,
        *,
        batch: int = 500,
        resend_after_s: float = 30.0,
    ) -> None:
        self._config = config
        self._topics = config.topics
        self._agent_id = agent_id
        self._outbox = outbox
        self._batch = batch
        self._resend_after_s = resend_after_s
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._connected = threading.Event()
        self._snapshots = threading.Lock()
        """Held while a snapshot is stored, and while it is published: the last one published is the latest."""
        self._subscribe_mid: int | None = None
        self._retained_state: bytes | None = None
        self._latest_stats: bytes | None = None
        self._hub_online = False
        self.published = 0
        self.confirmed = 0
        self._event_topics = {kind: self._topics.agent_events(agent_id, kind) for kind in EventKind}
        self._batch_topic = self._topics.agent_batch(agent_id)
        self.on_command: Callable[[StationCommand], None] | None = None
        """Called from paho's thread with each valid command; hand it to the counting loop, do not block."""
        self.on_enrol: Callable[[EnrolCommand], None] | None = None
        """Entrance agents only: called from paho's thread with each valid enrolment request."""
        self._client = self._make_client()
        self._drainer = threading.Thread(target=self._drain_loop, name=f"outbox-{agent_id}", daemon=True)

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def start(self) -> None:
        self._client.connect_async(self._config.host, self._config.port, keepalive=self._config.keepalive_s)
        self._client.loop_start()
        self._drainer.start()

    def wake(self) -> None:
        """Something was appended to the outbox."""
        self._wake.set()

    def set_state(self, payload: bytes) -> None:
        """Latest retained station snapshot; republished after every reconnect."""
        with self._snapshots:
            self._retained_state = payload
            if self.connected:
                self._send_state(self._client, payload)

    def publish_stats(self, payload: bytes) -> None:
        """Health is a snapshot: while the broker is away only the latest is kept, sent on reconnect."""
        with self._snapshots:
            self._latest_stats = payload
            if self.connected:
                self._send_stats(self._client, payload)

    def _send_state(self, client: mqtt.Client, payload: bytes) -> None:
        client.publish(self._topics.agent_state(self._agent_id), payload, qos=1, retain=True)

    def _send_stats(self, client: mqtt.Client, payload: bytes) -> None:
        """On the agent's own topic (retained, for Home Assistant); the hub records it from there too."""
        client.publish(self._topics.agent_stats(self._agent_id), payload, qos=0, retain=True)

    def wait_drained(self, timeout_s: float) -> bool:
        """Block until the hub confirmed every event (True) or the timeout passed (False)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._outbox.depth() == 0:
                return True
            self._wake.set()
            time.sleep(0.05)
        return self._outbox.depth() == 0

    def stop(self) -> None:
        """Clean exit: ``stopped`` (not the ``offline`` will) tells Home Assistant this was on purpose."""
        self._stopping.set()
        self._wake.set()
        if self.connected:
            info = self._client.publish(
                self._topics.agent_available(self._agent_id), Availability.STOPPED.value, qos=1, retain=True
            )
            if info.rc == mqtt.MQTT_ERR_SUCCESS:  # the link may have gone since: then the will says offline
                info.wait_for_publish(timeout=2.0)
        # paho's network thread may run one more loop between disconnect() closing the socket and loop_stop(),
        # and logs that as an ERROR ("Client is not connected"): nothing anyone should act on in a clean stop.
        self._client.disable_logger()
        self._client.disconnect()
        self._client.loop_stop()
        if self._drainer.is_alive():
            self._drainer.join(timeout=2.0)

    # paho wiring -------------------------------------------------------------------------------
    def _make_client(self) -> mqtt.Client:
        client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=f"replens-agent-{self._agent_id}",
            clean_session=True,
        )
        client.enable_logger(logging.getLogger("paho.agent"))
        client.will_set(
            self._topics.agent_available(self._agent_id), Availability.OFFLINE.value, qos=1, retain=True
        )
        if self._config.username:
            client.username_pw_set(self._config.username, password(self._config))
        context = tls_context(self._config)
        if context is not None:
            client.tls_set_context(context)
        client.reconnect_delay_set(min_delay=1, max_delay=30)
        client.max_inflight_messages_set(200)
        client.on_connect = self._on_connect
        client.on_subscribe = self._on_subscribe
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        return client

    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            log.warning("agent %s: broker %s:%s refused the connection: %s",
                        self._agent_id, self._config.host, self._config.port, reason)
            return
        log.info("agent %s: connected to %s:%s", self._agent_id, self._config.host, self._config.port)
        _rc, self._subscribe_mid = client.subscribe([
            (self._topics.agent_ack(self._agent_id), 1), (self._topics.hub_available, 1),
            (self._topics.agent_command(self._agent_id), 1), (self._topics.agent_enrol(self._agent_id), 1)])
        client.publish(self._topics.agent_available(self._agent_id), Availability.ONLINE.value, qos=1, retain=True)
        self._mark_all_for_resending()

    def _on_subscribe(self, client: mqtt.Client, _u: Any, mid: int, _codes: Any, _p: Any) -> None:
        """The broker took our subscriptions: paho has sent what it queued offline, so the snapshots go now."""
        if mid != self._subscribe_mid:
            return
        with self._snapshots:
            if self._retained_state is not None:
                self._send_state(client, self._retained_state)
            if self._latest_stats is not None:  # the last snapshot taken offline shows the backlog the outage left
                self._send_stats(client, self._latest_stats)
            self._connected.set()
        self._wake.set()

    def _on_disconnect(self, _c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        self._connected.clear()
        if not self._stopping.is_set():
            log.warning("agent %s: lost the broker (%s); events wait in the outbox", self._agent_id, reason)

    def _on_message(self, _c: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        if message.topic == self._topics.hub_available:
            online = message.payload == Availability.ONLINE.value.encode()
            # A hub that came back may have missed what the broker took while it was away: send it again.
            # Not for the retained state the broker hands over on subscribing: connecting marked everything
            # for resending already, and a second resend would send the first batches twice.
            if online and not self._hub_online and not message.retain:
                self._mark_all_for_resending()
                self._wake.set()
            self._hub_online = online
            return
        if message.topic == self._topics.agent_command(self._agent_id):
            self._command(bytes(message.payload))
            return
        if message.topic == self._topics.agent_enrol(self._agent_id):
            self._enrol(bytes(message.payload))
            return
        try:
            ack = decode_ack(message.topic, bytes(message.payload))
        except ContractError as err:
            log.warning("agent %s: ignored ack: %s", self._agent_id, err)
            return
        try:
            self.confirmed += self._outbox.confirm(ack.ranges)
        except TransientError as err:  # disk full: the events stay, the hub confirms them again after a resend
            log.error("agent %s: %s", self._agent_id, err)

    def _mark_all_for_resending(self) -> None:
        """On paho's thread: an exception here would end its network loop, so a full disk is only logged."""
        try:
            self._outbox.resend_all()
        except TransientError as err:  # the resend timer catches up once the disk has room
            log.error("agent %s: %s", self._agent_id, err)

    def _decoded(self, model: type[M], topic: str, payload: bytes, what: str) -> M | None:
        """On paho's thread: a bad payload is logged with its topic and reason, never raised."""
        try:
            return decode(model, topic, payload)
        except ContractError as err:
            log.warning("agent %s: ignored %s: %s", self._agent_id, what, err)
            return None

    def _command(self, payload: bytes) -> None:
        command = self._decoded(StationCommand, self._topics.agent_command(self._agent_id), payload, "command")
        if command is not None and self.on_command is not None:
            self.on_command(command)

    def _enrol(self, payload: bytes) -> None:
        request = self._decoded(EnrolCommand, self._topics.agent_enrol(self._agent_id), payload, "enrolment request")
        if request is None:
            return
        if self.on_enrol is None:
            log.warning("agent %s: enrolment request for %r ignored: this agent has no entrance camera",
                        self._agent_id, request.name)
            return
        self.on_enrol(request)

    def publish_enrol_result(self, payload: bytes) -> None:
        """Not retained: the outcome of one request, for whoever asked (Home Assistant fires an event)."""
        if self.connected:
            self._client.publish(self._topics.agent_enrol_result(self._agent_id), payload, qos=1)

    def publish_velocity_loss(self, payload: bytes) -> bool:
        """A live stop cue (QoS 1, not retained, never stored); False when the broker is away: it is dropped."""
        if not self.connected:
            return False
        info = self._client.publish(self._topics.agent_velocity_loss(self._agent_id), payload, qos=1)
        return info.rc == mqtt.MQTT_ERR_SUCCESS

    def _drain_loop(self) -> None:
        last_resend = time.monotonic()
        while not self._stopping.is_set():
            if self._wake.wait(timeout=0.5) and self._config.publish_linger_s:
                self._stopping.wait(self._config.publish_linger_s)  # let the events that follow join this message
            self._wake.clear()
            if not self.connected:
                continue
            try:
                single = False
                if time.monotonic() - last_resend > self._resend_after_s:
                    single = self._resend_stale()
                    last_resend = time.monotonic()
                self._publish_unsent(single=single)
            except TransientError as err:  # disk full: keep the thread, try again a little later
                log.error("agent %s: %s; retrying in %.0f s", self._agent_id, err, _DISK_RETRY_S)
                self._stopping.wait(_DISK_RETRY_S)

    def _resend_stale(self) -> bool:
        """Mark events the hub has not confirmed for a while for sending again; True if there were any.

        Those go one per message on their own topics: a broker whose ACL predates batches drops a
        batch without telling anyone (MQTT 3.1.1 has no way to), and single events still get through.
        """
        stale = self._outbox.resend_older_than(self._resend_after_s)
        if stale and self._config.batch_max_events > 1 and self._hub_online:
            log.warning("agent %s: %d events unconfirmed after %.0f s; sending them one per message. If this "
                        "repeats, the broker's ACL may predate batches: run `replens mqtt credentials` again",
                        self._agent_id, stale, self._resend_after_s)
        return stale > 0

    def _messages(self, items: list[OutboxItem], *, single: bool = False) -> list[list[OutboxItem]]:
        """Consecutive events as batches of up to ``batch_max_events`` and 128 KiB (``single``: one per message)."""
        groups: list[list[OutboxItem]] = []
        size = 0
        for item in items:
            last = groups[-1] if groups else None
            if (not single and last is not None
                    and len(last) < self._config.batch_max_events and size + len(item.payload) < BATCH_MAX_BYTES):
                last.append(item)
                size += len(item.payload) + 1
            else:
                groups.append([item])
                size = len(item.payload) + 64
        return groups

    def _publish_unsent(self, *, single: bool = False) -> None:
        """Hand unsent events to paho (``single``: one per message, no batches).

        "Sent" only avoids publishing twice on a healthy link: every failure passes through a reconnect
        (which marks everything unsent again) or the resend timer.
        """
        while self.connected and not self._stopping.is_set():
            epoch = self._outbox.resend_epoch
            items = self._outbox.unsent(self._batch)
            if not items:
                return
            sent: list[int] = []
            for group in self._messages(items, single=single):
                if len(group) == 1:
                    topic, payload = self._event_topics[group[0].kind], group[0].payload
                else:
                    topic = self._batch_topic
                    payload = encode_batch(self._agent_id, ((i.kind, i.payload) for i in group))
                info = self._client.publish(topic, payload, qos=1)
                if info.rc != mqtt.MQTT_ERR_SUCCESS:
                    break  # disconnected: the reconnect will resend
                sent += (item.seq for item in group)
            self._outbox.mark_sent(sent, epoch)
            self.published += len(sent)
            if len(sent) < len(items):
                return
