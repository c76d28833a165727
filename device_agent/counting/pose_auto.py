"""``auto``: the dominant repetitive body motion, found while streaming, as one signal.

Without an exercise name the engine cannot know which joints carry the rep, but the rep is by
definition the largest repeated movement. Joint angles alone miss whole-body motion whose angles
barely change (circles on a pommel horse, a body swinging), and positions alone miss small joint
motion; so the feature vector holds both: 13 body landmarks relative to their centroid in units of
their RMS spread (translation- and scale-free, whatever the camera), and 8 joint angles in radians
(one radian is about one body spread, so neither part drowns the other). The first principal
component of its recent history is the dominant motion; the projection onto it is the signal.

The axis is re-estimated every ``REFIT_S`` from the last seconds; its sign is kept continuous (an
eigenvector's sign is arbitrary) and is only chosen afresh when the axis itself changes, then so
that the rest side (where the signal dwells, i.e. the bulk of a skewed distribution) is low. Also
tried, and worse on RepCount-A (auto: MAE 0.300 with the skew, 0.316-0.351 otherwise): rest where
the signal starts, where it pauses (its slowest buckets, or runs of them), and both; those clips
are cut to begin mid-movement.

Until the first fit there is no axis to project on. The frames of that time are kept and replayed
once the axis is known (:meth:`DominantMotion.push`), so the counter sees the set from its start.
"""

from __future__ import annotations

import math

import numpy as np

from replens.arrays import Float64Array
from replens.device_agent.counting.pose_signals import Buckets, Sample, triplets

AUTO_JOINTS = ("elbow", "shoulder", "hip", "knee")
# nose, shoulders, elbows, wrists, hips, knees, ankles: the points that carry body motion
BODY = (0, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28)
WINDOW_S = 8.0  # history the axis is estimated from: a few reps of any plausible tempo
MIN_HISTORY_S = 1.0  # no axis before this much history (the frames before it are replayed)
REFIT_S = 1.0  # the axis is re-estimated this often (a rep takes longer; eigh per frame is waste)
SAME_AXIS = 0.5  # |cos| between successive axes above this keeps the sign by continuity
_SPREAD_ALPHA = 0.05  # per-frame smoothing of the body spread, so jitter stays out of the unit


class DominantMotion:
    """Streaming PCA of body positions and joint angles; call it per frame for the projection."""

    def __init__(self, joints: tuple[str, ...] = AUTO_JOINTS, body: tuple[int, ...] = BODY) -> None:
        self._body = np.array(body)
        # the angle triplets as rows of the body points, so one gather serves both feature parts
        a, b, c = (np.array([body.index(i) for i in side], dtype=np.intp) for side in triplets(joints))
        self._a, self._b, self._c = a, b, c
        dim = 2 * len(body) + 2 * len(joints)
        self._buckets = Buckets(WINDOW_S, lambda: np.zeros(dim))
        self._axis: Float64Array | None = None
        self._offset = 0.0  # the axis applied to the window's centre
        self._spread: float | None = None
        self._next_fit = -math.inf
        self._pending: list[tuple[float, Float64Array, float]] = []  # frames before the first axis

    def features(self, xy: Float64Array) -> Float64Array:
        """Centred body points in spread units, then joint angles in radians."""
        # points as complex numbers: conj(u)·v holds the dot (real) and cross (imaginary) product
        z = np.ascontiguousarray(xy[self._body]).view(np.complex128).ravel()
        zb = z[self._b]
        angles = np.abs(np.angle(np.conj(z[self._a] - zb) * (z[self._c] - zb)))
        n = len(z)
        z -= z.sum() / n  # (ndarray.mean() costs several times more on a vector this short)
        spread = math.sqrt(float(np.vdot(z, z).real) / n) + 1e-9
        if self._spread is None:
            self._spread = spread
        else:
            self._spread += _SPREAD_ALPHA * (spread - self._spread)
        out = np.empty(2 * n + len(angles))
        np.multiply(z.view(np.float64), 1.0 / self._spread, out=out[: 2 * n])
        out[2 * n :] = angles
        return out

    @property
    def holding(self) -> bool:
        """No axis yet: frames are kept back, to be replayed on the first one."""
        return self._axis is None

    def __call__(self, t_s: float, xy: Float64Array) -> float | None:
        """Projection of this frame on the current axis; None until there is enough history."""
        feats = self._observe(t_s, xy)
        return None if self._axis is None else self._project(feats)

    def push(self, t_s: float, xy: Float64Array, confidence: float = 1.0) -> list[Sample]:
        """Feed one frame; returns the (time, value, confidence) samples known now, oldest first.

        Nothing before the first axis; then the frames kept since the start, replayed on it, and this one.
        """
        feats = self._observe(t_s, xy)
        if self._axis is None:
            self._pending.append((t_s, feats, confidence))
            return []
        out: list[Sample] = [(t, self._project(f), c) for t, f, c in self._pending]
        self._pending.clear()
        out.append((t_s, self._project(feats), confidence))
        return out

    def _observe(self, t_s: float, xy: Float64Array) -> Float64Array:
        """This frame's features, into the history; refits the axis when it is due."""
        feats = self.features(xy)
        closed = self._buckets.push(t_s, feats)
        if closed and t_s >= self._next_fit and len(self._buckets) * 0.1 >= MIN_HISTORY_S:
            self._refit(self._buckets.matrix())
            self._next_fit = t_s + REFIT_S
        return feats

    def _project(self, feats: Float64Array) -> float:
        assert self._axis is not None
        return float(self._axis @ feats) - self._offset

    def _refit(self, rows: Float64Array) -> None:
        """New axis and centre from the bucket history, with the sign rules of the module."""
        center = rows.mean(axis=0)
        dev = rows - center
        _, vecs = np.linalg.eigh(dev.T @ dev)
        axis = vecs[:, -1]
        prev = self._axis
        if prev is not None and abs(float(axis @ prev)) >= SAME_AXIS:
            if axis @ prev < 0.0:
                axis = -axis
        elif _skew(dev @ axis) < 0.0:
            axis = -axis
        self._axis, self._offset = axis, float(axis @ center)


def _skew(x: Float64Array) -> float:
    """Sample skewness (0 for a flat signal)."""
    d = x - x.mean()
    m2 = float(np.mean(d * d))
    return float(np.mean(d**3)) / m2**1.5 if m2 > 0.0 else 0.0
