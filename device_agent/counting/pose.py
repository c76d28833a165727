"""Rep counting from pose landmarks: profile → 1-D signal → adaptive threshold → :class:`RepCounter`.

The engine is streaming (one frame in, the events it completes out) and the offline helper only
loops it, so both give the same answer. Pose signals have no fixed unit across cameras and
distances, so the smallest counted rep follows the movement: ``rel_min_range`` times the robust
amplitude of the last few seconds, never below the profile's absolute floor (a still pose with
noise must stay at zero).
"""

from __future__ import annotations

from collections import deque
from dataclasses import replace

import numpy as np
import numpy.typing as npt

from replens.contract.exercises import Exercise
from replens.device_agent.counting.counter import CounterSettings, RepCounter, TimingOverrides
from replens.device_agent.counting.events import CountEvent, SetEnded
from replens.device_agent.counting.pose_auto import DominantMotion
from replens.device_agent.counting.pose_signals import ProfileSignal, RobustRange, Sample, frame_points
from replens.device_agent.counting.pose_trust import (
    HEAD_FLOOR,
    SWITCH_FROM,
    SWITCH_TO,
    TRUST_WINDOW_S,
    HeadHeight,
    TrustShare,
    landmark_trust,
    quality,
)
from replens.device_agent.counting.profiles import ExerciseProfile, profile_for
from replens.device_agent.signal import SignalSample

AUTO_FLOOR = 0.5  # auto mode: smallest rep along the dominant axis (body spreads and radians)
RANGE_WINDOW_REPS = 1.0  # the amplitude window spans this many of the slowest plausible reps...
RANGE_WINDOW_MIN_S = 6.0  # ...but at least this long
REPLAY_S = 2 * TRUST_WINDOW_S  # a signal that takes over is first given this much of its recent past


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
        """Fresh signals, amplitudes and counters (at construction and after ``finish``)."""
        spec = self.profile.pose
        if spec is None:
            self._lane = self._make_lane(DominantMotion(), AUTO_FLOOR, "low", split=False)
        else:
            self._lane = self._make_lane(ProfileSignal(spec), spec.min_range, spec.rest_position,
                                         split=spec.split_lagging)
        self._head: _Lane | None = None
        if spec is not None and self.profile.head_fallback:
            self._head = self._make_lane(HeadHeight(), HEAD_FLOOR, self.profile.rest_position, split=False)
        self._active = self._lane
        self._trust = TrustShare()
        self._set_frames = self._set_trusted = 0  # frames since the counter was last idle, and trusted ones
        self.last_value: float | None = None  # the latest signal value, for plots and debugging

    def _make_lane(self, signal: _Signal, floor: float, rest: str, *, split: bool) -> _Lane:
        settings = CounterSettings(
            min_range=floor,
            rest_position="low" if rest == "low" else "high",
            min_rep_s=self.profile.min_rep_s,
            max_rep_s=self.profile.max_rep_s,
            split_lagging=split,
        )
        window = max(RANGE_WINDOW_MIN_S, RANGE_WINDOW_REPS * self.profile.max_rep_s)
        return _Lane(signal, RepCounter(self._timing.applied_to(settings)), RobustRange(window), floor, settings)

    @property
    def min_range(self) -> float:
        """The smallest rep counted right now, in the counting signal's units."""
        return self._active.min_range(self.profile.rel_min_range)

    @property
    def _counter(self) -> RepCounter:
        """The counter counting now (tests read its settings)."""
        return self._active.counter

    @property
    def counting_from_head(self) -> bool:
        """The profile's joints are out of sight, and the head's height in the frame carries the reps."""
        return self._active is self._head

    def update(self, t_s: float, landmarks: npt.ArrayLike | None, *,
               frame_size: tuple[int, int] | None = None) -> list[CountEvent]:
        """Feed one frame (None or an all-zero pose = no detection); returns the completed events.

        ``frame_size`` (width, height in pixels) lets the engine leave out landmarks outside the image and,
        for profiles whose body moves up and down, count from the head when the profile's joints are out
        of sight. While the signal holds frames back (``auto`` before its first axis, a height before its
        body unit is confirmed) nothing reaches the counter; the held frames then arrive together.
        """
        points = frame_points(landmarks)
        if points is None:
            self.last_value = None
            self._trust.push(t_s, False, False)
            for lane in self._lanes():
                lane.keep([(t_s, None, 0.0)])
            return self._finished_sets(self._active.feed([(t_s, None, 0.0)], self.profile.rel_min_range))
        xy, confidence = points
        trusted = landmark_trust(np.asarray(landmarks, dtype=np.float64), frame_size)
        lane, signal = self._lane, self._lane.signal
        samples = (signal.push(t_s, xy, confidence, trusted) if isinstance(signal, ProfileSignal)
                   else signal.push(t_s, xy, confidence) if isinstance(signal, DominantMotion) else [])
        lane.keep(samples)
        head: list[Sample] = []
        if self._head is not None:
            assert isinstance(self._head.signal, HeadHeight)
            head = self._head.signal.push(t_s, xy, confidence, trusted, frame_size)
            self._head.keep(head)
        self._trust.push(t_s, bool(samples) and samples[-1][1] is not None, bool(head) and head[-1][1] is not None)
        events = self._switch()
        mine = samples if self._active is lane else head
        self.last_value = mine[-1][1] if mine else None
        self._set_frames += 1
        self._set_trusted += bool(mine) and mine[-1][1] is not None
        return events + self._finished_sets(self._active.feed(mine, self.profile.rel_min_range))

    def _lanes(self) -> list[_Lane]:
        return [self._lane] if self._head is None else [self._lane, self._head]

    def _switch(self) -> list[CountEvent]:
        """Between sets, count from the head when the profile's joints are out of sight, and back when seen."""
        head, counter = self._head, self._active.counter
        if head is None or not counter.idle or self._trust.span_s < 0.9 * TRUST_WINDOW_S:
            return []
        share = self._trust
        if self._active is self._lane and share.profile < SWITCH_FROM and share.head >= SWITCH_TO:
            target = head
        elif self._active is head and share.profile >= SWITCH_TO:
            target = self._lane
        else:
            return []
        self._active = target
        self._set_frames = self._set_trusted = 0
        return target.restart(self.profile.rel_min_range)

    def _finished_sets(self, events: list[CountEvent]) -> list[CountEvent]:
        """The counter's events, each set's end with its quality; the quality tally restarts when idle."""
        out = [replace(e, quality=quality(self._active is self._head, self._set_frames, self._set_trusted))
               if isinstance(e, SetEnded) else e for e in events]
        if self._active.counter.idle:
            self._set_frames = self._set_trusted = 0
        return out

    def finish(self, t_s: float) -> list[CountEvent]:
        """End of the source: close the last rep and set; the engine starts afresh afterwards."""
        events = self._finished_sets(self._active.counter.finish(t_s))
        self._start()
        return events


_Signal = ProfileSignal | DominantMotion | HeadHeight


class _Lane:
    """One signal with its amplitude and counter; its recent samples are kept to replay when it takes over."""

    def __init__(self, signal: _Signal, counter: RepCounter, amplitude: RobustRange, floor: float,
                 settings: CounterSettings) -> None:
        self.signal, self.counter, self.range, self.floor = signal, counter, amplitude, floor
        self._settings = settings
        self._recent: deque[Sample] = deque()

    def min_range(self, rel: float) -> float:
        return max(self.floor, rel * self.range.value)

    def keep(self, samples: list[Sample]) -> None:
        self._recent.extend(samples)
        while self._recent and self._recent[-1][0] - self._recent[0][0] > REPLAY_S:
            self._recent.popleft()

    def feed(self, samples: list[Sample], rel: float) -> list[CountEvent]:
        """Count these samples (None values are missing frames), unless the signal still holds frames back."""
        events: list[CountEvent] = []
        for t, value, confidence in samples:
            if value is None:
                if not self.signal.holding:
                    events += self.counter.update(None, t)
                continue
            if self.range.push(t, value):
                self.counter.set_min_range(self.min_range(rel))
            events += self.counter.update(SignalSample(t, value, confidence))
        return events

    def restart(self, rel: float) -> list[CountEvent]:
        """A fresh counter and amplitude, then the recent samples replayed: this lane counts from now on."""
        self.counter = RepCounter(self._settings)
        self.range = RobustRange(self.range.window_s)
        return self.feed(list(self._recent), rel)


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
