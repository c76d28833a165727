"""``auto``: the dominant repetitive joint motion, found while streaming, as one signal.

Without an exercise name the engine cannot know which joints carry the rep, but the rep is by
definition the largest repeated movement. The joint angles (elbows, shoulders, hips, knees; both
sides) share one unit, degrees, so the first principal component of their recent history is the
dominant motion in a meaningful metric, whatever the camera's scale. The projection onto it is the
signal. The axis is re-estimated every 0.1 s from the last seconds; its sign is kept continuous
(an eigenvector's sign is arbitrary) and is only chosen afresh when the axis itself changes, then so
that the rest side (where the signal dwells, i.e. the bulk of a skewed distribution) is low.
"""

from __future__ import annotations

import numpy as np

from replens.device_agent.counting.pose_signals import Buckets, FloatArray, JointAngles

AUTO_JOINTS = ("elbow", "shoulder", "hip", "knee")
WINDOW_S = 8.0  # history the axis is estimated from: a few reps of any plausible tempo
MIN_HISTORY_S = 1.0  # no signal before this much history
SAME_AXIS = 0.5  # |cos| between successive axes above this keeps the sign by continuity


class DominantMotion:
    """Streaming PCA of joint angles; call it per frame, it returns degrees along the main axis."""

    def __init__(self) -> None:
        self._angles = JointAngles(AUTO_JOINTS)
        self._buckets = Buckets(WINDOW_S, 2 * len(AUTO_JOINTS))
        self._axis: FloatArray | None = None
        self._center: FloatArray | None = None

    def __call__(self, t_s: float, xy: FloatArray) -> float | None:
        """Projection of this frame on the current axis; None until there is enough history."""
        angles = self._angles(xy)
        if self._buckets.push(t_s, angles) and len(self._buckets) * 0.1 >= MIN_HISTORY_S:
            self._refit(self._buckets.matrix())
        if self._axis is None or self._center is None:
            return None
        return float(self._axis @ (angles - self._center))

    def _refit(self, rows: FloatArray) -> None:
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
        self._axis, self._center = axis, center


def _skew(x: FloatArray) -> float:
    """Sample skewness (0 for a flat signal)."""
    d = x - x.mean()
    m2 = float(np.mean(d * d))
    return float(np.mean(d**3)) / m2**1.5 if m2 > 0.0 else 0.0
