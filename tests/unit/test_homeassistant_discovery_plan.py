"""The hub's discovery plan: what it publishes, hands over (migrate_discovery), removes, and in which order."""

from __future__ import annotations

import json
from collections.abc import Mapping

import pytest

from replens.config.homeassistant import DiscoveryFormat
from replens.contract import Topics
from replens.hub.homeassistant.discovery_plan import MIGRATE, DiscoveryPlan, Published, plan
from replens.integrations.homeassistant.discovery import DiscoveryContext, all_configs
from replens.integrations.homeassistant.entities import MEMBER_ENTITIES

CTX = DiscoveryContext(Topics("replens"), "homeassistant", "1.2.3")
OTHER: dict[DiscoveryFormat, DiscoveryFormat] = {"device": "component", "component": "device"}
ANN, BO = {"ann1": "Ann"}, {"bo2": "Bo"}


def configs(fmt: DiscoveryFormat, stations: Mapping[str, list[str]], members: Mapping[str, str]) -> dict[str, bytes]:
    return all_configs(CTX, stations, members, fmt)


def published(fmt: DiscoveryFormat, stations: Mapping[str, list[str]], members: Mapping[str, str]) -> Published:
    return Published.of(configs(fmt, stations, members), CTX.is_device_topic)


def plan_to(fmt: DiscoveryFormat, before: Published, stations: Mapping[str, list[str]], members: Mapping[str, str],
            *, force: bool = False) -> DiscoveryPlan:
    return plan(before, configs(fmt, stations, members), configs(OTHER[fmt], stations, members), force=force)


def test_migrate_payload_is_the_documented_one() -> None:
    assert json.loads(MIGRATE) == {"migrate_discovery": True}


@pytest.mark.parametrize("fmt", ["device", "component"])
def test_first_start_publishes_everything_and_touches_nothing_else(fmt: DiscoveryFormat) -> None:
    steps = plan_to(fmt, Published(), {"rack": ["bench"]}, ANN)
    assert dict(steps.publish) == configs(fmt, {"rack": ["bench"]}, ANN)
    assert steps.migrate == [] and steps.clear == [] and steps.removals == []


@pytest.mark.parametrize(("fmt", "force", "sent"), [("device", False, 0), ("device", True, 3),
                                                    ("component", False, 0), ("component", True, 1 + 3 + 13 + 10)])
def test_unchanged_configs_go_out_again_only_when_forced(fmt: DiscoveryFormat, force: bool, sent: int) -> None:
    steps = plan_to(fmt, published(fmt, {"rack": ["bench"]}, ANN), {"rack": ["bench"]}, ANN, force=force)
    assert len(steps.publish) == sent
    assert steps.migrate == [] and steps.clear == [] and steps.removals == []


@pytest.mark.parametrize("fmt", ["device", "component"])
def test_a_format_change_hands_every_entity_over_then_empties_the_old_topics(fmt: DiscoveryFormat) -> None:
    old = configs(OTHER[fmt], {"rack": ["bench"]}, ANN)
    steps = plan_to(fmt, published(OTHER[fmt], {"rack": ["bench"]}, ANN), {"rack": ["bench"]}, ANN)
    assert steps.migrate == sorted(old) == steps.clear
    assert dict(steps.publish) == configs(fmt, {"rack": ["bench"]}, ANN)
    assert steps.removals == []


def test_entities_gone_during_a_format_change_are_removed_not_handed_over() -> None:
    """migrate_discovery on an entity nobody publishes again would leave it registered but unloaded (an orphan)."""
    before = published("component", {"rack": ["bench"]}, ANN | BO)
    steps = plan_to("device", before, {"rack": ["bench"]}, ANN)
    bo_topics = {t for t in before.hashes if "/member_bo2_" in t}
    assert len(bo_topics) == len(MEMBER_ENTITIES)
    assert bo_topics <= set(steps.clear)
    assert not bo_topics & set(steps.migrate)
    assert set(steps.migrate) | bo_topics == set(before.hashes) == set(steps.clear)


def test_rolling_back_to_components_first_removes_what_the_device_configs_dropped() -> None:
    """The squat station went while the hub ran per-component discovery of a device-format install: its
    components are named for removal in the agent's device config before that config is handed over."""
    before = published("device", {"rack": ["bench", "squat"]}, ANN)
    steps = plan_to("component", before, {"rack": ["bench"]}, ANN)
    agent = "homeassistant/device/replens/agent_rack/config"
    assert [t for t, _ in steps.removals] == [agent]
    cmps = json.loads(dict(steps.removals)[agent])["cmps"]
    assert {k: v for k, v in cmps.items() if k.startswith("rack_squat_")} == {
        k: {"p": p} for k, p in before.components[agent].items() if k.startswith("rack_squat_")}
    assert len([k for k in cmps if k.startswith("rack_squat_")]) == 13
    assert json.loads(configs("device", {"rack": ["bench"]}, ANN)[agent])["cmps"].items() <= cmps.items()
    assert steps.migrate == sorted(before.hashes) == steps.clear
    assert dict(steps.publish) == configs("component", {"rack": ["bench"]}, ANN)


def test_a_dropped_station_is_named_for_removal_then_left_out_of_its_device_config() -> None:
    """Home Assistant keeps a component an updated device config leaves out; it removes one named by platform only."""
    before = published("device", {"rack": ["bench", "squat"]}, ANN)
    steps = plan_to("device", before, {"rack": ["bench"]}, ANN)
    agent = "homeassistant/device/replens/agent_rack/config"
    removal = json.loads(dict(steps.removals)[agent])["cmps"]
    assert removal["rack_squat_reps"] == {"p": "sensor"} and removal["rack_squat_end_set"] == {"p": "button"}
    assert dict(steps.publish) == {agent: configs("device", {"rack": ["bench"]}, ANN)[agent]}
    assert steps.migrate == [] and steps.clear == []


def test_a_deleted_member_empties_their_device_topic() -> None:
    steps = plan_to("device", published("device", {}, ANN | BO), {}, ANN)
    assert steps.clear == ["homeassistant/device/replens/member_bo2/config"]
    assert steps.migrate == [] and steps.removals == [] and steps.publish == []


@pytest.mark.parametrize("fmt", ["device", "component"])
def test_discovery_off_empties_every_topic(fmt: DiscoveryFormat) -> None:
    before = published(fmt, {"rack": ["bench"]}, ANN)
    steps = plan(before, {}, {}, force=True)
    assert steps.clear == sorted(before.hashes)
    assert steps.migrate == [] and steps.publish == [] and steps.removals == []


def test_what_may_be_on_the_broker_during_a_change_covers_both_sides() -> None:
    old = published("device", {"rack": ["bench", "squat"]}, {})
    new = published("device", {"rack": ["bench"]}, ANN)
    merged = old.merged(new)
    assert merged.hashes.keys() == old.hashes.keys() | new.hashes.keys()
    agent = "homeassistant/device/replens/agent_rack/config"
    assert merged.components[agent] == old.components[agent]  # squat's components stay named until removed
