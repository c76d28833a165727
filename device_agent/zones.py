"""Station zones: polygons in frame fractions, and what falls inside them (points, crops, masks, poses).

A zone lets one camera watch several stations: each station sees only its own polygon. Vertices are
fractions of the frame so a zone survives a change of camera resolution; pixels are derived per
frame size, and the full-frame mask is cached per size.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from replens.arrays import Float32Array, Float64Array
from replens.config.agent import polygon_problem

if TYPE_CHECKING:
    from replens.device_agent.trackers.pose.tracker import PoseResult

FrameSize = tuple[int, int]  # (width, height) in pixels, as OpenCV orders sizes
BoolArray = npt.NDArray[np.bool_]
LEFT_SHOULDER, RIGHT_SHOULDER, LEFT_HIP, RIGHT_HIP = 11, 12, 23, 24
MIN_VISIBILITY = 0.5  # a hip or shoulder below this is the model's guess, not something it saw


def frame_size(image: npt.NDArray[np.uint8]) -> FrameSize:
    """(width, height) of an (h, w, 3) image."""
    return int(image.shape[1]), int(image.shape[0])


@dataclass(frozen=True, slots=True)
class PixelBox:
    """Axis-aligned box in pixels, half-open: columns ``x0 .. x1 - 1``, rows ``y0 .. y1 - 1``."""

    x0: int
    y0: int
    x1: int
    y1: int

    def __post_init__(self) -> None:
        if not (0 <= self.x0 < self.x1 and 0 <= self.y0 < self.y1):
            raise ValueError(f"pixel box ({self.x0}, {self.y0}, {self.x1}, {self.y1}) must be non-empty, at >= 0")

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        return self.y1 - self.y0

    def crop(self, image: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
        """(height, width, 3) contiguous copy of this box of an (h, w, 3) image."""
        return np.ascontiguousarray(image[self.y0 : self.y1, self.x0 : self.x1])


@dataclass(frozen=True, slots=True)
class Zone:
    """A simple polygon over the frame.

    Attributes:
        vertices: ((x, y), ...) fractions of the frame in 0..1, x right, y down, in order around the
            edge; at least 3, not self-intersecting, with an area (checked as the config checks them).
    """

    vertices: tuple[tuple[float, float], ...]

    def __post_init__(self) -> None:
        if any(not (0.0 <= x <= 1.0 and 0.0 <= y <= 1.0) for x, y in self.vertices):
            raise ValueError(f"zone vertices must be fractions of the frame in 0..1 (got: {self.vertices})")
        problem = polygon_problem(self.vertices)
        if problem is not None:
            raise ValueError(problem)

    @classmethod
    def of(cls, points: Sequence[Sequence[float]] | None) -> Zone | None:
        """The zone of a station's ``zone:`` config entry; None when the station has none."""
        return None if points is None else cls(tuple((float(x), float(y)) for x, y in points))

    def pixels(self, size: FrameSize) -> Float64Array:
        """(n, 2) vertices in pixels of a frame of ``size``."""
        return np.asarray(self.vertices, dtype=np.float64) * np.asarray(size, dtype=np.float64)

    def contains(self, x_px: npt.ArrayLike, y_px: npt.ArrayLike, size: FrameSize) -> BoolArray:
        """Whether pixel positions lie inside; ``x_px`` and ``y_px`` broadcast, the result has their shape."""
        xs, ys = np.asarray(x_px, dtype=np.float64), np.asarray(y_px, dtype=np.float64)
        return _inside(xs, ys, self.pixels(size))

    def bounds(self) -> tuple[float, float, float, float]:
        """x, y, width, height of the bounding box, as fractions of the frame (the stack tracker's roi)."""
        xs, ys = [x for x, _ in self.vertices], [y for _, y in self.vertices]
        return min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)

    def bounding_box(self, size: FrameSize, margin: float = 0.0) -> PixelBox:
        """Pixel box around the zone, grown on each side by ``margin`` times its width and height, clipped."""
        x, y, w, h = self.bounds()
        width, height = size
        x0 = max(0, math.floor((x - margin * w) * width))
        y0 = max(0, math.floor((y - margin * h) * height))
        x1 = min(width, max(x0 + 1, math.ceil((x + w + margin * w) * width)))
        y1 = min(height, max(y0 + 1, math.ceil((y + h + margin * h) * height)))
        return PixelBox(x0, y0, x1, y1)

    def mask(self, size: FrameSize) -> BoolArray:
        """(height, width) read-only, True at pixels whose centre is inside; cached per frame size."""
        return _mask(self.vertices, size)


def _inside(xs: Float64Array, ys: Float64Array, polygon: Float64Array) -> BoolArray:
    """Even-odd rule, vectorised over points, one pass per edge (zones have a handful of edges)."""
    inside = np.zeros(np.broadcast_shapes(xs.shape, ys.shape), dtype=bool)
    for (xa, ya), (xb, yb) in zip(polygon, np.roll(polygon, -1, axis=0), strict=True):
        if ya == yb:
            continue  # a horizontal edge never straddles a row
        straddles = (ya > ys) != (yb > ys)
        x_cross = xa + (ys - ya) * ((xb - xa) / (yb - ya))  # where the edge meets each point's row
        inside ^= straddles & (xs < x_cross)
    return inside


@lru_cache(maxsize=32)
def _mask(vertices: tuple[tuple[float, float], ...], size: FrameSize) -> BoolArray:
    width, height = size
    polygon = np.asarray(vertices, dtype=np.float64) * np.asarray(size, dtype=np.float64)
    xs = np.arange(width, dtype=np.float64)[None, :] + 0.5  # (1, w) pixel centres
    ys = np.arange(height, dtype=np.float64)[:, None] + 0.5  # (h, 1)
    mask = _inside(xs, ys, polygon)  # (h, w)
    mask.setflags(write=False)  # shared by every caller through the cache
    return mask


# --- poses ---------------------------------------------------------------------------------------


def body_centre(landmarks: Float32Array) -> tuple[float, float]:
    """Where a person is: mid-hips when both hips are visible, else mid-shoulders when both are, else mid-hips.

    Args:
        landmarks: (33, 4) x_px, y_px, z, visibility, BlazePose order.
    """
    for a, b in ((LEFT_HIP, RIGHT_HIP), (LEFT_SHOULDER, RIGHT_SHOULDER)):
        if min(landmarks[a, 3], landmarks[b, 3]) >= MIN_VISIBILITY:
            break
    else:
        a, b = LEFT_HIP, RIGHT_HIP  # both pairs hidden: the model's estimate is still the best guess
    return float(landmarks[a, 0] + landmarks[b, 0]) / 2, float(landmarks[a, 1] + landmarks[b, 1]) / 2


def pose_to_frame(pose: PoseResult, box: PixelBox) -> PoseResult:
    """A pose found in the crop ``box`` of a frame, moved into that frame's pixels (z and scale unchanged)."""
    landmarks = pose.landmarks.copy()
    landmarks[:, 0] += box.x0
    landmarks[:, 1] += box.y0
    roi = dataclasses.replace(pose.roi, center_x=pose.roi.center_x + box.x0, center_y=pose.roi.center_y + box.y0)
    return dataclasses.replace(pose, landmarks=landmarks, roi=roi)


def pose_in_zone(pose: PoseResult | None, zone: Zone, size: FrameSize) -> PoseResult | None:
    """The pose (full-frame pixels) when its body centre is inside ``zone``, else None: nobody at this station."""
    if pose is None:
        return None
    x, y = body_centre(pose.landmarks)
    return pose if bool(zone.contains(x, y, size)) else None
