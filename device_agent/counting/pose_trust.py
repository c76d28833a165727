"""Which landmarks to trust, the head-height signal for when a profile's joints are out of sight, a set's quality.

A close or handheld camera often leaves the lower body out of the frame. BlazePose still places every
landmark, with a low visibility or outside the image, and a knee or hip angle made of such points is
noise. A landmark is trusted when its visibility reaches ``VISIBLE`` (poses that carry one) and it lies
inside the frame (when the frame's size is known). Where the body moves up and down with each rep
(squat, push-up, pull-up ...), the head and shoulders usually stay in sight: their height in the frame,
in frame heights, carries the rep when the profile's own joints do not (:class:`HeadHeight`).
"""

from __future__ import annotations

from collections import deque
from typing import Literal

import numpy as np
import numpy.typing as npt

from replens.arrays import Float64Array
from replens.device_agent.counting.pose_signals import Sample

VISIBLE = 0.5  # BlazePose visibility from which a landmark counts as seen
HEAD = (0, 11, 12)  # nose and shoulders: the points a close camera keeps in the frame
HEAD_FLOOR = 0.05  # frame heights: the head-height signal's smallest rep (a squat moves it several times more)
GOOD_SHARE = 0.8  # a set is "good" when the counting signal's landmarks were trusted in this share of frames
SWITCH_FROM = 0.5  # the profile's joints trusted in less than this share of recent frames...
SWITCH_TO = 0.8  # ...and the head in at least this share: count from the head (and back above SWITCH_TO)
TRUST_WINDOW_S = 2.0  # the recent frames those shares are taken over

SetQuality = Literal["good", "fallback", "poor"]
BoolArray = npt.NDArray[np.bool_]


def landmark_trust(landmarks: Float64Array, frame_size: tuple[int, int] | None) -> BoolArray | None:
    """(33,) True for the landmarks to trust; None when the frame says nothing either way (trust all).

    ``landmarks`` is (33, k): x, y in pixels, a 4th column read as visibility; ``frame_size`` is (width, height).
    """
    trusted: BoolArray | None = None
    if landmarks.shape[1] >= 4:
        trusted = landmarks[:, 3] >= VISIBLE
    if frame_size is not None:
        w, h = frame_size
        x, y = landmarks[:, 0], landmarks[:, 1]
        inside: BoolArray = (x >= 0.0) & (x < w) & (y >= 0.0) & (y < h)
        trusted = inside if trusted is None else trusted & inside
    return trusted


class HeadHeight:
    """Height of the trusted head points in the frame, in frame heights (0 bottom, 1 top); no value without them."""

    holding = False

    def push(self, t_s: float, xy: Float64Array, confidence: float, trusted: BoolArray | None,
             frame_size: tuple[int, int] | None) -> list[Sample]:
        """Feed one frame; the one sample it gives (None when the frame size or every head point is unknown)."""
        if frame_size is None:
            return [(t_s, None, confidence)]
        seen = [k for k in HEAD if trusted is None or trusted[k]]
        if not seen:
            return [(t_s, None, confidence)]
        y = sum(float(xy[k, 1]) for k in seen) / len(seen)
        return [(t_s, 1.0 - y / frame_size[1], confidence)]


class TrustShare:
    """Shares of the last ``TRUST_WINDOW_S`` in which the profile's signal and the head had trusted landmarks."""

    def __init__(self) -> None:
        self._frames: deque[tuple[float, bool, bool]] = deque()
        self._profile = 0
        self._head = 0

    def push(self, t_s: float, profile_ok: bool, head_ok: bool) -> None:
        self._frames.append((t_s, profile_ok, head_ok))
        self._profile += profile_ok
        self._head += head_ok
        while self._frames and t_s - self._frames[0][0] > TRUST_WINDOW_S:
            _, p, h = self._frames.popleft()
            self._profile -= p
            self._head -= h

    @property
    def profile(self) -> float:
        return self._profile / len(self._frames) if self._frames else 1.0

    @property
    def head(self) -> float:
        return self._head / len(self._frames) if self._frames else 0.0

    @property
    def span_s(self) -> float:
        return self._frames[-1][0] - self._frames[0][0] if self._frames else 0.0


def quality(fallback: bool, frames: int, trusted: int) -> SetQuality:
    """A set's quality from how it was counted and the share of its frames with trusted landmarks."""
    if fallback:
        return "fallback"
    return "good" if frames and trusted >= GOOD_SHARE * frames else "poor"
