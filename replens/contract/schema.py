"""JSON Schema of every payload, exported to docs/ so non-Python clients can validate."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from replens.contract import body, edits, events, records, velocity, views
from replens.contract.batch import EventBatch

PAYLOADS: dict[str, type[BaseModel]] = {
    "sets": events.SetEvent,
    "reps": events.RepEvent,
    "stats": events.Stats,
    "agent_state": events.AgentState,
    "agent_ack": events.Ack,
    "visits": events.VisitEvent,
    "agent_batch": EventBatch,
    "hub_claim": events.ClaimCommand,
    "hub_edit": edits.SetEdit,
    "hub_edit_last": edits.EditLastCommand,
    "hub_body_weight": body.BodyWeightCommand,
    "hub_sets": events.SetAttribution,
    "hub_presence": events.Presence,
    "agent_command": views.StationCommand,
    "agent_stats": events.Stats,
    "hub_claim_last": views.ClaimLastCommand,
    "station_last_set": views.LastSet,
    "station_set_completed": views.SetCompleted,
    "member_state": views.MemberState,
    "member_personal_record": records.PersonalRecordEvent,
    "agent_enrol": views.EnrolCommand,
    "agent_enrol_result": views.EnrolResult,
    "agent_velocity_loss": velocity.VelocityLossReached,
    "station_velocity_loss": velocity.VelocityLossReached,
}


def contract_schema() -> dict[str, Any]:
    """One document with a definition per topic kind."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "RepLens MQTT contract, schema 1",
        "description": "Payloads by topic: <prefix>/sets, /reps, /stats, /visits, /agent/<id>/state, /agent/<id>/ack, "
        "/agent/<id>/batch, "
        "/hub/claim, /hub/edit, /hub/edit_last, /hub/body_weight, /hub/sets, /hub/presence, /agent/<id>/command, "
        "/agent/<id>/stats, "
        "/hub/claim_last, "
        "/agent/<id>/velocity_loss, "
        "/station/<agent>/<station>/last_set, /set_completed and /velocity_loss, "
        "/member/<id>/state and /personal_record.",
        "topics": {name: model.model_json_schema(by_alias=True) for name, model in PAYLOADS.items()},
    }


def write_schema(path: Path) -> None:
    path.write_text(json.dumps(contract_schema(), indent=2, sort_keys=True) + "\n")
