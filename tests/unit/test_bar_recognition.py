"""Telling barbell lifts apart from the bar path: where the bar rests, and how far it travels."""

from __future__ import annotations

import pytest

from replens.contract.exercises import BARBELL_LIFTS, Exercise
from replens.device_agent.counting.bar_recognition import TYPICAL_ROM_M, RecognizingTrajectoryCounter
from replens.device_agent.counting.recognizing import StationEvent
from replens.device_agent.sets import CountedSet, counted_sets
from replens.errors import ConfigError
from tests.unit.test_trajectory_engine import Path, reps, video

RACK = [Exercise.SQUAT, Exercise.BENCH_PRESS, Exercise.DEADLIFT]


def run(counter: RecognizingTrajectoryCounter, path: Path, *, seed: int = 1) -> list[CountedSet]:
    events: list[StationEvent] = []
    samples = video(path, noise_px=1.0, seed=seed)
    for t, x, y, plate in samples:
        events += counter.update(t, x, y, plate)
    events += counter.finish(samples[-1][0] + 0.1)
    return counted_sets(events, Exercise.AUTO)


@pytest.mark.parametrize(
    ("truth", "low", "rom"),
    [(Exercise.SQUAT, False, 0.75), (Exercise.BENCH_PRESS, False, 0.42), (Exercise.DEADLIFT, True, 0.52)],
)
def test_each_lift_is_named_and_counted(truth: Exercise, low: bool, rom: float) -> None:
    (counted,) = run(RecognizingTrajectoryCounter(RACK), reps(Path().hold(2.0), 6, low=low, rom=rom))
    assert (counted.exercise, len(counted.reps)) == (truth, 6)
    assert counted.exercise_confidence > 0.6 and counted.runner_up is not None


def test_a_squat_after_a_walk_out_rests_high() -> None:
    """Unracked (up a little), walked back (sideways), then squats: the set still starts at the top."""
    path = Path().hold(1.0).move(0.6, dz=0.05).move(1.5, dx=-0.6).hold(1.5)
    (counted,) = run(RecognizingTrajectoryCounter(RACK), reps(path, 5, low=False, rom=0.7))
    assert (counted.exercise, len(counted.reps)) == (Exercise.SQUAT, 5)


def test_lifts_that_share_rest_side_and_travel_stay_uncertain() -> None:
    """A deadlift and an overhead press both start low and travel about half a metre: no false certainty."""
    (counted,) = run(RecognizingTrajectoryCounter([Exercise.DEADLIFT, Exercise.OVERHEAD_PRESS]),
                     reps(Path().hold(2.0), 5, low=True, rom=0.54))
    assert len(counted.reps) == 5
    assert counted.exercise_confidence < 0.75


def test_only_barbell_lifts_and_every_one_has_a_typical_range() -> None:
    assert set(TYPICAL_ROM_M) == BARBELL_LIFTS
    assert RecognizingTrajectoryCounter(None).candidates == tuple(sorted(BARBELL_LIFTS))
    with pytest.raises(ConfigError, match="lunge"):
        RecognizingTrajectoryCounter([Exercise.SQUAT, Exercise.LUNGE])

