"""What the journal gives back: one shape for a recorded set (with its reps when asked) and one for a visit.

Attribution, Home Assistant's views, the CLI and the report all read these; none of them reads the
journal's tables itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from replens.contract import Appearance, Exercise, IdentitySource, SetPhase, VisitRole
from replens.contract.edits import EditVia
from replens.contract.events import SetField
from replens.metrics import velocity_loss_pct
from replens.strength import lifted_kg


@dataclass(frozen=True, slots=True)
class RecordedRep:
    """One rep as its agent measured it; ``rom`` in the tracker's unit, ``rom_m`` and velocity when calibrated."""

    index: int
    started_at: datetime
    ended_at: datetime
    concentric_s: float
    eccentric_s: float
    pause_s: float
    rom: float
    rom_m: float | None
    mean_velocity_m_s: float | None

    @property
    def duration_s(self) -> float:
        return (self.ended_at - self.started_at).total_seconds()


@dataclass(frozen=True, slots=True)
class RecordedSet:
    """A set as the journal holds it now: the agent's latest event, and whose it is as the hub decided.

    ``claimed`` sets were decided by a person (or their member was deleted): strategies leave them alone.
    ``exercise`` is the effective one: a person's correction (``edited``) over what the agent recognised
    (``recognised_exercise``, with its ``exercise_confidence``). ``rep_details`` is filled only by the
    queries that say so.
    """

    set_id: str
    agent_id: str
    station: str
    exercise: Exercise
    reps: int
    phase: SetPhase
    started_at: datetime
    ended_at: datetime | None
    weight_kg: float | None
    member: str | None
    identity_source: IdentitySource | None
    identity_score: float | None
    claimed: bool
    appearance: Appearance | None
    rep_details: tuple[RecordedRep, ...] = ()
    recognised_exercise: Exercise | None = None
    exercise_confidence: float | None = None
    edited: frozenset[SetField] = frozenset()
    counted_reps: int | None = None
    """What the agent counted (``reps`` is a person's correction when ``edited`` says so)."""
    agent_weight_kg: float | None = None
    """The load the agent's event carried (``weight_kg`` is the effective one)."""
    body_weight_kg: float | None = None
    """The member's body weight on the set's day, for bodyweight exercises only (None otherwise or unknown)."""

    @property
    def ended(self) -> bool:
        return self.phase is SetPhase.END

    @property
    def lifted_kg(self) -> float | None:
        """What the set moved: body weight plus ``weight_kg`` for bodyweight exercises (strength.lifted_kg)."""
        return lifted_kg(self.exercise, self.weight_kg, self.body_weight_kg)

    @property
    def volume_kg(self) -> float | None:
        lifted = self.lifted_kg
        return None if lifted is None else round(self.reps * lifted, 3)

    @property
    def velocities(self) -> list[float]:
        return [r.mean_velocity_m_s for r in self.rep_details if r.mean_velocity_m_s is not None]

    @property
    def mean_velocity_m_s(self) -> float | None:
        return sum(self.velocities) / len(self.velocities) if self.velocities else None

    @property
    def velocity_loss_pct(self) -> float | None:
        return velocity_loss_pct(self.velocities)

    @property
    def under_tension_s(self) -> float:
        return sum(r.duration_s for r in self.rep_details)


@dataclass(frozen=True, slots=True)
class RepMeans:
    """A set's reps summed up without reading each one: means over the reps that measured each value."""

    reps: int
    mean_rom_m: float | None
    mean_velocity_m_s: float | None
    velocity_reps: int
    """Reps with a velocity (the weight of ``mean_velocity_m_s`` in a day's mean)."""


@dataclass(frozen=True, slots=True)
class SetEditRecord:
    """One field of one edit in the audit trail: effective value before → after, who, by which path, when."""

    edit_id: str
    set_id: str
    field: SetField
    old: object
    new: object
    via: EditVia
    by: str | None
    at: datetime


@dataclass(frozen=True, slots=True)
class Visit:
    """A person seen by a camera over several frames; ``member`` is None for someone not recognised."""

    visit_id: str
    agent_id: str
    camera: str
    role: VisitRole
    member: str | None
    score: float
    frames: int
    started_at: datetime
    seen_at: datetime
    ended_at: datetime | None
    appearance: Appearance | None
