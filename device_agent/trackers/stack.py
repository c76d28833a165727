"""Model-free weight-stack tracker: sparse optical flow of the block that moves inside a region.

Per frame: grey ROI scaled to ~160 px wide and matched in brightness to the previous frame (flicker),
Lucas-Kanade flow of corner features with a forward-backward check, then the largest coherent group
of moving points (the lifted plates) gives the step, which is integrated into a 2-D position and
projected on the motion axis. Static points, sub-threshold jitter, motion across the axis (someone
walking past) and groups that do not outnumber other movers add nothing, so the signal cannot drift
while the stack rests; a bounded pull back to the rest position removes what integration leaves.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np
import numpy.typing as npt

from replens.arrays import Float32Array, Float64Array
from replens.device_agent.signal import SignalSample
from replens.device_agent.sources.frame import Frame

Axis = Literal["auto", "vertical", "horizontal"]
Gray = npt.NDArray[np.uint8]


@dataclass(frozen=True, slots=True)
class StackTuning:
    """Knobs; ``*_work_px`` are pixels of the scaled ROI, ``*_px`` full-frame pixels."""

    work_width: int = 160  # ROI is scaled down to this width: flow cost stays flat per frame
    max_points: int = 100
    reseed_every: int = 6  # frames; fresh corners follow the block and replace occluded ones
    lk_window: int = 11
    lk_levels: int = 3  # pyramid: steps up to ~40 work px per frame
    fb_max_work_px: float = 0.5  # forward-backward error above this = lost or occluded point
    move_work_px: float = 0.25  # a point moved less than this counts as static
    min_points: int = 8  # fewer valid points: the tracker says nothing (returns None)
    min_cluster: int = 4
    align_deg: float = 35.0  # motion further than this off the axis is ignored once the axis is known
    lock_px: float = 12.0  # auto axis: a first excursion this long ...
    lock_return: float = 0.4  # ... that comes back by this share fixes the axis (walkers do not return)
    settle_s: float = 1.0  # still this long: start pulling the position back to the rest position
    snap_fraction: float = 0.2  # ... only if within this share of the largest excursion ...
    snap_min_px: float = 3.0  # ... or this many pixels,
    snap_rate_px_s: float = 15.0  # ... at most this fast.


_NEAR_VERTICAL = math.cos(math.radians(30.0))


def _principal(cov: Float64Array) -> tuple[Float64Array, float]:
    """Unit principal direction of a 2x2 covariance and its anisotropy (major/minor eigenvalue)."""
    a, b, c = float(cov[0, 0]), float(cov[0, 1]), float(cov[1, 1])
    angle = 0.5 * math.atan2(2.0 * b, a - c)
    mean, half = 0.5 * (a + c), math.hypot(0.5 * (a - c), b)
    return np.array([math.cos(angle), math.sin(angle)]), (mean + half) / max(mean - half, 1e-9)


def _match_gain(prev: Gray, cur: Gray) -> Gray:
    """Scale ``prev`` to ``cur``'s brightness: flow assumes constant brightness, lights flicker.

    The gain is the median of per-pixel ratios on a sparse grid, so a dark person covering part of
    the view barely moves it, unlike a mean.
    """
    a = prev[::3, ::3].astype(np.float32)
    b = cur[::3, ::3].astype(np.float32)
    valid = (a > 12) & (a < 243) & (b > 12) & (b < 243)
    if valid.sum() < 50:
        return prev
    gain = float(np.median(b[valid] / a[valid]))
    if abs(gain - 1.0) < 0.004:
        return prev
    return np.asarray(cv2.convertScaleAbs(prev, alpha=gain), dtype=np.uint8)


class StackTracker:
    """Tracks a weight stack's displacement along its motion axis, in pixels, larger = up/out.

    Args:
        roi: (x, y, w, h) as fractions 0..1 of the frame; None = the whole frame.
        axis: "vertical" (up positive), "horizontal" (first movement positive) or "auto" (principal
            direction of motion that goes out and comes back, the first movement positive; within
            30° of vertical, up). Until auto has seen one such movement it reports the vertical.
        tuning: thresholds; the defaults suit 320..1920 px wide frames at 10..30 fps.
    """

    def __init__(self, roi: tuple[float, float, float, float] | None = None, axis: Axis = "auto", *,
                 tuning: StackTuning | None = None) -> None:
        if roi is not None:
            x, y, w, h = roi
            if not (0 <= x < 1 and 0 <= y < 1 and w > 0 and h > 0 and x + w <= 1 + 1e-9 and y + h <= 1 + 1e-9):
                raise ValueError(f"roi {roi} must be (x, y, w, h) fractions inside the frame")
        if axis not in ("auto", "vertical", "horizontal"):
            raise ValueError(f"axis must be auto, vertical or horizontal, not {axis!r}")
        self.roi, self.axis_mode, self.tuning = roi, axis, tuning or StackTuning()
        self._align_cos = math.cos(math.radians(self.tuning.align_deg))
        self.reset()

    def reset(self) -> None:
        """Forget the image history, the position, the rest position and a learned axis."""
        self._prev: Gray | None = None
        self._pts: Float32Array | None = None
        self._frames = 0
        self._last_t: float | None = None
        self._pos = np.zeros(2)  # integrated step, full-frame px, image coordinates (y down)
        self._home = np.zeros(2)  # rest position the bounded correction pulls back to
        self._cov = np.zeros((2, 2))
        self._origin = np.zeros(2)  # where the current motion episode started (before the axis is fixed)
        self._far = np.zeros(2)  # furthest point of this episode from its origin
        self._peak = 0.0
        self._still_s = 0.0
        self._axis = np.array([0.0, -1.0]) if self.axis_mode != "horizontal" else np.array([1.0, 0.0])
        self._locked = self.axis_mode == "vertical"  # horizontal: locks its sign on the first move

    @property
    def axis(self) -> tuple[float, float] | None:
        """Unit motion direction in image coordinates (x right, y down) once known, else None."""
        return (float(self._axis[0]), float(self._axis[1])) if self._locked else None

    def update(self, frame: Frame) -> SignalSample | None:
        """Track one frame; None when the region has too few trackable points to say anything."""
        work, scale = self._work_image(frame.image)
        dt = 0.0 if self._last_t is None else max(0.0, frame.t_s - self._last_t)
        self._last_t = frame.t_s
        prev, self._prev = self._prev, work
        self._frames += 1
        if prev is None or prev.shape != work.shape:
            self._pts = None
            return None
        steps = self._flow(prev, work)
        if steps is None or len(steps) < self.tuning.min_points:
            return None
        step, explained = self._coherent_step(steps)
        if step is None:
            self._still_s += dt
            self._settle(dt)
        else:
            self._still_s = 0.0
            self._pos += step / scale
            self._learn_axis(step / scale)
        confidence = min(1.0, explained / len(steps)) * min(1.0, len(steps) / (2 * self.tuning.min_points))
        return SignalSample(frame.t_s, float(self._pos @ self._axis), confidence)

    def _work_image(self, image: npt.NDArray[np.uint8]) -> tuple[Gray, float]:
        """Grey crop of the ROI, scaled to the working width; returns it and the scale factor."""
        h, w = image.shape[:2]
        crop = image
        if self.roi is not None:
            x, y, rw, rh = self.roi
            x0, y0 = round(x * w), round(y * h)
            crop = image[y0 : max(y0 + 8, round((y + rh) * h)), x0 : max(x0 + 8, round((x + rw) * w))]
        gray = np.asarray(cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY), dtype=np.uint8)
        ch, cw = gray.shape
        if cw <= self.tuning.work_width:
            return gray, 1.0
        scale = self.tuning.work_width / cw
        size = (self.tuning.work_width, max(8, round(ch * scale)))
        return np.asarray(cv2.resize(gray, size, interpolation=cv2.INTER_AREA), dtype=np.uint8), scale

    def _flow(self, prev: Gray, cur: Gray) -> Float64Array | None:
        """Per-point steps prev→cur (work px) that pass the forward-backward check."""
        t = self.tuning
        if self._pts is None or len(self._pts) < t.max_points // 2 or self._frames % t.reseed_every == 0:
            found = cv2.goodFeaturesToTrack(prev, t.max_points, 0.01, 4, blockSize=5)
            self._pts = None if found is None else np.asarray(found, dtype=np.float32)
        if self._pts is None or len(self._pts) == 0:
            return None
        lk = {"winSize": (t.lk_window, t.lk_window), "maxLevel": t.lk_levels,
              "criteria": (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 10, 0.03)}
        prev = _match_gain(prev, cur)
        fwd, st1, _ = cv2.calcOpticalFlowPyrLK(prev, cur, self._pts, np.empty(0), **lk)  # type: ignore[call-overload]
        back, st2, _ = cv2.calcOpticalFlowPyrLK(cur, prev, fwd, np.empty(0), **lk)  # type: ignore[call-overload]
        p0, p1 = self._pts.reshape(-1, 2), np.asarray(fwd, dtype=np.float32).reshape(-1, 2)
        fb = np.hypot(*(p0 - np.asarray(back).reshape(-1, 2)).T)
        ok = (np.asarray(st1).ravel() == 1) & (np.asarray(st2).ravel() == 1) & (fb < t.fb_max_work_px)
        self._pts = p1[ok].reshape(-1, 1, 2)
        return np.asarray(p1[ok] - p0[ok], dtype=np.float64)

    def _coherent_step(self, steps: Float64Array) -> tuple[Float64Array | None, int]:
        """Median step of the largest group of points moving together; (None, n static) if none.

        Once the axis is known only points moving roughly along it count, so a person crossing the
        view (sideways motion) or a few stray points cannot outvote a still stack.
        """
        t = self.tuning
        mag = np.hypot(steps[:, 0], steps[:, 1])
        moving = mag > t.move_work_px
        n_static = int(len(steps) - moving.sum())
        cand, cmag = steps[moving], mag[moving]
        sideways = 0
        if self._locked or self.axis_mode != "auto":  # the axis line is known: sideways movers are out
            aligned = np.abs(cand @ self._axis) >= self._align_cos * cmag
            sideways = int(len(cand) - aligned.sum())
            cand, cmag = cand[aligned], cmag[aligned]
        if len(cand) < t.min_cluster:
            return None, n_static
        dist = np.hypot(*(cand[:, None, :] - cand[None, :, :]).transpose(2, 0, 1))
        members = dist < np.maximum(0.5, 0.25 * cmag)[:, None]
        center = np.median(cand[members[int(np.argmax(members.sum(axis=1)))]], axis=0)
        inliers = np.hypot(*(cand - center).T) < max(0.5, 0.25 * float(np.hypot(*center)))
        n_in, rest = int(inliers.sum()), ~inliers
        rival = int(members[np.ix_(rest, rest)].sum(axis=1).max()) if rest.any() else 0  # next coherent group
        if n_in <= max(t.min_cluster - 1, 0.04 * len(steps), sideways, rival):  # must outnumber intruders
            return None, n_static
        return np.median(cand[inliers], axis=0), n_static + n_in

    def _learn_axis(self, step: Float64Array) -> None:
        """Gather evidence for the axis; fix it (and its sign) once something went out and came back.

        Evidence counts per episode (motion between still spells): a person walking through goes one
        way and never returns, so their episode is dropped when things go still (``_settle``).
        """
        t = self.tuning
        if self._locked:
            if self.axis_mode == "auto":  # follow the principal direction of recent (aligned) motion
                self._cov = 0.995 * self._cov + np.outer(step, step)
                direction = _principal(self._cov)[0]
                self._axis = direction if float(direction @ self._axis) >= 0 else -direction
        else:
            off = self._pos - self._origin
            if float(off @ off) > float(self._far @ self._far):
                self._far = off.copy()
            direction, anisotropy = np.array([1.0, 0.0]), math.inf
            if self.axis_mode == "auto":
                self._cov += np.outer(step, step)
                direction, anisotropy = _principal(self._cov)
            if abs(direction[1]) >= _NEAR_VERTICAL:
                direction = np.array([direction[0], -abs(direction[1])])  # stacks rest low: up is positive
            elif float(self._far @ direction) < 0:
                direction = -direction  # otherwise the first movement is positive
            far_along = float(self._far @ direction)
            came_back = float(off @ direction) <= (1.0 - t.lock_return) * far_along
            if far_along >= t.lock_px and anisotropy >= 3.0 and came_back:
                self._axis, self._locked, self._home = direction, True, self._origin.copy()
        self._peak = max(self._peak, abs(float((self._pos - self._home) @ self._axis)))

    def _settle(self, dt: float) -> None:
        """Bounded drift correction while still: pull a small leftover offset back to the rest position."""
        t = self.tuning
        if self._still_s < t.settle_s:
            return
        if not self._locked:  # an episode ended without fixing the axis: it was not the stack
            self._origin, self._far, self._cov = self._pos.copy(), np.zeros(2), np.zeros((2, 2))
        off = self._pos - self._home
        along = float(off @ self._axis)
        if along == 0.0 or abs(along) > max(t.snap_min_px, t.snap_fraction * self._peak):
            return
        self._pos = self._home + self._axis * math.copysign(max(0.0, abs(along) - t.snap_rate_px_s * dt), along)
