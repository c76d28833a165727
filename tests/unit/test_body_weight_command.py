"""A member's body weight from Home Assistant: the ``BodyWeightCommand`` payload, and the hub's step that records it."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

import aiomqtt
import pytest

from replens.contract import BodyWeightCommand, Topics, decode_incoming
from replens.errors import ContractError
from replens.hub.body_weights import BodyWeightStep
from replens.hub.intake import Sorter
from replens.hub.journal import Journal, JournalReader
from replens.hub.stats import HubCounters
from replens.integrations.homeassistant.commands import body_weight_payload

TOPICS = Topics()
TOPIC = "replens/hub/body_weight"


def test_the_topic_is_the_hubs_and_the_hub_subscribes_to_it() -> None:
    assert TOPICS.body_weight == TOPIC
    assert TOPIC in TOPICS.hub_subscriptions()


def test_a_valid_command_decodes() -> None:
    item = decode_incoming(TOPICS, TOPIC, b'{"schema":1,"member":"m1","kg":80.5,"by":"homeassistant"}')
    assert item == BodyWeightCommand(member="m1", kg=80.5, by="homeassistant")


@pytest.mark.parametrize(("payload", "complaint"), [
    ({"member": "m1", "kg": 19.9}, "kg: Input should be greater than or equal to 20"),
    ({"member": "m1", "kg": 2000.5}, "kg: Input should be less than or equal to 2000"),
    ({"member": "m1", "kg": -80}, "kg: Input should be greater than or equal to 20"),
    ({"member": "m1", "kg": "eighty"}, "kg: "),
    ({"member": "m1"}, "kg: Field required"),
    ({"kg": 80}, "member: Field required"),
    ({"member": "Ann Lee", "kg": 80}, "member: String should match pattern"),  # an id, never the name
    ({"member": "m1", "kg": 80, "height_cm": 180}, "height_cm: Extra inputs are not permitted"),
])
def test_bad_commands_are_refused_with_the_reason(payload: dict[str, object], complaint: str) -> None:
    with pytest.raises(ContractError) as raised:
        decode_incoming(TOPICS, TOPIC, json.dumps({"schema": 1, **payload}).encode())
    assert str(raised.value).startswith(f"{TOPIC}: {complaint}")


def test_nan_is_refused() -> None:
    with pytest.raises(ContractError, match="kg"):
        decode_incoming(TOPICS, TOPIC, b'{"schema":1,"member":"m1","kg":NaN}')


def test_home_assistants_number_renders_a_valid_command() -> None:
    payload = body_weight_payload(TOPICS, "m3f9a0c21be")
    assert payload["command_topic"] == TOPIC
    assert (payload["min"], payload["max"], payload["step"]) == (20.0, 2000.0, 0.1)
    rendered = payload["command_template"].replace("{{ value }}", "81.3")  # what Home Assistant renders
    assert decode_incoming(TOPICS, TOPIC, rendered.encode()) == BodyWeightCommand(
        member="m3f9a0c21be", kg=81.3, by="homeassistant")


def test_a_refused_payload_counts_as_a_refused_edit() -> None:
    def message(payload: bytes) -> aiomqtt.Message:
        return aiomqtt.Message(TOPIC, payload, qos=1, retain=False, mid=1, properties=None)

    counters = HubCounters()
    sorter = Sorter(TOPICS, "homeassistant/status", counters, None)  # type: ignore[arg-type]  # no HA messages here
    intake = sorter.sort_out([message(b'{"schema":1,"member":"m1","kg":5}'),
                              message(b'{"schema":1,"member":"m1","kg":75}')])
    assert counters.counts["edits_rejected"] == 1 and counters.counts["rejected"] == 0
    assert intake.body_weights == [BodyWeightCommand(member="m1", kg=75)] and intake.commands


def body_weight(path: Path, member: str) -> float | None:
    reader = JournalReader(path)
    try:
        return reader.member_body_weight(member)
    finally:
        reader.close()


def test_the_step_records_known_members_and_refuses_unknown_ones(tmp_path: Path, caplog) -> None:
    path = tmp_path / "j.sqlite3"
    journal = Journal(path)
    counters = HubCounters()
    step = BodyWeightStep(journal, lambda: {"m1": "Ann Lee"}, counters)
    caplog.set_level(logging.INFO)
    changed = asyncio.run(step.apply([BodyWeightCommand(member="m1", kg=80.5, by="homeassistant"),
                                      BodyWeightCommand(member="ghost", kg=70)]))
    journal.close()
    assert changed == 1
    assert (counters.counts["body_weights"], counters.counts["edits_rejected"]) == (1, 1)
    assert body_weight(path, "m1") == 80.5 and body_weight(path, "ghost") is None
    logged = caplog.text
    assert "via homeassistant" in logged and "no enrolled member" in logged
    for private in ("m1", "Ann Lee", "80.5", "ghost"):  # body weight is personal: no line names the member
        assert private not in logged
