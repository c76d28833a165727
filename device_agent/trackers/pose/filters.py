"""Temporal filters for pose landmarks: MediaPipe's one-euro smoothing and a gate for impossible jumps.

The smoothing reproduces MediaPipe 0.10.14's ``PoseLandmarkFiltering`` (values read from the wheel's
compiled graph): visibility through a low-pass filter (alpha 0.1); x, y, z in pixels through a
one-euro filter whose speed is measured in object sizes per second, the object size being the
unscaled auxiliary region. Body landmarks use min_cutoff 0.05, beta 80; the auxiliary points that
place the next region use min_cutoff 0.01, beta 10 (steady when still, quick on sudden moves).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from replens.arrays import Float32Array, Float64Array


class OneEuroFilter:
    """Element-wise one-euro filter on arrays, with MediaPipe's ``OneEuroFilter`` semantics.

    The first value passes through; a timestamp that does not advance returns the value unfiltered.
    ``value_scale`` turns value differences into the unit the cutoff expects (1 / object size).
    """

    def __init__(
        self, min_cutoff: float, beta: float, derivate_cutoff: float = 1.0, frequency_hz: float = 30.0
    ) -> None:
        self.min_cutoff, self.beta, self.derivate_cutoff = min_cutoff, beta, derivate_cutoff
        self._initial_frequency = frequency_hz
        self.reset()

    def reset(self) -> None:
        self._frequency = self._initial_frequency
        self._last_t: float | None = None
        self._raw: Float64Array | None = None
        self._value: Float64Array | None = None
        self._speed: Float64Array | None = None

    def _alpha(self, cutoff: float | Float64Array) -> float | Float64Array:
        tau = 1.0 / (2 * math.pi * cutoff)
        return 1.0 / (1.0 + tau * self._frequency)

    def apply(self, t_s: float, values: Float32Array, value_scale: float = 1.0) -> Float32Array:
        if self._last_t is not None and t_s <= self._last_t:
            return values
        if self._last_t is not None:
            self._frequency = 1.0 / (t_s - self._last_t)
        self._last_t = t_s
        x = values.astype(np.float64)
        if self._raw is None or self._raw.shape != x.shape or self._value is None or self._speed is None:
            self._raw, self._value, self._speed = x, x, np.zeros_like(x)
            return values.copy()
        speed = (x - self._raw) * value_scale * self._frequency
        self._speed = self._speed + self._alpha(self.derivate_cutoff) * (speed - self._speed)
        alpha = self._alpha(self.min_cutoff + self.beta * np.abs(self._speed))
        self._value = self._value + alpha * (x - self._value)
        self._raw = x
        return self._value.astype(np.float32)


class LandmarkSmoother:
    """Smooths (n, 4+) landmarks x_px, y_px, z_px, visibility[, ...]; columns past 4 pass through."""

    def __init__(
        self, min_cutoff: float, beta: float, derivate_cutoff: float = 1.0, visibility_alpha: float = 0.1
    ) -> None:
        self._coords = OneEuroFilter(min_cutoff, beta, derivate_cutoff)
        self._visibility_alpha = visibility_alpha
        self._visibility: Float32Array | None = None

    def reset(self) -> None:
        self._coords.reset()
        self._visibility = None

    def apply(self, t_s: float, points: Float32Array, object_size_px: float) -> Float32Array:
        out = points.copy()
        vis = points[:, 3].copy()  # kept as filter state: must not alias the caller's array
        if self._visibility is not None and self._visibility.shape == vis.shape:
            vis = (self._visibility_alpha * vis + (1 - self._visibility_alpha) * self._visibility).astype(np.float32)
        self._visibility = vis
        out[:, 3] = vis
        if object_size_px > 1e-6:  # MediaPipe leaves coordinates unfiltered for a degenerate scale
            out[:, :3] = self._coords.apply(t_s, points[:, :3], 1.0 / object_size_px)
        return out


def body_smoother() -> LandmarkSmoother:
    """MediaPipe's smoothing of the 33 body landmarks."""
    return LandmarkSmoother(min_cutoff=0.05, beta=80.0)


def aux_smoother() -> LandmarkSmoother:
    """MediaPipe's smoothing of the 2 auxiliary points that place the next region."""
    return LandmarkSmoother(min_cutoff=0.01, beta=10.0)


@dataclass(frozen=True, slots=True)
class GateSettings:
    """When a landmark frame is too far from the last accepted one to be the same body.

    Attributes:
        max_speed: largest median landmark speed, in object sizes (≈ body heights) per second. Gym
            movements stay well under 3; a jump to another person or a mirror image is far above.
        max_scale_ratio: largest change of the object size between accepted frames.
        confirm_frames: after this many rejections in a row the new position is accepted (the person
            really moved, or the old track was the wrong one).
        max_gap_s: a gap longer than this starts a new track without checks; shorter gaps are
            bridged by repeating the last accepted landmarks.
    """

    max_speed: float = 4.0
    max_scale_ratio: float = 1.6
    confirm_frames: int = 3
    max_gap_s: float = 0.3


class JumpGate:
    """Rejects landmark frames that moved impossibly far from the last accepted frame."""

    def __init__(self, settings: GateSettings | None = None) -> None:
        self.settings = settings or GateSettings()
        self.reset()

    def reset(self) -> None:
        self._last: tuple[float, Float32Array, float] | None = None
        self._rejected = 0

    def accept(self, t_s: float, xy: Float32Array, object_size_px: float) -> bool:
        """Whether (n, 2) pixel points at ``t_s`` with this object size continue the track."""
        s = self.settings
        if self._last is not None and 0 < t_s - self._last[0] <= s.max_gap_s and self._rejected < s.confirm_frames:
            last_t, last_xy, last_size = self._last
            speed = float(np.median(np.hypot(*(xy - last_xy).T))) / max(last_size, 1e-6) / (t_s - last_t)
            ratio = max(object_size_px, 1e-6) / max(last_size, 1e-6)
            if speed > s.max_speed or not 1 / s.max_scale_ratio <= ratio <= s.max_scale_ratio:
                self._rejected += 1
                return False
        self._last = (t_s, xy.copy(), object_size_px)
        self._rejected = 0
        return True
