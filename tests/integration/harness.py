"""Building blocks for end-to-end tests: a config file for real servers and a synthetic event producer."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from replens.config import MqttConfig, RepLensConfig, load_config
from replens.contract import Exercise
from replens.device_agent.drafts import Draft
from replens.device_agent.outbox import Outbox
from replens.device_agent.publisher import Publisher
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
        set_id = f"{self.agent_id}.bench.{int(start.timestamp() * 1000)}"
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
        topic = self.topics.sets if kind == "sets" else self.topics.reps
        self.outbox.append(topic, Draft(kind, fields).payload)
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
