"""Many events in one MQTT message: an agent's backlog costs the broker and the hub one packet, not one each.

Topic ``<prefix>/agent/<agent_id>/batch``. The payload is an ``EventBatch``: the envelope names the
agent once, and its ``sets``, ``reps`` and ``visits`` are the very payloads the agent would otherwise
have sent on the per-kind topics, so the agent builds it by joining bytes it already has. The hub checks
each event on its own: one bad event is rejected with its position, and the others are kept.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pydantic import Field, ValidationError

from replens.contract.events import EVENT_MODELS, SCHEMA_VERSION, Event, Id, RepEvent, SetEvent, VisitEvent, WireModel
from replens.contract.kinds import EventKind
from replens.contract.parsing import first_error, json_object
from replens.errors import ContractError


class EventBatch(WireModel):
    """Topic ``<prefix>/agent/<agent_id>/batch``: events of one agent; each keeps its own ``seq``."""

    agent_id: Id
    sets: list[SetEvent] = Field(default_factory=list, description="Set events, as on the ``sets`` topic.")
    reps: list[RepEvent] = Field(default_factory=list, description="Rep events, as on the ``reps`` topic.")
    visits: list[VisitEvent] = Field(default_factory=list, description="Visit events, as on the ``visits`` topic.")


def encode_batch(agent_id: str, items: Iterable[tuple[EventKind, bytes]]) -> bytes:
    """An ``EventBatch`` from (kind, payload) pairs; the payloads are joined, not parsed again."""
    by_kind: dict[EventKind, list[bytes]] = {kind: [] for kind in EventKind}
    for kind, payload in items:
        by_kind[kind].append(payload)
    head = b'{"schema":%d,"agent_id":%s' % (SCHEMA_VERSION, json.dumps(agent_id).encode())
    body = b"".join(b',"%s":[%s]' % (kind.encode(), b",".join(p)) for kind, p in by_kind.items() if p)
    return head + body + b"}"


@dataclass
class DecodedBatch:
    """The events of a batch that passed every check, in sequence order, and why the others did not."""

    events: list[Event] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)


def decode_batch(topic: str, agent_id: str, payload: bytes) -> DecodedBatch:
    """Parse a batch sent on ``agent_id``'s own topic.

    Raises ContractError when nothing in it can be trusted (not JSON, wrong schema, another agent's
    envelope); otherwise a bad event only costs itself.
    """
    try:
        batch = EventBatch.model_validate_json(payload)
    except ValidationError:
        return _decode_each(topic, agent_id, payload)
    if "schema_version" not in batch.model_fields_set:
        return _decode_each(topic, agent_id, payload)  # says which schema is missing, as for single events
    if batch.agent_id != agent_id:
        raise ContractError(f"{topic}: payload says agent {batch.agent_id!r}, the topic says {agent_id!r}")
    decoded = DecodedBatch()
    for kind in EventKind:
        for index, event in enumerate(getattr(batch, kind)):
            _keep(decoded, topic, f"{kind}[{index}]", event, agent_id)
    decoded.events.sort(key=lambda e: e.seq)
    return decoded


def _decode_each(topic: str, agent_id: str, payload: bytes) -> DecodedBatch:
    """The slow path, taken only when something is wrong: find out what, keep the good events."""
    raw = json_object(topic, payload)
    if raw.get("agent_id") != agent_id:
        raise ContractError(f"{topic}: payload says agent {raw.get('agent_id')!r}, the topic says {agent_id!r}")
    unknown = sorted(set(raw) - {"schema", "agent_id", *EventKind})
    if unknown:
        raise ContractError(f"{topic}: unknown keys {', '.join(map(repr, unknown))}")
    decoded = DecodedBatch()
    for kind in EventKind:
        items: Any = raw.get(kind, [])
        if not isinstance(items, list):
            decoded.rejected.append(f"{topic}: {kind}: expected a list, got {type(items).__name__}")
            continue
        for index, item in enumerate(items):
            where = f"{kind}[{index}]"
            try:
                event = EVENT_MODELS[kind].model_validate(item)
            except ValidationError as err:
                decoded.rejected.append(f"{topic}: {first_error(err, where, 'event')}")
                continue
            _keep(decoded, topic, where, event, agent_id)
    decoded.events.sort(key=lambda e: e.seq)
    return decoded


def _keep(decoded: DecodedBatch, topic: str, where: str, event: Event, agent_id: str) -> None:
    if event.agent_id == agent_id:
        decoded.events.append(event)
    else:
        decoded.rejected.append(f"{topic}: {where}: event says agent {event.agent_id!r}, the topic says {agent_id!r}")
