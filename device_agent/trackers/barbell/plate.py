"""Model-free plate tracker for a side view: Hough circles, edge-fitted to the plate's rim, then tracked.

Per frame: grey ROI scaled to a working width and blurred, ``cv2.HoughCircles`` for candidate
centres, then each candidate is refined on the radial gradient along 64 rays. The outermost strong
circular edge near the Hough radius is taken (a plate's rim, lettering and hub give concentric edges;
the plate's diameter, which sets the metre scale, is the outer one), and a least-squares circle fit
through the per-ray edge points gives a sub-pixel centre and diameter. The share of rays that found
the edge is the candidate's score. :class:`PlateTrack` keeps the plate's identity across frames
(``BarbellTracker.model_free`` puts the two together).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from replens.arrays import Float32Array, Float64Array
from replens.device_agent.trackers.barbell.track import Candidates

Gray = npt.NDArray[np.uint8]
_RAYS = 64
_STEP = 0.5  # radial sampling, fine pixels
_ANGLES = np.linspace(0.0, 2 * math.pi, _RAYS, endpoint=False)


@dataclass(frozen=True, slots=True)
class CircleSettings:
    """Circle finding: Hough on a small grey image, then a rim fit at a finer scale.

    Attributes:
        work_width: the ROI is scaled to this width for the Hough transform; wider finds smaller
            plates, costs time.
        refine_width: ... and to at most this width for the rim fit; wider is more precise.
        diameter_range: smallest and largest plate diameter as fractions of the ROI height.
        canny_high: upper Canny threshold of the Hough gradient method.
        votes: accumulator threshold; lower finds faint or partly hidden plates, and more clutter.
        max_candidates: Hough circles refined per frame, strongest first.
        edge_threshold: radial gradient (Sobel, grey levels × 8 per pixel) that counts as an edge.
        min_score: share of the 64 rays that must find the rim for a candidate to count.
    """

    work_width: int = 320
    refine_width: int = 960
    diameter_range: tuple[float, float] = (0.08, 0.7)
    canny_high: float = 80.0
    votes: float = 16.0
    max_candidates: int = 6
    edge_threshold: float = 60.0
    min_score: float = 0.35

    def __post_init__(self) -> None:
        lo, hi = self.diameter_range
        if not (0 < lo < hi <= 1.5 and self.work_width >= 64 and self.max_candidates >= 1):
            raise ValueError(f"bad circle settings: diameter_range {self.diameter_range}, work_width {self.work_width}")


def _fit_circle(pts: Float64Array) -> tuple[float, float, float] | None:
    """Algebraic least-squares circle (Kåsa) through (n, 2) points: (cx, cy, r)."""
    a = np.column_stack([2 * pts[:, 0], 2 * pts[:, 1], np.ones(len(pts))])
    b = (pts**2).sum(axis=1)
    try:
        (cx, cy, c), *_ = np.linalg.lstsq(a, b, rcond=None)
    except np.linalg.LinAlgError:
        return None
    r2 = c + cx * cx + cy * cy
    return (float(cx), float(cy), math.sqrt(r2)) if r2 > 0 else None


def _scaled(gray: Gray, width: int) -> tuple[Gray, float]:
    """``gray`` shrunk to at most ``width`` pixels wide, and the scale factor (never enlarged)."""
    h, w = gray.shape
    if w <= width:
        return gray, 1.0
    scale = width / w
    size = (width, max(16, round(h * scale)))
    return np.asarray(cv2.resize(gray, size, interpolation=cv2.INTER_AREA), dtype=np.uint8), scale


def _outer_edge(radial: Float32Array, edge_threshold: float, min_support: float) -> tuple[int | None, float]:
    """Index of the outermost circular edge in (rays, radii) signed radial gradients, and its sign.

    Rim, lettering and hub give concentric edges; the plate's diameter (the metre scale) is the outer
    one, even where it is fainter than the rim's inner edge (a background about as bright as the rim).
    An edge counts when its mean is a peak of at least a fifth of the strongest and enough rays see it
    (background texture does not go round). Each sign is averaged on its own, so that a bright rim's
    two edges do not cancel.
    """
    profiles = [(1.0, np.clip(radial, 0, None).mean(axis=0)), (-1.0, np.clip(-radial, 0, None).mean(axis=0))]
    top = max(float(p.max()) for _, p in profiles)
    peaks: list[tuple[int, float]] = []
    for sign, p in profiles:
        found = np.flatnonzero((p[1:-1] >= p[:-2]) & (p[1:-1] > p[2:]) & (p[1:-1] >= 0.2 * top)) + 1
        peaks += [(int(k), sign) for k in found]
    for k, sign in sorted(peaks, reverse=True):
        near = sign * radial[:, max(0, k - 2) : k + 3]
        if float((near.max(axis=1) >= edge_threshold).mean()) >= min_support:
            return k, sign
    return None, 1.0


class PlateFinder:
    """Candidate plates in one frame, best first, in frame pixels."""

    def __init__(
        self, roi: tuple[float, float, float, float] | None = None, settings: CircleSettings | None = None
    ) -> None:
        if roi is not None:
            x, y, w, h = roi
            if not (0 <= x < 1 and 0 <= y < 1 and w > 0 and h > 0 and x + w <= 1 + 1e-9 and y + h <= 1 + 1e-9):
                raise ValueError(f"roi {roi} must be (x, y, w, h) fractions inside the frame")
        self.roi, self.settings = roi, settings or CircleSettings()

    def find(self, image: npt.NDArray[np.uint8]) -> Candidates:
        s = self.settings
        gray, (ox, oy) = self._crop(image)
        work, scale = _scaled(gray, s.work_width)
        lo, hi = (round(f * work.shape[0] / 2) for f in s.diameter_range)
        blurred = cv2.GaussianBlur(work, (5, 5), 1.2)
        found = cv2.HoughCircles(blurred, cv2.HOUGH_GRADIENT, dp=1, minDist=max(4, lo), param1=s.canny_high,
                                 param2=s.votes, minRadius=max(3, lo), maxRadius=max(lo + 2, hi))
        if found is None:
            return Candidates(np.zeros((0, 3), np.float32), np.zeros(0, np.float32))
        fine, fine_scale = _scaled(gray, s.refine_width)
        smooth = cv2.GaussianBlur(fine, (3, 3), 0.8)
        gx = np.asarray(cv2.Sobel(smooth, cv2.CV_32F, 1, 0, ksize=3), np.float32)
        gy = np.asarray(cv2.Sobel(smooth, cv2.CV_32F, 0, 1, ksize=3), np.float32)
        k = fine_scale / scale  # work pixels → fine pixels
        rows: list[tuple[float, float, float, float]] = []
        for cx, cy, r in np.asarray(found, np.float64).reshape(-1, 3)[: s.max_candidates]:
            refined = self._refine(gx, gy, (cx * k, cy * k, r * k), (lo * k, hi * k))
            if refined is not None:  # again from the fitted circle: a Hough centre a few pixels off smears the rim
                refined = self._refine(gx, gy, refined[:3], (lo * k, hi * k))
            if refined is not None and refined[3] >= s.min_score:
                x, y, rr, score = refined
                rows.append((x / fine_scale + ox, y / fine_scale + oy, 2 * rr / fine_scale, score))
        if not rows:
            return Candidates(np.zeros((0, 3), np.float32), np.zeros(0, np.float32))
        arr = np.asarray(sorted(rows, key=lambda row: -row[3]), np.float32)
        return Candidates(np.ascontiguousarray(arr[:, :3]), np.ascontiguousarray(arr[:, 3]))

    def _crop(self, image: npt.NDArray[np.uint8]) -> tuple[Gray, tuple[int, int]]:
        """Grey crop of the ROI and its origin in frame pixels."""
        h, w = image.shape[:2]
        x0 = y0 = 0
        crop = image
        if self.roi is not None:
            x, y, rw, rh = self.roi
            x0, y0 = round(x * w), round(y * h)
            crop = image[y0 : max(y0 + 16, round((y + rh) * h)), x0 : max(x0 + 16, round((x + rw) * w))]
        return np.asarray(cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY), dtype=np.uint8), (x0, y0)

    def _refine(
        self, gx: Float32Array, gy: Float32Array, circle: tuple[float, float, float], bounds: tuple[float, float]
    ) -> tuple[float, float, float, float] | None:
        """Outer rim near the Hough circle, fitted through per-ray edge points: (cx, cy, r, score)."""
        cx, cy, r = circle
        radii = np.arange(max(2.0, 0.75 * r), min(1.35 * r, 1.1 * bounds[1]) + _STEP, _STEP)
        cos, sin = np.cos(_ANGLES)[:, None], np.sin(_ANGLES)[:, None]
        map_x = (cx + cos * radii[None, :]).astype(np.float32)
        map_y = (cy + sin * radii[None, :]).astype(np.float32)
        sx = cv2.remap(gx, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
        sy = cv2.remap(gy, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
        radial = sx * cos + sy * sin  # (rays, radii), signed: > 0 where it gets brighter outwards
        k, polarity = _outer_edge(radial, self.settings.edge_threshold, self.settings.min_score)
        if k is None:
            return None
        signed = polarity * radial
        lo, hi = max(0, k - 6), min(len(radii), k + 7)  # ±3 px; the next concentric edge has the other sign
        best = lo + np.argmax(signed[:, lo:hi], axis=1)
        edge = signed[np.arange(_RAYS), best] >= self.settings.edge_threshold
        if edge.sum() < 12:
            return None
        pts = np.column_stack([cx + cos[:, 0] * radii[best], cy + sin[:, 0] * radii[best]])[edge]
        fit = _fit_circle(pts)
        if fit is None or not bounds[0] * 0.9 <= fit[2] <= bounds[1] * 1.1:
            return None
        return fit[0], fit[1], fit[2], float(edge.mean())

