"""Rep counting from pose landmarks: profile → 1-D signal → adaptive threshold → :class:`RepCounter`.

The engine is streaming (one frame in, the events it completes out) and the offline helper only
loops it, so both give the same answer. Pose signals have no fixed unit across cameras and
distances, so the smallest counted rep follows the movement: ``rel_min_range`` times the robust
amplitude of the last few seconds, never below the profile's absolute floor (a still pose with
noise must stay at zero).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import numpy.typing as npt

from replens.contract.exercises import Exercise
from replens.device_agent.counting.counter import CounterSettings, RepCounter, TimingOverrides
from replens.device_agent.counting.events import CountEvent
from replens.device_agent.counting.pose_auto import DominantMotion
from replens.device_agent.counting.pose_signals import ProfileSignal, RobustRange, frame_points
from replens.device_agent.counting.profiles import ExerciseProfile, profile_for
from replens.device_agent.signal import SignalSample

AUTO_FLOOR = 0.5  # auto mode: smallest rep along the dominant axis (body spreads and radians)
RANGE_WINDOW_REPS = 1.0  # the amplitude window spans this many of the slowest plausible reps...
RANGE_WINDOW_MIN_S = 6.0  # ...but at least this long


class PoseRepEngine:
    """Counts reps and sets of one person from a stream of (33, 2|3|4) landmark frames.

    Args:
        exercise: which profile to use; ``auto`` finds the dominant motion itself.
        profile: a custom profile instead of the built-in one (its ``exercise`` is then ignored).
        timing: the station's counter timings (None: none); its ``min_rep_s`` and ``max_rep_s`` replace the
            profile's, the others the counter's defaults (a set ends after 20 s without a rep).
        rel_min_range: replaces the profile's value; None keeps it.
    """

    def __init__(
        self,
        exercise: Exercise | str,
        *,
        profile: ExerciseProfile | None = None,
        timing: TimingOverrides | None = None,
        rel_min_range: float | None = None,
    ) -> None:
        timing = timing or TimingOverrides()
        base = profile or profile_for(exercise)
        self.profile = replace(
            base,
            min_rep_s=base.min_rep_s if timing.min_rep_s is None else timing.min_rep_s,
            max_rep_s=base.max_rep_s if timing.max_rep_s is None else timing.max_rep_s,
            rel_min_range=base.rel_min_range if rel_min_range is None else rel_min_range,
        )
        self._timing = timing
        self._start()

    def _start(self) -> None:
        """Fresh signal, amplitude and counter state (at construction and after ``finish``)."""
        spec = self.profile.pose
        self._signal: ProfileSignal | DominantMotion
        if spec is None:
            self._signal = DominantMotion()
            self._floor, rest, split = AUTO_FLOOR, "low", False
        else:
            self._signal = ProfileSignal(spec)
            self._floor, rest, split = spec.min_range, spec.rest_position, spec.split_lagging
        settings = CounterSettings(
            min_range=self._floor,
            rest_position="low" if rest == "low" else "high",
            min_rep_s=self.profile.min_rep_s,
            max_rep_s=self.profile.max_rep_s,
            split_lagging=split,
        )
        self._counter = RepCounter(self._timing.applied_to(settings))
        window = max(RANGE_WINDOW_MIN_S, RANGE_WINDOW_REPS * self.profile.max_rep_s)
        self._range = RobustRange(window)
        self.last_value: float | None = None  # the latest signal value, for plots and debugging

    @property
    def min_range(self) -> float:
        """The smallest rep counted right now, in signal units."""
        return max(self._floor, self.profile.rel_min_range * self._range.value)

    def update(self, t_s: float, landmarks: npt.ArrayLike | None) -> list[CountEvent]:
        """Feed one frame (None or an all-zero pose = no detection); returns the completed events.

        While the signal holds frames back (``auto`` before its first axis, a height before its body
        unit is confirmed) nothing reaches the counter; the held frames then arrive together.
        """
        points = frame_points(landmarks)
        if points is None:
            self.last_value = None
            return [] if self._signal.holding else self._counter.update(None, t_s)
        samples = self._signal.push(t_s, points[0], points[1])
        self.last_value = samples[-1][1] if samples else None
        events: list[CountEvent] = []
        for t, value, confidence in samples:
            events += self._counter.update(None, t) if value is None else self._count(t, value, confidence)
        return events

    def _count(self, t_s: float, value: float, confidence: float) -> list[CountEvent]:
        if self._range.push(t_s, value):
            self._counter.set_min_range(self.min_range)
        return self._counter.update(SignalSample(t_s, value, confidence))

    def finish(self, t_s: float) -> list[CountEvent]:
        """End of the source: close the last rep and set; the engine starts afresh afterwards."""
        events = self._counter.finish(t_s)
        self._start()
        return events


def count_pose_series(
    landmarks: npt.ArrayLike, t_s: npt.ArrayLike, exercise: Exercise | str, *, profile: ExerciseProfile | None = None
) -> list[CountEvent]:
    """Offline: run the streaming engine over a (T, 33, k) series with T timestamps."""
    frames = np.asarray(landmarks, dtype=np.float64)
    times = np.asarray(t_s, dtype=np.float64)
    if frames.ndim != 3 or frames.shape[0] != times.shape[0]:
        raise ValueError(f"need (T, 33, k) landmarks and T times, got {frames.shape} and {times.shape}")
    engine = PoseRepEngine(exercise, profile=profile)
    events: list[CountEvent] = []
    for t, frame in zip(times.tolist(), frames, strict=True):
        events += engine.update(t, frame)
    end = float(times[-1]) + 1e-3 if times.size else 0.0
    return events + engine.finish(end)
