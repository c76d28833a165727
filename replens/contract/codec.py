"""Payload bytes ↔ wire models. Every failure is a ContractError naming the topic and the reason."""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel, ValidationError

from replens.contract.batch import DecodedBatch, decode_batch
from replens.contract.body import BodyWeightCommand
from replens.contract.edits import EditLastCommand, SetEdit
from replens.contract.events import (
    EVENT_MODELS,
    Ack,
    AgentState,
    Availability,
    ClaimCommand,
    Event,
    RepEvent,
    SetEvent,
    Stats,
    VisitEvent,
)
from replens.contract.parsing import first_error, json_object
from replens.contract.topics import Topics
from replens.contract.velocity import VelocityLossReached
from replens.contract.views import ClaimLastCommand
from replens.errors import ContractError

MAX_PAYLOAD_BYTES = 256 * 1024
"""Larger payloads are rejected before parsing: no legitimate event comes near this."""

M = TypeVar("M", bound=BaseModel)

Command = ClaimCommand | ClaimLastCommand | SetEdit | EditLastCommand | BodyWeightCommand
"""What people (the CLI's MQTT twin, Home Assistant) ask the hub to change."""
Recordable = Event | DecodedBatch | Command | Stats | AgentState | tuple[str, Availability]
"""What the hub records or applies."""
Incoming = Recordable | VelocityLossReached


def decode(model: type[M], topic: str, payload: bytes) -> M:
    """Parse one payload as ``model``; raise ContractError saying why it was rejected."""
    _check_size(topic, payload)
    try:
        # Fast path, one parse: a valid payload that names its schema as "schema" (the model checks the
        # value; a payload without it, or with the field's Python name, takes the checks below).
        item = model.model_validate_json(payload)
        if "schema_version" in item.model_fields_set and b'"schema_version"' not in payload:
            return item
    except ValidationError:
        pass  # parse again below, to say exactly what is wrong in the usual words
    raw = json_object(topic, payload)
    try:
        return model.model_validate(raw)
    except ValidationError as err:
        raise ContractError(f"{topic}: {first_error(err)}") from err


def _check_size(topic: str, payload: bytes) -> None:
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise ContractError(f"{topic}: payload of {len(payload)} bytes exceeds {MAX_PAYLOAD_BYTES}")


def decode_incoming(topics: Topics, topic: str, payload: bytes) -> Incoming:
    """Dispatch a message the hub subscribed to by its topic."""
    by_topic: dict[str, type[Event | Command | Stats]] = {
        topics.sets: SetEvent,
        topics.reps: RepEvent,
        topics.stats: Stats,
        topics.visits: VisitEvent,
        topics.claim: ClaimCommand,
        topics.claim_last: ClaimLastCommand,
        topics.edit: SetEdit,
        topics.edit_last: EditLastCommand,
        topics.body_weight: BodyWeightCommand,
    }
    model = by_topic.get(topic)
    if model is not None:
        return decode(model, topic, payload)
    agent_id = topics.agent_id_from(topic)
    if agent_id is not None and topic == topics.agent_batch(agent_id):
        _check_size(topic, payload)
        return decode_batch(topic, agent_id, payload)
    if agent_id is not None and topic.rsplit("/", 1)[1] in _AGENT_MODELS:
        return _from_agent(agent_id, topic, payload)
    if agent_id is not None and topic == topics.agent_available(agent_id):
        try:
            return agent_id, Availability(payload.decode())
        except (UnicodeDecodeError, ValueError) as err:
            raise ContractError(f"{topic}: availability must be online, offline or stopped") from err
    if agent_id is not None and topic == topics.agent_state(agent_id):
        if not payload:  # a cleared retained message
            raise ContractError(f"{topic}: empty state (retained message cleared)")
        state = decode(AgentState, topic, payload)
        if state.agent_id != agent_id:
            raise ContractError(f"{topic}: agent_id {state.agent_id!r} does not match the topic")
        return state
    raise ContractError(f"{topic}: not a RepLens topic")


FromAgent = Event | Stats | VelocityLossReached
_AGENT_MODELS: dict[str, type[FromAgent]] = {**{str(k): m for k, m in EVENT_MODELS.items()}, "stats": Stats,
                                             "velocity_loss": VelocityLossReached}


def _from_agent(agent_id: str, topic: str, payload: bytes) -> FromAgent:
    """An event on the agent's own topic must name that agent: the broker's ACL ties the topic to an account."""
    item = decode(_AGENT_MODELS[topic.rsplit("/", 1)[1]], topic, payload)
    claimed = item.id if isinstance(item, Stats) else item.agent_id
    if claimed != agent_id or (isinstance(item, Stats) and item.source != "agent"):
        raise ContractError(f"{topic}: payload says agent {claimed!r}, the topic says {agent_id!r}")
    return item


def decode_ack(topic: str, payload: bytes) -> Ack:
    return decode(Ack, topic, payload)
