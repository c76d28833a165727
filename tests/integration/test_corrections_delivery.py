"""A set's exercise corrected, end to end: real Mosquitto, the real hub, real InfluxDB 1.6.7.

InfluxDB keys a point by measurement, tags and time, and ``exercise`` is a tag: a correction must leave
exactly one point per set and per rep, at the same timestamp, under the new exercise. Each test prints what
InfluxDB holds at the end, for the closing note.
"""

from __future__ import annotations

import itertools
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from replens.cli.main import main
from replens.contract import (
    EditLastCommand,
    Exercise,
    RepEvent,
    SetAttribution,
    SetEdit,
    SetEvent,
    SetPhase,
    set_id_for,
)
from replens.contract.events import WireModel
from replens.hub.app import Hub
from replens.hub.runner import HubThread
from tests.integration.harness import wait_for, write_config

pytestmark = pytest.mark.integration

AGENT = "rack_1"


class Wire:
    """Publishes as the agent and as people do (QoS 1), and records what the hub announces on hub/sets."""

    def __init__(self, broker: Any, topics: Any) -> None:
        self.topics = topics
        self.announced: list[SetAttribution] = []
        self._seq = itertools.count(int(time.time() * 1000))
        self._client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2)
        self._client.on_message = lambda _c, _u, m: self.announced.append(SetAttribution.model_validate_json(m.payload))
        self._client.connect(broker.host, broker.port)
        self._client.subscribe(topics.hub_sets, qos=1)
        self._client.loop_start()

    def send(self, topic: str, model: WireModel) -> None:
        self._client.publish(topic, model.to_json(), qos=1).wait_for_publish(5)

    def send_raw(self, topic: str, payload: str) -> None:
        """What Home Assistant sends: a rendered command template."""
        self._client.publish(topic, payload, qos=1).wait_for_publish(5)

    def lift(self, exercises: list[Exercise], reps: int, *, reps_early: bool = False) -> str:
        """One set whose set events say ``exercises`` in turn (the agent deciding again), then ``end`` with the
        last, and ``reps`` rep events: before the end under the last exercise (a station that holds its reps
        until the set ends), or with ``reps_early`` right after the first set event, under the first."""
        start = (datetime.now(UTC) - timedelta(minutes=10)).replace(microsecond=0)
        set_id = set_id_for(AGENT, "floor", start.timestamp())
        common = {"agent_id": AGENT, "set_id": set_id, "station": "floor"}
        for number, exercise in enumerate(exercises):
            self.send(self.topics.agent_events(AGENT, "sets"), SetEvent(
                seq=next(self._seq), event=SetPhase.NEW if number == 0 else SetPhase.UPDATE, reps=1 + number,
                started_at=start, exercise=exercise, exercise_confidence=0.5 + 0.1 * number, **common))
            if number == 0 and reps_early:
                self._reps(start, reps, exercise, common)
        if not reps_early:
            self._reps(start, reps, exercises[-1], common)
        self.send(self.topics.agent_events(AGENT, "sets"), SetEvent(
            seq=next(self._seq), event=SetPhase.END, reps=reps, started_at=start, exercise=exercises[-1],
            ended_at=start + timedelta(seconds=3 * reps + 3), exercise_confidence=0.9, runner_up=exercises[0],
            runner_up_confidence=0.1, **common))
        return set_id

    def _reps(self, start: datetime, reps: int, exercise: Exercise, common: dict[str, str]) -> None:
        for index in range(1, reps + 1):
            begin = start + timedelta(seconds=3 * index)
            self.send(self.topics.agent_events(AGENT, "reps"), RepEvent(
                seq=next(self._seq), index=index, exercise=exercise, started_at=begin,
                turned_at=begin + timedelta(seconds=1), ended_at=begin + timedelta(seconds=2), concentric_s=1.0,
                eccentric_s=1.0, rom=80.0, confidence=0.9, **common))

    def about(self, set_id: str) -> list[SetAttribution]:
        return [a for a in list(self.announced) if a.set_id == set_id]

    def close(self) -> None:
        self._client.loop_stop()
        self._client.disconnect()


@pytest.fixture
def gym(tmp_path, mosquitto, influx_db):
    _, config = write_config(tmp_path, mosquitto, influx_db)
    wire = Wire(mosquitto, config.mqtt.topics)
    try:
        yield config, wire
    finally:
        wire.close()


def points(influx_db: Any, measurement: str, set_id: str) -> list[tuple[int, str]]:
    """(time in ns, exercise tag) of every point of the set in that measurement, by time."""
    server, db = influx_db
    rows = server.rows(f'SELECT "exercise", "set_id" FROM "{measurement}" WHERE "set_id" = \'{set_id}\'', db)
    return sorted((int(r["time"]), str(r["exercise"])) for r in rows)


def settled(influx_db: Any, set_id: str, exercise: str, reps: int) -> tuple[int, list[int]]:
    """Wait until InfluxDB holds one set point and ``reps`` rep points of the set, all under ``exercise``."""

    def done() -> bool:
        sets, rep_points = points(influx_db, "set", set_id), points(influx_db, "rep", set_id)
        return ([e for _, e in sets] == [exercise] and len(rep_points) == reps
                and {e for _, e in rep_points} == {exercise})

    wait_for(done, 15, f"one {exercise} point for {set_id} and its reps: {points(influx_db, 'set', set_id)} "
                       f"{points(influx_db, 'rep', set_id)}")
    return points(influx_db, "set", set_id)[0][0], [t for t, _ in points(influx_db, "rep", set_id)]


def deleted(hub: Hub) -> int:
    assert hub.forwarder is not None
    return hub.forwarder.deleted


def drained(hub: Hub) -> None:
    wait_for(lambda: hub.journal.points_depth()[0] == 0 and not hub.journal.pending_announcements(), 15,
             "the hub to send everything queued")


def test_a_correction_rewrites_the_points_in_place_once(gym, influx_db) -> None:
    config, wire = gym
    hub_thread = HubThread(config)
    hub = hub_thread.start()
    try:
        set_id = wire.lift([Exercise.SQUAT], reps=3)
        started_ns, rep_times = settled(influx_db, set_id, "squat", 3)

        edit = SetEdit(edit_id="phone-1", set_id=set_id, exercise=Exercise.LUNGE, by="Ann's phone")
        wire.send(config.mqtt.topics.edit, edit)
        assert settled(influx_db, set_id, "lunge", 3) == (started_ns, rep_times)  # same timestamps, one point each
        wait_for(lambda: len(wire.about(set_id)) == 1, 10, "the set announced on hub/sets")
        (said,) = wire.about(set_id)
        assert (said.exercise, said.recognised_exercise, said.exercise_confidence, said.edited) == (
            Exercise.LUNGE, Exercise.SQUAT, 0.9, ["exercise"])

        wire.send(config.mqtt.topics.edit, edit)  # delivered twice
        wait_for(lambda: hub.counters.counts["edits_duplicate"] == 1, 10, "the duplicate to be recognised")
        drained(hub)
        assert settled(influx_db, set_id, "lunge", 3) == (started_ns, rep_times)
        assert len(wire.about(set_id)) == 1 and len(hub.journal.set_edits(set_id)) == 1
        assert (hub.counters.counts["edits"], deleted(hub)) == (1, 1 + 3)  # the set's point and 3 reps'
        (trail,) = hub.journal.set_edits(set_id)
        assert (trail.old, trail.new, trail.via, trail.by) == ("squat", "lunge", "mqtt", "Ann's phone")
        print(f"\n[correction] set {set_id}: {points(influx_db, 'set', set_id)}, "
              f"reps {points(influx_db, 'rep', set_id)}\n  hub/sets: {said.to_json().decode()}")
    finally:
        hub_thread.stop()


def test_corrections_across_hub_restarts_change_the_point_once(gym, influx_db, tmp_path) -> None:
    """An edit replayed after a restart changes nothing; one made with the CLI while the hub is down arrives."""
    config, wire = gym
    hub_thread = HubThread(config)
    hub = hub_thread.start()
    try:
        set_id = wire.lift([Exercise.SQUAT], reps=2)
        started_ns, rep_times = settled(influx_db, set_id, "squat", 2)
        edit = SetEdit(edit_id="ha.1764158400.5", set_id=set_id, exercise=Exercise.LUNGE, by="homeassistant")
        wire.send(config.mqtt.topics.edit, edit)
        settled(influx_db, set_id, "lunge", 2)
        drained(hub)
    finally:
        hub_thread.stop()

    hub_thread = HubThread(config)
    hub = hub_thread.start()
    try:
        wire.send(config.mqtt.topics.edit, edit)  # the same edit after the restart
        wait_for(lambda: hub.counters.counts["edits_duplicate"] == 1, 10, "the replay to be recognised")
        drained(hub)
        assert settled(influx_db, set_id, "lunge", 2) == (started_ns, rep_times)
        assert deleted(hub) == 0 and hub.counters.counts["edits"] == 0
    finally:
        hub_thread.stop()

    # The hub is down: the CLI writes the journal, the points wait there.
    status = main(["sets", "edit", set_id, "--exercise", "bench press", "--by", "coach",
                   "--config", str(tmp_path / "replens.yaml")])
    assert status == 0
    time.sleep(1.0)
    assert points(influx_db, "set", set_id) == [(started_ns, "lunge")]
    hub_thread = HubThread(config)
    hub = hub_thread.start()
    try:
        assert settled(influx_db, set_id, "bench_press", 2) == (started_ns, rep_times)
        drained(hub)
        assert deleted(hub) == 1 + 2
        assert [(t.old, t.new, t.via) for t in hub.journal.set_edits(set_id)] == [
            ("squat", "lunge", "homeassistant"), ("lunge", "bench_press", "cli")]
        wait_for(lambda: [a.exercise for a in wire.about(set_id)] == [Exercise.LUNGE, Exercise.BENCH_PRESS], 10,
                 "both corrections announced, once each")
        print(f"\n[restarts] set {set_id}: {points(influx_db, 'set', set_id)}, trail "
              f"{[(t.old, t.new, t.via.value) for t in hub.journal.set_edits(set_id)]}")
    finally:
        hub_thread.stop()


def test_an_agent_deciding_again_mid_set_leaves_one_point(gym, influx_db) -> None:
    """squat, then lunge, then squat again, then bench press: one point per set and rep, under bench press.

    The reps come under squat right after the first set event (a station that sends them as they come), so
    each change moves them too.
    """
    config, wire = gym
    hub_thread = HubThread(config)
    hub = hub_thread.start()
    try:
        set_id = wire.lift([Exercise.SQUAT, Exercise.LUNGE, Exercise.SQUAT, Exercise.BENCH_PRESS], reps=2,
                           reps_early=True)
        settled(influx_db, set_id, "bench_press", 2)
        drained(hub)
        assert len(points(influx_db, "set", set_id)) == 1
        (stored,) = hub.journal.sets_by_id([set_id])
        assert (stored.exercise, stored.recognised_exercise, stored.edited) == (
            Exercise.BENCH_PRESS, Exercise.BENCH_PRESS, frozenset())
        assert wire.about(set_id) == [] and hub.journal.set_edits(set_id) == []
        assert deleted(hub) == 3 * (1 + 2)  # three changes, each moving the set's point and both reps'
        print(f"\n[agent decides again] set {set_id}: {points(influx_db, 'set', set_id)}, "
              f"reps {points(influx_db, 'rep', set_id)}, deletes sent {deleted(hub)}")
    finally:
        hub_thread.stop()


def test_bad_edits_are_refused_counted_and_change_nothing(gym, influx_db) -> None:
    config, wire = gym
    hub_thread = HubThread(config)
    hub = hub_thread.start()
    try:
        set_id = wire.lift([Exercise.SQUAT], reps=1)
        settled(influx_db, set_id, "squat", 1)
        topics = config.mqtt.topics
        client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2)
        client.connect(config.mqtt.host, config.mqtt.port)
        client.loop_start()
        bad = {"schema": 1, "edit_id": "e1", "set_id": set_id, "exercise": "lunges"}
        client.publish(topics.edit, json.dumps(bad), qos=1).wait_for_publish(5)
        client.loop_stop()
        client.disconnect()
        wait_for(lambda: hub.counters.counts["edits_rejected"] == 1, 10, "the unknown exercise refused")
        assert "did you mean 'lunge'" in (hub.counters.last_rejection or "")
        wire.send(topics.edit, SetEdit(edit_id="e2", set_id="rack_1.floor.1", exercise=Exercise.LUNGE))
        wait_for(lambda: hub.counters.counts["edits_rejected"] == 2, 10, "the unknown set refused")
        assert "no set 'rack_1.floor.1'" in (hub.counters.last_rejection or "")
        wire.send(topics.edit_last, EditLastCommand(edit_id="e3", agent_id=AGENT, station="bench",
                                                    exercise=Exercise.LUNGE))
        wait_for(lambda: hub.counters.counts["edits_rejected"] == 3, 10, "the station without sets refused")
        assert "rack_1/bench: the station has no ended set" in (hub.counters.last_rejection or "")
        drained(hub)
        assert settled(influx_db, set_id, "squat", 1)
        assert hub.journal.set_edits(set_id) == [] and wire.about(set_id) == []
        assert hub.counters.counts["rejected"] == 0  # counted as refused edits, not as broken agent messages
    finally:
        hub_thread.stop()
