"""Hysteresis cycle detection: leave rest, turn at least ``min_range`` away, come back to rest.

Works in the "rest is low" orientation (the counter negates the signal for a high rest). State
decisions use the smoothed signal so noise cannot flip them; levels and times use the median signal
(see :mod:`rep_timing`). Everything is O(1) per sample.

A rep must start from rest. Where the data begins (a clip, a stream, the end of a gap) the detector
takes the first level as its rest, but it may be the middle of a movement: a clip that opens half way
down a squat. Until the signal has stayed at a level for ``settle_s`` or come back from a cycle, the
rest is unconfirmed, and a cycle that leaves from an unconfirmed rest is dropped when the level it
comes back to lies well beyond the one it left from (more than ``RETURN_FRAC`` of its range): it
started part way through.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import Enum, auto

from replens.device_agent.counting.filters import Filtered
from replens.device_agent.counting.rep_timing import Extreme, Ladder, Turn

PARTIAL_FRAC = 0.5  # excursions from half the smallest rep up are partial reps, not noise
REST_FOLLOW_S = 2.0  # the rest level follows slow drift with this time constant
BAND_FRAC = 0.25  # hysteresis band as a fraction of min_range
LADDER_H0_FRAC = 0.1  # lowest crossing level for start/end extrapolation, fraction of min_range
EXTREME_TOL_FRAC = 0.05  # "near the turning point" tolerance, fraction of min_range...
TURN_TOL_FRAC = 0.05  # ...or of the excursion so far, whichever is larger
RETURN_FRAC = 0.2  # back on the rest side once within this fraction of the range
SPLIT_BACK_FRAC = 0.4  # split a chattering excursion only if the smoothed signal came this close to rest


@dataclass(frozen=True, slots=True)
class Cycle:
    """A completed excursion, before the counter judges its timing and turns it into a rep."""

    start_s: float
    arrival_s: float  # reached the turning point
    departure_s: float  # left it (later than arrival only after a pause there)
    end_s: float
    start_level: float
    peak_level: float
    end_level: float
    rise_speed: float  # max smoothed speed start→turn, units/s
    fall_speed: float  # max smoothed speed turn→end, units/s (positive)
    mean_confidence: float

    @property
    def turn_s(self) -> float:
        """The turning point: the middle of any pause there."""
        return 0.5 * (self.arrival_s + self.departure_s)


class _Phase(Enum):
    REST = auto()
    RISING = auto()  # away from rest, turning point not yet confirmed by a return
    RETURNED = auto()  # back near rest; waiting for stillness or the next rep to confirm the end


@dataclass(slots=True)
class _Excursion:
    """Working state of the cycle in progress."""

    low: float
    leave_s: float
    onset: Ladder
    peak: Turn
    landing: Ladder = field(default_factory=lambda: Ladder.empty(rising=False))
    bottom: Extreme | None = None
    up_max: float = 0.0
    rise_speed: float = 0.0
    fall_speed: float = 0.0
    conf_sum: float = 0.0
    conf_n: int = 0
    anchored: bool = True  # it left from a rest level the detector had confirmed
    median_back: bool = False  # the unsmoothed signal has been back on the rest side
    chatter: bool = False  # ...and then left again while the smoothed one never returned
    back_s: float = 0.0  # when the unsmoothed signal was lowest while back on the rest side...
    back_level: float = math.inf  # ...and that level
    back_smooth: float = math.inf  # lowest smoothed level since the unsmoothed one came back

    def observe_rise(self, prev: tuple[float, float], f: Filtered, h0: float, tol: float) -> None:
        """Track the way up and the turning point."""
        self.up_max = max(self.up_max, f.speed)
        tol = max(tol, TURN_TOL_FRAC * (self.peak.value - self.low))
        if f.median > self.peak.value:  # only new highs can cross a level not crossed yet
            self.onset.update(prev, f.t_s, f.median, self.low, h0)
        if self.peak.update(f.t_s, f.median, tol):
            self.rise_speed = self.up_max
            self.fall_speed = 0.0
            self.landing = Ladder.empty(rising=False)
            self.bottom = None

    def observe_fall(self, prev: tuple[float, float], f: Filtered, h0: float, tol: float) -> None:
        """Track the way down to rest."""
        self.conf_sum += f.confidence
        self.conf_n += 1
        self.fall_speed = max(self.fall_speed, -f.speed)
        self.landing.update(prev, f.t_s, f.median, self.low, h0)
        if self.bottom is None:
            self.bottom = Extreme.at(f.t_s, -f.median)
        else:
            self.bottom.update(f.t_s, -f.median, tol)

    def landed_s(self, h0: float) -> float | None:
        """When the signal got back to its start level, if the crossings on the way down show it."""
        return self.landing.estimate(self.peak.value - self.low, h0, self.peak.arrival_departure()[1])

    def close(self, end_level: float, h0: float) -> Cycle:
        """Freeze the rep's timing into a :class:`Cycle`."""
        arrival, departure = self.peak.arrival_departure()
        start = self.onset.estimate(self.peak.value - self.low, h0, arrival)
        end = self.landed_s(h0)
        if end is None:
            end = self.bottom.first_s if self.bottom is not None else departure
        return Cycle(
            start_s=min(self.leave_s if start is None else start, arrival),
            arrival_s=arrival,
            departure_s=departure,
            end_s=max(end, departure),
            start_level=self.low,
            peak_level=self.peak.value,
            end_level=end_level,
            rise_speed=self.rise_speed,
            fall_speed=self.fall_speed,
            mean_confidence=self.conf_sum / self.conf_n if self.conf_n else 0.0,
        )


class CycleDetector:
    """Turns filtered samples into completed cycles; see the module docstring for the rules."""

    def __init__(self, min_range: float, max_rep_s: float, settle_s: float, *, split: bool = False) -> None:
        self._max_rep_s = max_rep_s
        self._settle_s = settle_s
        self._split_enabled = split
        self.set_min_range(min_range)
        self.reset()

    def set_min_range(self, min_range: float) -> None:
        """Change the smallest rep (and the bands derived from it), e.g. from an adaptive amplitude.

        Signals without a fixed unit (pose angles, pixels) need a threshold that follows the
        observed movement; the state in progress is kept, only future decisions use the new value.
        """
        self._min_range = min_range
        self._band = BAND_FRAC * min_range
        self._h0 = LADDER_H0_FRAC * min_range
        self._tol = EXTREME_TOL_FRAC * min_range

    def reset(self) -> None:
        """Forget everything, including the rest level (used after gaps and at the end of a source)."""
        self.partial: tuple[float, float, float] | None = None  # (start_s, end_s, rom) of a short excursion
        self._phase = _Phase.REST
        self._low: float | None = None
        self._prev: tuple[float, float] | None = None
        self._onset = Ladder.empty(rising=True)
        self._exc: _Excursion | None = None
        self._ret_min = 0.0
        self._anchor = (0.0, 0.0)  # (time, median level) of the last noticeable movement while returned
        self._rest_known = False  # the rest level has been seen as one (still there, or returned to)
        self._rest_since = 0.0  # when the detector last (re)learned its rest level

    @property
    def in_progress(self) -> bool:
        """An excursion has started and is not finished (a rep may be under way)."""
        return self._phase is not _Phase.REST

    def push(self, f: Filtered) -> Cycle | None:
        """Feed one filtered sample; returns a cycle the moment it is confirmed complete."""
        prev = self._prev
        self._prev = (f.t_s, f.median)
        if prev is None or self._low is None:
            self._low, self._rest_since = f.smooth, f.t_s
            return None
        if self._phase is _Phase.REST:
            self._rest(prev, f)
            return None
        if self._phase is _Phase.RISING:
            return self._rising(prev, f)
        return self._returned(prev, f)

    def flush(self) -> Cycle | None:
        """End of data: a cycle that has come back near rest counts, one still away does not."""
        exc, prev, cycle = self._exc, self._prev, None
        if exc is not None and self._phase is _Phase.RETURNED:
            cycle = self._close(exc, self._ret_min)
        elif exc is not None and prev is not None and self._phase is _Phase.RISING:
            rom = exc.peak.value - exc.low
            if rom >= self._min_range and prev[1] <= exc.low + self._return_margin(rom):
                cycle = exc.close(prev[1], self._h0)
        self.reset()
        return cycle

    def _return_margin(self, rom: float) -> float:
        return max(self._band, RETURN_FRAC * rom)

    def _close(self, exc: _Excursion, end_level: float) -> Cycle | None:
        """The finished cycle, or None when it left from an unconfirmed rest that was no rest at all."""
        self._rest_known = True
        rom = exc.peak.value - exc.low
        if not exc.anchored and exc.low - end_level > RETURN_FRAC * rom:
            return None  # the data began part way through this movement
        return exc.close(end_level, self._h0)

    def _rest(self, prev: tuple[float, float], f: Filtered) -> None:
        assert self._low is not None
        self._onset.update(prev, f.t_s, f.median, self._low, self._h0)
        if f.t_s - self._rest_since >= self._settle_s:
            self._rest_known = True
        if f.smooth > self._low + self._band:
            self._start(f, self._low)
        elif f.smooth < self._low:
            self._low = f.smooth
        else:
            follow = 1.0 - math.exp(-(f.t_s - prev[0]) / REST_FOLLOW_S)
            self._low += (f.smooth - self._low) * follow

    def _start(self, f: Filtered, low: float) -> None:
        self._exc = _Excursion(low=low, leave_s=f.t_s, onset=self._onset, peak=Turn.at(f.t_s, f.median),
                               anchored=self._rest_known)
        self._exc.up_max = f.speed
        self._onset = Ladder.empty(rising=True)
        self._phase = _Phase.RISING

    def _to_rest(self, low: float, *, keep_onset: bool = False) -> None:
        self._phase, self._low, self._exc = _Phase.REST, low, None
        if not keep_onset:
            self._onset = Ladder.empty(rising=True)

    def _rising(self, prev: tuple[float, float], f: Filtered) -> Cycle | None:
        exc = self._exc
        assert exc is not None
        exc.observe_rise(prev, f, self._h0, self._tol)
        exc.observe_fall(prev, f, self._h0, self._tol)
        if f.t_s - exc.leave_s > self._max_rep_s:
            self._to_rest(f.smooth)  # too slow for a rep: set-up movement; re-learn the rest level here
            self._rest_known, self._rest_since = False, f.t_s
            return None
        rom = exc.peak.value - exc.low
        if self._watch_chatter(exc, f, rom):
            return self._split(exc, f)
        if f.smooth > exc.low + self._return_margin(rom):
            return None
        if rom < self._min_range or exc.chatter:
            if not exc.chatter and rom >= PARTIAL_FRAC * self._min_range:
                self.partial = (exc.leave_s, f.t_s, rom)  # the counter flags it if a set is under way
            self._to_rest(min(exc.low, f.smooth))  # a wobble or a vibration, not a rep
            self._rest_known = True  # ...that came back where it left: that level is a rest
            return None
        self._phase = _Phase.RETURNED
        self._ret_min = f.smooth
        self._anchor = (f.t_s, f.median)
        return None

    def _watch_chatter(self, exc: _Excursion, f: Filtered, rom: float) -> bool:
        """Cycles too fast for the smoothed signal to follow show only in the median one.

        Such an excursion is dropped as chatter, or, with ``split`` on and the smoothed signal most
        of the way back (it only lagged), split in two; returns True when it is to be split.
        """
        if rom < self._min_range or exc.chatter:
            return False
        if f.median <= exc.low + self._return_margin(rom):
            exc.median_back = True
            if f.median < exc.back_level:
                exc.back_s, exc.back_level = f.t_s, f.median
        if exc.median_back:
            exc.back_smooth = min(exc.back_smooth, f.smooth)
            if f.median >= exc.low + 0.5 * rom:
                exc.chatter = True
                return self._split_enabled and exc.back_smooth <= exc.low + SPLIT_BACK_FRAC * rom
        return False

    def _split(self, exc: _Excursion, f: Filtered) -> Cycle | None:
        """Close the excursion where the median signal was back at rest; the new one left from there."""
        cycle = self._close(exc, exc.back_level)
        onset = Ladder.empty(rising=True)
        self._exc = _Excursion(low=exc.back_level, leave_s=exc.back_s, onset=onset, peak=Turn.at(f.t_s, f.median))
        self._exc.up_max = f.speed
        return cycle

    def _returned(self, prev: tuple[float, float], f: Filtered) -> Cycle | None:
        exc = self._exc
        assert exc is not None
        exc.observe_fall(prev, f, self._h0, self._tol)
        self._onset.update(prev, f.t_s, f.median, self._ret_min, self._h0)
        if f.smooth > self._ret_min + self._band:  # moving away again: the next rep confirms this one
            cycle = self._close(exc, self._ret_min)
            self._start(f, self._ret_min)
            return cycle
        if abs(f.median - self._anchor[1]) > self._band:  # still moving: restart the stillness clock
            self._anchor = (f.t_s, f.median)
        self._ret_min = min(self._ret_min, f.smooth)
        landed = exc.landed_s(self._h0)  # back at the start level: the clock runs from the landing
        if f.t_s - (self._anchor[0] if landed is None else landed) < self._settle_s:
            return None
        cycle = self._close(exc, self._ret_min)
        self._to_rest(self._ret_min, keep_onset=True)  # the next rep may already be leaving
        return cycle
