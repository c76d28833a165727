"""The velocity-loss stop cue end to end: real Mosquitto, hub, agent and InfluxDB 1.6.7.

The agent counts the sample clip once, in real time, at a station whose stack has a scale (so reps have a
velocity) and ``end_set_at_velocity_loss_pct: 40``: its first set loses 46 % by its third rep, its second
only 35 %. Exactly one cue reaches Home Assistant's event topic, whose entity exists only once the agent
announced the target; a cue delivered twice and a stale one are not relayed, a fresh one for another set is.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from replens.cli.demo import DEMO_STATION, demo_agent_config, sample_clip
from replens.config import RepLensConfig
from replens.contract import VelocityLossReached
from replens.device_agent.sets import CountedSet
from replens.device_agent.velocity_loss import loss_reached
from replens.hub.runner import HubThread
from tests.integration.harness import wait_for, write_config
from tests.integration.test_homeassistant import AGENT, AgentThread, Watcher

pytestmark = pytest.mark.integration

TARGET_PCT = 40.0


def gym_config(tmp_path: Path, mosquitto: Any, influx_db: Any) -> RepLensConfig:
    agent = demo_agent_config(sample_clip()).model_dump(mode="json", exclude_none=True)
    agent["source"].update(realtime=True, loop=False)
    agent["stations"][DEMO_STATION]["counter"]["meters_per_unit"] = 0.002
    agent["stations"][DEMO_STATION]["end_set_at_velocity_loss_pct"] = TARGET_PCT
    _, config = write_config(tmp_path, mosquitto, influx_db, agents={AGENT: agent}, extra={"homeassistant": {
        "republish_delay_max_s": 0.2, "refresh_s": 1, "discovery_format": "component"}})
    return config


def expected_cue(counted: CountedSet) -> tuple[str, int, float] | None:
    """(set id, reps, loss) of the rep at which the set first reached the target, by the detector's own rule."""
    velocities = [r.mean_velocity_m_s for r in counted.reps]
    for reps in range(1, len(velocities) + 1):
        reached = loss_reached(velocities[:reps], TARGET_PCT)
        if reached is not None:
            return counted.set_id, reps, reached.loss_pct
    return None


def velocity_loss_points(influx_db: Any) -> dict[str, float]:
    server, db = influx_db
    return {str(r["set_id"]): float(r["velocity_loss_pct"])
            for r in server.rows('SELECT "velocity_loss_pct", "set_id" FROM "set"', db)}


def test_a_set_reaching_the_target_cues_home_assistant_exactly_once(tmp_path, mosquitto, influx_db) -> None:
    config = gym_config(tmp_path, mosquitto, influx_db)
    topics, node = config.mqtt.topics, config.mqtt.prefix
    relayed_topic = topics.station_velocity_loss(AGENT, DEMO_STATION)
    event_config = f"homeassistant/event/{node}/{AGENT}_{DEMO_STATION}_velocity_loss_reached/config"
    set_completed_config = f"homeassistant/event/{node}/{AGENT}_{DEMO_STATION}_set_completed/config"
    watcher = Watcher(mosquitto, "homeassistant/#", f"{topics.prefix}/#")
    hub_thread = HubThread(config)
    hub = hub_thread.start()
    try:
        wait_for(lambda: bool(watcher.latest(set_completed_config)), 10, "the station's discovery")
        assert watcher.latest(event_config) is None  # the target is the agent's to announce
        runner = AgentThread(config)
        with runner as agent:
            wait_for(lambda: bool(watcher.latest(event_config)), 15, "the velocity_loss event's discovery")
            runner.thread.join(60)
            assert not runner.thread.is_alive(), "the agent did not finish the clip"
        entity = watcher.json(event_config)
        assert entity is not None and entity["state_topic"] == relayed_topic
        assert entity["event_types"] == ["velocity_loss_reached"]
        finished = agent.stations[0].finished
        expected = [cue for cue in map(expected_cue, finished) if cue is not None]
        assert len(finished) == 2 and len(expected) == 1  # the clip: one set past 40 %, one short of it
        wait_for(lambda: relayed_topic in watcher.messages, 10, "the cue relayed")
        ((sent, qos, retained),) = watcher.messages[topics.agent_velocity_loss(AGENT)]
        ((relayed, relayed_qos, relayed_retained),) = watcher.messages[relayed_topic]
        assert (qos, retained, relayed_qos, relayed_retained) == (1, False, 1, False)
        cue = VelocityLossReached.model_validate_json(relayed)
        assert (cue.set_id, cue.reps, cue.loss_pct) == expected[0]
        assert (cue.event_type, cue.station, cue.target_pct, cue.member) == (
            "velocity_loss_reached", DEMO_STATION, TARGET_PCT, None)
        assert cue.best_velocity_m_s > cue.latest_velocity_m_s > 0
        assert agent.cue_counts == {"velocity_cues": 1, "velocity_cues_dropped": 0}

        # QoS 1 may deliver a cue twice; a cue may arrive late. Then a fresh one for another set: it is relayed on
        # the same topic after anything the two before it caused, so the topic holds all the hub relayed.
        first = VelocityLossReached.model_validate_json(sent)
        stale = first.model_copy(update={"set_id": f"{AGENT}.{DEMO_STATION}.1",
                                         "at": datetime.now(UTC) - timedelta(minutes=2)})
        fresh = first.model_copy(update={"set_id": f"{AGENT}.{DEMO_STATION}.2", "at": datetime.now(UTC)})
        for again in (sent, stale.to_json(), fresh.to_json()):
            watcher.publish(topics.agent_velocity_loss(AGENT), again)
        wait_for(lambda: len(watcher.messages[relayed_topic]) == 2, 10, "the fresh cue relayed")
        assert [VelocityLossReached.model_validate_json(p).set_id for p, _, _ in watcher.messages[relayed_topic]] == [
            cue.set_id, fresh.set_id]
        assert {k: v for k, v in hub.homeassistant.counts.items() if k.startswith("velocity")} == {
            "velocity_cues": 2, "velocity_cues_duplicate": 1, "velocity_cues_stale": 1}

        by_set = {s.set_id: s for s in finished}
        wait_for(lambda: set(by_set) <= set(velocity_loss_points(influx_db)), 15, "the sets' points")
        points = velocity_loss_points(influx_db)
        assert points == {set_id: pytest.approx(s.velocity_loss_pct) for set_id, s in by_set.items()}
        assert points[cue.set_id] >= TARGET_PCT > min(points.values())
        print(f"\n[velocity loss] cue {json.loads(relayed)}; sets' losses {points}")
    finally:
        hub_thread.stop()
        watcher.close()
