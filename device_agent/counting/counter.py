"""Streaming rep and set counter: one :class:`SignalSample` in, domain events out.

The pipeline is median-of-three (kills one-sample outliers) → time-constant EMA (irregular sampling
smooths evenly) → hysteresis cycle detector (:mod:`cycle`) → timing checks and set bookkeeping
here. Memory is constant: the counter counts the reps of the open set but does not keep them
(:mod:`replens.device_agent.sets` does, from the RepCompleted events).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import Literal

from replens.device_agent.counting.cycle import Cycle, CycleDetector
from replens.device_agent.counting.events import (
    CountEvent,
    PartialRep,
    RepCompleted,
    RepMeasurement,
    SetEnded,
    SetStarted,
)
from replens.device_agent.counting.filters import SignalFilter
from replens.device_agent.signal import SignalSample
from replens.errors import ConfigError

MIN_CONFIDENCE = 0.3  # samples the tracker trusts less than this are treated as missing
_MARGIN_FULL = 1.5  # a rep this many times min_range above threshold gets full range confidence


@dataclass(frozen=True)
class CounterSettings:
    """Per-station tuning of the counter; all durations in seconds, ranges in signal units."""

    min_range: float  # smallest excursion (signal units) that counts as a rep
    rest_position: Literal["low", "high"] = "low"  # where the signal sits between reps
    min_rep_s: float = 0.4  # faster cycles are noise
    max_rep_s: float = 15.0  # slower excursions are set-up movement, not reps
    set_end_rest_s: float = 20.0  # a set ends after this long without a rep
    settle_s: float = 0.4  # stillness near rest that closes the last rep of a set
    smoothing_s: float = 0.1  # time constant of the smoothing filter
    max_gap_s: float = 1.0  # longer gaps reset the rep in progress
    meters_per_unit: float | None = None  # scale for rom_m and velocities
    split_lagging: bool = False  # a cycle only the unsmoothed signal completes is two reps, not chatter

    def __post_init__(self) -> None:
        if self.rest_position not in ("low", "high"):
            raise ConfigError(f"rest_position must be 'low' or 'high', not {self.rest_position!r}")
        positive = {
            "min_range": self.min_range,
            "max_rep_s": self.max_rep_s,
            "set_end_rest_s": self.set_end_rest_s,
            "max_gap_s": self.max_gap_s,
        }
        non_negative = {"min_rep_s": self.min_rep_s, "settle_s": self.settle_s, "smoothing_s": self.smoothing_s}
        for name, value in positive.items():
            if not (math.isfinite(value) and value > 0.0):
                raise ConfigError(f"{name} must be > 0, got {value}")
        for name, value in non_negative.items():
            if not (math.isfinite(value) and value >= 0.0):
                raise ConfigError(f"{name} must be >= 0, got {value}")
        if self.min_rep_s >= self.max_rep_s:
            raise ConfigError(f"min_rep_s {self.min_rep_s} must be below max_rep_s {self.max_rep_s}")
        if self.meters_per_unit is not None and not self.meters_per_unit > 0.0:
            raise ConfigError(f"meters_per_unit must be > 0, got {self.meters_per_unit}")


@dataclass(frozen=True)
class TimingOverrides:
    """The counter timings a station may set for any tracker (seconds); None keeps the engine's own value.

    Pose and barbell engines have their own defaults (the exercise profile's rep durations, the bar's
    phase limits), so a station overrides only what it names.
    """

    min_rep_s: float | None = None
    max_rep_s: float | None = None
    set_end_rest_s: float | None = None
    settle_s: float | None = None
    smoothing_s: float | None = None
    max_gap_s: float | None = None

    def applied_to(self, settings: CounterSettings) -> CounterSettings:
        """``settings`` with every timing given here instead of its own (checked again by CounterSettings)."""
        return replace(settings, **{name: value for name, value in asdict(self).items() if value is not None})


class RepCounter:
    """Counts reps and groups them into sets, one sample at a time, in O(1) per sample."""

    def __init__(self, settings: CounterSettings) -> None:
        self._settings = settings
        self._min_range = settings.min_range
        self._sign = 1.0 if settings.rest_position == "low" else -1.0
        self._filter = SignalFilter(settings.smoothing_s)
        self._detector = CycleDetector(
            settings.min_range, settings.max_rep_s, settings.settle_s, split=settings.split_lagging
        )
        self._last_t: float | None = None
        self._last_valid_t: float | None = None
        self._live = False  # the filters hold data from the current stretch of samples
        self._reps_in_set = 0
        self._last_rep_end = 0.0  # media time; meaningful while _reps_in_set > 0
        self._last_set_end: float | None = None

    @property
    def set_active(self) -> bool:
        """A set is open: at least one rep and no SetEnded yet."""
        return self._reps_in_set > 0

    @property
    def idle(self) -> bool:
        """No set open and no movement under way: nothing would be lost by starting afresh."""
        return not self._reps_in_set and not self._detector.in_progress

    @property
    def reps_in_set(self) -> int:
        """Reps counted so far in the open set (0 between sets)."""
        return self._reps_in_set

    def set_min_range(self, min_range: float) -> None:
        """Adapt the smallest counted excursion (signal units) while streaming; must stay > 0."""
        if not (math.isfinite(min_range) and min_range > 0.0):
            raise ConfigError(f"min_range must be > 0, got {min_range}")
        self._detector.set_min_range(min_range)
        self._min_range = min_range

    def update(self, sample: SignalSample | None, t_s: float | None = None) -> list[CountEvent]:
        """Feed one sample, or None (no detection) at ``t_s``; returns the events it completes.

        Samples at or before the previous time are ignored: time must move forward.
        """
        t = t_s if sample is None else sample.t_s
        if t is None:
            raise ValueError("update(None) needs t_s")
        if self._last_t is not None and t <= self._last_t:
            return []
        self._last_t = t
        events = self._check_gap(t)
        events += self._check_set_end(t)
        if sample is not None and sample.confidence >= MIN_CONFIDENCE:
            events += self._ingest(sample)
        return events

    def finish(self, t_s: float) -> list[CountEvent]:
        """End of source at ``t_s``: count a rep that is back near rest, then close the open set.

        The counter is then as new, ready for the next source (whose first set has no rest before it).
        """
        events = self.update(None, t_s)  # gaps and set timeouts up to the end, as for live data
        events += self._accept(self._detector.flush())
        if self._reps_in_set:
            events.append(self._end_set())
        self._filter.reset()
        self._last_t = self._last_valid_t = self._last_set_end = None
        self._live = False
        return events

    def _check_gap(self, t: float) -> list[CountEvent]:
        if not self._live or self._last_valid_t is None or t - self._last_valid_t <= self._settings.max_gap_s:
            return []
        self._live = False
        self._filter.reset()
        return self._accept(self._detector.flush())

    def _check_set_end(self, t: float) -> list[CountEvent]:
        """End the set after the rest time, unless a movement is under way: it may be the next rep.

        ``_accept`` still starts a new set for a rep that began after the rest time had passed.
        """
        if self._reps_in_set and not self._detector.in_progress and (
            t - self._last_rep_end >= self._settings.set_end_rest_s
        ):
            return [self._end_set()]
        return []

    def _ingest(self, sample: SignalSample) -> list[CountEvent]:
        self._last_valid_t = sample.t_s
        self._live = True
        filtered = self._filter.push(sample.t_s, self._sign * sample.position, sample.confidence)
        if filtered is None:
            return []
        events = self._accept(self._detector.push(filtered))
        return events + self._partial()

    def _partial(self) -> list[CountEvent]:
        """A short excursion between reps of a set is a partial rep: reported, not counted."""
        found, self._detector.partial = self._detector.partial, None
        if found is None or not self._reps_in_set:
            return []
        start_s, end_s, rom = found
        if start_s < self._last_rep_end or end_s - start_s < self._settings.min_rep_s:
            return []
        return [PartialRep(start_s=start_s, end_s=end_s, rom=rom)]

    def _accept(self, cycle: Cycle | None) -> list[CountEvent]:
        """Timing checks, then the rep (and its set's start) as events."""
        s = self._settings
        if cycle is None or not s.min_rep_s <= cycle.end_s - cycle.start_s <= s.max_rep_s:
            return []
        events: list[CountEvent] = []
        if self._reps_in_set and cycle.start_s - self._last_rep_end >= s.set_end_rest_s:
            events.append(self._end_set())  # a rep flushed late must not join a set long over
        if not self._reps_in_set:
            rest = None if self._last_set_end is None else cycle.start_s - self._last_set_end
            events.append(SetStarted(start_s=cycle.start_s, rest_before_s=rest))
        self._reps_in_set += 1
        rep = self._measure(cycle, index=self._reps_in_set)
        self._last_rep_end = rep.end_s
        events.append(RepCompleted(rep=rep))
        return events

    def _end_set(self) -> SetEnded:
        self._reps_in_set = 0
        self._last_set_end = self._last_rep_end
        return SetEnded(end_s=self._last_rep_end)

    def _measure(self, cycle: Cycle, index: int) -> RepMeasurement:
        """Durations by lift direction, confidence, and metric velocities when a scale is known."""
        rom = cycle.peak_level - cycle.start_level
        away_s, back_s = cycle.arrival_s - cycle.start_s, cycle.end_s - cycle.departure_s
        lifting_away = self._settings.rest_position == "low"
        concentric_s, eccentric_s = (away_s, back_s) if lifting_away else (back_s, away_s)
        rom_m = mean_v = peak_v = None
        mpu = self._settings.meters_per_unit
        if mpu is not None:
            rom_m = rom * mpu
            mean_v = rom_m / concentric_s if concentric_s > 0.0 else None
            peak_v = (cycle.rise_speed if lifting_away else cycle.fall_speed) * mpu
        return RepMeasurement(
            index=index,
            start_s=cycle.start_s,
            turn_s=cycle.turn_s,
            end_s=cycle.end_s,
            rom=rom,
            concentric_s=concentric_s,
            eccentric_s=eccentric_s,
            confidence=self._confidence(cycle, rom),
            rom_m=rom_m,
            mean_velocity_m_s=mean_v,
            peak_velocity_m_s=peak_v,
        )

    def _confidence(self, cycle: Cycle, rom: float) -> float:
        """Tracker trust x margin over min_range x how well the rep came back to where it started."""
        margin = min(1.0, rom / (_MARGIN_FULL * self._min_range))
        closure = max(0.0, 1.0 - abs(cycle.end_level - cycle.start_level) / rom)
        return min(1.0, max(0.0, cycle.mean_confidence * margin * closure))
