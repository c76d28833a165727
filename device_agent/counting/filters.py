"""Small constant-memory filters that clean the position signal before rep detection."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Filtered:
    """One cleaned sample, in the counter's "rest is low" orientation.

    Attributes:
        t_s: media time of the sample (the middle one of the median window).
        median: median of three raw positions: outlier-free, unsmoothed, no lag; used for levels
            and times, which smoothing would shift or flatten.
        smooth: time-constant EMA of ``median``; used for state decisions, which noise would flip.
        speed: derivative of ``smooth`` (units per second) over the last two smoothed samples.
        confidence: the tracker's confidence for this sample.
    """

    t_s: float
    median: float
    smooth: float
    speed: float
    confidence: float


class Median3:
    """Median of the last three samples, so that a one-sample jump never reaches the detector.

    The output is stamped with the middle sample's time: it costs one sample of latency but no
    time shift.
    """

    def __init__(self) -> None:
        self._window: deque[tuple[float, float, float]] = deque(maxlen=3)

    def reset(self) -> None:
        """Forget the window (after a gap the old samples say nothing about the new ones)."""
        self._window.clear()

    def push(self, t_s: float, x: float, confidence: float) -> tuple[float, float, float] | None:
        """Add a sample; returns (time, median, confidence) of the middle sample once three are in."""
        self._window.append((t_s, x, confidence))
        if len(self._window) < 3:
            return None
        t_mid, _, conf_mid = self._window[1]
        median = sorted(x for _, x, _ in self._window)[1]
        return t_mid, median, conf_mid


class TimeEma:
    """Exponential smoothing with a time constant, so irregular sampling smooths the same as regular.

    The state also yields a speed estimate over a two-sample baseline, which halves the noise of a
    one-step difference at the cost of half a sample of delay.
    """

    def __init__(self, tau_s: float) -> None:
        self._tau_s = tau_s
        self._history: deque[tuple[float, float]] = deque(maxlen=3)

    def reset(self) -> None:
        """Restart from the next sample (after a gap, old momentum would be wrong)."""
        self._history.clear()

    def update(self, t_s: float, x: float) -> tuple[float, float]:
        """Smooth one sample; returns (smoothed value, speed in units per second)."""
        if not self._history:
            value = x
        else:
            t_prev, prev = self._history[-1]
            dt = t_s - t_prev
            alpha = 1.0 if self._tau_s <= 0.0 else 1.0 - math.exp(-dt / self._tau_s)
            value = prev + alpha * (x - prev)
        self._history.append((t_s, value))
        t_old, old = self._history[0]
        speed = (value - old) / (t_s - t_old) if t_s > t_old else 0.0
        return value, speed


class SignalFilter:
    """Median-of-three then EMA: the whole cleaning chain, resettable as one."""

    def __init__(self, smoothing_s: float) -> None:
        self._median = Median3()
        self._ema = TimeEma(smoothing_s)

    def reset(self) -> None:
        """Drop all state; the next two samples only refill the median window."""
        self._median.reset()
        self._ema.reset()

    def push(self, t_s: float, x: float, confidence: float) -> Filtered | None:
        """Clean one raw sample; None while the median window is still filling."""
        mid = self._median.push(t_s, x, confidence)
        if mid is None:
            return None
        t_mid, median, conf = mid
        smooth, speed = self._ema.update(t_mid, median)
        return Filtered(t_s=t_mid, median=median, smooth=smooth, speed=speed, confidence=conf)
