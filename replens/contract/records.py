"""Personal records on the wire: what kind of record a set set, announced for Home Assistant's event entity."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import AwareDatetime, Field

from replens.contract.events import Id, SetId, WeightKg, WireModel
from replens.contract.exercises import Exercise


class RecordKind(StrEnum):
    """What a personal record beats, per member and exercise."""

    HEAVIEST_LOAD = "heaviest_load"
    MOST_REPS_AT_LOAD = "most_reps_at_load"
    BEST_E1RM = "best_e1rm"


class PersonalRecordEvent(WireModel):
    """Topic ``<prefix>/member/<member_id>/personal_record``, not retained: a set beat the member's best.

    Shaped for Home Assistant's MQTT event entity (``event_type`` plus attributes). ``value`` is kg for loads
    and e1RM, a count for reps; ``previous`` is the best before (null: the member's first such set).
    """

    event_type: Literal["personal_record"] = "personal_record"
    member: Id
    exercise: Exercise
    kind: RecordKind
    value: float = Field(ge=0, le=100_000)
    previous: float | None = Field(default=None, ge=0, le=100_000)
    load_kg: WeightKg
    reps: int = Field(ge=0, le=100_000)
    set_id: SetId
    at: AwareDatetime = Field(description="When the set started.")
