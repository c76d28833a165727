"""A station's load set from Home Assistant and the CLI, end to end: real Mosquitto, hub, agent and InfluxDB 1.6.7.

The agent counts the sample clip in real time. Home Assistant's number (its command template rendered as Home
Assistant renders it) sets the load before the set; ``replens stations load`` changes it in pounds while the set
is under way; the set's InfluxDB point carries the second load, in kg, and so does the next set.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from replens.cli.demo import DEMO_STATION, demo_agent_config, sample_clip
from replens.config import RepLensConfig
from replens.contract import Exercise, SetEdit, SetEvent, SetPhase, set_id_for
from replens.hub.runner import HubThread
from replens.integrations.homeassistant.discovery import DiscoveryContext, station_configs
from replens.integrations.homeassistant.entities import Platform
from replens.members import MembersStore
from tests.integration.harness import wait_for, write_config
from tests.integration.test_corrections_delivery import AGENT as AGENT_ID
from tests.integration.test_corrections_delivery import Wire, drained
from tests.integration.test_homeassistant import AGENT, AgentThread, Watcher, face

pytestmark = pytest.mark.integration

LB_225_IN_KG = 102.058


def gym_config(tmp_path: Path, mosquitto: Any, influx_db: Any) -> tuple[Path, RepLensConfig]:
    agent = demo_agent_config(sample_clip()).model_dump(mode="json", exclude_none=True)
    agent["source"].update(realtime=True, loop=True)
    agent["stations"][DEMO_STATION].update(weight_kg=40.0, units="lb")
    return write_config(tmp_path, mosquitto, influx_db, agents={AGENT: agent}, extra={"homeassistant": {
        "republish_delay_max_s": 0.2, "refresh_s": 1, "discovery_format": "component"}})


def set_points(influx_db: Any) -> dict[str, tuple[float | None, int]]:
    """set_id → (weight_kg, reps) of every set point."""
    server, db = influx_db
    rows = server.rows('SELECT "weight_kg", "reps", "set_id" FROM "set"', db)
    return {str(r["set_id"]): (r["weight_kg"], int(r["reps"])) for r in rows}


def test_load_from_home_assistant_and_the_cli_reaches_the_sets_in_influxdb(tmp_path, mosquitto, influx_db) -> None:
    path, config = gym_config(tmp_path, mosquitto, influx_db)
    topics, node = config.mqtt.topics, config.mqtt.prefix
    watcher = Watcher(mosquitto, "homeassistant/#", f"{topics.prefix}/#")
    station = lambda: (watcher.json(topics.agent_state(AGENT)) or {}).get("stations", {}).get(DEMO_STATION, {})  # noqa: E731
    hub = HubThread(config)
    hub.start()
    try:
        number_topic = f"homeassistant/number/{node}/{AGENT}_{DEMO_STATION}_load/config"
        wait_for(lambda: bool(watcher.latest(number_topic)), 10, "the load number's discovery")
        assert (watcher.json(number_topic) or {})["unit_of_measurement"] == "kg"  # before the agent says lb
        with AgentThread(config) as agent:
            wait_for(lambda: station().get("load_kg") == 40.0, 15, "the configured starting load")
            wait_for(lambda: (watcher.json(number_topic) or {}).get("unit_of_measurement") == "lb", 10,
                     "the number in the station's units")
            number = watcher.json(number_topic)
            assert number is not None and "/ 0.45359237" in number["value_template"]
            watcher.publish(number["command_topic"], number["command_template"].replace("{{ value }}", "220.5"))
            wait_for(lambda: station().get("load_kg") == 100.017, 10, "Home Assistant's load (220.5 lb) echoed")
            wait_for(lambda: station().get("reps", 0) >= 1, 30, "the set under way")
            under_way = station()["set_id"]
            cli = subprocess.run(
                [sys.executable, "-m", "replens.cli.main", "stations", "load", f"{AGENT}.{DEMO_STATION}", "225",
                 "--config", str(path)], capture_output=True, text=True, timeout=30, check=False)
            assert cli.returncode == 0, cli.stderr
            assert f"load 225 lb ({LB_225_IN_KG:g} kg)" in cli.stdout  # the station's units: lb
            wait_for(lambda: len(agent.stations[0].finished) >= 2, 60, "two sets counted")
            finished = agent.stations[0].finished
            assert finished[0].set_id == under_way
            wait_for(lambda: all(s.set_id in set_points(influx_db) for s in finished[:2]), 15, "both sets stored")
            stored = set_points(influx_db)
            assert stored[under_way] == (LB_225_IN_KG, len(finished[0].reps))
            assert stored[finished[1].set_id][0] == LB_225_IN_KG
        bad = subprocess.run(
            [sys.executable, "-m", "replens.cli.main", "stations", "load", f"{AGENT}.{DEMO_STATION}", "-5",
             "--config", str(path)], capture_output=True, text=True, timeout=30, check=False)
        assert bad.returncode == 1 and "load: a load cannot be negative" in bad.stderr
        print(f"\n[load] sets in InfluxDB (weight_kg, reps): {stored}")
    finally:
        hub.stop()
        watcher.close()


def load_points(influx_db: Any, set_id: str) -> list[tuple[int, float | None, int]]:
    """(time ns, weight_kg, reps) of every point of the set."""
    server, db = influx_db
    rows = server.rows(f'SELECT "weight_kg", "reps" FROM "set" WHERE "set_id" = \'{set_id}\'', db)
    return sorted((int(r["time"]), r["weight_kg"], int(r["reps"])) for r in rows)


def test_load_and_reps_edits_rewrite_the_point_once_across_duplicates_and_restarts(tmp_path, mosquitto,
                                                                                  influx_db) -> None:
    """Over MQTT twice, the same edit after a hub restart, then Home Assistant's numbers on the last set."""
    _, config = write_config(tmp_path, mosquitto, influx_db)
    wire = Wire(mosquitto, config.mqtt.topics)
    topics = config.mqtt.topics
    try:
        hub_thread = HubThread(config)
        hub = hub_thread.start()
        try:
            set_id = wire.lift([Exercise.BENCH_PRESS], reps=5)
            wait_for(lambda: len(load_points(influx_db, set_id)) == 1, 15, "the set's point")
            ((started_ns, weight, reps),) = load_points(influx_db, set_id)
            assert (weight, reps) == (None, 5)
            edit = SetEdit(edit_id="phone-7", set_id=set_id, weight_kg=80.0, reps=4, by="Ann's phone")
            wire.send(topics.edit, edit)
            wire.send(topics.edit, edit)  # delivered twice
            wait_for(lambda: hub.counters.counts["edits_duplicate"] == 1, 10, "the duplicate recognised")
            wait_for(lambda: load_points(influx_db, set_id) == [(started_ns, 80.0, 4)], 15, "the point rewritten")
            drained(hub)
            assert hub.counters.counts["edits"] == 1 and len(wire.about(set_id)) == 1
        finally:
            hub_thread.stop()
        hub_thread = HubThread(config)
        hub = hub_thread.start()
        try:
            wire.send(topics.edit, edit)  # the same edit after the restart
            wait_for(lambda: hub.counters.counts["edits_duplicate"] == 1, 10, "the replay recognised")
            ctx = DiscoveryContext(topics)
            numbers = station_configs(ctx, AGENT_ID, "floor", [])
            for key, value in (("correct_load", "82.5"), ("correct_reps", "6")):
                template = numbers[ctx.config_topic(Platform.NUMBER, f"{AGENT_ID}_floor_{key}")]["command_template"]
                rendered = template.replace("{{ now().timestamp() }}", f"1764158400.{key}").replace(
                    "{{ value | float }}", value).replace("{{ value | int }}", value)
                wire.send_raw(topics.edit_last, rendered)
            wait_for(lambda: load_points(influx_db, set_id) == [(started_ns, 82.5, 6)], 15, "Home Assistant's edits")
            drained(hub)
            assert hub.counters.counts["edits"] == 2
            trail = [(t.field.value, t.old, t.new, t.via.value) for t in hub.journal.set_edits(set_id)]
            assert trail == [("weight_kg", None, 80.0, "mqtt"), ("reps", 5, 4, "mqtt"),
                             ("weight_kg", 80.0, 82.5, "homeassistant"), ("reps", 4, 6, "homeassistant")]
            (stored,) = hub.journal.sets_by_id([set_id])
            assert (stored.counted_reps, stored.agent_weight_kg) == (5, None)
            print(f"\n[load edits] {set_id}: points {load_points(influx_db, set_id)}, trail {trail}")
        finally:
            hub_thread.stop()
    finally:
        wire.close()


def test_a_personal_record_raises_the_event_and_writes_a_record_point(tmp_path, mosquitto, influx_db) -> None:
    _, config = write_config(tmp_path, mosquitto, influx_db)
    topics = config.mqtt.topics
    wire = Wire(mosquitto, topics)
    events = Watcher(mosquitto, topics.member_personal_record("+"))
    server, db = influx_db
    members = MembersStore(config.members_db())
    members.add("Ann Lee", [face()], consent=True)
    ann = members.get("Ann Lee").id
    members.close()
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    hub_thread = HubThread(config)
    hub_thread.start()
    try:
        for number, (weight, reps) in enumerate([(60.0, 8), (60.0, 6), (70.0, 3)]):
            began = start + timedelta(minutes=5 * number)
            wire.send(topics.agent_events(AGENT_ID, "sets"), SetEvent(
                agent_id=AGENT_ID, seq=int(began.timestamp()), set_id=set_id_for(AGENT_ID, "rack", began.timestamp()),
                station="rack", exercise=Exercise.BENCH_PRESS, event=SetPhase.END, reps=reps, started_at=began,
                ended_at=began + timedelta(seconds=30), weight_kg=weight, member=ann))
        topic = topics.member_personal_record(ann)
        wait_for(lambda: len(events.messages.get(topic, [])) == 4, 15, "four records announced")
        said = [json.loads(payload) for payload, _qos, _retain in events.messages[topic]]
        assert [(e["event_type"], e["kind"], e["value"], e["previous"]) for e in said] == [
            ("personal_record", "heaviest_load", 60.0, None), ("personal_record", "best_e1rm", 76.0, None),
            ("personal_record", "heaviest_load", 70.0, 60.0), ("personal_record", "best_e1rm", 77.0, 76.0)]
        # 60 × 6 beats nothing; 70 × 3 is the heaviest, and its e1RM (77 kg) beats 60 × 8's (76 kg)
        wait_for(lambda: len(server.rows('SELECT "value" FROM "record"', db)) == 4, 15, "four record points")
        rows = server.rows('SELECT "value", "previous", "kind", "member" FROM "record"', db)
        assert sorted((r["kind"], r["value"]) for r in rows) == [("best_e1rm", 76.0), ("best_e1rm", 77.0),
                                                                 ("heaviest_load", 60.0), ("heaviest_load", 70.0)]
        print(f"\n[records] events {[(e['kind'], e['value']) for e in said]}, points {rows}")
    finally:
        hub_thread.stop()
        events.close()
        wire.close()
