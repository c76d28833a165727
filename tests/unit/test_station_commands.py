"""Station commands (Home Assistant's switch and button) on the real sample clip, without a broker."""

from __future__ import annotations

from pathlib import Path

from replens.cli.demo import DEMO_STATION, demo_agent_config, sample_clip
from replens.config import MqttConfig
from replens.contract import StationCommand, StationCommandKind
from replens.device_agent.app import Agent
from replens.device_agent.sources.frame import Frame


def test_a_paused_station_counts_nothing_and_stays_paused_after_a_restart(tmp_path: Path) -> None:
    config = demo_agent_config(sample_clip())
    agent = Agent("cam", config, MqttConfig(host="127.0.0.1", port=1), tmp_path)
    agent.command(StationCommand(station=DEMO_STATION, command=StationCommandKind.PAUSE))
    summary = agent.run(drain_timeout_s=0.1)
    assert summary.frames > 500 and summary.sets == [] and agent.events == 0
    assert agent.state().stations[DEMO_STATION].paused

    again = Agent("cam", config, MqttConfig(host="127.0.0.1", port=1), tmp_path)  # same outbox: paused on disk
    assert again.state().stations[DEMO_STATION].paused
    again.command(StationCommand(station=DEMO_STATION, command=StationCommandKind.RESUME))
    assert [len(s.reps) for s in again.run(drain_timeout_s=0.1).sets] == [6, 4]
    assert not Agent("cam", config, None, None).state().stations[DEMO_STATION].paused


def test_end_set_closes_the_set_under_way(tmp_path: Path) -> None:
    agent = Agent("cam", demo_agent_config(sample_clip()), None, None)
    sent = False

    def after_two_reps(_frame: Frame, a: Agent) -> None:
        nonlocal sent
        if not sent and a.stations[0].state().reps == 2:
            a.command(StationCommand(station=DEMO_STATION, command=StationCommandKind.END_SET))
            sent = True

    sets = [len(s.reps) for s in agent.run(progress=after_two_reps).sets]
    assert sets[0] == 2 and sum(sets) == 10  # the rest of the first set counts as a new set; nothing lost
