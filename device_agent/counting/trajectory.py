"""Barbell (or plate) trajectories → reps with velocity-based-training measurements.

A bar tracker gives (x, y) per frame, with dropouts, detector glitches and a camera that may not be
level. The engine gates impossible jumps, converts to metres (a known scale, or the plate's apparent
size), integrates the increments projected on the dominant direction of motion (a streaming PCA of
the increments, "up" positive) and feeds the 1-D :class:`RepCounter`. Integrating increments means
a tracker jump, a re-anchored track or a change of scale never shows up as a step in the signal.

Each completed rep's velocities are then re-measured from a bounded buffer of recent samples, as the
mocap reference defines them: after local cubic smoothing (Savitzky–Golay, 0.21 s), the concentric
phase is the maximal run with upward velocity above 0.05 m/s that gains at least half the rep's range;
mean concentric velocity = height gain / duration.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import replace
from typing import Literal

import numpy as np

from replens.contract.exercises import Exercise
from replens.device_agent.counting.counter import CounterSettings, RepCounter, TimingOverrides
from replens.device_agent.counting.events import CountEvent, RepCompleted, RepMeasurement
from replens.device_agent.counting.profiles import profile_for
from replens.device_agent.signal import SignalSample
from replens.errors import ConfigError

_GATE_SLACK_M = 0.03  # tracker jitter allowed on top of max_speed·dt
_REANCHOR_N = 3  # this many mutually consistent rejected samples: the track moved, follow it
_BUFFER_EXTRA_S = 5.0  # the velocity buffer covers the longest rep plus this much
_PEAK_HALF_SAMPLES = 5  # peak velocity from a fit over >= 11 samples: the max of a noisy derivative is biased up
_STILL_S = 0.3  # the scale may change only when the bar moved less than the concentric threshold over this
_AXIS_PRIOR = 30.0  # vertical prior of the axis, in min_range²/s: about half a rep's worth of motion


class TrajectoryRepEngine:
    """Streaming bar-path rep counter: one (x, y) sample in, domain events out, O(1) memory per rep.

    Args:
        exercise: the lift; its profile says where the bar rests between reps.
        meters_per_unit: scale of x and y; otherwise ``plate_size`` samples give it.
        plate_diameter_m: real plate diameter for the plate-size scale.
        y_up: True when y grows upwards (Kinovea, mocap); False for image rows.
        rest_position: overrides the exercise's rest side (e.g. "high" for a Romanian deadlift).
        min_rom_m: smallest bar excursion that counts as a rep.
        min_range: smallest excursion in raw units, only needed when no scale is ever known.
        max_speed_m_s: faster apparent bar motion is a tracker glitch.
        phase_s: plausible (shortest, longest) duration of one phase of a rep: reps last from twice
            the shortest to twice the longest plus 3 s, unless ``timing`` says otherwise.
        max_tilt_deg: the motion axis may lean at most this far from the image vertical.
        frame_aspect: frame width / height when x, y and plate sizes are normalised to the frame. A
            plate seen at an angle is an ellipse whose major axis is its diameter (foreshortening only
            shrinks), so with the aspect known the larger side scales both axes; without it each axis
            is scaled by its own side, as the vbt authors do.
        timing: the station's counter timings; None keeps the ones above and the counter's defaults.
    """

    def __init__(
        self,
        exercise: Exercise,
        *,
        meters_per_unit: float | None = None,
        plate_diameter_m: float = 0.45,
        y_up: bool = False,
        rest_position: Literal["low", "high"] | None = None,
        min_rom_m: float = 0.12,
        min_range: float | None = None,
        max_speed_m_s: float = 5.0,
        phase_s: tuple[float, float] = (0.3, 6.0),
        max_tilt_deg: float = 45.0,
        plate_window: int = 30,
        frame_aspect: float | None = None,
        concentric_threshold_m_s: float = 0.05,
        smoothing_window_s: float = 0.21,
        timing: TimingOverrides | None = None,
    ) -> None:
        profile = profile_for(exercise)
        if rest_position is None and profile.load != "barbell":
            raise ConfigError(f"{exercise} is not a barbell lift (load: {profile.load}); pass rest_position")
        rest = rest_position or profile.rest_position
        if meters_per_unit is not None and not meters_per_unit > 0.0:
            raise ConfigError(f"meters_per_unit must be > 0, got {meters_per_unit}")
        if not (plate_diameter_m > 0.0 and min_rom_m > 0.0 and max_speed_m_s > 0.0 and plate_window >= 1):
            raise ConfigError("plate_diameter_m, min_rom_m, max_speed_m_s and plate_window must be positive")
        self._mpu, self._plate_m, self._y_up, self._aspect = meters_per_unit, plate_diameter_m, y_up, frame_aspect
        self._max_speed, self._thr, self._half_win = max_speed_m_s, concentric_threshold_m_s, smoothing_window_s / 2
        self._cos_tilt = math.cos(math.radians(max_tilt_deg))
        lo, hi = phase_s
        phases = CounterSettings(min_range=min_rom_m, rest_position=rest, min_rep_s=2 * lo, max_rep_s=2 * hi + 3.0)
        self._base = (timing or TimingOverrides()).applied_to(phases)
        self._min_range_units = min_range
        self._plates: deque[tuple[float, float]] = deque(maxlen=plate_window)
        self._counter: RepCounter | None = None
        self._metric = False
        self._reset()

    def _reset(self) -> None:
        self._counter, self._plates = None, deque(maxlen=self._plates.maxlen)
        self._last: tuple[float, float, float] | None = None  # (t, x, y-up) of the last accepted sample
        self._pending: list[tuple[float, float, float]] = []  # rejected samples that may be a re-anchor
        # Σ dx²/dt, Σ dx·dy/dt, Σ dy²/dt of accepted increments, plus a vertical prior so that the
        # walk-out before the first rep cannot tilt the axis far
        self._cov = [0.0, 0.0, 0.0]
        self._axis = (0.0, 1.0)
        self._pos = 0.0
        self._t: float | None = None
        self._buffer: deque[tuple[float, float]] = deque()  # median-of-5 positions for the velocity fit
        self._recent: deque[tuple[float, float]] = deque()  # the last _STILL_S of positions
        self._scale_now: tuple[float, float] | None = None

    @property
    def position(self) -> float | None:
        """The bar's position along its axis (up positive; metres once scaled), None before the first sample."""
        return None if self._last is None else self._pos

    @property
    def axis(self) -> tuple[float, float]:
        """Current motion axis (x, y-up) as a unit vector with a non-negative up component."""
        return self._axis

    def update(
        self, t_s: float, x: float | None, y: float | None, plate_size: float | tuple[float, float] | None = None
    ) -> list[CountEvent]:
        """Feed one tracker sample (None = no detection at ``t_s``); returns the events it completes.

        ``plate_size`` is the plate's apparent diameter in x/y units, or (width in x units, height in
        y units) for normalised image coordinates whose axes have different scales.
        """
        if self._t is not None and t_s <= self._t:
            return []
        self._t = t_s
        if plate_size is not None:
            w, h = (plate_size, plate_size) if isinstance(plate_size, (int, float)) else plate_size
            if w > 0.0 and h > 0.0 and math.isfinite(w + h):
                self._plates.append((w, h))
        if x is None or y is None or not math.isfinite(x + y):
            return [] if self._counter is None else self._rewrite(self._counter.update(None, t_s))
        scale = self._scale()
        counter = self._ensure_counter(scale is not None)
        up = y if self._y_up else -y
        if not self._accept(t_s, x, up, scale or (1.0, 1.0), gated=scale is not None):
            return self._rewrite(counter.update(None, t_s))
        self._remember(t_s)
        return self._rewrite(counter.update(SignalSample(t_s=t_s, position=self._pos), t_s))

    def finish(self, t_s: float) -> list[CountEvent]:
        """End of source: close the last rep and set; the engine is then as new."""
        events = [] if self._counter is None else self._rewrite(self._counter.finish(t_s))
        self._reset()
        return events

    def _remember(self, t_s: float) -> None:
        """Keep the bounded history: median-of-5 positions (no one- or two-frame glitch) and the last moments."""
        recent = self._recent
        recent.append((t_s, self._pos))
        while recent[0][0] < t_s - _STILL_S:
            recent.popleft()
        if len(recent) >= 5:
            window = sorted(p for _, p in list(recent)[-5:])
            self._buffer.append((recent[-3][0], window[2]))
        while self._buffer and self._buffer[0][0] < t_s - self._base.max_rep_s - _BUFFER_EXTRA_S:
            self._buffer.popleft()

    def _scale(self) -> tuple[float, float] | None:
        """Metres per unit: fixed, or the median plate size, adopted only outside a set and while still.

        Increments are integrated, so a scale change in mid-rep would leave the bar off its rest level;
        the camera and the lifter do not move during a set, so a box that suddenly grows is a detector
        glitch that must not change the scale until the set is over.
        """
        if self._mpu is not None:
            return self._mpu, self._mpu
        if not self._plates:
            return None
        recent = self._recent
        span = recent[-1][0] - recent[0][0] if recent else 0.0
        levels = [p for _, p in recent]
        still = span > 0.5 * _STILL_S and max(levels) - min(levels) < self._thr * span
        in_set = self._counter is not None and self._counter.set_active
        if self._scale_now is None or (still and not in_set):
            self._scale_now = self._plate_scale()
        return self._scale_now

    def _plate_scale(self) -> tuple[float, float]:
        ws, hs = sorted(w for w, _ in self._plates), sorted(h for _, h in self._plates)
        w, h = ws[len(ws) // 2], hs[len(hs) // 2]
        if self._aspect is None:
            return self._plate_m / w, self._plate_m / h
        per_height = self._plate_m / max(w * self._aspect, h)  # metres per frame height
        return per_height * self._aspect, per_height

    def _ensure_counter(self, metric: bool) -> RepCounter:
        if self._counter is None:
            settings = self._base
            if not metric:
                if self._min_range_units is None:
                    raise ConfigError("no scale (meters_per_unit or plate_size) and no min_range in units")
                settings = replace(settings, min_range=self._min_range_units)
            self._metric = metric
            self._counter = RepCounter(settings)
            self._cov[2] += _AXIS_PRIOR * settings.min_range**2
        return self._counter

    def _accept(self, t_s: float, x: float, up: float, scale: tuple[float, float], *, gated: bool) -> bool:
        """Gate the sample against the last accepted one; integrate its projected increment if it passes."""
        last = self._last
        if last is None:
            self._last = (t_s, x, up)
            return True
        dx, dy = (x - last[1]) * scale[0], (up - last[2]) * scale[1]
        if gated and math.hypot(dx, dy) > self._max_speed * (t_s - last[0]) + _GATE_SLACK_M:
            if self._pending:
                pt, px, pu = self._pending[-1]
                jump = math.hypot((x - px) * scale[0], (up - pu) * scale[1])
                if jump > self._max_speed * (t_s - pt) + _GATE_SLACK_M:
                    self._pending.clear()
            self._pending.append((t_s, x, up))
            if len(self._pending) < _REANCHOR_N:
                return False
            self._last, self._pending = (t_s, x, up), []  # the track really moved: follow it, no step
            return True
        self._pending.clear()
        dt = t_s - last[0]
        self._last = (t_s, x, up)
        cov = self._cov
        cov[0] += dx * dx / dt
        cov[1] += dx * dy / dt
        cov[2] += dy * dy / dt
        self._update_axis()
        self._pos += self._axis[0] * dx + self._axis[1] * dy
        return True

    def _update_axis(self) -> None:
        """Major axis of the increment covariance, up positive, unless it leans past the tilt limit."""
        sxx, sxy, syy = self._cov
        if sxx + syy <= 0.0:
            return
        theta = 0.5 * math.atan2(2.0 * sxy, sxx - syy)
        ux, uy = math.cos(theta), math.sin(theta)
        if uy < 0.0:
            ux, uy = -ux, -uy
        if uy >= self._cos_tilt:
            self._axis = (ux, uy)

    def _rewrite(self, events: list[CountEvent]) -> list[CountEvent]:
        """Replace the counter's velocity estimates by the buffered concentric measurement."""
        if not self._metric:
            return events
        return [RepCompleted(rep=self._measure(e.rep)) if isinstance(e, RepCompleted) else e for e in events]

    def _measure(self, rep: RepMeasurement) -> RepMeasurement:
        """Concentric phase of ``rep`` by the reference definition, from the buffered samples."""
        low = self._base.rest_position == "low"
        c0 = rep.start_s if low else rep.end_s - rep.concentric_s
        c1 = c0 + rep.concentric_s
        samples = [s for s in self._buffer if c0 - 1.0 <= s[0] <= c1 + 1.0]
        if len(samples) < 9:
            return rep
        arr = np.asarray(samples)
        t, z, v = smooth_cubic(arr[:, 0], arr[:, 1], self._half_win)
        best: tuple[float, float, float, float] | None = None  # (gain, start, end, peak)
        for run in velocity_runs(t, z, v, self._thr):
            gain, start, end, _ = run
            overlaps = start < c1 + 0.2 and end > c0 - 0.2
            if overlaps and gain >= 0.5 * (rep.rom_m or 0.0) and (best is None or gain > best[0]):
                best = run
        if best is None:
            return rep
        gain, start, end, peak = best
        t2, _, v2 = smooth_cubic(arr[:, 0], arr[:, 1], self._half_win, min_half_samples=_PEAK_HALF_SAMPLES)
        inside = v2[(t2 >= start) & (t2 <= end)]
        peak = float(inside.max()) if inside.size else peak
        return replace(rep, concentric_s=end - start, rom_m=gain, mean_velocity_m_s=gain / (end - start),
                       peak_velocity_m_s=peak)


def smooth_cubic(
    t: np.ndarray, x: np.ndarray, half_window_s: float, min_half_samples: int = 2
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Local cubic least-squares fit (Savitzky–Golay on the real sample times): (t, level, velocity).

    The window is a fixed number of samples chosen from the median interval, so gaps widen it rather
    than leaving too few points; the first and last half-window are dropped.
    """
    dt = float(np.median(np.diff(t)))
    k = max(min_half_samples, round(half_window_s / dt) if dt > 0 else 0)
    n = len(t) - 2 * k
    if n <= 0:
        return t[:0], x[:0], x[:0]
    idx = np.arange(k, k + n)[:, None] + np.arange(-k, k + 1)[None, :]
    span = max(half_window_s, k * dt)
    tau = (t[idx] - t[k : k + n, None]) / span
    basis = np.stack([np.ones_like(tau), tau, tau**2, tau**3], axis=-1)
    ata = np.einsum("nmi,nmj->nij", basis, basis)
    aty = np.einsum("nmi,nm->ni", basis, x[idx])
    coef = np.linalg.solve(ata, aty[..., None])[..., 0]
    return t[k : k + n], coef[:, 0], coef[:, 1] / span


def velocity_runs(t: np.ndarray, z: np.ndarray, v: np.ndarray, thr: float) -> list[tuple[float, float, float, float]]:
    """Maximal runs with v > thr as (height gain, start, end, peak v), edges interpolated at v = thr."""
    above = v > thr
    runs: list[tuple[float, float, float, float]] = []
    i, n = 0, len(v)
    while i < n:
        if not above[i]:
            i += 1
            continue
        j = i
        while j + 1 < n and above[j + 1]:
            j += 1
        t0, z0 = _edge((t, z, v), thr, i - 1, i)
        t1, z1 = _edge((t, z, v), thr, j, j + 1)
        if t1 > t0:
            runs.append((z1 - z0, t0, t1, float(v[i : j + 1].max())))
        i = j + 1
    return runs


def _edge(tzv: tuple[np.ndarray, np.ndarray, np.ndarray], thr: float, a: int, b: int) -> tuple[float, float]:
    """Time and level where v crosses ``thr`` between samples a and b (the inside one at the border)."""
    t, z, v = tzv
    if a < 0 or b >= len(v):
        inside = b if a < 0 else a
        return float(t[inside]), float(z[inside])
    u = (thr - v[a]) / (v[b] - v[a]) if v[b] != v[a] else 0.0
    return float(t[a] + u * (t[b] - t[a])), float(z[a] + u * (z[b] - z[a]))
