"""Home Assistant discovery payloads, snapshot style: exact topics and payloads for a station and a member, in
both topic forms (per component, and per device with ``dev``, ``o`` and ``cmps``)."""

from __future__ import annotations

import json

import pytest

from replens.contract import (
    BodyWeightCommand,
    ClaimLastCommand,
    EditLastCommand,
    Exercise,
    StationCommand,
    StationCommandKind,
    Topics,
)
from replens.integrations.homeassistant.commands import MEMBER_KG
from replens.integrations.homeassistant.discovery import (
    DiscoveryContext,
    all_configs,
    device_components,
    encode,
    member_configs,
    station_configs,
    with_removed,
)
from replens.integrations.homeassistant.entities import MEMBER_ENTITIES

CTX = DiscoveryContext(Topics("replens"), "homeassistant", "1.2.3", "https://example.org/replens")
ORIGIN = {"name": "RepLens", "sw_version": "1.2.3", "support_url": "https://example.org/replens"}
ONLINE = "{{ 'online' if value == 'online' else 'offline' }}"
HUB_AVAILABLE = {"topic": "replens/hub/available", "value_template": ONLINE, "payload_available": "online",
                 "payload_not_available": "offline"}
AGENT_AVAILABLE = {**HUB_AVAILABLE, "topic": "replens/agent/rack_1/available"}
AGENT_DEVICE = {"identifiers": ["replens_agent_rack_1"], "manufacturer": "RepLens", "model": "Camera agent",
                "name": "RepLens rack_1", "sw_version": "1.2.3", "via_device": "replens_hub"}
MEMBER_DEVICE = {"identifiers": ["replens_member_m3f9a0c21be"], "manufacturer": "RepLens", "model": "Member",
                 "name": "Ann Lee", "sw_version": "1.2.3", "via_device": "replens_hub"}


def station(platform: str, key: str, name: str, **specific: object) -> dict[str, object]:
    uid = f"replens_rack_1_bench_{key}"
    return {"unique_id": uid, "object_id": uid, "default_entity_id": f"{platform}.{uid}", "name": name,
            "device": AGENT_DEVICE, "origin": ORIGIN, "qos": 1,
            "availability": [HUB_AVAILABLE, AGENT_AVAILABLE], "availability_mode": "all", **specific}


def member(platform: str, key: str, name: str, **specific: object) -> dict[str, object]:
    uid = f"replens_member_m3f9a0c21be_{key}"
    return {"unique_id": uid, "object_id": uid, "default_entity_id": f"{platform}.{uid}", "name": name,
            "device": MEMBER_DEVICE, "origin": ORIGIN, "qos": 1, "availability": [HUB_AVAILABLE],
            "availability_mode": "all", "state_topic": "replens/member/m3f9a0c21be/state", **specific}


STATE = "replens/agent/rack_1/state"
LAST_SET = "replens/station/rack_1/bench/last_set"
COMMAND = "replens/agent/rack_1/command"


def cmd(kind: str) -> str:
    return f'{{"schema":1,"station":"bench","command":"{kind}","by":"homeassistant"}}'


EXPECTED_STATION = {
    "homeassistant/sensor/replens/rack_1_bench_reps/config": station(
        "sensor", "reps", "Bench reps in set", state_topic=STATE,
        value_template="{{ value_json.stations['bench'].reps }}", state_class="measurement",
        unit_of_measurement="reps", icon="mdi:counter"),
    "homeassistant/binary_sensor/replens/rack_1_bench_set_active/config": station(
        "binary_sensor", "set_active", "Bench set active", state_topic=STATE, device_class="running",
        value_template="{{ 'ON' if value_json.stations['bench'].set_active else 'OFF' }}"),
    "homeassistant/sensor/replens/rack_1_bench_last_set_reps/config": station(
        "sensor", "last_set_reps", "Bench last set reps", state_topic=LAST_SET, value_template="{{ value_json.reps }}",
        json_attributes_topic=LAST_SET, json_attributes_template="{{ value_json | tojson }}",
        unit_of_measurement="reps", icon="mdi:counter"),
    "homeassistant/sensor/replens/rack_1_bench_last_set_exercise/config": station(
        "sensor", "last_set_exercise", "Bench last set exercise", state_topic=LAST_SET,
        value_template="{{ value_json.exercise }}", icon="mdi:weight-lifter"),
    "homeassistant/sensor/replens/rack_1_bench_last_set_weight/config": station(
        "sensor", "last_set_weight", "Bench last set weight", state_topic=LAST_SET, device_class="weight",
        unit_of_measurement="kg",
        value_template="{{ value_json.weight_kg if value_json.weight_kg is not none else 'None' }}"),
    "homeassistant/event/replens/rack_1_bench_set_completed/config": station(
        "event", "set_completed", "Bench set completed", state_topic="replens/station/rack_1/bench/set_completed",
        event_types=["set_completed"], icon="mdi:flag-checkered"),
    "homeassistant/switch/replens/rack_1_bench_counting/config": station(
        "switch", "counting", "Bench counting", state_topic=STATE, command_topic=COMMAND, icon="mdi:play-pause",
        value_template="{{ 'OFF' if value_json.stations['bench'].paused else 'ON' }}", state_on="ON",
        state_off="OFF", payload_on=cmd("resume"), payload_off=cmd("pause")),
    "homeassistant/button/replens/rack_1_bench_end_set/config": station(
        "button", "end_set", "Bench end set", command_topic=COMMAND, payload_press=cmd("end_set"), icon="mdi:stop"),
    "homeassistant/select/replens/rack_1_bench_last_set_member/config": station(
        "select", "last_set_member", "Bench last set was", state_topic=LAST_SET, command_topic="replens/hub/claim_last",
        value_template="{{ value_json.member_name or '(nobody)' }}", icon="mdi:account-question",
        options=["ann lee", "Bob", "(nobody)"],
        command_template='{"schema":1,"agent_id":"rack_1","station":"bench","member":{{ value | tojson }},'
                         '"by":"homeassistant"}'),
    "homeassistant/number/replens/rack_1_bench_load/config": station(
        "number", "load", "Bench load", state_topic=STATE, command_topic=COMMAND, device_class="weight",
        unit_of_measurement="kg", icon="mdi:weight-kilogram", min=0, max=2000.0, step=0.25, mode="box",
        value_template="{{ value_json.stations['bench'].load_kg if value_json.stations['bench'].load_kg is not none "
                       "else 'None' }}",
        command_template='{"schema":1,"station":"bench","command":"set_load","load":{{ value }},"unit":"kg",'
                         '"by":"homeassistant"}'),
    "homeassistant/number/replens/rack_1_bench_correct_load/config": station(
        "number", "correct_load", "Bench last set load", state_topic=LAST_SET, command_topic="replens/hub/edit_last",
        device_class="weight", unit_of_measurement="kg", icon="mdi:weight-kilogram", min=0, max=2000.0, step=0.25,
        mode="box", value_template="{{ value_json.weight_kg if value_json.weight_kg is not none else 'None' }}",
        command_template='{"schema":1,"weight_kg":{{ value | float }},"edit_id":"ha.{{ now().timestamp() }}",'
                         '"agent_id":"rack_1","station":"bench","by":"homeassistant"}'),
    "homeassistant/number/replens/rack_1_bench_correct_reps/config": station(
        "number", "correct_reps", "Bench last set reps (correct)", state_topic=LAST_SET,
        command_topic="replens/hub/edit_last", unit_of_measurement="reps", icon="mdi:counter", min=0, max=1000,
        step=1, mode="box", value_template="{{ value_json.reps }}",
        command_template='{"schema":1,"reps":{{ value | int }},"edit_id":"ha.{{ now().timestamp() }}",'
                         '"agent_id":"rack_1","station":"bench","by":"homeassistant"}'),
    "homeassistant/select/replens/rack_1_bench_correct_exercise/config": station(
        "select", "correct_exercise", "Bench correct exercise", state_topic=LAST_SET,
        command_topic="replens/hub/edit_last", value_template="{{ value_json.exercise }}", icon="mdi:swap-horizontal",
        options=[e.value for e in Exercise if e is not Exercise.AUTO],
        command_template='{"schema":1,"exercise":{{ value | tojson }},"edit_id":"ha.{{ now().timestamp() }}",'
                         '"agent_id":"rack_1","station":"bench","by":"homeassistant"}'),
}

EXPECTED_MEMBER = {
    "homeassistant/sensor/replens/member_m3f9a0c21be_reps_today/config": member(
        "sensor", "reps_today", "Reps today", value_template="{{ value_json.reps_today }}",
        state_class="total_increasing", unit_of_measurement="reps", icon="mdi:counter"),
    "homeassistant/sensor/replens/member_m3f9a0c21be_volume_today/config": member(
        "sensor", "volume_today", "Volume today", value_template="{{ value_json.volume_today_kg }}",
        device_class="weight", state_class="total_increasing", unit_of_measurement="kg"),
    "homeassistant/sensor/replens/member_m3f9a0c21be_volume_week/config": member(
        "sensor", "volume_week", "Volume this week", value_template="{{ value_json.volume_week_kg }}",
        device_class="weight", state_class="total_increasing", unit_of_measurement="kg"),
    "homeassistant/sensor/replens/member_m3f9a0c21be_last_exercise/config": member(
        "sensor", "last_exercise", "Last exercise", value_template="{{ value_json.last_exercise or 'None' }}",
        icon="mdi:weight-lifter"),
    "homeassistant/sensor/replens/member_m3f9a0c21be_last_set/config": member(
        "sensor", "last_set", "Last set", icon="mdi:dumbbell",
        value_template="{{ (value_json.last_set.reps ~ ' × ' ~ value_json.last_set.exercise) if value_json.last_set "
                       "else 'None' }}",
        json_attributes_topic="replens/member/m3f9a0c21be/state",
        json_attributes_template="{{ (value_json.last_set or {}) | tojson }}"),
    "homeassistant/sensor/replens/member_m3f9a0c21be_last_seen/config": member(
        "sensor", "last_seen", "Last seen", value_template="{{ value_json.last_seen or 'None' }}",
        device_class="timestamp"),
    "homeassistant/binary_sensor/replens/member_m3f9a0c21be_present/config": member(
        "binary_sensor", "present", "Present", value_template="{{ 'ON' if value_json.present else 'OFF' }}",
        device_class="presence"),
    "homeassistant/event/replens/member_m3f9a0c21be_personal_record/config": member(
        "event", "personal_record", "Personal record", icon="mdi:trophy", event_types=["personal_record"],
        state_topic="replens/member/m3f9a0c21be/personal_record"),
    "homeassistant/sensor/replens/member_m3f9a0c21be_velocity_e1rm/config": member(
        "sensor", "velocity_e1rm", "Velocity e1RM", device_class="weight", state_class="measurement",
        unit_of_measurement="kg", icon="mdi:speedometer",
        value_template="{{ value_json.velocity_e1rm.velocity_e1rm_kg if value_json.velocity_e1rm else 'None' }}",
        json_attributes_topic="replens/member/m3f9a0c21be/state",
        json_attributes_template="{{ (value_json.velocity_e1rm or {}) | tojson }}"),
    "homeassistant/number/replens/member_m3f9a0c21be_body_weight/config": member(
        "number", "body_weight", "Body weight", device_class="weight", unit_of_measurement="kg", icon="mdi:human",
        value_template="{{ value_json.body_weight_kg if value_json.body_weight_kg is not none else 'None' }}",
        command_topic="replens/hub/body_weight", min=20.0, max=2000.0, step=0.1, mode="box",
        command_template='{"schema":1,"member":"m3f9a0c21be","kg":{{ value }},"by":"homeassistant"}'),
}


def test_station_discovery_topics_and_payloads() -> None:
    assert station_configs(CTX, "rack_1", "bench", ["Bob", "ann lee"]) == EXPECTED_STATION


def test_member_discovery_topics_and_payloads() -> None:
    assert member_configs(CTX, "m3f9a0c21be", "Ann Lee") == EXPECTED_MEMBER


def test_payloads_are_sorted_compact_json() -> None:
    configs = all_configs(CTX, {"rack_1": ["bench"]}, {"m3f9a0c21be": "Ann Lee"}, "component")
    for topic, payload in configs.items():
        parsed = json.loads(payload)
        assert payload == json.dumps(parsed, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
        assert topic.endswith("/config") and parsed["unique_id"].startswith("replens_")
    reps = "homeassistant/sensor/replens/rack_1_bench_reps/config"
    assert configs[reps] == encode(EXPECTED_STATION[reps])
    assert len(configs) == 1 + 3 + 13 + 10  # hub status, agent diagnostics, station, member
    diagnostics = [json.loads(p) for t, p in configs.items() if "/rack_1_fps/" in t]
    assert diagnostics[0]["entity_category"] == "diagnostic" and diagnostics[0]["enabled_by_default"] is False


def test_unique_ids_never_contain_names() -> None:
    configs = all_configs(CTX, {}, {"m3f9a0c21be": "Ann Lee"}, "component")
    assert not [t for t in configs if "ann" in t.lower()]
    assert all("Ann" not in json.loads(p)["unique_id"] for p in configs.values())


@pytest.mark.parametrize(("prefix", "node"), [("replens", "replens"), ("gym/replens", "gym_replens")])
def test_node_id_is_the_topic_safe_mqtt_prefix(prefix: str, node: str) -> None:
    assert DiscoveryContext(Topics(prefix)).node_id == node


def test_command_payloads_are_valid_contract_messages() -> None:
    switch = EXPECTED_STATION["homeassistant/switch/replens/rack_1_bench_counting/config"]
    assert StationCommand.model_validate_json(str(switch["payload_off"])).command is StationCommandKind.PAUSE
    select = EXPECTED_STATION["homeassistant/select/replens/rack_1_bench_last_set_member/config"]
    rendered = str(select["command_template"]).replace("{{ value | tojson }}", json.dumps('Ann "the rock" Lee'))
    assert ClaimLastCommand.model_validate_json(rendered).member == 'Ann "the rock" Lee'


def test_the_load_number_sends_a_set_load_command_in_kg() -> None:
    number = EXPECTED_STATION["homeassistant/number/replens/rack_1_bench_load/config"]
    command = StationCommand.model_validate_json(str(number["command_template"]).replace("{{ value }}", "102.5"))
    assert (command.station, command.command, command.load_kg, command.by) == (
        "bench", StationCommandKind.SET_LOAD, 102.5, "homeassistant")


def test_the_correction_numbers_send_edits_of_the_last_sets_load_and_reps() -> None:
    rendered = {key: str(EXPECTED_STATION[f"homeassistant/number/replens/rack_1_bench_{key}/config"][
        "command_template"]).replace("{{ now().timestamp() }}", "1764158400.5") for key in ("correct_load",
                                                                                         "correct_reps")}
    load = EditLastCommand.model_validate_json(rendered["correct_load"].replace("{{ value | float }}", "82.5"))
    reps = EditLastCommand.model_validate_json(rendered["correct_reps"].replace("{{ value | int }}", "8"))
    assert (load.weight_kg, load.reps, load.exercise, load.edit_id) == (82.5, None, None, "ha.1764158400.5")
    assert (reps.reps, reps.weight_kg, reps.station) == (8, None, "bench")


def test_a_station_in_pounds_shows_and_takes_its_loads_in_pounds() -> None:
    configs = {t.split("/")[3]: json.loads(p) for t, p in all_configs(
        CTX, {"rack_1": ["bench"]}, {}, "component", pounds={("rack_1", "bench")}).items()}
    load, correct, weight = configs["rack_1_bench_load"], configs["rack_1_bench_correct_load"], configs[
        "rack_1_bench_last_set_weight"]
    assert {load["unit_of_measurement"], correct["unit_of_measurement"], weight["unit_of_measurement"]} == {"lb"}
    assert load["max"] == 4409.2 and load["step"] == 0.5
    command = StationCommand.model_validate_json(load["command_template"].replace("{{ value }}", "225"))
    assert (command.load, command.unit, command.load_kg) == (225, "lb", 102.058)
    assert weight["value_template"] == ("{{ ((value_json.weight_kg / 0.45359237) | round(1)) if value_json.weight_kg "
                                        "is not none else 'None' }}")
    assert '"weight_kg":{{ ((value | float) * 0.45359237) | round(3) }}' in correct["command_template"]
    assert configs["rack_1_bench_correct_reps"] == json.loads(encode(
        EXPECTED_STATION["homeassistant/number/replens/rack_1_bench_correct_reps/config"]))  # reps are reps


def test_a_member_in_pounds_sees_and_sets_their_loads_in_pounds() -> None:
    """Their state keeps kg; the discovery config converts (from_kg's 0.1 lb) and names lb, only for loads."""
    configs = {t.split("/")[3]: json.loads(p) for t, p in all_configs(
        CTX, {}, {"m3f9a0c21be": "Ann Lee", "m1": "Bo"}, "component", member_pounds={"m3f9a0c21be"}).items()}
    key = "member_m3f9a0c21be_"
    volume, body, e1rm = configs[key + "volume_today"], configs[key + "body_weight"], configs[key + "velocity_e1rm"]
    assert (volume["unit_of_measurement"], body["unit_of_measurement"], e1rm["unit_of_measurement"]) == ("lb",) * 3
    assert volume["value_template"] == ("{{ ((value_json.volume_today_kg / 0.45359237) | round(1)) if "
                                        "value_json.volume_today_kg is not none else 'None' }}")
    assert e1rm["value_template"] == (
        "{{ ((value_json.velocity_e1rm.velocity_e1rm_kg / 0.45359237) | round(1)) if value_json.velocity_e1rm and "
        "value_json.velocity_e1rm.velocity_e1rm_kg is not none else 'None' }}")
    assert (body["min"], body["max"], body["step"]) == (44.1, 4409.2, 0.1)  # 20 kg to 2000 kg
    command = BodyWeightCommand.model_validate_json(body["command_template"].replace(
        "{{ ((value | float) * 0.45359237) | round(3) }}", "80.014"))  # what Home Assistant makes of 176.4 lb
    assert (command.member, command.kg) == ("m3f9a0c21be", 80.014)
    converted = {key + k for k in MEMBER_KG}
    unchanged = {k: v for k, v in configs.items() if k.startswith(key) and k not in converted}
    assert unchanged == {t.split("/")[3]: v for t, v in EXPECTED_MEMBER.items() if t.split("/")[3] not in converted}
    assert all(c["unit_of_measurement"] == "kg" for k, c in configs.items() if k.removeprefix("member_m1_")
               in MEMBER_KG)  # Bo kept kg


def test_every_member_entity_in_kg_follows_the_members_unit() -> None:
    """A member entity added in kg later must be converted too, or a member in lb would read kg labelled lb."""
    assert {d.key for d in MEMBER_ENTITIES if d.unit == "kg"} == set(MEMBER_KG)


def test_the_correction_select_sends_an_edit_of_the_last_set_with_a_fresh_id() -> None:
    select = EXPECTED_STATION["homeassistant/select/replens/rack_1_bench_correct_exercise/config"]
    rendered = str(select["command_template"]).replace("{{ value | tojson }}", json.dumps("lunge")).replace(
        "{{ now().timestamp() }}", "1764158400.123456")  # what Home Assistant's template engine makes of it
    command = EditLastCommand.model_validate_json(rendered)
    assert (command.edit_id, command.agent_id, command.station, command.exercise, command.by) == (
        "ha.1764158400.123456", "rack_1", "bench", Exercise.LUNGE, "homeassistant")


def test_a_station_that_says_which_exercises_it_hosts_offers_those() -> None:
    hosted = {("rack_1", "bench"): ["squat", "lunge"]}
    configs = all_configs(CTX, {"rack_1": ["bench", "squat"]}, {}, "component", hosted)
    options = {t.split("/")[3]: json.loads(p)["options"] for t, p in configs.items() if "correct_exercise" in t}
    assert options == {"rack_1_bench_correct_exercise": ["squat", "lunge"],
                       "rack_1_squat_correct_exercise": [e.value for e in Exercise if e is not Exercise.AUTO]}


def test_only_a_station_with_a_velocity_loss_target_has_the_velocity_loss_event() -> None:
    cueing = {("rack_1", "bench")}
    configs = all_configs(CTX, {"rack_1": ["bench", "squat"]}, {}, "component", cueing=cueing)
    events = {t for t in configs if t.startswith("homeassistant/event/")}
    assert events == {"homeassistant/event/replens/rack_1_bench_set_completed/config",
                      "homeassistant/event/replens/rack_1_squat_set_completed/config",
                      "homeassistant/event/replens/rack_1_bench_velocity_loss_reached/config"}
    assert json.loads(configs["homeassistant/event/replens/rack_1_bench_velocity_loss_reached/config"]) == station(
        "event", "velocity_loss_reached", "Bench velocity loss reached",
        state_topic="replens/station/rack_1/bench/velocity_loss", event_types=["velocity_loss_reached"],
        icon="mdi:speedometer-slow")
    without = all_configs(CTX, {"rack_1": ["bench", "squat"]}, {}, "component")
    assert set(configs) - set(without) == {"homeassistant/event/replens/rack_1_bench_velocity_loss_reached/config"}
    device = json.loads(all_configs(CTX, {"rack_1": ["bench"]}, {}, cueing=cueing)[
        "homeassistant/device/replens/agent_rack_1/config"])
    assert device["cmps"]["rack_1_bench_velocity_loss_reached"]["p"] == "event"


EXPECTED_HUB_DEVICE = {
    "dev": {"identifiers": ["replens_hub"], "manufacturer": "RepLens", "model": "Hub", "name": "RepLens hub",
            "sw_version": "1.2.3"},
    "o": ORIGIN,
    "cmps": {
        "hub_status": {
            "p": "binary_sensor", "unique_id": "replens_hub_status", "object_id": "replens_hub_status",
            "default_entity_id": "binary_sensor.replens_hub_status", "name": "Status", "qos": 1,
            "state_topic": "replens/hub/available", "value_template": "{{ 'ON' if value == 'online' else 'OFF' }}",
            "device_class": "connectivity",
        },
    },
}


def as_component(topic: str, payload: dict[str, object]) -> tuple[str, dict[str, object]]:
    """A per-component config as it sits under ``cmps``: its key, and its payload with ``p``, without dev and o."""
    _, platform, _, key, _ = topic.split("/")
    return key, {"p": platform} | {k: v for k, v in payload.items() if k not in ("device", "origin")}


def test_device_discovery_topics_and_payloads() -> None:
    configs = all_configs(CTX, {"rack_1": ["bench"]}, {"m3f9a0c21be": "Ann Lee"})
    devices = ("hub", "agent_rack_1", "member_m3f9a0c21be")
    hub, agent, member = (f"homeassistant/device/replens/{d}/config" for d in devices)
    assert list(configs) == [hub, agent, member]
    assert json.loads(configs[hub]) == EXPECTED_HUB_DEVICE
    assert configs[hub].startswith(b'{"cmps":{"hub_status":{"default_entity_id":"binary_sensor.replens_hub_status"')
    cmps = dict(as_component(t, p) for t, p in EXPECTED_MEMBER.items())
    assert json.loads(configs[member]) == {"dev": MEMBER_DEVICE, "o": ORIGIN, "cmps": cmps}
    # The select's options are the members' names, as in EXPECTED_STATION.
    configs = all_configs(CTX, {"rack_1": ["bench"]}, {"m1": "Bob", "m2": "ann lee"})
    parsed = json.loads(configs[agent])
    assert parsed["dev"] == AGENT_DEVICE and parsed["o"] == ORIGIN and set(parsed) == {"dev", "o", "cmps"}
    station = {k: v for k, v in parsed["cmps"].items() if k.startswith("rack_1_bench_")}
    assert station == dict(as_component(t, p) for t, p in EXPECTED_STATION.items())
    assert set(parsed["cmps"]) - set(station) == {"rack_1_fps", "rack_1_latency", "rack_1_outbox_depth"}


def test_both_forms_carry_the_same_entities() -> None:
    """The hand-over between forms works only if each unique_id comes back with the same config and device."""
    stations, members = {"rack_1": ["bench", "squat"], "door": []}, {"m3f9a0c21be": "Ann Lee", "mfc86d29582": "Bo"}
    per_component = all_configs(CTX, stations, members, "component")
    per_device = [json.loads(p) for p in all_configs(CTX, stations, members, "device").values()]
    regrouped = {key: (component, device["dev"], device["o"])
                 for device in per_device for key, component in device["cmps"].items()}
    assert len(regrouped) == len(per_component) == sum(len(d["cmps"]) for d in per_device)
    for topic, payload in per_component.items():
        parsed = json.loads(payload)
        key, component = as_component(topic, parsed)
        assert regrouped[key] == (component, parsed["device"], parsed["origin"])


def test_default_entity_id_is_object_id_with_the_platform() -> None:
    """object_id is deprecated since Home Assistant 2025.10 and ignored from 2026.4; default_entity_id names
    the same entity id there, and carries the platform (sensor.replens_..., not replens_...)."""
    configs = all_configs(CTX, {"rack_1": ["bench"]}, {"m3f9a0c21be": "Ann Lee"}, "component")
    for topic, payload in configs.items():
        parsed = json.loads(payload)
        platform = topic.split("/")[1]
        assert parsed["default_entity_id"] == f"{platform}.{parsed['object_id']}" == f"{platform}.{parsed['unique_id']}"
    for payload in all_configs(CTX, {"rack_1": ["bench"]}, {"m3f9a0c21be": "Ann Lee"}).values():
        for component in json.loads(payload)["cmps"].values():
            assert component["default_entity_id"] == f"{component['p']}.{component['unique_id']}"


def test_a_device_config_removes_components_by_naming_only_their_platform() -> None:
    agent = all_configs(CTX, {"rack_1": ["bench"]}, {})["homeassistant/device/replens/agent_rack_1/config"]
    gone = {"rack_1_squat_reps": "sensor", "rack_1_squat_end_set": "button"}
    tombstoned = json.loads(with_removed(agent, gone))
    assert tombstoned["cmps"]["rack_1_squat_reps"] == {"p": "sensor"}
    assert tombstoned["cmps"]["rack_1_squat_end_set"] == {"p": "button"}
    assert {k: v for k, v in tombstoned["cmps"].items() if k not in gone} == json.loads(agent)["cmps"]
    assert device_components(with_removed(agent, gone)) == device_components(agent) | gone
    assert device_components(agent)["rack_1_bench_counting"] == "switch"
