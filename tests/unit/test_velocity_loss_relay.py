"""The hub's relay of velocity-loss cues: once per set, with the member it attributed, never stale."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from replens.config import RepLensConfig, load_config
from replens.contract import AgentState, Exercise, SetEvent, SetPhase, StationState, VelocityLossReached
from replens.hub.homeassistant import HomeAssistantBridge, JournalViews
from replens.hub.identity.attributor import Attributor
from replens.hub.journal import Inbound, Journal

ANN = "m0a1b2c3d4e"


class Client:
    """Stands in for aiomqtt's client: records what the bridge publishes."""

    def __init__(self) -> None:
        self.published: list[tuple[str, bytes, int, bool]] = []

    async def publish(self, topic: str, payload: bytes, qos: int = 0, retain: bool = False) -> None:
        self.published.append((topic, payload, qos, retain))


def make_bridge(config: RepLensConfig, journal: Journal) -> HomeAssistantBridge:
    return HomeAssistantBridge(config, Attributor(journal, config.identity, config.members_db()),
                               JournalViews(journal.path))


@pytest.fixture
def config(tmp_path: Path) -> RepLensConfig:
    path = tmp_path / "replens.yaml"
    path.write_text(f"version: 1\ndata_dir: {tmp_path / 'data'}\nagents: {{}}\n"
                    "homeassistant: {discovery_format: component}\n")
    return load_config(path, env={})


@pytest.fixture
def hub(config: RepLensConfig) -> Iterator[tuple[HomeAssistantBridge, Journal]]:
    journal = Journal(config.journal_path())
    bridge = make_bridge(config, journal)
    yield bridge, journal
    bridge.close()
    journal.close()


def cue(set_id: str, age_s: float = 0.0) -> VelocityLossReached:
    return VelocityLossReached(agent_id="a1", station="rack", set_id=set_id, exercise=Exercise.SQUAT, reps=4,
                               loss_pct=21.5, target_pct=20.0, best_velocity_m_s=0.6, latest_velocity_m_s=0.471,
                               at=datetime.now(UTC) - timedelta(seconds=age_s))


def relay(bridge: HomeAssistantBridge, *cues: VelocityLossReached) -> list[tuple[str, bytes, int, bool]]:
    client = Client()
    for each in cues:
        bridge.on_velocity_loss(each)
    asyncio.run(bridge._publish_cues(client))  # type: ignore[arg-type]  # the relay step alone
    return client.published


def test_a_cue_is_relayed_once_with_the_sets_member_and_never_stale(hub) -> None:
    bridge, journal = hub
    started = datetime.now(UTC) - timedelta(seconds=20)
    journal.record(Inbound(events=[SetEvent(agent_id="a1", seq=1, set_id="a1.rack.1", station="rack",
                                            exercise=Exercise.SQUAT, event=SetPhase.NEW, reps=1, started_at=started,
                                            member=ANN)]))
    sent = cue("a1.rack.1")
    ((topic, payload, qos, retain),) = relay(bridge, sent, sent)
    assert (topic, qos, retain) == ("replens/station/a1/rack/velocity_loss", 1, False)
    assert VelocityLossReached.model_validate_json(payload) == sent.model_copy(update={"member": ANN})
    assert relay(bridge, cue("a1.rack.1")) == []  # QoS 1 delivered it again later
    assert relay(bridge, cue("a1.rack.2", age_s=16.0)) == []  # after a broker outage: too late to help
    ((_, unknown, _, _),) = relay(bridge, cue("a1.rack.3", age_s=14.0))  # a set the hub has not recorded yet
    assert VelocityLossReached.model_validate_json(unknown).member is None
    assert {k: v for k, v in bridge.counts.items() if k.startswith("velocity")} == {
        "velocity_cues": 2, "velocity_cues_duplicate": 2, "velocity_cues_stale": 1}


def test_a_restarted_hub_keeps_the_event_entity_until_the_agent_says_otherwise(config: RepLensConfig) -> None:
    """Clearing a discovery config deletes the entity's registry entry: not for the moment before the retained
    agent state comes in after a restart."""
    topic = "homeassistant/event/replens/a1_rack_velocity_loss_reached/config"
    station = StationState(exercise=Exercise.SQUAT, set_active=False, end_set_at_velocity_loss_pct=20.0)
    journal = Journal(config.journal_path())
    try:
        first = make_bridge(config, journal)
        first.on_agent_state(AgentState(agent_id="a1", updated_at=datetime.now(UTC), stations={"rack": station}))
        asyncio.run(first._reconcile_discovery(client := Client(), True))  # type: ignore[arg-type]
        assert topic in {t for t, payload, _, _ in client.published if payload}
        first.close()
        restarted = make_bridge(config, journal)
        asyncio.run(restarted._reconcile_discovery(client := Client(), True))  # type: ignore[arg-type]
        assert topic in {t for t, payload, _, _ in client.published if payload}  # published again, not cleared
        without = station.model_copy(update={"end_set_at_velocity_loss_pct": None})
        restarted.on_agent_state(AgentState(agent_id="a1", updated_at=datetime.now(UTC), stations={"rack": without}))
        asyncio.run(restarted._reconcile_discovery(client := Client(), False))  # type: ignore[arg-type]
        assert (topic, b"") in {(t, payload) for t, payload, _, _ in client.published}  # the target was removed
        restarted.close()
    finally:
        journal.close()
