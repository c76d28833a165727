"""A member's body weight set from Home Assistant, end to end: real Mosquitto, hub and InfluxDB 1.6.7.

Home Assistant's number on the member's device (its discovery config as the hub published it, its command
template rendered as Home Assistant renders it) sets the body weight; the hub records it in the journal and shows
it in the member's retained state; a later push-up set's point lifts the body weight plus what was added. Refused
commands (out of range, a member the hub does not know) are counted and change nothing.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from replens.contract import Exercise, RepEvent, SetEvent, SetPhase, set_id_for
from replens.hub.journal import JournalReader
from replens.hub.runner import HubThread
from replens.members import MembersStore
from tests.integration.harness import wait_for, write_config
from tests.integration.test_corrections_delivery import AGENT as AGENT_ID
from tests.integration.test_corrections_delivery import Wire, drained
from tests.integration.test_homeassistant import Watcher, face

pytestmark = pytest.mark.integration


def body_weight(path: Any, member: str) -> float | None:
    reader = JournalReader(path)
    try:
        return reader.member_body_weight(member)
    finally:
        reader.close()


def lifted(influx_db: Any, set_id: str) -> list[tuple[float | None, float | None]]:
    """(weight_kg, lifted_kg) of every point of the set."""
    server, db = influx_db
    rows = server.rows(f'SELECT "weight_kg", "lifted_kg" FROM "set" WHERE "set_id" = \'{set_id}\'', db)
    return [(r["weight_kg"], r["lifted_kg"]) for r in rows]


def test_body_weight_from_home_assistant_weighs_the_next_push_ups(tmp_path, mosquitto, influx_db) -> None:
    _, config = write_config(tmp_path, mosquitto, influx_db, extra={"homeassistant": {
        "republish_delay_max_s": 0.2, "refresh_s": 1, "discovery_format": "component"}})
    topics, node = config.mqtt.topics, config.mqtt.prefix
    with MembersStore(config.members_db()) as members:
        members.add("Ann Lee", [face()], consent=True)
        ann = members.get("Ann Lee").id
    watcher = Watcher(mosquitto, "homeassistant/#", f"{topics.prefix}/#")
    wire = Wire(mosquitto, topics)
    journal = config.journal_path()
    hub_thread = HubThread(config)
    hub = hub_thread.start()
    try:
        number_topic = f"homeassistant/number/{node}/member_{ann}_body_weight/config"
        wait_for(lambda: bool(watcher.latest(number_topic)), 10, "the body weight number's discovery")
        number = watcher.json(number_topic)
        assert number is not None and number["state_topic"] == topics.member_state(ann)
        assert (number["min"], number["max"], number["step"], number["unit_of_measurement"]) == (20.0, 2000.0, 0.1,
                                                                                                 "kg")
        state = lambda: watcher.json(topics.member_state(ann)) or {}  # noqa: E731
        wait_for(lambda: "present" in state(), 10, "the member's state")
        assert state().get("body_weight_kg") is None  # nobody has said yet

        wire.send_raw(number["command_topic"], number["command_template"].replace("{{ value }}", "81.5"))
        wait_for(lambda: body_weight(journal, ann) == 81.5, 10, "the body weight in the journal")
        wait_for(lambda: state().get("body_weight_kg") == 81.5, 10, "the number's state (the member's state)")

        # Refused: below 20 kg, above 2000 kg, and a member the hub does not know. Nothing changes.
        for refused in (number["command_template"].replace("{{ value }}", "8.15"),
                        number["command_template"].replace("{{ value }}", "2815"),
                        json.dumps({"schema": 1, "member": "ghost", "kg": 70.0, "by": "homeassistant"})):
            wire.send_raw(topics.body_weight, refused)
        wait_for(lambda: hub.counters.counts["edits_rejected"] == 3, 10, "three refusals counted")
        assert hub.counters.counts["body_weights"] == 1
        assert body_weight(journal, ann) == 81.5 and body_weight(journal, "ghost") is None

        began = (datetime.now(UTC) - timedelta(minutes=5)).replace(microsecond=0)
        set_id = set_id_for(AGENT_ID, "floor", began.timestamp())
        wire.send(topics.agent_events(AGENT_ID, "sets"), SetEvent(
            agent_id=AGENT_ID, seq=int(began.timestamp()), set_id=set_id, station="floor", exercise=Exercise.PUSH_UP,
            event=SetPhase.END, reps=12, started_at=began, ended_at=began + timedelta(seconds=40), weight_kg=10.0,
            member=ann))
        wait_for(lambda: bool(lifted(influx_db, set_id)), 15, "the push-up set's point")
        drained(hub)
        assert lifted(influx_db, set_id) == [(10.0, 91.5)]  # body weight 81.5 plus 10 kg added
        assert state().get("body_weight_kg") == 81.5
        wait_for(lambda: (state().get("last_set") or {}).get("set_id") == set_id, 10, "the set in the member's state")
        assert state()["last_set"]["volume_kg"] == 1098.0  # 12 × 91.5 kg, as in InfluxDB
        print(f"\n[body weight] {set_id}: (weight_kg, lifted_kg) {lifted(influx_db, set_id)}, "
              f"refused {hub.counters.counts['edits_rejected']}")
    finally:
        hub_thread.stop()
        wire.close()
        watcher.close()


def bench_set(began: datetime, member: str, kg: float, velocities: list[float]) -> list[RepEvent | SetEvent]:
    """A bench set as the agent sends it: reps with their mean bar velocity, then the end with the station's load."""
    set_id = set_id_for(AGENT_ID, "bench", began.timestamp())
    seq = int(began.timestamp() * 1000)
    common: dict[str, Any] = {"agent_id": AGENT_ID, "set_id": set_id, "station": "bench",
                              "exercise": Exercise.BENCH_PRESS}
    reps: list[RepEvent | SetEvent] = [
        RepEvent(seq=seq + i, index=i, started_at=began + timedelta(seconds=3 * i),
                 turned_at=began + timedelta(seconds=3 * i + 1), ended_at=began + timedelta(seconds=3 * i + 2),
                 concentric_s=1, eccentric_s=1, rom=0.4, mean_velocity_m_s=v, confidence=1, **common)
        for i, v in enumerate(velocities, start=1)]
    return [*reps, SetEvent(seq=seq + 99, event=SetPhase.END, reps=len(velocities), started_at=began,
                            ended_at=began + timedelta(seconds=30), weight_kg=kg, member=member, **common)]


def test_the_velocity_e1rm_reaches_home_assistant(tmp_path, mosquitto, influx_db) -> None:
    """Three bench loads with bar velocities: the member's sensor shows the load at 0.16 m/s on their profile."""
    _, config = write_config(tmp_path, mosquitto, influx_db, extra={"homeassistant": {
        "republish_delay_max_s": 0.2, "refresh_s": 1, "discovery_format": "component"}})
    topics, node = config.mqtt.topics, config.mqtt.prefix
    with MembersStore(config.members_db()) as members:
        ann = members.add("Ann Lee", [face()], consent=True).id
    watcher = Watcher(mosquitto, "homeassistant/#", f"{topics.prefix}/#")
    wire = Wire(mosquitto, topics)
    hub_thread = HubThread(config)
    hub_thread.start()
    try:
        sensor_topic = f"homeassistant/sensor/{node}/member_{ann}_velocity_e1rm/config"
        wait_for(lambda: bool(watcher.latest(sensor_topic)), 10, "the velocity e1RM sensor's discovery")
        sensor = watcher.json(sensor_topic)
        assert sensor is not None and sensor["state_topic"] == topics.member_state(ann)
        state = lambda: watcher.json(topics.member_state(ann)) or {}  # noqa: E731
        began = (datetime.now(UTC) - timedelta(minutes=30)).replace(microsecond=0)
        for minute, (kg, velocities) in enumerate([(40.0, [1.0, 0.95]), (60.0, [0.76, 0.7]), (80.0, [0.52, 0.45])]):
            for event in bench_set(began + timedelta(minutes=5 * minute), ann, kg, velocities):
                wire.send(topics.agent_events(AGENT_ID, "reps" if isinstance(event, RepEvent) else "sets"), event)
        wait_for(lambda: state().get("velocity_e1rm") is not None, 15, "the velocity e1RM in the member's state")
        estimate = state()["velocity_e1rm"]
        # Fastest reps 1.0, 0.76 and 0.52 m/s at 40, 60 and 80 kg: 0.16 m/s (the bench MVT) at 110 kg, R² 1.
        assert (estimate["exercise"], estimate["velocity_e1rm_kg"], estimate["velocity_r2"],
                estimate["velocity_loads"]) == ("bench_press", 110.0, 1.0, 3)
        assert estimate["best_e1rm_kg"] == 85.3  # Epley: 80 kg × (1 + 2/30)
        print(f"\n[velocity e1RM] {estimate}")
    finally:
        hub_thread.stop()
        wire.close()
        watcher.close()
