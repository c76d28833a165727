"""Strength statistics against the published formulas and thresholds (sources in docs/load.md)."""

from __future__ import annotations

import pytest

from replens.contract import Exercise, RecordKind
from replens.strength import (
    MINIMAL_VELOCITY_M_S,
    LiftedSet,
    LoadVelocity,
    PersonalRecord,
    Refusal,
    brzycki_kg,
    epley_kg,
    fit_profile,
    lifted_kg,
    records,
    velocity_e1rm,
    volume_kg,
)


@pytest.mark.parametrize(("load", "reps", "epley", "brzycki"), [
    (100.0, 1, 100.0, 100.0),  # one rep is the 1RM itself
    (100.0, 5, 116.667, 112.5),  # Brzycki: 36 / 32 of the load
    (100.0, 10, 133.333, 133.333),  # both formulas meet at ten reps: 75 % of 1RM
    (60.0, 8, 76.0, 74.483),
])
def test_rep_based_estimates_follow_epley_and_brzycki(load: float, reps: int, epley: float, brzycki: float) -> None:
    assert epley_kg(load, reps) == pytest.approx(epley, abs=1e-3)
    assert brzycki_kg(load, reps) == pytest.approx(brzycki, abs=1e-3)


@pytest.mark.parametrize("reps", range(2, 13))
def test_the_forms_the_equations_are_published_in_agree(reps: int) -> None:
    """Brzycki as a percentage of 1RM (102.78 − 2.78 × reps) and Epley as load + 0.0333 × reps × load, the forms
    coaching texts print (four-digit coefficients), within the rounding of their coefficients."""
    assert brzycki_kg(100.0, reps) == pytest.approx(100 * 100 / (102.78 - 2.78 * reps), rel=5e-4)  # 2.78 ≈ 100/36
    assert epley_kg(100.0, reps) == pytest.approx(100 + 0.0333 * reps * 100, rel=5e-4)


@pytest.mark.parametrize(("load", "reps"), [(100.0, 0), (100.0, 13), (0.0, 5)])
def test_no_rep_based_estimate_outside_their_range(load: float, reps: int) -> None:
    assert epley_kg(load, reps) is None and brzycki_kg(load, reps) is None


def test_volume_and_bodyweight_loads() -> None:
    assert volume_kg(62.5, 8) == 500.0 and volume_kg(None, 8) is None
    assert lifted_kg(Exercise.PULL_UP, 10.0, 80.0) == 90.0 and lifted_kg(Exercise.DIPS, None, 80.0) == 80.0
    assert lifted_kg(Exercise.PUSH_UP, 10.0, None) is None  # body weight unknown: load unknown
    assert lifted_kg(Exercise.BENCH_PRESS, 60.0, 80.0) == 60.0


def test_the_minimal_velocity_thresholds_are_the_published_ones() -> None:
    """Bench press 0.16 m/s at 1RM (González-Badillo & Sánchez-Medina 2010, 120 men); full squat 0.32 m/s
    (Sánchez-Medina et al. 2017, 80 men). Lifts without a checked figure have none."""
    assert MINIMAL_VELOCITY_M_S == {Exercise.BENCH_PRESS: 0.16, Exercise.SQUAT: 0.32}


def test_a_linear_bench_profile_gives_the_load_at_the_threshold() -> None:
    """1.0, 0.76 and 0.52 m/s at 40, 60 and 80 kg: v = 1.48 − 0.012 × load, so 0.16 m/s at 110 kg."""
    points = [LoadVelocity(40.0, 1.0), LoadVelocity(60.0, 0.76), LoadVelocity(80.0, 0.52)]
    estimate = velocity_e1rm(Exercise.BENCH_PRESS, points)
    assert estimate.refused is None and estimate.e1rm_kg == pytest.approx(110.0)
    assert estimate.profile is not None and estimate.profile.r2 == pytest.approx(1.0)
    assert estimate.profile.slope_m_s_per_kg == pytest.approx(-0.012)
    squat = velocity_e1rm(Exercise.SQUAT, points)
    assert squat.e1rm_kg == pytest.approx((1.48 - 0.32) / 0.012)  # the squat's higher threshold: a lighter 1RM


def test_noisy_repeats_at_each_load_still_fit_and_report_r2() -> None:
    points = [LoadVelocity(40.0, 1.02), LoadVelocity(40.0, 0.97), LoadVelocity(60.0, 0.78), LoadVelocity(60.0, 0.74),
              LoadVelocity(80.0, 0.50), LoadVelocity(80.0, 0.55)]
    estimate = velocity_e1rm(Exercise.BENCH_PRESS, points)
    assert estimate.profile is not None and 0.95 < estimate.profile.r2 < 1.0 and estimate.profile.distinct_loads == 3
    assert estimate.e1rm_kg == pytest.approx(110.0, abs=3.0)


@pytest.mark.parametrize(("exercise", "points", "refusal"), [
    (Exercise.BENCH_PRESS, [LoadVelocity(40.0, 1.0), LoadVelocity(60.0, 0.76), LoadVelocity(60.2, 0.75)],
     Refusal.TOO_FEW_LOADS),  # 60 and 60.2 kg are one load
    (Exercise.BENCH_PRESS, [LoadVelocity(40.0, 0.9), LoadVelocity(60.0, 0.5), LoadVelocity(80.0, 0.7),
                            LoadVelocity(50.0, 0.4)], Refusal.POOR_FIT),  # R² 0.02
    (Exercise.BENCH_PRESS, [LoadVelocity(40.0, 0.5), LoadVelocity(60.0, 0.6), LoadVelocity(80.0, 0.7)],
     Refusal.NOT_SLOWER_WHEN_HEAVIER),
    (Exercise.DEADLIFT, [LoadVelocity(100.0, 0.8), LoadVelocity(140.0, 0.6), LoadVelocity(180.0, 0.4)],
     Refusal.NO_THRESHOLD),
    (Exercise.BENCH_PRESS, [LoadVelocity(40.0, 0.12), LoadVelocity(60.0, 0.11), LoadVelocity(80.0, 0.10)],
     Refusal.IMPLAUSIBLE),  # slower than the threshold with no load at all: the line meets it below 0 kg
    (Exercise.BENCH_PRESS, [LoadVelocity(40.0, 0.800), LoadVelocity(60.0, 0.799), LoadVelocity(80.0, 0.798)],
     Refusal.IMPLAUSIBLE),  # barely slower when heavier: the line meets the threshold at 12,600 kg
])
def test_refusals(exercise: Exercise, points: list[LoadVelocity], refusal: Refusal) -> None:
    estimate = velocity_e1rm(exercise, points)
    assert (estimate.e1rm_kg, estimate.refused) == (None, refusal)


def test_fit_needs_three_distinct_loads() -> None:
    assert fit_profile([LoadVelocity(40.0, 1.0), LoadVelocity(60.0, 0.8)]) is None


def test_records_heaviest_most_reps_at_a_load_and_best_e1rm() -> None:
    history = [LiftedSet(60.0, 8), LiftedSet(70.0, 5), LiftedSet(70.0, 6)]
    most, best = records(history, LiftedSet(70.0, 7))
    assert most == PersonalRecord(RecordKind.MOST_REPS_AT_LOAD, 7.0, 6.0)
    assert (best.kind, round(best.value, 3), best.previous) == (RecordKind.BEST_E1RM, 86.333, 84.0)
    assert [r.kind for r in records(history, LiftedSet(72.5, 1))] == [RecordKind.HEAVIEST_LOAD]
    assert records(history, LiftedSet(60.0, 8)) == []  # equal is no record
    assert [r.kind for r in records([], LiftedSet(40.0, 5))] == [RecordKind.HEAVIEST_LOAD, RecordKind.BEST_E1RM]
    assert records(history, LiftedSet(100.0, 0)) == []
