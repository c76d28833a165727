"""Payloads for integrations (Home Assistant): commands to agents and the hub, and the hub's retained views."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal, Self

from pydantic import AwareDatetime, Field, StringConstraints, model_validator

from replens.contract.events import Count, Fraction, Id, IdentitySource, SetId, WeightKg, WireModel
from replens.contract.exercises import Exercise
from replens.contract.load import LoadUnit, checked_load_kg

Name = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Volume = Annotated[float, Field(ge=0.0, le=1e9)]


class StationCommandKind(StrEnum):
    """What a station can be told: stop or restart counting, end the set under way now, or the load on the bar."""

    PAUSE = "pause"
    RESUME = "resume"
    END_SET = "end_set"
    SET_LOAD = "set_load"


class StationCommand(WireModel):
    """Topic ``<prefix>/agent/<agent_id>/command``: steer one station (Home Assistant's switch and button).

    Pausing ends the set under way; the paused state is kept in the agent's outbox across restarts and
    echoed in the retained agent state (``stations.<id>.paused``). ``set_load`` gives the station's current
    load (``load`` in ``unit``): the set under way and every later set carry it, until it changes; it is kept
    the same way (``stations.<id>.load_kg``).
    """

    station: Id
    command: StationCommandKind
    load: float | None = Field(default=None, description="set_load only: the load on the bar or stack, in ``unit``.")
    unit: LoadUnit | None = Field(default=None, description="The unit of ``load`` (null: kg); RepLens stores kg.")
    by: Annotated[str, StringConstraints(max_length=64)] | None = None

    @model_validator(mode="after")
    def _load_only_with_set_load(self) -> Self:
        if self.command is StationCommandKind.SET_LOAD:
            if self.load is None:
                raise ValueError("load: set_load needs a load (e.g. 100, with unit kg or lb)")
            checked_load_kg(self.load, self.unit or LoadUnit.KG)
        elif self.load is not None:
            raise ValueError(f"load: only set_load takes a load, not {self.command}")
        return self

    @property
    def load_kg(self) -> float | None:
        """The load in kilograms (set_load), else None."""
        return None if self.load is None else checked_load_kg(self.load, self.unit or LoadUnit.KG)


class ClaimLastCommand(WireModel):
    """Topic ``<prefix>/hub/claim_last``: the last set at a station was this member's.

    ``member`` is a member's name (any case) or id; null, empty or ``(nobody)`` says nobody enrolled did it.
    The hub turns it into a ``ClaimCommand`` for the station's most recent set.
    """

    agent_id: Id
    station: Id
    member: Annotated[str, StringConstraints(max_length=64)] | None
    by: Annotated[str, StringConstraints(max_length=64)] | None = None


class LastSet(WireModel):
    """Topic ``<prefix>/station/<agent_id>/<station>/last_set``, retained: the station's most recent set.

    ``exercise`` is a person's correction when there is one (``exercise_edited``), else what the agent recognised.
    """

    set_id: SetId
    agent_id: Id
    station: Id
    exercise: Exercise
    reps: Count
    weight_kg: WeightKg | None = None
    volume_kg: Volume | None = Field(default=None, description="reps × the load lifted (body weight plus weight_kg "
                                     "for bodyweight exercises); null when it is unknown.")
    started_at: AwareDatetime
    ended_at: AwareDatetime | None = Field(default=None, description="Null while the set is under way.")
    member: Id | None = None
    member_name: Name | None = None
    identity_source: IdentitySource | None = None
    recognised_exercise: Exercise | None = Field(default=None, description="What the agent recognised.")
    exercise_confidence: Fraction | None = Field(default=None, description="The agent's confidence in it.")
    exercise_edited: bool = Field(default=False, description="A person corrected the exercise.")


class SetCompleted(LastSet):
    """Topic ``<prefix>/station/<agent_id>/<station>/set_completed``, not retained: one message per ended set.

    Shaped for Home Assistant's MQTT event entity (``event_type`` plus attributes).
    """

    event_type: Literal["set_completed"] = "set_completed"


class StrengthEstimate(WireModel):
    """A member's estimated one-repetition maximum at one exercise (docs/load.md has the formulas)."""

    exercise: Exercise
    best_e1rm_kg: WeightKg | None = Field(
        default=None, description="The best Epley estimate of any of their sets (the best_e1rm record).")
    velocity_e1rm_kg: WeightKg | None = Field(
        default=None, description="From their load-velocity profile at the lift's minimal velocity threshold, as "
                                  "fitted at their latest set of it; null when refused or not fitted.")
    velocity_r2: Fraction | None = Field(default=None, description="The profile's R²; null: no profile (< 3 loads).")
    velocity_loads: Count | None = Field(default=None, description="Distinct loads in the profile.")
    velocity_refused: Annotated[str, StringConstraints(max_length=40)] | None = Field(
        default=None, description="Why there is no velocity-based estimate (poor_fit, too_few_loads, ...).")


class MemberState(WireModel):
    """Topic ``<prefix>/member/<member_id>/state``, retained: one member's day so far (hub local time)."""

    member: Id
    name: Name
    reps_today: Count
    sets_today: Count
    volume_today_kg: Volume = Field(description="Sum of reps × the load lifted of today's sets (body weight plus "
                                                "weight_kg for bodyweight exercises); 0 where no load is known.")
    volume_week_kg: Volume = Field(default=0.0, description="The same for this week's sets (since Monday 00:00).")
    last_exercise: Exercise | None = None
    last_set: LastSet | None = None
    last_seen: AwareDatetime | None = Field(default=None, description="Latest face at a camera or set, any day.")
    present: bool
    body_weight_kg: float | None = Field(
        default=None, description="The member's body weight (the load of their bodyweight exercises); null: unknown.")
    strength: list[StrengthEstimate] = Field(
        default_factory=list, description="Per exercise they lifted a known load at, the latest first.")
    velocity_e1rm: StrengthEstimate | None = Field(
        default=None, description="The latest exercise with a velocity-based estimate (Home Assistant's sensor).")


class EnrolCommand(WireModel):
    """Topic ``<prefix>/agent/<agent_id>/enrol``: enrol the next person in front of this entrance camera.

    The faces stay on the agent's box: it takes ``frames`` frames that show exactly one large enough face
    and adds the member to the gallery itself. Only the name and the outcome travel over MQTT.
    """

    name: Name
    consent: bool = Field(description="The member agreed to face recognition; enrolment is refused without it.")
    frames: Annotated[int, Field(ge=1, le=20)] = 5
    by: Annotated[str, StringConstraints(max_length=64)] | None = None


class EnrolResult(WireModel):
    """Topic ``<prefix>/agent/<agent_id>/enrol_result``: how an ``EnrolCommand`` ended."""

    name: Name
    ok: bool
    member: Id | None = None
    message: Annotated[str, StringConstraints(max_length=500)]
    at: AwareDatetime
