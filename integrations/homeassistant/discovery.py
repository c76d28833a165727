"""Home Assistant MQTT discovery payloads, built by pure functions from the entity descriptions.

Per-component topics (``<discovery_prefix>/<component>/<node_id>/<object_id>/config``), which every
Home Assistant version understands. ``node_id`` is the RepLens MQTT prefix (made topic-safe), so the
configs of one RepLens install can be told from another's on a shared broker.

``object_id`` and ``default_entity_id`` go side by side: Home Assistant up to 2026.3 names the entity after
``object_id`` (from 2025.10 it prefers ``default_entity_id`` when both are set), and 2026.4 dropped
``object_id``, so only ``default_entity_id`` keeps the entity ids of docs/homeassistant.md there.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from replens.contract import ClaimLastCommand, StationCommand, StationCommandKind, Topics
from replens.integrations.homeassistant.entities import (
    AGENT_ENTITIES,
    HUB_ENTITIES,
    MEMBER_ENTITIES,
    NOBODY,
    STATION,
    STATION_ENTITIES,
    Command,
    EntityDescription,
    Platform,
    Source,
)

MANUFACTURER = "RepLens"
HUB_DEVICE = "replens_hub"
ONLINE_ONLY = "{{ 'online' if value == 'online' else 'offline' }}"
"""Availability topics also carry ``stopped`` (clean exit): anything but online reads as offline."""
BY = "homeassistant"

Payload = dict[str, Any]


@dataclass(frozen=True, slots=True)
class DiscoveryContext:
    """What every payload needs besides the entity: topics, where discovery goes, versions and links."""

    topics: Topics
    discovery_prefix: str = "homeassistant"
    sw_version: str = "0"
    support_url: str | None = None

    @property
    def node_id(self) -> str:
        return re.sub(r"[^a-zA-Z0-9_-]", "_", self.topics.prefix)

    def config_topic(self, platform: Platform, object_id: str) -> str:
        return f"{self.discovery_prefix}/{platform.value}/{self.node_id}/{object_id}/config"

    def origin(self) -> Payload:
        origin: Payload = {"name": MANUFACTURER, "sw_version": self.sw_version}
        if self.support_url:
            origin["support_url"] = self.support_url
        return origin

    def availability(self, agent_id: str | None) -> list[Payload]:
        topics = [self.topics.hub_available] + ([self.topics.agent_available(agent_id)] if agent_id else [])
        return [{"topic": t, "value_template": ONLINE_ONLY, "payload_available": "online",
                 "payload_not_available": "offline"} for t in topics]


def encode(payload: Mapping[str, Any]) -> bytes:
    """Sorted keys, compact: the same entity always gives the same bytes (so changes are easy to spot)."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _title(text: str) -> str:
    return text[:1].upper() + text[1:]


def _entity(ctx: DiscoveryContext, desc: EntityDescription, *, unique_id: str, name: str, device: Payload,
            state_topic: str | None, availability: list[Payload]) -> tuple[str, Payload]:
    """The parts every platform shares; commands are added by the caller."""
    payload: Payload = {
        "unique_id": unique_id,
        "object_id": unique_id,
        "default_entity_id": f"{desc.platform.value}.{unique_id}",
        "name": name,
        "device": device,
        "origin": ctx.origin(),
        "qos": 1,
    }
    if availability:
        payload.update(availability=availability, availability_mode="all")
    if state_topic is not None:
        payload["state_topic"] = state_topic
        if desc.value_template is not None:
            payload["value_template"] = desc.value_template
        if desc.attributes_template is not None:
            payload.update(json_attributes_topic=state_topic, json_attributes_template=desc.attributes_template)
    optional = {"device_class": desc.device_class, "state_class": desc.state_class,
                "unit_of_measurement": desc.unit, "icon": desc.icon}
    payload.update({k: v for k, v in optional.items() if v is not None})
    if desc.diagnostic:
        payload.update(entity_category="diagnostic", enabled_by_default=False)
    if desc.platform is Platform.EVENT:
        payload["event_types"] = ["set_completed"]
    object_id = unique_id.removeprefix("replens_")
    return ctx.config_topic(desc.platform, object_id), payload


def _substitute(payload: Payload, station: str) -> Payload:
    for key in ("value_template",):
        if key in payload:
            payload[key] = payload[key].replace(STATION, station)
    return payload


def hub_device(ctx: DiscoveryContext) -> Payload:
    return {"identifiers": [HUB_DEVICE], "manufacturer": MANUFACTURER, "model": "Hub", "name": "RepLens hub",
            "sw_version": ctx.sw_version}


def agent_device(ctx: DiscoveryContext, agent_id: str) -> Payload:
    return {"identifiers": [f"replens_agent_{agent_id}"], "manufacturer": MANUFACTURER, "model": "Camera agent",
            "name": f"RepLens {agent_id}", "sw_version": ctx.sw_version, "via_device": HUB_DEVICE}


def member_device(ctx: DiscoveryContext, member_id: str, name: str) -> Payload:
    return {"identifiers": [f"replens_member_{member_id}"], "manufacturer": MANUFACTURER, "model": "Member",
            "name": name, "sw_version": ctx.sw_version, "via_device": HUB_DEVICE}


def hub_configs(ctx: DiscoveryContext) -> dict[str, Payload]:
    """The hub's device: its connection status (no availability: it is the availability)."""
    configs: dict[str, Payload] = {}
    for desc in HUB_ENTITIES:
        topic, payload = _entity(ctx, desc, unique_id=f"replens_hub_{desc.key}", name=_title(desc.name),
                                 device=hub_device(ctx), state_topic=ctx.topics.hub_available, availability=[])
        configs[topic] = payload
    return configs


def agent_configs(ctx: DiscoveryContext, agent_id: str) -> dict[str, Payload]:
    """Diagnostics of one camera agent (fps, latency, outbox depth), disabled by default."""
    configs: dict[str, Payload] = {}
    for desc in AGENT_ENTITIES:
        topic, payload = _entity(ctx, desc, unique_id=f"replens_{agent_id}_{desc.key}", name=_title(desc.name),
                                 device=agent_device(ctx, agent_id), state_topic=ctx.topics.agent_stats(agent_id),
                                 availability=ctx.availability(agent_id))
        configs[topic] = payload
    return configs


def station_configs(ctx: DiscoveryContext, agent_id: str, station: str, member_names: list[str]) -> dict[str, Payload]:
    """Every entity of one station, on its agent's device; ``member_names`` are the claim select's options."""
    state_topics = {
        Source.AGENT_STATE: ctx.topics.agent_state(agent_id),
        Source.LAST_SET: ctx.topics.station_last_set(agent_id, station),
        Source.SET_COMPLETED: ctx.topics.station_set_completed(agent_id, station),
    }
    label = _title(station.replace("_", " "))
    configs: dict[str, Payload] = {}
    for desc in STATION_ENTITIES:
        state_topic = state_topics[desc.source] if desc.source is not None else None
        topic, payload = _entity(ctx, desc, unique_id=f"replens_{agent_id}_{station}_{desc.key}",
                                 name=f"{label} {desc.name}", device=agent_device(ctx, agent_id),
                                 state_topic=state_topic, availability=ctx.availability(agent_id))
        if desc.command is not None:
            payload.update(_command(ctx, desc.command, agent_id, station, member_names))
        configs[topic] = _substitute(payload, station)
    return configs


def _station_command(station: str, kind: StationCommandKind) -> str:
    return StationCommand(station=station, command=kind, by=BY).model_dump_json(by_alias=True)


def _command(ctx: DiscoveryContext, command: Command, agent_id: str, station: str,
             member_names: list[str]) -> Payload:
    if command is Command.COUNTING:
        return {"command_topic": ctx.topics.agent_command(agent_id), "state_on": "ON", "state_off": "OFF",
                "payload_on": _station_command(station, StationCommandKind.RESUME),
                "payload_off": _station_command(station, StationCommandKind.PAUSE)}
    if command is Command.END_SET:
        return {"command_topic": ctx.topics.agent_command(agent_id),
                "payload_press": _station_command(station, StationCommandKind.END_SET)}
    # The selected option goes into the JSON with tojson, so any name (quotes included) stays valid JSON.
    template = ClaimLastCommand(agent_id=agent_id, station=station, member="@member@", by=BY).model_dump_json(
        by_alias=True).replace('"@member@"', "{{ value | tojson }}")
    return {"command_topic": ctx.topics.claim_last, "command_template": template,
            "options": [*sorted(member_names, key=str.casefold), NOBODY]}


def member_configs(ctx: DiscoveryContext, member_id: str, name: str) -> dict[str, Payload]:
    """One member's device; depends on the hub only (members are not tied to a camera)."""
    configs: dict[str, Payload] = {}
    for desc in MEMBER_ENTITIES:
        topic, payload = _entity(ctx, desc, unique_id=f"replens_member_{member_id}_{desc.key}",
                                 name=_title(desc.name), device=member_device(ctx, member_id, name),
                                 state_topic=ctx.topics.member_state(member_id), availability=ctx.availability(None))
        configs[topic] = payload
    return configs


def all_configs(
    ctx: DiscoveryContext, stations: Mapping[str, list[str]], members: Mapping[str, str]
) -> dict[str, bytes]:
    """Every config RepLens wants retained now: topic → payload bytes.

    ``stations``: agent id → its station ids; ``members``: member id → name.
    """
    configs = hub_configs(ctx)
    names = list(members.values())
    for agent_id, station_ids in sorted(stations.items()):
        configs.update(agent_configs(ctx, agent_id))
        for station in sorted(station_ids):
            configs.update(station_configs(ctx, agent_id, station, names))
    for member_id, name in sorted(members.items()):
        configs.update(member_configs(ctx, member_id, name))
    return {topic: encode(payload) for topic, payload in configs.items()}
