"""The pose pipeline counts only measured frames: landmarks the tracker repeated, or found again and
still settling, reach the engine as missing frames."""

from __future__ import annotations

import math

import numpy as np

from replens.config.agent import PoseTrackerConfig, StationConfig
from replens.contract import Exercise
from replens.device_agent.counting.events import RepCompleted
from replens.device_agent.counting.recognizing import StationEvent
from replens.device_agent.sources.frame import Frame
from replens.device_agent.trackers.pose.roi import Roi
from replens.device_agent.trackers.pose.tracker import PoseResult
from replens.device_agent.trackers.registry import PosePipeline

FPS = 30.0


def squat_pose(depth: float) -> np.ndarray:
    """(33, 4) side-view body in pixels, visibility 1: depth 0 standing, 1 thighs level."""
    pts = np.zeros((33, 4), dtype=np.float32)
    pts[:, 3] = 1.0
    ankle = np.array([300.0, 400.0])
    knee = ankle + 120 * np.array([math.sin(0.9 * depth), -math.cos(0.9 * depth)])
    hip = knee + 120 * np.array([-math.sin(1.5 * depth), -math.cos(1.5 * depth)])
    shoulder = hip + 150 * np.array([math.sin(0.7 * depth), -math.cos(0.7 * depth)])
    for k, p in ((27, ankle), (25, knee), (23, hip), (11, shoulder), (13, shoulder + np.array([0, 60])),
                 (15, shoulder + np.array([40, 70])), (29, ankle), (31, ankle + np.array([30, 0]))):
        pts[k, :2] = pts[k + 1, :2] = p
    pts[:11, :2] = shoulder + np.array([10, -50])
    return pts


class Replay:
    """A pose source double: a scripted result per frame."""

    def __init__(self, results: list[PoseResult | None]) -> None:
        self.results = results

    def update(self, frame: Frame) -> PoseResult | None:
        return self.results[frame.index]

    def reset(self) -> None:
        return None


def test_frames_of_a_track_found_again_are_missing_to_the_counter_not_jumps() -> None:
    """Issue 15: a plate hid the lifter at the bottom of each rep; the tracker found them again with
    2-3 frames of jumps, which the counter took as returns to standing: every rep counted twice (or,
    with the jumps faster, dropped as jitter)."""
    rng = np.random.default_rng(3)
    results: list[PoseResult | None] = []
    roi = Roi(300.0, 250.0, 400.0)
    for i in range(int(14 * FPS)):
        t = i / FPS
        phase = (t - 1.0) % 3.0 if t >= 1.0 else 0.0
        depth = 0.5 - 0.5 * math.cos(2 * math.pi * phase / 2.0) if phase < 2.0 and t < 13.0 else 0.0
        pose = squat_pose(depth)
        if phase and 0.85 <= phase < 1.15:  # hidden at the bottom
            results.append(None)
        elif phase and 1.15 <= phase < 1.25:  # found again: in a region still settling, a generic upright pose
            jump = squat_pose(0.0)
            jump[:, :2] += rng.normal(0.0, 4.0, (33, 2))
            results.append(PoseResult(jump, 0.9, roi, t, reacquired=True))
        else:
            results.append(PoseResult(pose, 0.9, roi, t))
    station = StationConfig(exercise=Exercise.SQUAT, tracker=PoseTrackerConfig())
    pipeline = PosePipeline(PoseTrackerConfig(), station, tracker=Replay(results))
    events: list[StationEvent] = []
    for i in range(len(results)):
        events += pipeline.update(Frame(np.zeros((480, 640, 3), dtype=np.uint8), i / FPS, 0.0, i))
    events += pipeline.finish(len(results) / FPS)
    assert sum(isinstance(e, RepCompleted) for e in events) == 4
