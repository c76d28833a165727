"""Rotated square regions of interest, placed as MediaPipe's pose graphs place them.

MediaPipe derives the region from two points: the mid-hip centre and a point that encodes size and
rotation (detector keypoints 0 and 1, or auxiliary landmarks 33 and 34 when tracking). The region is
centred on the first point, its side is twice their distance times 1.25, and it is rotated so that
the hip → aux vector points up in the crop (``AlignmentPointsRectsCalculator`` with a 90° target,
then ``RectTransformationCalculator`` with scale 1.25 and ``square_long``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from replens.arrays import Float32Array, Float64Array

ROI_SCALE = 1.25  # MediaPipe's RectTransformation scale for both pose ROIs
TARGET_ANGLE_RAD = math.pi / 2  # hip → aux vector points up in the crop


def normalize_radians(angle: float) -> float:
    """Angle in [-π, π), as MediaPipe's ``NormalizeRadians``."""
    return angle - 2 * math.pi * math.floor((angle + math.pi) / (2 * math.pi))


@dataclass(frozen=True, slots=True)
class Roi:
    """A rotated square in image pixels.

    Attributes:
        center_x, center_y: centre, pixels.
        size: side length, pixels.
        rotation: radians; positive turns the square clockwise on screen (y points down), as
            MediaPipe's ``NormalizedRect.rotation`` and OpenCV's ``RotatedRect`` angle.
    """

    center_x: float
    center_y: float
    size: float
    rotation: float = 0.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.size) and self.size > 0):
            raise ValueError(f"roi size must be positive and finite (got: {self.size})")

    def crop_matrix(self, out_size: int) -> Float64Array:
        """(2, 3) affine map image pixels → crop pixels, the corners landing on 0 and ``out_size``.

        Same mapping as MediaPipe's OpenCV ``ImageToTensor`` (``boxPoints`` → ``getPerspectiveTransform``).
        """
        k = out_size / self.size
        cos, sin = math.cos(self.rotation), math.sin(self.rotation)
        linear = k * np.array([[cos, sin], [-sin, cos]])  # scale · R(-rotation)
        center = np.array([self.center_x, self.center_y])
        offset = out_size / 2 - linear @ center
        return np.hstack([linear, offset[:, None]])

    def crop(
        self, image: npt.NDArray[np.uint8], out_size: int, *, border: int = cv2.BORDER_REPLICATE
    ) -> npt.NDArray[np.uint8]:
        """(out_size, out_size, c) bilinear crop of ``image`` (h, w, c)."""
        matrix = self.crop_matrix(out_size)
        warped = cv2.warpAffine(
            image, matrix, (out_size, out_size), flags=cv2.INTER_LINEAR, borderMode=border, borderValue=0
        )
        return np.asarray(warped, dtype=np.uint8)

    def to_image(self, unit_xy: Float32Array) -> Float32Array:
        """(n, 2) crop coordinates in [0, 1] units → (n, 2) image pixels."""
        cos, sin = math.cos(self.rotation), math.sin(self.rotation)
        local = (unit_xy.astype(np.float64) - 0.5) * self.size
        x = cos * local[:, 0] - sin * local[:, 1] + self.center_x
        y = sin * local[:, 0] + cos * local[:, 1] + self.center_y
        return np.stack([x, y], axis=1).astype(np.float32)

    def corners(self) -> Float32Array:
        """(4, 2) corners in image pixels: top-left, top-right, bottom-right, bottom-left of the crop."""
        return self.to_image(np.array([[0, 0], [1, 0], [1, 1], [0, 1]], dtype=np.float32))


def alignment_size(center_xy: Float32Array, end_xy: Float32Array) -> float:
    """Side of the unscaled alignment box: twice the centre → end distance, pixels.

    MediaPipe also uses this (from the unfiltered auxiliary points) as the object scale of its
    landmark smoothing.
    """
    return 2.0 * float(np.hypot(*(end_xy[:2] - center_xy[:2])))


def roi_from_points(center_xy: Float32Array, end_xy: Float32Array, scale: float = ROI_SCALE) -> Roi | None:
    """Region from hip centre (2,) and size/rotation point (2,), pixels; None when they coincide."""
    size = alignment_size(center_xy, end_xy) * scale
    if not (math.isfinite(size) and size > 1e-3):
        return None
    dx, dy = float(end_xy[0] - center_xy[0]), float(end_xy[1] - center_xy[1])
    rotation = normalize_radians(TARGET_ANGLE_RAD - math.atan2(-dy, dx))
    return Roi(float(center_xy[0]), float(center_xy[1]), size, rotation)


def square_letterbox(width: int, height: int) -> Roi:
    """The unrotated square around a whole frame that MediaPipe's keep-aspect-ratio letterbox crops."""
    return Roi(width / 2.0, height / 2.0, float(max(width, height)), 0.0)
