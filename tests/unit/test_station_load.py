"""A station's current load: set by a command while a set is under way, carried by the sets, kept across restarts."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from replens.cli.demo import DEMO_STATION, demo_agent_config, sample_clip
from replens.config import MqttConfig
from replens.config.agent import AgentConfig
from replens.contract import (
    KG_PER_LB,
    EventKind,
    LoadUnit,
    SetEvent,
    SetPhase,
    StationCommand,
    StationCommandKind,
    from_kg,
    shown_load,
    to_kg,
)
from replens.device_agent.app import Agent
from replens.device_agent.outbox import Outbox
from replens.device_agent.sources.frame import Frame

NOWHERE = MqttConfig(host="127.0.0.1", port=1)  # no broker: events stay in the outbox, where the test reads them


def with_start_load(config: AgentConfig, weight_kg: float | None) -> AgentConfig:
    station = config.stations[DEMO_STATION].model_copy(update={"weight_kg": weight_kg})
    return config.model_copy(update={"stations": {DEMO_STATION: station}})


def set_events(outbox_dir: Path) -> list[SetEvent]:
    outbox = Outbox(outbox_dir / "outbox.sqlite3")
    try:
        return [SetEvent.model_validate_json(item.payload) for item in outbox.unsent(10_000)
                if item.kind is EventKind.SETS]
    finally:
        outbox.close()


def load_command(load: float, unit: LoadUnit | None = None) -> StationCommand:
    return StationCommand(station=DEMO_STATION, command=StationCommandKind.SET_LOAD, load=load, unit=unit, by="test")


def test_a_load_set_mid_set_applies_to_that_set_and_later_ones_and_survives_a_restart(tmp_path: Path) -> None:
    config = with_start_load(demo_agent_config(sample_clip()), 40.0)
    agent = Agent("cam", config, NOWHERE, tmp_path)
    assert agent.state().stations[DEMO_STATION].load_kg == 40.0  # the config's weight_kg is the starting load
    sent = False

    def after_two_reps(_frame: Frame, a: Agent) -> None:
        nonlocal sent
        if not sent and a.stations[0].state().reps == 2:
            a.command(load_command(135, LoadUnit.LB))
            sent = True

    assert [len(s.reps) for s in agent.run(progress=after_two_reps, drain_timeout_s=0.1).sets] == [6, 4]
    events = set_events(tmp_path)
    first = [e for e in events if e.set_id == events[0].set_id]
    assert [(e.event, e.reps, e.weight_kg) for e in first[:3]] == [
        (SetPhase.NEW, 1, 40.0), (SetPhase.UPDATE, 2, 40.0), (SetPhase.UPDATE, 2, 61.235)]  # the command's update
    assert first[-1].event is SetPhase.END and first[-1].weight_kg == 61.235
    assert {e.weight_kg for e in events if e.set_id != events[0].set_id} == {61.235}

    again = Agent("cam", config, NOWHERE, tmp_path)  # same outbox: the load is kept, over the config's 40 kg
    assert again.state().stations[DEMO_STATION].load_kg == 61.235
    assert again.outbox is not None
    again.outbox.close()


def test_without_a_command_sets_carry_the_configured_load_and_none_is_unknown(tmp_path: Path) -> None:
    Agent("cam", with_start_load(demo_agent_config(sample_clip()), 55.5), NOWHERE, tmp_path).run(drain_timeout_s=0.1)
    assert {e.weight_kg for e in set_events(tmp_path)} == {55.5}
    assert Agent("cam", demo_agent_config(sample_clip()), None, None).state().stations[DEMO_STATION].load_kg is None


@pytest.mark.parametrize(("payload", "message"), [
    ({"command": "set_load", "load": -5}, "load: a load cannot be negative"),
    ({"command": "set_load", "load": 5000, "unit": "lb"}, "load: 5000.0 lb is more than 2000 kg"),
    ({"command": "set_load"}, "load: set_load needs a load"),
    ({"command": "pause", "load": 10}, "load: only set_load takes a load"),
    ({"command": "set_load", "load": 10, "unit": "stone"}, "unit"),
])
def test_bad_loads_are_refused_naming_the_field(payload: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        StationCommand.model_validate({"station": DEMO_STATION, **payload})
    assert message in str(caught.value)


def test_pounds_are_stored_as_kilograms_and_shown_back_in_pounds() -> None:
    assert KG_PER_LB == 0.45359237
    assert load_command(225, LoadUnit.LB).load_kg == 102.058 and load_command(100).load_kg == 100.0
    assert to_kg(45, LoadUnit.LB) == 20.412 and from_kg(20.412, LoadUnit.LB) == 45.0
    assert from_kg(102.058, LoadUnit.LB) == 225.0 and from_kg(100.0, LoadUnit.KG) == 100.0
    assert shown_load(102.058, LoadUnit.LB) == "225.0 lb" and shown_load(15202.4, LoadUnit.KG, 0) == "15,202 kg"
    assert shown_load(60.0, LoadUnit.KG, digits=None) == "60 kg" and shown_load(60.0, LoadUnit.LB, None) == "132.3 lb"
