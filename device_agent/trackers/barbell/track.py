"""One plate's track across frames from per-frame candidates: identity, jump gate, Kalman smoothing, gap bridging.

Detectors and circle finders return several candidates per frame, some of them wrong (a round
clock, the other plate, a shadow) and sometimes none (a person walks past). The track keeps the
candidate nearest to its constant-velocity prediction among those a real bar could have reached
and whose size is close to the plate's, and repeats the prediction through short gaps. A new track
starts only from a candidate seen consistently over several frames.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from replens.arrays import Float32Array, Float64Array


@dataclass(frozen=True, slots=True)
class TrackSettings:
    """What a plate can do between frames, in plate diameters (so it holds at any camera distance).

    Attributes:
        max_speed_diam_s: fastest plausible centre speed; 10 diameters/s is 4.5 m/s for a 0.45 m
            plate, above any lift. Lower rejects more glitches but may lose a fast bar.
        gate_slack_diam: jitter allowed on top of max_speed·dt.
        max_size_ratio: largest diameter change between a candidate and the plate's median size.
        confirm_frames: consecutive consistent frames that start a track.
        max_gap_s: missing frames up to this long are bridged with the prediction; longer loses the track.
        accel_diam_s2: Kalman process noise (bar acceleration). Higher follows turns faster, smooths less.
        meas_noise_diam: Kalman measurement noise (centre jitter of the finder).
        size_window: accepted frames in the running median of the diameter.
    """

    max_speed_diam_s: float = 10.0
    gate_slack_diam: float = 0.3
    max_size_ratio: float = 1.3
    confirm_frames: int = 3
    max_gap_s: float = 0.3
    accel_diam_s2: float = 40.0
    meas_noise_diam: float = 0.01
    size_window: int = 15

    def __post_init__(self) -> None:
        if not (self.max_speed_diam_s > 0 and self.max_size_ratio > 1 and self.confirm_frames >= 1):
            raise ValueError("max_speed_diam_s > 0, max_size_ratio > 1 and confirm_frames >= 1 are required")
        if not (self.max_gap_s >= 0 and self.accel_diam_s2 > 0 and self.meas_noise_diam > 0 and self.size_window >= 1):
            raise ValueError("max_gap_s >= 0, accel_diam_s2 > 0, meas_noise_diam > 0, size_window >= 1 are required")


@dataclass(frozen=True, slots=True)
class PlateObservation:
    """The tracked plate in one frame.

    Attributes:
        t_s: media time of the frame.
        x, y: smoothed centre, frame pixels (y down).
        diameter_px: running median of the measured diameter, frame pixels.
        confidence: 0..1; the candidate's score, or a decaying value while bridged.
        bridged: True when nothing was accepted in this frame and the position is the prediction.
    """

    t_s: float
    x: float
    y: float
    diameter_px: float
    confidence: float
    bridged: bool = False


@dataclass(frozen=True, slots=True)
class Candidates:
    """What a finder saw in one frame, best first.

    Attributes:
        xyd: (n, 3) float32 centre x, y and diameter, frame pixels.
        scores: (n,) float32 in [0, 1].
    """

    xyd: Float32Array
    scores: Float32Array

    def __post_init__(self) -> None:
        if self.xyd.shape != (len(self.scores), 3) or self.scores.ndim != 1:
            raise ValueError(f"candidates: xyd {self.xyd.shape}, scores {self.scores.shape}")

    def __len__(self) -> int:
        return len(self.scores)


class PlateTrack:
    """Candidates per frame in, one plate's smoothed observation out (None while there is no track)."""

    def __init__(self, settings: TrackSettings | None = None) -> None:
        self.settings = settings or TrackSettings()
        self.reset()

    def reset(self) -> None:
        self._history: deque[tuple[float, Candidates]] = deque(maxlen=max(1, self.settings.confirm_frames - 1))
        self._state: Float64Array | None = None  # [[x, vx], [y, vy]]; x and y share one covariance
        self._cov = np.zeros((2, 2))
        self._t = 0.0  # time of the state
        self._last: tuple[float, float, float] | None = None  # (t, x, y) of the last accepted measurement
        self._sizes: deque[float] = deque(maxlen=self.settings.size_window)
        self._plate_px: float | None = None  # kept across a lost track: the plate does not change size

    def update(self, t_s: float, found: Candidates) -> PlateObservation | None:
        history = list(self._history)
        self._history.append((t_s, found))
        if self._state is None or self._last is None:
            return self._acquire(t_s, found, history)
        self._predict(t_s)
        pick = self._match(t_s, found)
        if pick is not None:
            return self._accept(t_s, found, pick)
        gap = t_s - self._last[0]
        if gap > self.settings.max_gap_s:
            self._state = None
            return self._acquire(t_s, found, history)
        confidence = max(0.05, 0.5 * (1.0 - gap / max(self.settings.max_gap_s, 1e-9)))
        x, y = self._state[:, 0]
        return PlateObservation(t_s, float(x), float(y), self._diameter(), confidence, bridged=True)

    def _diameter(self) -> float:
        return float(np.median(self._sizes)) if self._sizes else float(self._plate_px or 0.0)

    def _plausible(self, frm: tuple[float, float, float, float], to: Float32Array, dt: float) -> npt.NDArray[np.bool_]:
        """Which (n, 3) candidates a plate at ``frm`` = (x, y, d, size ref) could reach in ``dt``."""
        s = self.settings
        x, y, d, ref = frm
        reach = (s.max_speed_diam_s * max(dt, 0.0) + s.gate_slack_diam) * d
        near = np.hypot(to[:, 0] - x, to[:, 1] - y) <= reach
        ratio = to[:, 2] / max(ref, 1e-6)
        return np.asarray(near & (ratio <= s.max_size_ratio) & (ratio >= 1.0 / s.max_size_ratio), np.bool_)

    def _match(self, t_s: float, found: Candidates) -> int | None:
        """Index of the candidate nearest the prediction among those the gate lets through."""
        if not len(found) or self._state is None or self._last is None:
            return None
        t0, x0, y0 = self._last
        d = self._diameter()
        ok = self._plausible((x0, y0, d, d), found.xyd, t_s - t0)
        if not ok.any():
            return None
        dist = np.hypot(found.xyd[:, 0] - self._state[0, 0], found.xyd[:, 1] - self._state[1, 0])
        return int(np.argmin(np.where(ok, dist, np.inf)))

    def _acquire(
        self, t_s: float, found: Candidates, history: list[tuple[float, Candidates]]
    ) -> PlateObservation | None:
        """Start a track on the best candidate with a consistent chain back through the history."""
        need = self.settings.confirm_frames - 1
        if len(history) < need or not len(found):
            return None
        for i in self._acquisition_order(found):
            chain = self._chain(t_s, found.xyd[i], history[len(history) - need :])
            if chain is not None:
                (tc, xc, yc), (tp, xp, yp) = chain
                velocity = ((xc - xp) / (tc - tp), (yc - yp) / (tc - tp)) if tc > tp else (0.0, 0.0)
                self._start(t_s, found.xyd[i], velocity)
                x, y, d = (float(v) for v in found.xyd[i])
                return PlateObservation(t_s, x, y, d, float(np.clip(found.scores[i], 0, 1)))
        return None

    def _acquisition_order(self, found: Candidates) -> list[int]:
        """Best first; once the plate's size is known, candidates of about that size come first."""
        order = list(range(len(found)))
        if self._plate_px is None:
            return order
        ratio = np.abs(np.log(found.xyd[:, 2] / self._plate_px))
        return sorted(order, key=lambda i: (bool(ratio[i] > math.log(self.settings.max_size_ratio)), i))

    def _chain(
        self, t_s: float, head: Float32Array, frames: list[tuple[float, Candidates]]
    ) -> tuple[tuple[float, float, float], tuple[float, float, float]] | None:
        """Follow ``head`` back through ``frames`` by nearest plausible candidate; (newest, oldest) or None."""
        cur, t_cur = head, t_s
        for t_prev, cands in reversed(frames):
            if not len(cands):
                return None
            x, y, d = (float(v) for v in cur)
            ok = self._plausible((x, y, d, d), cands.xyd, t_cur - t_prev)
            if not ok.any():
                return None
            dist = np.hypot(cands.xyd[:, 0] - cur[0], cands.xyd[:, 1] - cur[1])
            cur, t_cur = cands.xyd[int(np.argmin(np.where(ok, dist, np.inf)))], t_prev
        return (t_s, float(head[0]), float(head[1])), (t_cur, float(cur[0]), float(cur[1]))

    def _start(self, t_s: float, xyd: Float32Array, velocity: tuple[float, float]) -> None:
        d = float(xyd[2])
        self._state = np.array([[float(xyd[0]), velocity[0]], [float(xyd[1]), velocity[1]]])
        r = (self.settings.meas_noise_diam * d) ** 2
        self._cov = np.diag([r, (self.settings.max_speed_diam_s * d / 3) ** 2])
        self._t = t_s
        self._last = (t_s, float(xyd[0]), float(xyd[1]))
        self._sizes.clear()
        self._sizes.append(d)
        self._plate_px = d

    def _predict(self, t_s: float) -> None:
        """Constant-velocity step of the Kalman filter (white-noise acceleration)."""
        assert self._state is not None
        dt = t_s - self._t
        if dt <= 0:
            return
        f = np.array([[1.0, dt], [0.0, 1.0]])
        q = (self.settings.accel_diam_s2 * self._diameter()) ** 2
        noise = q * np.array([[dt**4 / 4, dt**3 / 2], [dt**3 / 2, dt**2]])
        self._state = self._state @ f.T
        self._cov = f @ self._cov @ f.T + noise
        self._t = t_s

    def _accept(self, t_s: float, found: Candidates, i: int) -> PlateObservation:
        assert self._state is not None
        x, y, d = (float(v) for v in found.xyd[i])
        r = (self.settings.meas_noise_diam * self._diameter()) ** 2
        gain = self._cov[:, 0] / (self._cov[0, 0] + r)
        self._state = self._state + np.outer(np.array([x, y]) - self._state[:, 0], gain)
        self._cov = self._cov - np.outer(gain, self._cov[0, :])
        self._last = (t_s, x, y)
        self._sizes.append(d)
        self._plate_px = self._diameter()
        sx, sy = self._state[:, 0]
        return PlateObservation(t_s, float(sx), float(sy), self._plate_px, float(np.clip(found.scores[i], 0, 1)))
