"""The retained snapshots (station state, health) after a reconnect: the latest one is the one retained.

Regression: ``set_state`` stored the payload, then published only if connected; ``on_connect`` read the
stored payload first and set ``connected`` last. A ``set_state`` between the two was never published,
and Home Assistant showed a stale station state until the next change (seen as a test timing out).

These tests force every interleaving of a ``set_state`` (or ``publish_stats``) from the counting thread
with paho's reconnect callbacks, deterministically: at each call the publisher makes into the client
during a reconnect, the other thread's call runs until it either returns or waits for the publisher's
lock, and only then does the callback go on.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.reasoncodes import ReasonCode

from replens.config.mqtt import MqttConfig
from replens.device_agent.outbox import Outbox
from replens.device_agent.publisher import Publisher

CONFIG = MqttConfig(host="127.0.0.1", port=1)
STATE = CONFIG.topics.agent_state("a1")
STATS = CONFIG.topics.agent_stats("a1")


@dataclass
class Sent:
    rc: int = mqtt.MQTT_ERR_SUCCESS


@dataclass
class FakeClient:
    """Records what the publisher hands to paho; runs ``hook`` once, inside the ``hook_at``-th call."""

    calls: list[tuple[str, bytes | None]] = field(default_factory=list)
    hook_at: int = -1
    hook: Callable[[], None] = lambda: None
    on_subscribe: Any = None
    _mid: int = 0

    def _call(self, what: str, payload: bytes | None) -> None:
        if len(self.calls) == self.hook_at:
            self.hook_at = -1  # once: the other thread's own calls land here too
            self.hook()
        self.calls.append((what, payload))

    def subscribe(self, topics: Any) -> tuple[int, int]:
        self._call("subscribe", None)
        self._mid += 1
        return mqtt.MQTT_ERR_SUCCESS, self._mid

    def publish(self, topic: str, payload: bytes | str, qos: int = 0, retain: bool = False) -> Sent:
        self._call(topic, payload.encode() if isinstance(payload, str) else payload)
        return Sent()

    def suback(self) -> None:
        """The broker acknowledges the subscriptions, as paho would tell the publisher."""
        if self.on_subscribe is not None:
            self.on_subscribe(self, None, self._mid, [ReasonCode(PacketTypes.SUBACK, identifier=1)], None)

    def published(self, topic: str) -> list[bytes | None]:
        return [payload for what, payload in self.calls if what == topic]


class WatchedLock:
    """A lock that tells when another thread waits for it, so a test can wait for exactly that."""

    def __init__(self, changed: threading.Condition) -> None:
        self._lock = threading.Lock()
        self._changed = changed
        self.waiting = 0

    def __enter__(self) -> WatchedLock:
        if not self._lock.acquire(blocking=False):
            with self._changed:
                self.waiting += 1
                self._changed.notify_all()
            self._lock.acquire()
            with self._changed:
                self.waiting -= 1
        return self

    def __exit__(self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None) -> None:
        self._lock.release()


@pytest.fixture
def publisher(tmp_path: Path) -> Iterator[Publisher]:
    outbox = Outbox(tmp_path / "outbox.sqlite3")
    yield Publisher(CONFIG, "a1", outbox)
    outbox.close()


def reconnect(publisher: Publisher, client: FakeClient) -> None:
    """What paho does on a reconnect: CONNACK (on_connect), then SUBACK (on_subscribe)."""
    client.on_subscribe = publisher._client.on_subscribe
    publisher._client = client  # type: ignore[assignment]
    publisher._on_connect(client, None, None, ReasonCode(PacketTypes.CONNACK, identifier=0), None)  # type: ignore[arg-type]
    client.suback()


def calls_in_a_reconnect(tmp_path: Path, publish: str) -> int:
    box = Outbox(tmp_path / "count.sqlite3")
    dry = Publisher(CONFIG, "a1", box)
    getattr(dry, publish)(b"old")
    client = FakeClient()
    reconnect(dry, client)
    box.close()
    return len(client.calls)


def snapshot_during_reconnect(publisher: Publisher, publish: str, point: int) -> FakeClient:
    """Reconnect with the counting thread's new snapshot arriving inside the ``point``-th call into the client."""
    publisher._on_disconnect(publisher._client, None, None, None, None)
    getattr(publisher, publish)(b"old %d" % point)  # taken while offline
    changed = threading.Condition()
    lock = WatchedLock(changed)
    publisher._snapshots = lock  # type: ignore[assignment]
    done: list[bool] = []

    def counting_thread() -> None:
        getattr(publisher, publish)(b"new %d" % point)
        with changed:
            done.append(True)
            changed.notify_all()

    other = threading.Thread(target=counting_thread)

    def interleave() -> None:
        """Inside the paho callback: let the other thread run until it returns or waits for the lock."""
        other.start()
        with changed:
            assert changed.wait_for(lambda: done or lock.waiting, timeout=30)

    client = FakeClient(hook_at=point, hook=interleave)
    reconnect(publisher, client)
    if client.hook_at == point:  # past the last call: the other thread comes after the reconnect
        client.hook_at = -1
        other.start()
    other.join(timeout=30)
    assert not other.is_alive()
    return client


@pytest.mark.parametrize(("publish", "topic"), [("set_state", STATE), ("publish_stats", STATS)])
def test_a_snapshot_taken_at_any_point_of_a_reconnect_is_the_one_left_published(
    publisher: Publisher, tmp_path: Path, publish: str, topic: str
) -> None:
    points = calls_in_a_reconnect(tmp_path, publish)
    assert points >= 3  # subscribe, availability, the snapshot at least
    for point in range(points + 1):
        sent = snapshot_during_reconnect(publisher, publish, point).published(topic)
        assert sent, f"nothing published on {topic} when the snapshot came at call {point}"
        assert sent[-1] == b"new %d" % point, f"stale {sent[-1]!r} left retained when the snapshot came at call {point}"


def test_snapshots_wait_for_the_broker_to_take_the_subscriptions(publisher: Publisher) -> None:
    """paho sends what it queued while offline right after on_connect returns: a snapshot sent in on_connect
    could be overtaken by an older one it queued; so it goes out on SUBACK, and events wait until then too."""
    publisher.set_state(b"latest")
    client = FakeClient()
    client.on_subscribe = publisher._client.on_subscribe
    publisher._client = client  # type: ignore[assignment]
    publisher._on_connect(client, None, None, ReasonCode(PacketTypes.CONNACK, identifier=0), None)  # type: ignore[arg-type]
    assert client.published(STATE) == []
    assert not publisher.connected
    client.suback()
    assert client.published(STATE) == [b"latest"]
    assert publisher.connected


def hub_available(payload: bytes, *, retained: bool) -> mqtt.MQTTMessage:
    message = mqtt.MQTTMessage(topic=CONFIG.topics.hub_available.encode())
    message.payload = payload
    message.retain = retained
    return message


def test_the_hub_coming_online_resends_but_its_retained_state_on_subscribing_does_not(publisher: Publisher) -> None:
    """Regression: the retained ``online`` that arrives on subscribing counted as the hub coming back, so what the
    agent had just sent went out again (a backlog test saw one batch too many)."""
    client = FakeClient()
    reconnect(publisher, client)
    after_connect = publisher._outbox.resend_epoch  # connecting marked everything for resending once
    publisher._on_message(client, None, hub_available(b"online", retained=True))  # type: ignore[arg-type]
    assert publisher._outbox.resend_epoch == after_connect
    publisher._on_message(client, None, hub_available(b"offline", retained=False))  # type: ignore[arg-type]
    publisher._on_message(client, None, hub_available(b"online", retained=False))  # type: ignore[arg-type]
    assert publisher._outbox.resend_epoch == after_connect + 1
