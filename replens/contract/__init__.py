"""The MQTT contract between agents, hub and integrations: topics, payloads, JSON Schema."""

from replens.contract.codec import decode, decode_ack, decode_incoming
from replens.contract.events import (
    SCHEMA_VERSION,
    Ack,
    AgentState,
    Availability,
    RepEvent,
    RepSummary,
    SetEvent,
    SetPhase,
    StationState,
    Stats,
    utc_from_unix,
)
from replens.contract.exercises import Exercise
from replens.contract.topics import DEFAULT_PREFIX, Topics

__all__ = [
    "DEFAULT_PREFIX",
    "SCHEMA_VERSION",
    "Ack",
    "AgentState",
    "Availability",
    "Exercise",
    "RepEvent",
    "RepSummary",
    "SetEvent",
    "SetPhase",
    "StationState",
    "Stats",
    "Topics",
    "decode",
    "decode_ack",
    "decode_incoming",
    "utc_from_unix",
]
