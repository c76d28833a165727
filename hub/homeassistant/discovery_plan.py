"""Which discovery messages the hub sends, and in what order: a pure function of what it published before.

Besides new and changed configs and the removal of configs no longer wanted, it hands entities over
between the two topic forms (``homeassistant.discovery_format``) with Home Assistant's documented
``migrate_discovery`` handshake: ``{"migrate_discovery": true}`` on the old config topics unloads their
entities but keeps their registry entries (entity ids, user settings, history); the new configs then
load the same unique_ids; finally the old topics are emptied. A plain empty payload instead would delete
the entities, and a new config published while the old one is still loaded is ignored as a duplicate.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from replens.integrations.homeassistant.discovery import device_components, with_removed

MIGRATE = b'{"migrate_discovery":true}'


def digest(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()


@dataclass(frozen=True, slots=True)
class Published:
    """What the hub last left retained: topic → sha256 of its payload, and each device config's components."""

    hashes: dict[str, str] = field(default_factory=dict)
    components: dict[str, dict[str, str]] = field(default_factory=dict)
    """Device topic → component key → platform (a device config must name a component to remove it)."""

    @classmethod
    def of(cls, configs: Mapping[str, bytes], is_device_topic: Callable[[str], bool]) -> Published:
        return cls({t: digest(p) for t, p in configs.items()},
                   {t: device_components(p) for t, p in configs.items() if is_device_topic(t)})

    def merged(self, other: Published) -> Published:
        """Both together: what may be on the broker while the hub goes from one to the other."""
        topics = self.components.keys() | other.components.keys()
        return Published({**self.hashes, **other.hashes},
                         {t: {**self.components.get(t, {}), **other.components.get(t, {})} for t in sorted(topics)})


@dataclass(frozen=True, slots=True)
class DiscoveryPlan:
    """Messages in the order they go out (all retained, QoS 1); pause between ``migrate`` and ``publish``."""

    removals: list[tuple[str, bytes]]
    """Device configs that also name the components they drop, so that Home Assistant removes those."""
    migrate: list[str]
    """Old-form topics whose entities move to the other form: each gets ``MIGRATE``."""
    publish: list[tuple[str, bytes]]
    """Wanted configs, new or changed (every one when forced)."""
    clear: list[str]
    """Topics no longer wanted (migrated ones included): each gets an empty payload."""


def plan(published: Published, wanted: Mapping[str, bytes], other_form: Mapping[str, bytes], *,
         force: bool) -> DiscoveryPlan:
    """From ``published`` to ``wanted``; ``other_form`` is the same entities in the other topic form.

    A stale topic that ``other_form`` still has holds entities that live on in ``wanted``: it is handed
    over. Any other stale topic holds entities that are gone: it is simply emptied.
    """
    stale = sorted(published.hashes.keys() - wanted.keys())
    migrate = [t for t in stale if t in other_form]
    removals: list[tuple[str, bytes]] = []
    # Device configs handed over: bring them up to date first, or migrate_discovery would leave their
    # dropped components unloaded but registered (orphans). Device configs kept: name what they drop.
    for topic, payload in [*((t, other_form[t]) for t in migrate), *wanted.items()]:
        if topic not in published.components:
            continue
        dropped = {k: p for k, p in published.components[topic].items() if k not in device_components(payload)}
        if dropped:
            removals.append((topic, with_removed(payload, dropped)))
    publish = [(t, p) for t, p in wanted.items() if force or published.hashes.get(t) != digest(p)]
    return DiscoveryPlan(removals, migrate, publish, stale)
