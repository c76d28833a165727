"""Building blocks for end-to-end tests: a config file for real servers and a synthetic event producer."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from replens.config import MqttConfig, RepLensConfig, load_config
from replens.contract import EventKind, Exercise, set_id_for
from replens.device_agent.drafts import Draft
from replens.device_agent.outbox import Outbox
from replens.device_agent.publisher import Publisher
from replens.hub.journal import BatchResult, Inbound, Journal
from replens.hub.runner import HubThread
from tests.servers import InfluxDB1, Mosquitto


def write_config(
    tmp_path: Path,
    mosquitto: Mosquitto,
    influx: tuple[InfluxDB1, str] | None = None,
    *,
    influx_section: dict[str, Any] | None = None,
    agents: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> tuple[Path, RepLensConfig]:
    """A config for the test's own servers, with a unique topic prefix."""
    document: dict[str, Any] = {
        "version": 1,
        "data_dir": str(tmp_path / "data"),
        "mqtt": {"host": mosquitto.host, "port": mosquitto.port, "prefix": f"t{uuid.uuid4().hex[:8]}",
                 "keepalive_s": 5},
        "hub": {"stats_interval_s": 1, "ack_interval_s": 0.1},
        "agents": agents or {},
    }
    if influx is not None:
        server, db = influx
        document["influxdb"] = {"api_version": 1, "host": server.host, "port": server.port, "database": db,
                                "flush_interval_s": 0.05}
    if influx_section is not None:
        document["influxdb"] = influx_section
    document.update(extra or {})
    path = tmp_path / "replens.yaml"
    path.write_text(yaml.safe_dump(document))
    return path, load_config(path, env={})


class Producer:
    """Publishes synthetic sets through the real outbox and publisher, like an agent's counter would."""

    def __init__(self, config: RepLensConfig, agent_id: str, data_dir: Path, mqtt: MqttConfig | None = None) -> None:
        """``mqtt``: the agent's own broker settings (account, TLS); the config's ``mqtt:`` when not given."""
        self.agent_id = agent_id
        self.topics = config.mqtt.topics
        self.outbox = Outbox(data_dir / "outbox.sqlite3")
        self.publisher = Publisher(mqtt or config.mqtt, agent_id, self.outbox, resend_after_s=5.0)
        self.sets = 0
        self.reps = 0
        self.events = 0
        self._t0 = datetime.now(UTC) - timedelta(days=3, minutes=uuid.uuid4().int % 10_000)

    def start(self) -> None:
        self.publisher.start()

    def produce_set(self, reps: int, at: datetime | None = None) -> None:
        """One set: a rep event and a set new/update per rep, then the set end (2 * reps + 1 events)."""
        start = at or self._t0 + timedelta(minutes=2 * self.sets)
        set_id = set_id_for(self.agent_id, "bench", start.timestamp())
        common = {"agent_id": self.agent_id, "set_id": set_id, "station": "bench", "exercise": Exercise.CHEST_PRESS}
        for index in range(1, reps + 1):
            rep_start = start + timedelta(seconds=3 * (index - 1))
            self._append("reps", {**common, "index": index, "started_at": rep_start,
                                  "turned_at": rep_start + timedelta(seconds=1),
                                  "ended_at": rep_start + timedelta(seconds=2.5), "concentric_s": 1.0,
                                  "eccentric_s": 1.5, "rom": 80.0 + index, "confidence": 0.9})
            self._append("sets", {**common, "event": "new" if index == 1 else "update", "reps": index,
                                  "started_at": start})
        self._append("sets", {**common, "event": "end", "reps": reps, "started_at": start,
                              "ended_at": start + timedelta(seconds=3 * reps)})
        self.sets += 1
        self.reps += reps

    def _append(self, kind: str, fields: dict[str, Any]) -> None:
        self.outbox.append(EventKind(kind), Draft(EventKind(kind), fields).payload)
        self.events += 1
        self.publisher.wake()

    def stop(self) -> None:
        self.publisher.stop()
        self.outbox.close()


def wait_for(predicate: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.05)


def slow_journal(monkeypatch: pytest.MonkeyPatch) -> None:
    """A slow disk: every journal transaction takes 100 ms."""
    record = Journal.record

    def slow_record(self: Journal, batch: Inbound) -> BatchResult:
        time.sleep(0.1)
        return record(self, batch)

    monkeypatch.setattr(Journal, "record", slow_record)


def flood_a_slow_hub(config: RepLensConfig, data_dir: Path, agent_mqtt: MqttConfig | None = None) -> None:
    """2,200 events, one per message, into a hub whose inbox holds 20: it must pause, hold little, lose nothing."""
    config.hub.inbox_messages = 20
    mqtt_settings = agent_mqtt or config.mqtt
    mqtt_settings.publish_linger_s, mqtt_settings.batch_max_events = 0.0, 1  # one message per event: a flood
    hub_thread = HubThread(config)
    hub = hub_thread.start()
    producer = Producer(config, "a1", data_dir, mqtt=mqtt_settings)
    for _ in range(200):
        producer.produce_set(reps=5)  # 2,200 events
    held: list[int] = []
    producer.start()
    try:
        deadline = time.monotonic() + 90
        while producer.outbox.depth() and time.monotonic() < deadline:
            held.append(hub.mqtt.inbox.held())
            time.sleep(0.01)
        counts = hub.journal.counts()
        tls = "TLS" if mqtt_settings.tls else "plain"
        print(f"\n[hub behind, {tls}] events produced={producer.events} stored={counts['events']} "
              f"lost={producer.events - counts['events']} read pauses={hub.counters.counts['read_pauses']} "
              f"most messages held in the hub (inbox + aiomqtt's queue)={max(held)} samples={len(held)}")
        assert counts["events"] == producer.events == 2200
        assert hub.counters.counts["read_pauses"] >= 5
        # The limit (20) plus one socket read (64 KiB, about 150 of these messages), while the backlog was ten
        # times that: the rest waited in the broker or in the agent's outbox. Without the gate: 700 to 1,000.
        assert max(held) <= 250
    finally:
        producer.stop()
        hub_thread.stop()
