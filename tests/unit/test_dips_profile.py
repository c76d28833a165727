"""The ``dips`` profile on generated side-view dips: why dips needed their own profile (issue 14)."""

from __future__ import annotations

import math
from itertools import pairwise

import numpy as np
import pytest

from replens.contract.exercises import Exercise
from replens.device_agent.counting.events import RepCompleted, RepMeasurement
from replens.device_agent.counting.pose import count_pose_series
from tests.unit.test_pose_engine import render, reps_track


def dip(elbow_deg: float) -> np.ndarray:
    """Side view, facing +x: hands fixed on the bars, forearms vertical, the shoulders sink in front
    of the elbows as the elbows bend; trunk leaning 15 degrees, knees bent with the feet behind."""
    e = math.radians(elbow_deg)
    pts = np.zeros((33, 2))
    for side, dx in ((0, -0.02), (1, 0.02)):
        wrist = np.array([dx, 0.0])
        elbow = wrist + np.array([0.0, 0.28])
        shoulder = elbow + 0.3 * np.array([math.sin(e), -math.cos(e)])
        hip = shoulder + 0.55 * np.array([-math.sin(math.radians(15)), -math.cos(math.radians(15))])
        knee = hip + 0.45 * np.array([0.15, -0.99])
        ankle = knee + 0.45 * np.array([-0.7, -0.7])
        for k, p in ((11, shoulder), (13, elbow), (15, wrist), (23, hip), (25, knee), (27, ankle)):
            pts[k + side] = p
        pts[29 + side] = ankle + np.array([-0.05, 0.0])
        pts[31 + side] = ankle + np.array([0.1, -0.03])
        for k in (17, 19, 21):
            pts[k + side] = wrist + np.array([0.04, -0.02])
    pts[0:11] = 0.5 * (pts[11] + pts[12]) + np.array([0.08, 0.22]) + np.linspace(-0.03, 0.03, 11)[:, None]
    return np.column_stack([320 + 300 * pts[:, 0], 300 - 300 * pts[:, 1]])


def dips_reps(exercise: Exercise, pause_s: float) -> tuple[list[RepMeasurement], list[tuple[float, float]]]:
    """Six dips (elbows 172 -> 85 degrees) with ``pause_s`` at the top between them; counted reps
    and the true (start, end) of each dip."""
    durations = [1.6, 1.2, 2.0]
    track = reps_track(6, durations, rest_s=pause_s)
    frames, times = render(lambda t: dip(172.0 - 87.0 * track(t)), 2.0 + 6 * (2.0 + pause_s) + 3.0, seed=21)
    truth, t = [], 2.0
    for i in range(6):
        truth.append((t, t + durations[i % 3]))
        t += durations[i % 3] + pause_s
    events = count_pose_series(frames, times, exercise)
    return [e.rep for e in events if isinstance(e, RepCompleted)], truth


@pytest.mark.parametrize("pause_s", [0.3, 1.5, 3.0])
def test_dips_are_counted_top_to_top(pause_s: float) -> None:
    """Each counted rep starts and ends at the top (arms straight) and turns at the bottom."""
    reps, truth = dips_reps(Exercise.DIPS, pause_s)
    assert len(reps) == 6
    for rep, (start, end) in zip(reps, truth, strict=True):
        assert abs(rep.start_s - start) < 0.6 and abs(rep.end_s - end) < 0.6  # within the pause at the top
        assert abs(rep.turn_s - 0.5 * (start + end)) < 0.3  # the bottom of the dip


@pytest.mark.parametrize("pause_s", [0.3, 1.5, 3.0])
def test_pushdown_profile_counts_dips_bottom_to_bottom(pause_s: float) -> None:
    """Why dips needed their own profile: the pushdown rests with the elbow bent.

    Counted with ``triceps_pushdown`` (the profile a user would likely pick for an elbow exercise
    on the same station), each "rep" runs from one dip's bottom to the next one's, turning at the
    top, so the pause between dips sits inside a rep and the last dip is never completed: one rep
    short, and every rep's timing (and velocity) belongs to no real dip.
    """
    reps, truth = dips_reps(Exercise.TRICEPS_PUSHDOWN, pause_s)
    assert len(reps) == 5
    bottoms = [0.5 * (s + e) for s, e in truth]
    for rep, (here, following) in zip(reps, pairwise(bottoms), strict=True):
        assert abs(rep.start_s - here) < 0.5 and abs(rep.end_s - following) < 0.5
