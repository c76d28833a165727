"""Rep timing: constant-memory trackers of a rep's key moments (start, turning point, end), without buffers.

Levels and times come from the median-filtered signal, which has no smoothing lag. The start and
end are extrapolated from two threshold crossings (a constant-acceleration model of leaving or
reaching rest); the arrival at and departure from the turning point likewise from the edges of two
bands below the extreme, so a pause at the top is excluded from both phases and the turning point is
its middle.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass


def crossing(prev: tuple[float, float], t_s: float, x: float, level: float, *, up: bool) -> float | None:
    """Interpolated time at which the segment prev→(t_s, x) crosses ``level`` in one direction."""
    t_prev, x_prev = prev
    hit = x_prev <= level < x if up else x_prev > level >= x
    if not hit:
        return None
    return t_prev + (level - x_prev) / (x - x_prev) * (t_s - t_prev)


_MAX_LEAD = 0.25  # extrapolation may reach back at most this fraction of the move it times
LADDER_STEPS = 10  # levels h0, 2·h0, 4·h0, ...: enough for excursions of ~100x h0
PAIR_FRAC = 0.25  # use the highest crossing pair whose upper level is at most this fraction of the range


@dataclass(slots=True)
class Ladder:
    """Crossing times of levels h0·2^k above a base: when the signal left rest, or reached it again.

    Near rest a smooth move is x ∝ (t - t0)², so the crossings of a level and of four times that level
    sit at t0 + d and t0 + 2d (mirrored for the way down): t0 = 2·t_k - t_(k+2). Which pair to use is
    chosen once the range is known: the highest pair still close to rest, where the quadratic model
    holds and the signal crosses fast enough for noise not to matter. Each level keeps its first
    crossing; moving back past half (rising) or double (falling) the level forgets it, so noise at a
    level cannot re-time it but a real restart does.
    """

    rising: bool
    times: list[float | None]

    @classmethod
    def empty(cls, *, rising: bool) -> Ladder:
        """A ladder with no crossings yet."""
        return cls(rising=rising, times=[None] * LADDER_STEPS)

    def update(self, prev: tuple[float, float], t_s: float, x: float, base: float, h0: float) -> None:
        """Feed one median sample (``prev`` is the one before).

        Only levels between the two samples can be crossed, so the loop skips the others cheaply
        and stops once both a level and its way-back level lie above the segment (hot path).
        """
        x_prev = prev[1]
        lo, hi = (x_prev, x) if x_prev < x else (x, x_prev)
        back_frac = 0.5 if self.rising else 2.0
        times = self.times
        step = h0
        for k in range(LADDER_STEPS):
            level = base + step
            back = base + step * back_frac
            step *= 2.0
            if level > hi and back > hi:
                break
            if times[k] is None and lo <= level <= hi:
                times[k] = crossing(prev, t_s, x, level, up=self.rising)
            if lo <= back <= hi and crossing(prev, t_s, x, back, up=not self.rising) is not None:
                times[k] = None

    def estimate(self, rom: float, h0: float, far_s: float) -> float | None:
        """Extrapolated time at rest, or None without a usable pair of crossings.

        ``far_s`` is the turning point; the extrapolation never reaches further from the crossing
        than a quarter of the way to it (a hesitant start must not drag the start back by seconds).
        """
        top = max(0, min(LADDER_STEPS - 3, math.floor(math.log2(max(PAIR_FRAC * rom / h0, 1.0))) - 2))
        for k in range(top, -1, -1):
            near, far = self.times[k], self.times[k + 2]
            if near is not None and far is not None:
                lead = min(abs(near - far), _MAX_LEAD * abs(far_s - near))
                return near - lead if self.rising else near + lead
        return None


_HISTORY = 32  # samples an Extreme keeps to time its rising edge...
_HISTORY_SPACING_S = 0.05  # ...at least this far apart, so they reach back about 1.6 s at any rate


@dataclass(slots=True)
class Extreme:
    """Running maximum plus the first and last time the signal was within ``tol`` of it.

    Both edges are interpolated between samples, so the middle of the span is not quantised to the
    sampling interval; a new maximum re-times the rising edge from the last few samples. Pass
    negated values to track a minimum.
    """

    value: float
    first_s: float
    first_x: float
    last_s: float
    recent: deque[tuple[float, float]]

    @classmethod
    def at(cls, t_s: float, x: float) -> Extreme:
        """A tracker whose extreme so far is this one sample."""
        return cls(value=x, first_s=t_s, first_x=x, last_s=t_s, recent=deque([(t_s, x)], maxlen=_HISTORY))

    def update(self, t_s: float, x: float, tol: float) -> bool:
        """Feed one sample; returns True when it set a new extreme."""
        prev = self.recent[-1]
        self._remember(t_s, x)
        rose = x > self.value
        if rose:
            self.value = x
            if self.first_x < x - tol:
                self.first_s, self.first_x = self._rising_edge(x - tol, self.first_s), x - tol
        level = self.value - tol
        if x >= level:
            self.last_s = t_s
        elif prev[1] >= level:
            t_cross = crossing(prev, t_s, x, level, up=False)
            self.last_s = self.last_s if t_cross is None else t_cross
        return rose

    def _remember(self, t_s: float, x: float) -> None:
        """Keep the newest sample, thinning older ones to the history spacing."""
        if len(self.recent) >= 2 and self.recent[-1][0] - self.recent[-2][0] < _HISTORY_SPACING_S:
            self.recent[-1] = (t_s, x)
        else:
            self.recent.append((t_s, x))

    def _rising_edge(self, level: float, fallback_s: float) -> float:
        """Newest upward crossing of ``level`` among the recent samples.

        Without one (a long plateau whose noise nudged the maximum up) the previous edge, timed for a
        slightly lower level, is the better answer.
        """
        samples = reversed(self.recent)
        newer = next(samples)
        for older in samples:
            t_cross = crossing(older, newer[0], newer[1], level, up=True)
            if t_cross is not None:
                return t_cross
            newer = older
        return fallback_s


@dataclass(slots=True)
class Turn:
    """The turning point: arrival at and departure from the extreme, extrapolated like the onset.

    Near a smooth extreme x ≈ peak - c·(t - t0)², so the edges of the spans within ``tol`` and
    within ``4·tol`` of the peak sit at t0 ∓ d and t0 ∓ 2d on each side: 2·near - wide recovers t0
    per side even when the way up and the way down have different tempos. A pause at the top gives
    an arrival before the departure.
    """

    near: Extreme
    wide: Extreme

    @classmethod
    def at(cls, t_s: float, x: float) -> Turn:
        """A turning point tracker starting at this sample."""
        return cls(near=Extreme.at(t_s, x), wide=Extreme.at(t_s, x))

    def update(self, t_s: float, x: float, tol: float) -> bool:
        """Feed one sample; returns True when it set a new extreme."""
        self.wide.update(t_s, x, 4.0 * tol)
        return self.near.update(t_s, x, tol)

    @property
    def value(self) -> float:
        """The extreme value itself."""
        return self.near.value

    def arrival_departure(self) -> tuple[float, float]:
        """(arrival, departure) times; equal when there was no pause at the extreme."""
        arrival = min(2.0 * self.near.first_s - self.wide.first_s, self.near.last_s)
        departure = max(2.0 * self.near.last_s - self.wide.last_s, self.near.first_s)
        if arrival > departure:
            arrival = departure = 0.5 * (arrival + departure)
        return arrival, departure
