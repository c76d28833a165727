"""A station that hosts several exercises: its sets carry the recognised exercise, confidence and runner-up.

The pose tracker is a double that replays generated landmarks (every other part is the real station: the
recognising counter, the set assembler, the wire drafts).
"""

from __future__ import annotations

import numpy as np

from replens.config.agent import PoseTrackerConfig, StationConfig
from replens.contract import EventKind, Exercise, RepEvent, SetEvent, SetPhase
from replens.device_agent.drafts import Draft
from replens.device_agent.sources.frame import Frame
from replens.device_agent.station import Station
from replens.device_agent.trackers.pose.roi import Roi
from replens.device_agent.trackers.pose.tracker import PoseResult
from replens.device_agent.trackers.registry import PosePipeline
from tests.unit.test_pose_engine import squat_clip

T0 = 1_795_705_137.0
IMAGE = np.zeros((480, 640, 3), np.uint8)


class Replay:
    """A pose tracker double: frame i gets landmarks[i] (all-zero rows: nobody found)."""

    def __init__(self, landmarks: np.ndarray) -> None:
        self.landmarks = landmarks

    def update(self, frame: Frame) -> PoseResult | None:
        points = self.landmarks[frame.index]
        if not points.any():
            return None
        with_visibility = np.concatenate([points, np.ones((33, 1))], axis=1).astype(np.float32)
        return PoseResult(with_visibility, 1.0, Roi(320.0, 240.0, 400.0, 0.0), frame.t_s)

    def reset(self) -> None:
        return None


def run_station(exercise: Exercise | list[Exercise], landmarks: np.ndarray, times: np.ndarray) -> list[Draft]:
    config = StationConfig(exercise=exercise, tracker=PoseTrackerConfig())
    station = Station("rack", "multi", config,
                      pipeline=PosePipeline(config.tracker, config, tracker=Replay(landmarks)))  # type: ignore[arg-type]
    drafts: list[Draft] = []
    for i, t in enumerate(times.tolist()):
        drafts += station.process(Frame(IMAGE, t, T0 + t, i))
    return drafts + station.finish(float(times[-1]))


def built(drafts: list[Draft]) -> list[SetEvent | RepEvent]:
    events = [d.build(seq) for seq, d in enumerate(drafts, start=1)]
    return [e for e in events if isinstance(e, SetEvent | RepEvent)]


def test_a_station_with_candidates_names_each_set_and_holds_its_reps_to_the_end() -> None:
    landmarks, times = squat_clip(8, missing=0.02, seed=4)
    drafts = run_station([Exercise.SQUAT, Exercise.PUSH_UP, Exercise.BENCH_PRESS, Exercise.PULL_UP], landmarks, times)
    events = built(drafts)
    sets = [e for e in events if isinstance(e, SetEvent)]
    (end,) = [e for e in sets if e.event is SetPhase.END]
    assert (end.exercise, end.reps) == (Exercise.SQUAT, 8)
    assert 0.5 < end.exercise_confidence <= 1.0
    assert end.runner_up is not None and end.runner_up is not Exercise.SQUAT and end.runner_up_confidence is not None
    assert all(0.0 <= s.exercise_confidence <= 1.0 for s in sets)
    assert all(s.runner_up is None for s in sets if s.event is not SetPhase.END)  # the runner-up comes at the end
    reps = [e for e in events if isinstance(e, RepEvent)]
    assert [r.index for r in reps] == list(range(1, 9))
    assert {r.exercise for r in reps} == {Exercise.SQUAT}  # only the final exercise's reps leave the station
    end_at = next(i for i, d in enumerate(drafts) if d.kind is EventKind.SETS and d.fields["event"] == SetPhase.END)
    assert [i for i, d in enumerate(drafts) if d.kind is EventKind.REPS] == list(range(end_at - 8, end_at))


def test_a_station_with_one_exercise_sends_as_before() -> None:
    """One named exercise: each rep goes out as it is counted, the set is certain, no runner-up."""
    landmarks, times = squat_clip(5, seed=2)
    drafts = run_station(Exercise.SQUAT, landmarks, times)
    kinds = [d.kind for d in drafts]
    assert kinds[:2] == [EventKind.REPS, EventKind.SETS]  # the first rep leaves with the set's "new"
    sets = [e for e in built(drafts) if isinstance(e, SetEvent)]
    assert sets[-1].event is SetPhase.END and sets[-1].reps == 5
    assert all((s.exercise, s.exercise_confidence, s.runner_up) == (Exercise.SQUAT, 1.0, None) for s in sets)


def test_the_station_state_lists_what_it_hosts() -> None:
    hosts = StationConfig(exercise=[Exercise.SQUAT, Exercise.LUNGE], tracker=PoseTrackerConfig())
    pipeline = PosePipeline(hosts.tracker, hosts, tracker=Replay(np.zeros((1, 33, 3))))  # type: ignore[arg-type]
    station = Station("rack", "multi", hosts, pipeline=pipeline)
    assert station.state().exercises == [Exercise.SQUAT, Exercise.LUNGE]
    assert station.state().exercise is Exercise.AUTO  # nothing recognised before a set
    one = StationConfig(exercise=Exercise.SQUAT, tracker=PoseTrackerConfig())
    single = Station("rack", "one", one, pipeline=PosePipeline(one.tracker, one, tracker=Replay(np.zeros((1, 33, 3)))))  # type: ignore[arg-type]
    assert single.state().exercises == []  # not said: a correction may name any exercise
