"""Strength statistics from load, reps and bar velocity: volume, estimated 1RM, load-velocity profiles, records.

Pure functions over plain numbers, shared by the hub (InfluxDB points, Home Assistant) and the report. Loads are
kilograms, velocities the mean concentric velocity of a rep in m/s. Sources, and what was and was not checked
against them, are in docs/load.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from replens.contract.exercises import Exercise
from replens.contract.load import MAX_LOAD_KG
from replens.contract.records import RecordKind

MAX_REPS_FOR_E1RM = 12
"""Above this many reps the rep-based formulas drift apart and away from tested 1RMs: no estimate."""
MIN_DISTINCT_LOADS = 3
"""A load-velocity profile needs sets at this many different loads (the issue's rule; two points fit any line)."""
MIN_R2 = 0.9
"""A profile whose linear fit explains less of the velocity's variance than this gives no 1RM estimate.
Individual bench-press profiles are usually far above it (González-Badillo & Sánchez-Medina 2010: R² 0.98 for
the group's relation); below it the velocities are too noisy, or the sets too fatigued, to extrapolate from."""
LOAD_RESOLUTION_KG = 0.25
"""Loads closer than this are the same load when counting distinct loads (the smallest plates are 2 × 0.125 kg)."""

MINIMAL_VELOCITY_M_S: dict[Exercise, float] = {
    Exercise.BENCH_PRESS: 0.16,  # González-Badillo & Sánchez-Medina 2010, Int J Sports Med 31:347: 0.16 ± 0.04 m/s
    Exercise.SQUAT: 0.32,  # Sánchez-Medina et al. 2017, Sports Med Int Open 1:E80: 0.32 ± 0.03 m/s (full back squat)
}
"""Mean velocity of a 1RM lift (the minimal velocity threshold), where a published figure was checked. Other lifts
get no velocity-based estimate rather than a guessed threshold."""

BODYWEIGHT_EXERCISES = frozenset({Exercise.PUSH_UP, Exercise.PULL_UP, Exercise.DIPS})
"""Exercises whose load is the lifter's body weight plus any added weight (a belt, a vest)."""


def volume_kg(load_kg: float | None, reps: int) -> float | None:
    """Load × reps; None when the load is unknown."""
    return None if load_kg is None else round(load_kg * reps, 3)


def lifted_kg(exercise: Exercise, added_kg: float | None, body_weight_kg: float | None) -> float | None:
    """The load a set moved: body weight plus the added load for bodyweight exercises, else the added load.

    A bodyweight exercise with no known body weight has no known load (None), whatever was added.
    """
    if exercise not in BODYWEIGHT_EXERCISES:
        return added_kg
    if body_weight_kg is None:
        return None
    return round(body_weight_kg + (added_kg or 0.0), 3)


def epley_kg(load_kg: float, reps: int) -> float | None:
    """Epley: load × (1 + reps / 30); one rep is the load itself. None outside 1..MAX_REPS_FOR_E1RM reps."""
    if not 1 <= reps <= MAX_REPS_FOR_E1RM or load_kg <= 0:
        return None
    return load_kg if reps == 1 else load_kg * (1.0 + reps / 30.0)


def brzycki_kg(load_kg: float, reps: int) -> float | None:
    """Brzycki: load × 36 / (37 − reps). None outside 1..MAX_REPS_FOR_E1RM reps."""
    if not 1 <= reps <= MAX_REPS_FOR_E1RM or load_kg <= 0:
        return None
    return load_kg * 36.0 / (37.0 - reps)


@dataclass(frozen=True, slots=True)
class LoadVelocity:
    """One set's point on a profile: its load and its fastest rep's mean concentric velocity."""

    load_kg: float
    velocity_m_s: float


@dataclass(frozen=True, slots=True)
class LoadVelocityProfile:
    """velocity = intercept + slope × load, least squares over ``points`` sets at ``distinct_loads`` loads."""

    intercept_m_s: float
    slope_m_s_per_kg: float
    r2: float
    points: int
    distinct_loads: int

    def load_at(self, velocity_m_s: float) -> float:
        """The load the line gives at a velocity (slope is negative for any profile fit_profile returns)."""
        return (velocity_m_s - self.intercept_m_s) / self.slope_m_s_per_kg


class Refusal(StrEnum):
    """Why a velocity-based 1RM was not estimated."""

    TOO_FEW_LOADS = "too_few_loads"
    POOR_FIT = "poor_fit"
    NOT_SLOWER_WHEN_HEAVIER = "not_slower_when_heavier"
    NO_THRESHOLD = "no_threshold"
    IMPLAUSIBLE = "implausible"  # the line meets the threshold at no load, or above any load a gym has


@dataclass(frozen=True, slots=True)
class VelocityEstimate:
    """A velocity-based 1RM, or why there is none; ``profile`` when one was fitted."""

    e1rm_kg: float | None
    profile: LoadVelocityProfile | None
    refused: Refusal | None = None


def fit_profile(points: Sequence[LoadVelocity]) -> LoadVelocityProfile | None:
    """Least-squares line of velocity on load; None below MIN_DISTINCT_LOADS distinct loads."""
    loads = distinct_loads(p.load_kg for p in points)
    if loads < MIN_DISTINCT_LOADS:
        return None
    n = len(points)
    mean_x = sum(p.load_kg for p in points) / n
    mean_y = sum(p.velocity_m_s for p in points) / n
    sxx = sum((p.load_kg - mean_x) ** 2 for p in points)
    sxy = sum((p.load_kg - mean_x) * (p.velocity_m_s - mean_y) for p in points)
    syy = sum((p.velocity_m_s - mean_y) ** 2 for p in points)
    slope = sxy / sxx
    intercept = mean_y - slope * mean_x
    r2 = 1.0 if syy == 0 else (sxy * sxy) / (sxx * syy)
    return LoadVelocityProfile(intercept, slope, r2, n, loads)


def distinct_loads(loads: Iterable[float]) -> int:
    """How many different loads: sorted, a load less than LOAD_RESOLUTION_KG above the last counted one is it."""
    count, last = 0, None
    for load in sorted(loads):
        if last is None or load - last >= LOAD_RESOLUTION_KG:
            count, last = count + 1, load
    return count


def velocity_e1rm(exercise: Exercise, points: Sequence[LoadVelocity], *, min_r2: float = MIN_R2) -> VelocityEstimate:
    """The load at the lift's minimal velocity threshold on the member's profile, or the reason there is none."""
    threshold = MINIMAL_VELOCITY_M_S.get(exercise)
    profile = fit_profile(points)
    if profile is None:
        return VelocityEstimate(None, None, Refusal.TOO_FEW_LOADS)
    if profile.slope_m_s_per_kg >= 0:
        return VelocityEstimate(None, profile, Refusal.NOT_SLOWER_WHEN_HEAVIER)
    if profile.r2 < min_r2:
        return VelocityEstimate(None, profile, Refusal.POOR_FIT)
    if threshold is None:
        return VelocityEstimate(None, profile, Refusal.NO_THRESHOLD)
    e1rm = profile.load_at(threshold)
    if not 0 < e1rm <= MAX_LOAD_KG:
        return VelocityEstimate(None, profile, Refusal.IMPLAUSIBLE)
    return VelocityEstimate(e1rm, profile)


@dataclass(frozen=True, slots=True)
class LiftedSet:
    """What records are judged on: one set's load (kg, as lifted) and reps."""

    load_kg: float
    reps: int

    @property
    def e1rm_kg(self) -> float | None:
        return epley_kg(self.load_kg, self.reps)


@dataclass(frozen=True, slots=True)
class PersonalRecord:
    """A set that beat every earlier set of the member's at this exercise; ``previous`` None: the first one."""

    kind: RecordKind
    value: float
    previous: float | None


def records(earlier: Iterable[LiftedSet], new: LiftedSet) -> list[PersonalRecord]:
    """The records ``new`` sets against ``earlier`` sets (same member and exercise); none for a set of 0 reps.

    Most reps at a load counts sets at the same load (within LOAD_RESOLUTION_KG). A first set at a new load is
    not a record of reps (nothing to beat) but may be the heaviest load.
    """
    if new.reps < 1:
        return []
    before = [s for s in earlier if s.reps >= 1]
    found: list[PersonalRecord] = []
    heaviest = max((s.load_kg for s in before), default=None)
    if heaviest is None or new.load_kg > heaviest:
        found.append(PersonalRecord(RecordKind.HEAVIEST_LOAD, new.load_kg, heaviest))
    same = [s.reps for s in before if abs(s.load_kg - new.load_kg) < LOAD_RESOLUTION_KG / 2]
    if same and new.reps > max(same):
        found.append(PersonalRecord(RecordKind.MOST_REPS_AT_LOAD, float(new.reps), float(max(same))))
    best = max((e for s in before if (e := s.e1rm_kg) is not None), default=None)
    if new.e1rm_kg is not None and (best is None or new.e1rm_kg > best):
        found.append(PersonalRecord(RecordKind.BEST_E1RM, new.e1rm_kg, best))
    return found
