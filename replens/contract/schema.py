"""JSON Schema of every payload, exported to docs/ so non-Python clients can validate."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from replens.contract.batch import EventBatch
from replens.contract.events import (
    Ack,
    AgentState,
    ClaimCommand,
    Presence,
    RepEvent,
    SetAttribution,
    SetEvent,
    Stats,
    VisitEvent,
)
from replens.contract.views import (
    ClaimLastCommand,
    EnrolCommand,
    EnrolResult,
    LastSet,
    MemberState,
    SetCompleted,
    StationCommand,
)

PAYLOADS: dict[str, type[BaseModel]] = {
    "sets": SetEvent,
    "reps": RepEvent,
    "stats": Stats,
    "agent_state": AgentState,
    "agent_ack": Ack,
    "visits": VisitEvent,
    "agent_batch": EventBatch,
    "hub_claim": ClaimCommand,
    "hub_sets": SetAttribution,
    "hub_presence": Presence,
    "agent_command": StationCommand,
    "agent_stats": Stats,
    "hub_claim_last": ClaimLastCommand,
    "station_last_set": LastSet,
    "station_set_completed": SetCompleted,
    "member_state": MemberState,
    "agent_enrol": EnrolCommand,
    "agent_enrol_result": EnrolResult,
}


def contract_schema() -> dict[str, Any]:
    """One document with a definition per topic kind."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "RepLens MQTT contract, schema 1",
        "description": "Payloads by topic: <prefix>/sets, /reps, /stats, /visits, /agent/<id>/state, /agent/<id>/ack, "
        "/agent/<id>/batch, "
        "/hub/claim, /hub/sets, /hub/presence, /agent/<id>/command, /agent/<id>/stats, /hub/claim_last, "
        "/station/<agent>/<station>/last_set and /set_completed, /member/<id>/state.",
        "topics": {name: model.model_json_schema(by_alias=True) for name, model in PAYLOADS.items()},
    }


def write_schema(path: Path) -> None:
    path.write_text(json.dumps(contract_schema(), indent=2, sort_keys=True) + "\n")
