"""Where the body is in the image: what per-axis normalisation removes, kept for pixel landmarks.

Two facts need the image position. Walking (to the station, between machines) moves the hips
across the image, while reps leave them where they were: a window whose hips travelled is not a
set's evidence. And the anchored end of the body tells apart movements that look alike once
normalised: a pull-up moves the body under still hands, an overhead press moves the hands over
still feet. Series that were already normalised per frame (RepCount-A) carry no position: then
both facts are unknown and the recogniser goes without them.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from replens.arrays import Float64Array
from replens.device_agent.counting.recognition.features import BODY

BUCKET_S = 0.1  # the recogniser's bucket length (one row per bucket)
ANCHOR_RANGE = 0.3  # torso lengths: a hand or foot moving less than this over the window is anchored
WALK_FREE = 0.1  # torso lengths per second the hips may drift before a window's evidence is discounted...
WALK_FULL = 0.3  # ...and beyond which it counts for nothing (a slow walk covers about one per second)
_HIPS = (BODY.index(23), BODY.index(24))
_ENDS = {"hands": (BODY.index(15), BODY.index(16)), "feet": (BODY.index(27), BODY.index(28))}


def is_normalised(xy: Float64Array) -> bool:
    """True for a frame already min-max normalised per axis (both axes span exactly 0..1)."""
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    return bool(np.all(np.abs(lo) < 1e-6) and np.all(np.abs(hi - 1.0) < 1e-6))


class Placement:
    """Per bucket: the 13 body points in torso lengths (image units / torso), or nothing."""

    def __init__(self, window: int) -> None:
        self._rows: deque[Float64Array | None] = deque(maxlen=window)

    def push(self, row: Float64Array | None) -> None:
        """One bucket's mean body points divided by its torso length; None for normalised input."""
        self._rows.append(row)

    def _matrix(self) -> Float64Array | None:
        rows = [r for r in self._rows if r is not None]
        if len(rows) < max(10, len(self._rows) // 2):  # mostly normalised input: no position
            return None
        return np.array(rows).reshape(len(rows), len(BODY), 2)

    def stillness(self) -> float:
        """1 while the hips stay in place, falling to 0 as they travel (walking) across the window.

        Compares the mean hip position of the first and last second, so that the up and down of
        the reps themselves averages out.
        """
        pts = self._matrix()
        if pts is None or len(pts) < 20:
            return 1.0
        hips = pts[:, _HIPS, :].mean(axis=1)
        shift = float(np.hypot(*(hips[-10:].mean(axis=0) - hips[:10].mean(axis=0))))
        rate = shift / ((len(pts) - 10) * BUCKET_S)  # torso lengths per second
        return float(np.clip((WALK_FULL - rate) / (WALK_FULL - WALK_FREE), 0.0, 1.0))

    def anchors(self) -> dict[str, bool | None]:
        """``hands_anchored`` and ``feet_anchored`` over the window (None when unknown)."""
        pts = self._matrix()
        if pts is None:
            return {f"{name}_anchored": None for name in _ENDS}
        out: dict[str, bool | None] = {}
        for name, sides in _ENDS.items():
            track = pts[:, sides, :].mean(axis=1)
            spread = np.percentile(track, 90.0, axis=0) - np.percentile(track, 10.0, axis=0)
            out[f"{name}_anchored"] = bool(spread.max() < ANCHOR_RANGE)
        return out
