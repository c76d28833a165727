"""From one frame of landmarks to the body row the recogniser keeps, and what it derives from rows.

Every frame is min-max normalised per axis over its 33 landmarks, exactly as RepCount-A's series
already are. That loses the aspect ratio and the position in the image, but it makes pixel
landmarks from a camera and pre-normalised series the same input, and the generated key poses are
normalised the same way, so they compare with what is seen. What survives the normalisation and
the recogniser relies on: which landmarks are above, below or beside which (orderings per axis),
and ratios of differences along one axis (a wrist's height in torso heights), which per-axis
scaling cannot change.

A body row is the 13 body landmarks (nose, shoulders, elbows, wrists, hips, knees, ankles),
flattened x, y per point: ``ROW_SIZE`` values in [0, 1].
"""

from __future__ import annotations

import math

import numpy as np

from replens.arrays import Float64Array

BODY = (0, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28)
ROW_SIZE = 2 * len(BODY)
# left/right pairs as indices into BODY
PAIRS = {"S": (1, 2), "E": (3, 4), "W": (5, 6), "H": (7, 8), "K": (9, 10), "A": (11, 12)}
DESCRIPTOR_SIZE = 2 + 2 * len(PAIRS) + 2 * 4
# the left-right spreads vary with stance, grip and build more than with the exercise: half weight
DESCRIPTOR_WEIGHTS = np.array([1.0] * (2 + 2 * len(PAIRS)) + [0.5] * 8)


def normalise(xy: Float64Array) -> Float64Array | None:
    """(33, 2) points min-max normalised per axis, or None when either axis has no extent."""
    lo = xy.min(axis=0)
    span = xy.max(axis=0) - lo
    if not (span[0] > 0.0 and span[1] > 0.0):
        return None
    out: Float64Array = (xy - lo) / span
    return out


def body_row(xy_norm: Float64Array) -> Float64Array:
    """The ``ROW_SIZE`` values of a normalised frame's 13 body landmarks."""
    out: Float64Array = xy_norm[BODY, :2].ravel()
    return out


def descriptor(rows: Float64Array) -> Float64Array:
    """(..., ROW_SIZE) rows -> (..., DESCRIPTOR_SIZE) weighted pose descriptors.

    The nose, the left/right means of six joints (immune to MediaPipe swapping left and right) and
    the absolute left/right spreads of elbows, wrists, knees and ankles (arms out, feet apart).
    """
    pts = rows.reshape(*rows.shape[:-1], len(BODY), 2)
    parts = [pts[..., 0, :]]
    parts += [0.5 * (pts[..., left, :] + pts[..., right, :]) for left, right in PAIRS.values()]
    parts += [np.abs(pts[..., PAIRS[k][0], :] - pts[..., PAIRS[k][1], :]) for k in "EWKA"]
    out: Float64Array = np.concatenate(parts, axis=-1) * DESCRIPTOR_WEIGHTS
    return out


class BodyParts:
    """Named coordinates of a (n, ROW_SIZE) block of rows: ``y("W")`` is the wrists' mean height.

    Image convention: y grows downwards, so "a above b" is ``y(a) < y(b)``.
    """

    def __init__(self, rows: Float64Array) -> None:
        self._pts = rows.reshape(len(rows), len(BODY), 2)

    def __len__(self) -> int:
        return len(self._pts)

    def _mean(self, name: str, axis: int) -> Float64Array:
        if name == "N":
            return self._pts[:, 0, axis]
        left, right = PAIRS[name]
        out: Float64Array = 0.5 * (self._pts[:, left, axis] + self._pts[:, right, axis])
        return out

    def x(self, name: str) -> Float64Array:
        """Mean x of a joint pair (or the nose, ``N``)."""
        return self._mean(name, 0)

    def y(self, name: str) -> Float64Array:
        """Mean y of a joint pair (or the nose, ``N``)."""
        return self._mean(name, 1)

    def side_y(self, name: str, side: int) -> Float64Array:
        """Y of one side (0 left, 1 right) of a joint pair."""
        return self._pts[:, PAIRS[name][side], 1]

    def spread_x(self, name: str) -> Float64Array:
        """|x left - x right| of a joint pair."""
        left, right = PAIRS[name]
        out: Float64Array = np.abs(self._pts[:, left, 0] - self._pts[:, right, 0])
        return out

    def point(self, index: int) -> Float64Array:
        """(n, 2) coordinates of one of the 13 body points."""
        out: Float64Array = self._pts[:, index, :]
        return out


def joint_angle(parts: BodyParts, proximal: int, vertex: int, distal: int) -> Float64Array:
    """Angle in degrees at ``vertex`` between two of the 13 body points (indices into BODY)."""
    u = parts.point(proximal) - parts.point(vertex)
    v = parts.point(distal) - parts.point(vertex)
    dot = np.einsum("ij,ij->i", u, v)
    norm = np.sqrt(np.einsum("ij,ij->i", u, u) * np.einsum("ij,ij->i", v, v)) + 1e-12
    out: Float64Array = np.degrees(np.arccos(np.clip(dot / norm, -1.0, 1.0)))
    return out


def torso_length(xy: Float64Array) -> float:
    """Mid-shoulder to mid-hip distance of one frame's (33, 2) points, in their own units."""
    sh = 0.5 * (xy[11] + xy[12])
    hip = 0.5 * (xy[23] + xy[24])
    return math.hypot(float(sh[0] - hip[0]), float(sh[1] - hip[1]))
