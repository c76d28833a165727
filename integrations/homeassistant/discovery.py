"""Home Assistant MQTT discovery payloads, built by pure functions from the entity descriptions.

Two topic forms, both with ``node_id`` (the RepLens MQTT prefix, made topic-safe) as their third level, so
the configs of one RepLens install can be told from another's on a shared broker, and
``<discovery_prefix>/+/<node_id>/+/config`` matches every config of one install:

- ``device`` (Home Assistant 2024.11 and later): ``<discovery_prefix>/device/<node_id>/<device>/config``,
  one per device (``hub``, ``agent_<id>``, ``member_<id>``) with ``dev``, ``o`` and ``cmps``: one
  component per entity, keyed by its ``key`` and naming its platform in ``p``.
- ``component``: ``<discovery_prefix>/<platform>/<node_id>/<key>/config``, one per entity, which every
  version understands.

An entity's ``key`` is its unique_id without ``replens_``. Both forms carry the same entity payloads, with
``object_id`` and ``default_entity_id`` side by side: Home Assistant up to 2026.3 names the entity after
``object_id`` (from 2025.10 it prefers ``default_entity_id`` when both are set), and 2026.4 dropped
``object_id``, so only ``default_entity_id`` keeps the entity ids of docs/homeassistant.md there.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from replens.config.homeassistant import DiscoveryFormat
from replens.contract import Topics
from replens.integrations.homeassistant.commands import (
    ALL_EXERCISES,
    body_weight_payload,
    command_payload,
    in_pounds,
    member_in_pounds,
)
from replens.integrations.homeassistant.entities import (
    AGENT_ENTITIES,
    HUB_ENTITIES,
    MEMBER_ENTITIES,
    STATION,
    STATION_ENTITIES,
    VELOCITY_LOSS_ENTITY,
    Command,
    EntityDescription,
    Platform,
    Source,
)

MANUFACTURER = "RepLens"
HUB_DEVICE = "replens_hub"
ONLINE_ONLY = "{{ 'online' if value == 'online' else 'offline' }}"
"""Availability topics also carry ``stopped`` (clean exit): anything but online reads as offline."""

DEVICE_LEVEL = "device"
"""The ``<component>`` level of device-based discovery topics."""

Payload = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Component:
    """One entity's config as per-component discovery sends it (``device`` and ``origin`` included)."""

    platform: Platform
    key: str
    """``rack_1_bench_reps``: the last level of its per-component topic, its key in its device's ``cmps``."""
    payload: Payload


@dataclass(frozen=True, slots=True)
class Device:
    """The entities of one Home Assistant device; ``key`` (``agent_rack_1``) names its device topic."""

    key: str
    components: list[Component]


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

    def config_topic(self, platform: Platform, key: str) -> str:
        """Where per-component discovery puts one entity's config."""
        return f"{self.discovery_prefix}/{platform.value}/{self.node_id}/{key}/config"

    def device_topic(self, device_key: str) -> str:
        """Where device-based discovery puts one device's config."""
        return f"{self.discovery_prefix}/{DEVICE_LEVEL}/{self.node_id}/{device_key}/config"

    def is_device_topic(self, topic: str) -> bool:
        return topic.startswith(f"{self.discovery_prefix}/{DEVICE_LEVEL}/")

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
            state_topic: str | None, availability: list[Payload]) -> Component:
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
        payload["event_types"] = [desc.key]  # set_completed, personal_record, ...: the event_type its payload names
    return Component(desc.platform, unique_id.removeprefix("replens_"), payload)


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


def hub_components(ctx: DiscoveryContext) -> list[Component]:
    """The hub's device: its connection status (no availability: it is the availability)."""
    return [_entity(ctx, desc, unique_id=f"replens_hub_{desc.key}", name=_title(desc.name), device=hub_device(ctx),
                    state_topic=ctx.topics.hub_available, availability=[]) for desc in HUB_ENTITIES]


def agent_components(ctx: DiscoveryContext, agent_id: str) -> list[Component]:
    """Diagnostics of one camera agent (fps, latency, outbox depth), disabled by default."""
    return [_entity(ctx, desc, unique_id=f"replens_{agent_id}_{desc.key}", name=_title(desc.name),
                    device=agent_device(ctx, agent_id), state_topic=ctx.topics.agent_stats(agent_id),
                    availability=ctx.availability(agent_id)) for desc in AGENT_ENTITIES]


def station_components(ctx: DiscoveryContext, agent_id: str, station: str, member_names: list[str],
                       exercises: Sequence[str] = ALL_EXERCISES, *, pounds: bool = False,
                       cueing: bool = False) -> list[Component]:
    """Every entity of one station, on its agent's device.

    ``member_names`` are the claim select's options, ``exercises`` the correction select's; ``pounds``: the
    station's ``units`` are lb, so its load entities show and take pounds; ``cueing``: the station has a
    velocity-loss target, so it also has the velocity_loss_reached event.
    """
    state_topics = {
        Source.AGENT_STATE: ctx.topics.agent_state(agent_id),
        Source.LAST_SET: ctx.topics.station_last_set(agent_id, station),
        Source.SET_COMPLETED: ctx.topics.station_set_completed(agent_id, station),
        Source.VELOCITY_LOSS: ctx.topics.station_velocity_loss(agent_id, station),
    }
    label = _title(station.replace("_", " "))
    components: list[Component] = []
    for desc in (*STATION_ENTITIES, *((VELOCITY_LOSS_ENTITY,) if cueing else ())):
        state_topic = state_topics[desc.source] if desc.source is not None else None
        component = _entity(ctx, desc, unique_id=f"replens_{agent_id}_{station}_{desc.key}",
                            name=f"{label} {desc.name}", device=agent_device(ctx, agent_id),
                            state_topic=state_topic, availability=ctx.availability(agent_id))
        if desc.command is not None:
            options = exercises if desc.command is Command.EDIT_LAST else member_names
            component.payload.update(command_payload(ctx.topics, desc.command, agent_id, station, options))
        _substitute(component.payload, station)
        if pounds:
            component = Component(component.platform, component.key, in_pounds(desc.key, station, component.payload))
        components.append(component)
    return components


def member_components(ctx: DiscoveryContext, member_id: str, name: str, *, pounds: bool = False) -> list[Component]:
    """One member's device; depends on the hub only (members are not tied to a camera).

    ``pounds``: the member's unit is lb, so their load entities show (and their body weight takes) pounds.
    """
    topics = {Source.MEMBER_STATE: ctx.topics.member_state(member_id),
              Source.PERSONAL_RECORD: ctx.topics.member_personal_record(member_id)}
    components = [_entity(ctx, desc, unique_id=f"replens_member_{member_id}_{desc.key}", name=_title(desc.name),
                          device=member_device(ctx, member_id, name),
                          state_topic=topics[desc.source or Source.MEMBER_STATE],
                          availability=ctx.availability(None)) for desc in MEMBER_ENTITIES]
    for desc, component in zip(MEMBER_ENTITIES, components, strict=True):
        if desc.command is Command.BODY_WEIGHT:
            component.payload.update(body_weight_payload(ctx.topics, member_id))
    if pounds:
        components = [Component(c.platform, c.key, member_in_pounds(d.key, c.payload))
                      for d, c in zip(MEMBER_ENTITIES, components, strict=True)]
    return components


Hosted = Mapping[tuple[str, str], Sequence[str]]
"""(agent id, station id) → the exercises the station hosts, where the hub knows them."""
Pounds = Collection[tuple[str, str]]
"""(agent id, station id) of the stations whose ``units`` are lb (their agents' retained state says so)."""
MembersInPounds = Collection[str]
"""The ids of the members whose unit is lb (the journal's ``member_settings``)."""
Cueing = Collection[tuple[str, str]]
"""(agent id, station id) of the stations with a velocity-loss target (their agents' retained state says so)."""


def devices(ctx: DiscoveryContext, stations: Mapping[str, list[str]], members: Mapping[str, str],
            hosted: Hosted | None = None, pounds: Pounds = (), *,
            member_pounds: MembersInPounds = (), cueing: Cueing = ()) -> list[Device]:
    """Every device RepLens shows now: the hub, each agent with its stations, each member.

    ``stations``: agent id → its station ids; ``members``: member id → name; ``hosted``: the exercises of
    the stations that say which they host (the others offer every exercise to correct a set to).
    """
    names = list(members.values())
    found = [Device("hub", hub_components(ctx))]
    for agent_id, station_ids in sorted(stations.items()):
        components = agent_components(ctx, agent_id)
        for station in sorted(station_ids):
            exercises = (hosted or {}).get((agent_id, station)) or ALL_EXERCISES
            components += station_components(ctx, agent_id, station, names, exercises,
                                             pounds=(agent_id, station) in pounds, cueing=(agent_id, station) in cueing)
        found.append(Device(f"agent_{agent_id}", components))
    found += [Device(f"member_{member_id}", member_components(ctx, member_id, name, pounds=member_id in member_pounds))
              for member_id, name in sorted(members.items())]
    return found


def component_configs(ctx: DiscoveryContext, components: list[Component]) -> dict[str, Payload]:
    """Per-component discovery: topic → one entity's config."""
    return {ctx.config_topic(c.platform, c.key): c.payload for c in components}


def device_config(device: Device) -> Payload:
    """Device-based discovery: the device and origin once (``dev``, ``o``), each entity under ``cmps``."""
    first = device.components[0].payload
    components = {c.key: {"p": c.platform.value} | {k: v for k, v in c.payload.items() if k not in ("device", "origin")}
                  for c in device.components}
    return {"dev": first["device"], "o": first["origin"], "cmps": components}


def hub_configs(ctx: DiscoveryContext) -> dict[str, Payload]:
    return component_configs(ctx, hub_components(ctx))


def agent_configs(ctx: DiscoveryContext, agent_id: str) -> dict[str, Payload]:
    return component_configs(ctx, agent_components(ctx, agent_id))


def station_configs(ctx: DiscoveryContext, agent_id: str, station: str, member_names: list[str],
                    exercises: Sequence[str] = ALL_EXERCISES) -> dict[str, Payload]:
    return component_configs(ctx, station_components(ctx, agent_id, station, member_names, exercises))


def member_configs(ctx: DiscoveryContext, member_id: str, name: str) -> dict[str, Payload]:
    return component_configs(ctx, member_components(ctx, member_id, name))


def all_configs(ctx: DiscoveryContext, stations: Mapping[str, list[str]], members: Mapping[str, str],
                discovery_format: DiscoveryFormat = "device", hosted: Hosted | None = None, *,
                pounds: Pounds = (), member_pounds: MembersInPounds = (), cueing: Cueing = ()) -> dict[str, bytes]:
    """Every config RepLens wants retained now, in one topic form: topic → payload bytes.

    ``stations``: agent id → its station ids; ``members``: member id → name; ``hosted``: see :func:`devices`;
    ``pounds``, ``member_pounds``: the stations and members whose loads are shown in lb; ``cueing``: the
    stations with a velocity-loss target.
    """
    found = devices(ctx, stations, members, hosted, pounds, member_pounds=member_pounds, cueing=cueing)
    if discovery_format == "device":
        return {ctx.device_topic(d.key): encode(device_config(d)) for d in found}
    return {topic: encode(payload) for d in found for topic, payload in component_configs(ctx, d.components).items()}


def device_components(payload: bytes) -> dict[str, str]:
    """A device config's component keys → their platforms (what removing one from it needs)."""
    return {key: str(component["p"]) for key, component in json.loads(payload)["cmps"].items()}


def with_removed(payload: bytes, removed: Mapping[str, str]) -> bytes:
    """A device config that also removes components (key → platform) it held before.

    Home Assistant keeps a component left out of an updated device config; one that has nothing but its
    platform (``{"p": "sensor"}``) is removed, entity registry entry included.
    """
    config = json.loads(payload)
    config["cmps"] = {key: {"p": platform} for key, platform in removed.items()} | config["cmps"]
    return encode(config)
