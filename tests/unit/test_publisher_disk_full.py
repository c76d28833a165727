"""The agent's publisher outlives outbox writes that fail (a full disk): they run on paho's own thread,
where an exception would end its network loop and the agent would never publish again."""

from __future__ import annotations

import logging
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from replens.config.mqtt import MqttConfig
from replens.contract import Ack, EventKind
from replens.device_agent.outbox import Outbox
from replens.device_agent.publisher import Publisher


def ack_message(topic: str, seq: int) -> mqtt.MQTTMessage:
    message = mqtt.MQTTMessage(topic=topic.encode())
    message.payload = Ack(ranges=[(seq, seq)]).to_json()
    return message


def test_failed_outbox_writes_are_logged_and_retried_later(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    config = MqttConfig(host="127.0.0.1", port=1)
    outbox = Outbox(tmp_path / "outbox.sqlite3")
    seq = outbox.append(EventKind.REPS, lambda s: b"{}")
    publisher = Publisher(config, "a1", outbox)
    ack = ack_message(config.topics.agent_ack("a1"), seq)
    outbox._db.execute("PRAGMA query_only = ON")  # every write fails now, as SQLite's do on a full disk
    with caplog.at_level(logging.ERROR):
        publisher._on_message(publisher._client, None, ack)  # raises nothing on paho's thread
        publisher._mark_all_for_resending()
    assert "cannot forget confirmed events" in caplog.text
    assert "cannot mark events for resending" in caplog.text
    assert (outbox.depth(), publisher.confirmed) == (1, 0)  # the event stays: it is confirmed again later

    outbox._db.execute("PRAGMA query_only = OFF")  # space again: the hub's next ack goes through
    publisher._on_message(publisher._client, None, ack)
    assert (outbox.depth(), publisher.confirmed) == (0, 1)
    outbox.close()
