"""Home Assistant discovery and commands against a real Mosquitto, the real hub and a real agent on the sample clip.

Discovery in both topic forms (per component, per device) and the hand-over between them.
"""

from __future__ import annotations

import functools
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from replens.cli.demo import DEMO_STATION, demo_agent_config, sample_clip
from replens.config import RepLensConfig
from replens.contract import AgentState, StationState, utc_from_unix
from replens.device_agent.app import Agent
from replens.hub.runner import HubThread
from replens.members import MembersStore
from tests.integration.harness import wait_for, write_config

pytestmark = pytest.mark.integration

AGENT = "rack"


class Watcher:
    """Records every message (topic → list of (payload, qos, retain)) on the topics it subscribes to."""

    def __init__(self, broker, *topics: str) -> None:
        self.messages: dict[str, list[tuple[bytes, int, bool]]] = {}
        self.order: list[tuple[str, bytes]] = []
        """Every message in the order it arrived."""
        self._lock = threading.Lock()
        self._client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2)
        self._client.on_message = self._on_message
        self._client.connect(broker.host, broker.port)
        self._client.subscribe([(t, 1) for t in topics])
        self._client.loop_start()

    def _on_message(self, _c: Any, _u: Any, m: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.messages.setdefault(m.topic, []).append((bytes(m.payload), m.qos, bool(m.retain)))
            self.order.append((m.topic, bytes(m.payload)))

    def latest(self, topic: str) -> bytes | None:
        with self._lock:
            found = self.messages.get(topic)
            return found[-1][0] if found else None

    def json(self, topic: str) -> dict[str, Any] | None:
        payload = self.latest(topic)
        return json.loads(payload) if payload else None

    def live(self) -> dict[str, bytes]:
        """Topics whose latest payload is not empty (what a fresh subscriber would get retained)."""
        with self._lock:
            return {t: m[-1][0] for t, m in self.messages.items() if m[-1][0]}

    def clear(self) -> None:
        with self._lock:
            self.messages.clear()
            self.order.clear()

    def publish(self, topic: str, payload: bytes | str, retain: bool = False) -> None:
        self._client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(5)

    def close(self) -> None:
        self._client.loop_stop()
        self._client.disconnect()


def discovery_of(watcher: Watcher, node: str) -> dict[str, dict[str, Any]]:
    return {t: json.loads(p) for t, p in watcher.live().items() if t.startswith("homeassistant/") and f"/{node}/" in t}


def face() -> np.ndarray:
    return np.random.default_rng().normal(size=128)


def gym_config(tmp_path: Path, mosquitto, discovery_format: str) -> RepLensConfig:
    clip = sample_clip()
    agent = demo_agent_config(clip).model_dump(mode="json", exclude_none=True)
    agent["source"].update(realtime=True, loop=True)
    agent["stations"][DEMO_STATION]["weight_kg"] = 40.0
    agent["stats_interval_s"] = 1
    _, config = write_config(tmp_path, mosquitto, agents={AGENT: agent}, extra={"homeassistant": {
        "republish_delay_max_s": 0.2, "refresh_s": 1, "discovery_format": discovery_format, "migration_pause_s": 0.5}})
    return config


def gym_with_members(tmp_path: Path, mosquitto, discovery_format: str) -> Iterator[tuple[RepLensConfig, MembersStore]]:
    config = gym_config(tmp_path, mosquitto, discovery_format)
    members = MembersStore(config.members_db())
    try:
        yield config, members
    finally:
        members.close()


@pytest.fixture
def gym(tmp_path: Path, mosquitto) -> Iterator[tuple[RepLensConfig, MembersStore]]:
    """Per-component discovery (every Home Assistant version)."""
    yield from gym_with_members(tmp_path, mosquitto, "component")


@pytest.fixture
def device_gym(tmp_path: Path, mosquitto) -> Iterator[tuple[RepLensConfig, MembersStore]]:
    """Device-based discovery (Home Assistant 2024.11 and later), the default."""
    yield from gym_with_members(tmp_path, mosquitto, "device")


def with_format(config: RepLensConfig, discovery_format: str) -> RepLensConfig:
    settings = config.homeassistant.model_copy(update={"discovery_format": discovery_format})
    return config.model_copy(update={"homeassistant": settings})


def station_topics(node: str, station: str) -> set[str]:
    keys = {"sensor": ["reps", "last_set_reps", "last_set_exercise", "last_set_weight"],
            "binary_sensor": ["set_active"], "event": ["set_completed"], "switch": ["counting"],
            "button": ["end_set"], "select": ["last_set_member", "correct_exercise"],
            "number": ["load", "correct_load", "correct_reps"]}
    return {f"homeassistant/{p}/{node}/{AGENT}_{station}_{k}/config" for p, ks in keys.items() for k in ks}


def member_topics(node: str, member: str) -> set[str]:
    keys = {"sensor": ["reps_today", "volume_today", "volume_week", "last_exercise", "last_set", "last_seen",
                       "velocity_e1rm"],
            "binary_sensor": ["present"], "event": ["personal_record"], "number": ["body_weight"]}
    return {f"homeassistant/{p}/{node}/member_{member}_{k}/config" for p, ks in keys.items() for k in ks}


def agent_topics(node: str, agent: str) -> set[str]:
    return {f"homeassistant/sensor/{node}/{agent}_{k}/config" for k in ("fps", "latency", "outbox_depth")}


def test_discovery_retained_at_startup_republished_on_birth_and_cleaned_up(gym, mosquitto) -> None:
    config, members = gym
    node = config.mqtt.prefix
    ann = members.add("Ann", [face()], consent=True)
    bob = members.add("Bob", [face()], consent=True)
    expected = (station_topics(node, DEMO_STATION) | agent_topics(node, AGENT) | member_topics(node, ann.id)
                | member_topics(node, bob.id) | {f"homeassistant/binary_sensor/{node}/hub_status/config"})
    hub = HubThread(config)
    hub.start()
    try:
        time.sleep(0.5)
        watcher = Watcher(mosquitto, "homeassistant/#")  # subscribes after the hub published: retained only
        wait_for(lambda: set(discovery_of(watcher, node)) == expected, 10, "every discovery config")
        assert all(m == [(m[0][0], 1, True)] for t, m in watcher.messages.items() if t in expected)  # QoS 1, retained
        select_topic = f"homeassistant/select/{node}/{AGENT}_{DEMO_STATION}_last_set_member/config"
        select = discovery_of(watcher, node)[select_topic]
        assert select["options"] == ["Ann", "Bob", "(nobody)"]

        # Home Assistant's birth message: everything again, live (not retained: we are already subscribed).
        watcher.clear()
        watcher.publish("homeassistant/status", "online")
        wait_for(lambda: expected <= set(watcher.messages), 10, "discovery after the birth message")
        assert all(m[-1][1:] == (1, False) for t, m in watcher.messages.items() if t in expected)

        # A new station in the agent's retained state; then the agent drops a station: its configs are cleared.
        state = AgentState(agent_id=AGENT, updated_at=utc_from_unix(time.time()), stations={
            DEMO_STATION: StationState(exercise="lat_pulldown", set_active=False),
            "squat": StationState(exercise="squat", set_active=False)})
        watcher.publish(config.mqtt.topics.agent_state(AGENT), state.to_json(), retain=True)
        wait_for(lambda: station_topics(node, "squat") <= set(discovery_of(watcher, node)), 10, "squat station")
        state = state.model_copy(update={"stations": {"squat": state.stations["squat"]}})
        watcher.publish(config.mqtt.topics.agent_state(AGENT), state.to_json(), retain=True)
        wait_for(lambda: not station_topics(node, DEMO_STATION) & set(discovery_of(watcher, node)), 10,
                 "the dropped station's configs cleared")
        assert all(watcher.latest(t) == b"" for t in station_topics(node, DEMO_STATION))

        # A member deleted while the hub runs: their device goes, and the select loses the name.
        members.delete("Bob")
        wait_for(lambda: not member_topics(node, bob.id) & set(discovery_of(watcher, node)), 10,
                 "Bob's configs cleared")
        squat_select = f"homeassistant/select/{node}/{AGENT}_squat_last_set_member/config"
        wait_for(lambda: (watcher.json(squat_select) or {}).get("options") == ["Ann", "(nobody)"], 10, "options")
    finally:
        hub.stop()

    # While the hub is down a member is deleted: the restarted hub clears their configs from its record.
    members.delete("Ann")
    hub = HubThread(config)
    hub.start()
    try:
        wait_for(lambda: all(watcher.latest(t) == b"" for t in member_topics(node, ann.id)), 10,
                 "Ann's configs cleared after the restart")
        fresh = Watcher(mosquitto, "homeassistant/#")
        time.sleep(1.0)
        assert not (member_topics(node, ann.id) | member_topics(node, bob.id)) & set(discovery_of(fresh, node))
        assert station_topics(node, "squat") <= set(discovery_of(fresh, node))
        fresh.close()
    finally:
        hub.stop()
        watcher.close()


def device_topic(node: str, device: str) -> str:
    return f"homeassistant/device/{node}/{device}/config"


def station_keys(station: str) -> set[str]:
    return {t.split("/")[3] for t in station_topics("n", station)}


def test_device_discovery_retained_republished_and_cleaned_up(device_gym, mosquitto) -> None:
    config, members = device_gym
    node = config.mqtt.prefix
    ann = members.add("Ann", [face()], consent=True)
    bob = members.add("Bob", [face()], consent=True)
    agent_topic = device_topic(node, f"agent_{AGENT}")
    expected = {device_topic(node, "hub"), agent_topic, device_topic(node, f"member_{ann.id}"),
                device_topic(node, f"member_{bob.id}")}
    hub = HubThread(config)
    hub.start()
    try:
        time.sleep(0.5)
        watcher = Watcher(mosquitto, "homeassistant/#")  # subscribes after the hub published: retained only
        wait_for(lambda: set(discovery_of(watcher, node)) == expected, 10, "every device config")
        assert all(m == [(m[0][0], 1, True)] for t, m in watcher.messages.items() if t in expected)  # QoS 1, retained
        agent = discovery_of(watcher, node)[agent_topic]
        assert set(agent) == {"dev", "o", "cmps"} and agent["dev"]["identifiers"] == [f"replens_agent_{AGENT}"]
        assert station_keys(DEMO_STATION) | {f"{AGENT}_fps"} <= set(agent["cmps"])
        assert agent["cmps"][f"{AGENT}_{DEMO_STATION}_reps"]["p"] == "sensor"
        assert agent["cmps"][f"{AGENT}_{DEMO_STATION}_last_set_member"]["options"] == ["Ann", "Bob", "(nobody)"]

        watcher.clear()
        watcher.publish("homeassistant/status", "online")
        wait_for(lambda: expected <= set(watcher.messages), 10, "discovery after the birth message")
        assert all(m[-1][1:] == (1, False) for t, m in watcher.messages.items() if t in expected)

        # The agent drops its station for another: the old one's components are named for removal (platform
        # only), then left out.
        state = AgentState(agent_id=AGENT, updated_at=utc_from_unix(time.time()), stations={
            "squat": StationState(exercise="squat", set_active=False)})
        watcher.clear()
        watcher.publish(config.mqtt.topics.agent_state(AGENT), state.to_json(), retain=True)
        wait_for(lambda: station_keys("squat") <= set((watcher.json(agent_topic) or {}).get("cmps", {})), 10,
                 "squat station")
        sent = [json.loads(p)["cmps"] for p, _, _ in watcher.messages[agent_topic]]
        assert {k: v for k, v in sent[0].items() if k in station_keys(DEMO_STATION)} == {
            k: {"p": agent["cmps"][k]["p"]} for k in station_keys(DEMO_STATION)}
        assert not station_keys(DEMO_STATION) & set(sent[-1])

        members.delete("Bob")
        wait_for(lambda: watcher.latest(device_topic(node, f"member_{bob.id}")) == b"", 10, "Bob's device cleared")
    finally:
        hub.stop()

    # While the hub is down a member is deleted: the restarted hub clears their device from its record.
    members.delete("Ann")
    hub = HubThread(config)
    hub.start()
    try:
        wait_for(lambda: watcher.latest(device_topic(node, f"member_{ann.id}")) == b"", 10,
                 "Ann's device cleared after the restart")
        fresh = Watcher(mosquitto, "homeassistant/#")
        wait_for(lambda: set(discovery_of(fresh, node)) == {device_topic(node, "hub"), agent_topic}, 10,
                 "only the hub and the agent left")
        fresh.close()
    finally:
        hub.stop()
        watcher.close()


def handed_over(watcher: Watcher, old: set[str], new: set[str]) -> None:
    """Each old topic got migrate_discovery then an empty payload; every new config came between the two."""
    order = list(watcher.order)
    for topic in old:
        assert [p for t, p in order if t == topic] == [b'{"migrate_discovery":true}', b""], topic
    last_migrate = max(i for i, (t, p) in enumerate(order) if t in old and p)
    first_clear = min(i for i, (t, p) in enumerate(order) if t in old and not p)
    first_new = min(i for i, (t, _) in enumerate(order) if t in new)
    last_new = max(i for i, (t, _) in enumerate(order) if t in new)
    assert last_migrate < first_new and last_new < first_clear


def test_format_change_hands_entities_over_both_ways(gym, mosquitto) -> None:
    """component -> device -> component, with Home Assistant's migrate_discovery handshake each way."""
    config, members = gym
    node = config.mqtt.prefix
    ann = members.add("Ann", [face()], consent=True)
    component_form = (station_topics(node, DEMO_STATION) | agent_topics(node, AGENT) | member_topics(node, ann.id)
                      | {f"homeassistant/binary_sensor/{node}/hub_status/config"})
    device_form = {device_topic(node, d) for d in ("hub", f"agent_{AGENT}", f"member_{ann.id}")}
    watcher = Watcher(mosquitto, "homeassistant/#")
    try:
        for fmt, old, new in (("component", set(), component_form), ("device", component_form, device_form),
                              ("component", device_form, component_form)):
            def only(configs: set[str], seen: Watcher = watcher) -> bool:
                return set(discovery_of(seen, node)) == configs

            def emptied(configs: set[str]) -> bool:
                return all(watcher.latest(t) == b"" for t in configs)

            watcher.clear()
            hub = HubThread(with_format(config, fmt))
            hub.start()
            try:
                wait_for(functools.partial(only, new), 15, f"{fmt} configs only")
                wait_for(functools.partial(emptied, old), 10, "old configs emptied")
            finally:
                hub.stop()
            if old:
                handed_over(watcher, old, new)
            fresh = Watcher(mosquitto, "homeassistant/#")  # what a restarted Home Assistant would read
            wait_for(functools.partial(only, new, fresh), 10, f"retained {fmt} configs")
            time.sleep(0.5)
            assert set(discovery_of(fresh, node)) == new
            fresh.close()
    finally:
        watcher.close()


class AgentThread:
    def __init__(self, config: RepLensConfig) -> None:
        self.agent = Agent(AGENT, config.agents[AGENT], config.agent_mqtt(AGENT), config.agent_data_dir(AGENT))
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self.agent.run, args=(self.stop_event,), daemon=True)

    def __enter__(self) -> Agent:
        self.thread.start()
        return self.agent

    def __exit__(self, *exc: object) -> None:
        self.stop_event.set()
        self.thread.join(30)


def test_commands_pause_end_set_and_claim_survive_restarts(gym, mosquitto) -> None:
    config, members = gym
    topics = config.mqtt.topics
    node = config.mqtt.prefix
    members.add("Ann Lee", [face()], consent=True)
    ann_id = members.get("Ann Lee").id
    watcher = Watcher(mosquitto, "homeassistant/#", f"{topics.prefix}/#")
    station = lambda: (watcher.json(topics.agent_state(AGENT)) or {}).get("stations", {}).get(DEMO_STATION, {})  # noqa: E731
    last_set = lambda: watcher.json(topics.station_last_set(AGENT, DEMO_STATION)) or {}  # noqa: E731

    def discovery(platform: str, key: str) -> dict[str, Any]:
        payload = watcher.json(f"homeassistant/{platform}/{node}/{AGENT}_{DEMO_STATION}_{key}/config")
        assert payload is not None
        return payload

    hub = HubThread(config)
    hub.start()
    try:
        wait_for(lambda: bool(watcher.latest(f"homeassistant/button/{node}/{AGENT}_{DEMO_STATION}_end_set/config")),
                 10, "discovery")
        button, switch, select = discovery("button", "end_set"), discovery("switch", "counting"), discovery(
            "select", "last_set_member")
        with AgentThread(config) as agent:
            # End set: press the button after two reps; the set ends with fewer reps than the clip's six.
            wait_for(lambda: station().get("reps", 0) >= 2, 30, "two reps of the first set")
            watcher.publish(button["command_topic"], button["payload_press"])
            wait_for(lambda: last_set().get("reps") in (2, 3), 10, "the set ended early by the button")
            assert station()["set_active"] is False or station()["reps"] < 2
            wait_for(lambda: bool(watcher.messages.get(topics.station_set_completed(AGENT, DEMO_STATION))), 10,
                     "the set_completed event")
            completed = watcher.messages[topics.station_set_completed(AGENT, DEMO_STATION)]
            event = json.loads(completed[-1][0])
            assert event["event_type"] == "set_completed" and event["weight_kg"] == 40.0
            assert completed[-1][1:] == (1, False)
            assert last_set()["volume_kg"] == last_set()["reps"] * 40.0

            # Claim through the select's command template, as Home Assistant renders it.
            claim = select["command_template"].replace("{{ value | tojson }}", json.dumps("ann lee"))
            watcher.publish(select["command_topic"], claim)
            wait_for(lambda: last_set().get("member_name") == "Ann Lee", 10, "the claim")
            member_state = lambda: watcher.json(topics.member_state(ann_id)) or {}  # noqa: E731
            wait_for(lambda: member_state().get("reps_today") == last_set()["reps"], 10, "Ann's reps today")
            assert member_state()["volume_today_kg"] == last_set()["reps"] * 40.0

            # Pause through the switch: echoed in the retained state, and the agent counts nothing more.
            watcher.publish(switch["command_topic"], switch["payload_off"])
            wait_for(lambda: station().get("paused") is True, 10, "paused echoed")
            events_when_paused = agent.events
            time.sleep(4.0)  # the clip's reps come every ~2 s
            assert agent.events == events_when_paused
            assert station()["reps"] == 0 and station()["set_active"] is False
    finally:
        hub.stop()

    # Everything survives restarts of the hub, the agent and even a broker that forgot its retained messages.
    mosquitto.restart()
    watcher.close()
    watcher = Watcher(mosquitto, "homeassistant/#", f"{topics.prefix}/#")
    hub = HubThread(config)
    hub.start()
    try:
        with AgentThread(config) as agent:
            wait_for(lambda: station().get("paused") is True, 15, "paused again after the restart")
            wait_for(lambda: last_set().get("member_name") == "Ann Lee", 10, "the claim after the restart")
            time.sleep(3.0)
            assert agent.events == 0
            watcher.publish(switch["command_topic"], switch["payload_on"])
            wait_for(lambda: station().get("paused") is False, 10, "resumed")
            wait_for(lambda: agent.events > 0, 30, "counting again")
    finally:
        hub.stop()
        watcher.close()
