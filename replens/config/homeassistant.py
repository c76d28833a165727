"""``homeassistant:`` MQTT discovery for Home Assistant, published by the hub."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from replens.config.base import StrictModel


def _topic_level_free(value: str) -> str:
    if not value or any(c in value for c in "+#\0") or value.startswith("/") or value.endswith("/"):
        raise ValueError(f"{value!r} must be a non-empty MQTT topic without '+', '#' or a leading or trailing '/'")
    return value


DiscoveryFormat = Literal["device", "component"]
"""``device``: one config per device (Home Assistant 2024.11 and later); ``component``: one per entity."""


class HomeAssistantConfig(StrictModel):
    """Devices and entities for Home Assistant's MQTT integration: agents, their stations, members, the hub."""

    discovery: bool = Field(
        default=True,
        description="Publish MQTT discovery configs (retained). Turning it off removes the ones published before.",
    )
    discovery_prefix: str = Field(
        default="homeassistant", description="Home Assistant's MQTT discovery prefix (its default is homeassistant)."
    )
    discovery_format: DiscoveryFormat = Field(
        default="device",
        description="'device' publishes one config per device (<prefix>/device/<node>/<device>/config, "
        "Home Assistant 2024.11 and later); 'component' one per entity, which every version understands. "
        "Changing it hands the entities over with Home Assistant's migrate_discovery handshake: same entity "
        "ids, settings and history.",
    )
    migration_pause_s: float = Field(
        default=3.0,
        ge=0,
        le=60,
        description="After a discovery_format change, how long to give Home Assistant to let go of the old "
        "configs (migrate_discovery) before the new ones go out. Too short for a busy Home Assistant and it "
        "ignores a new config whose unique_id it still holds; longer only delays the switch.",
    )
    status_topic: str = Field(
        default="homeassistant/status",
        description="Home Assistant's birth topic: on 'online' the hub publishes discovery again.",
    )
    republish_delay_max_s: float = Field(
        default=5.0,
        ge=0,
        le=60,
        description="Discovery goes out again after a random delay up to this long once Home Assistant comes "
        "online, so that many publishers do not all answer at once; 0 answers at once (tests).",
    )
    refresh_s: float = Field(
        default=30.0,
        gt=0,
        le=3600,
        description="How often member states are recomputed without an event (today's totals roll over at "
        "midnight, presence times out). Events (sets, claims, visits) update them at once.",
    )

    @field_validator("discovery_prefix", "status_topic")
    @classmethod
    def _valid_topic(cls, value: str) -> str:
        return _topic_level_free(value)
