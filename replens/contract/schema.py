"""JSON Schema of every payload, exported to docs/ so non-Python clients can validate."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from replens.contract.events import Ack, AgentState, RepEvent, SetEvent, Stats

PAYLOADS: dict[str, type[BaseModel]] = {
    "sets": SetEvent,
    "reps": RepEvent,
    "stats": Stats,
    "agent_state": AgentState,
    "agent_ack": Ack,
}


def contract_schema() -> dict[str, Any]:
    """One document with a definition per topic kind."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "RepLens MQTT contract, schema 1",
        "description": "Payloads by topic: <prefix>/sets, /reps, /stats, /agent/<id>/state, /agent/<id>/ack.",
        "topics": {name: model.model_json_schema(by_alias=True) for name, model in PAYLOADS.items()},
    }


def write_schema(path: Path) -> None:
    path.write_text(json.dumps(contract_schema(), indent=2, sort_keys=True) + "\n")
