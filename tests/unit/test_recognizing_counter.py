"""RecognizingPoseCounter: parallel counters, the recognised exercise's count, no lost or doubled reps."""

from __future__ import annotations

import numpy as np

from replens.contract.exercises import Exercise
from replens.device_agent.counting.events import RepCompleted, SetEnded
from replens.device_agent.counting.pose import PoseRepEngine
from replens.device_agent.counting.profiles import profile_for
from replens.device_agent.counting.recognition import Recognition
from replens.device_agent.counting.recognizing import (
    ExerciseChanged,
    RecognizedEvent,
    RecognizingEvent,
    RecognizingPoseCounter,
    counting_key,
)
from replens.device_agent.sets import counted_sets
from tests.unit.test_pose_engine import close_camera_squats, render, squat_clip
from tests.unit.test_recognition import per_frame_normalised, walk_then_squats


def run(counter: RecognizingPoseCounter, frames: np.ndarray, times: np.ndarray) -> list[RecognizingEvent]:
    out: list[RecognizingEvent] = []
    for t, f in zip(times.tolist(), frames, strict=True):
        out += counter.update(t, f)
    return out + counter.finish(float(times[-1]) + 1e-3)


def plain(exercise: Exercise, frames: np.ndarray, times: np.ndarray) -> list[RepCompleted]:
    engine = PoseRepEngine(exercise)
    events = [e for t, f in zip(times.tolist(), frames, strict=True) for e in engine.update(t, f)]
    events += engine.finish(float(times[-1]) + 1e-3)
    return [e for e in events if isinstance(e, RepCompleted)]


def test_a_single_exercise_station_counts_exactly_as_the_plain_engine() -> None:
    frames, times = squat_clip(8, missing=0.05, outliers=3, seed=3)
    events = run(RecognizingPoseCounter([Exercise.SQUAT]), frames, times)
    tagged = [e for e in events if isinstance(e, RecognizedEvent)]
    assert len(tagged) == len(events)  # no decision changes with one candidate
    assert all(e.exercise is Exercise.SQUAT and e.confidence == 1.0 for e in tagged)
    assert [e.event for e in tagged if isinstance(e.event, RepCompleted)] == plain(Exercise.SQUAT, frames, times)


def test_candidates_that_count_alike_share_one_counter() -> None:
    assert counting_key(profile_for(Exercise.SQUAT)) == counting_key(profile_for(Exercise.LEG_RAISE))
    assert counting_key(profile_for(Exercise.LUNGE)) == counting_key(profile_for(Exercise.LEG_PRESS))
    assert counting_key(profile_for(Exercise.DIPS)) == counting_key(profile_for(Exercise.BICEPS_CURL))
    assert counting_key(profile_for(Exercise.DIPS)) != counting_key(profile_for(Exercise.TRICEPS_PUSHDOWN))
    every = RecognizingPoseCounter()
    assert every.counters < len(every.candidates)


def test_the_set_reports_the_final_exercises_own_count() -> None:
    """A walk-up (no position in a normalised series) then eight squats, every profile a candidate.

    Whatever was decided on the way, the set ends with the squat counter's own reps, which saw the
    whole set: none lost before a decision change, none counted twice. Every ExerciseChanged hands
    over the new exercise's reps so far, so a consumer that replaces its count with them and adds
    the reps that follow ends with the same number.
    """
    frames, times = render(walk_then_squats, 6.0 + 1.0 + 8 * 2.6 + 3.0, seed=9)
    frames = per_frame_normalised(frames)
    events = run(RecognizingPoseCounter(), frames, times)
    ends = [e for e in events if isinstance(e, RecognizedEvent) and isinstance(e.event, SetEnded)]
    assert len(ends) == 1 and ends[0].exercise is Exercise.SQUAT
    assert ends[0].runner_up is not None and ends[0].runner_up_confidence is not None
    (counted,) = counted_sets(events, Exercise.AUTO)  # as a station's set assembler keeps them
    assert (counted.exercise, counted.runner_up) == (Exercise.SQUAT, ends[0].runner_up)
    assert list(counted.reps) == [e.rep for e in plain(Exercise.SQUAT, frames, times)]
    running = 0
    for e in events:
        if isinstance(e, ExerciseChanged):
            running = len(e.reps)
        elif isinstance(e.event, RepCompleted):
            running += 1
    assert running == len(counted.reps) == 8


class Scripted:
    """A recogniser double: says ``first`` until the squat counter's third rep, then ``then``."""

    def __init__(self, counter: RecognizingPoseCounter, first: Exercise, then: Exercise) -> None:
        self.counter, self.first, self.then = counter, first, then
        self.candidates = counter.candidates
        self.eligible: frozenset[Exercise] | None = None
        self.current: Recognition | None = None

    def _now(self, t_s: float) -> Recognition:
        choice = self.then if self.counter.reps(Exercise.SQUAT) >= 3 else self.first
        return Recognition(choice, 0.9, None, 0.0, t_s)

    def update(self, t_s: float, landmarks: object) -> Recognition | None:
        self.current = self._now(t_s)
        return self.current

    def decide(self, t_s: float) -> Recognition:
        self.current = self._now(t_s)
        return self.current

    def finish(self, t_s: float) -> Recognition:
        return self._now(t_s)

    def reset(self) -> None:
        self.current = None


def test_a_change_of_mind_in_the_frame_of_a_rep_neither_loses_nor_doubles_it() -> None:
    """Regression: the hand-over listed the new exercise's reps including the one just completed, and that rep's
    own event was passed on too, so the set counted it twice."""
    frames, times = squat_clip(6, seed=7)
    counter = RecognizingPoseCounter([Exercise.LUNGE, Exercise.SQUAT])
    counter._recognizer = Scripted(counter, Exercise.LUNGE, Exercise.SQUAT)  # type: ignore[assignment]
    events = run(counter, frames, times)
    assert any(isinstance(e, ExerciseChanged) and e.exercise is Exercise.SQUAT and len(e.reps) == 3 for e in events)
    (counted,) = counted_sets(events, Exercise.AUTO)
    assert counted.exercise is Exercise.SQUAT
    assert [r.index for r in counted.reps] == list(range(1, 7))
    assert list(counted.reps) == [e.rep for e in plain(Exercise.SQUAT, frames, times)]


def test_the_set_carries_the_recognised_counters_quality() -> None:
    """Issue 15: a station with several exercises ended its sets with no quality, although its counters
    knew whether the exercise's joints were seen."""
    frames, times, size = close_camera_squats(6, seed=24)
    counter = RecognizingPoseCounter([Exercise.SQUAT])
    events: list[RecognizingEvent] = []
    for t, f in zip(times.tolist(), frames, strict=True):
        events += counter.update(t, f, frame_size=size)
    events += counter.finish(float(times[-1]) + 1e-3)
    ends = [e.event for e in events if isinstance(e, RecognizedEvent) and isinstance(e.event, SetEnded)]
    assert [e.quality for e in ends] == ["fallback"]
