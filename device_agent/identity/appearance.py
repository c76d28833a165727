"""Clothing colour of a person from one frame and their BlazePose landmarks: a coarse histogram per body region.

Not biometric (it changes with the clothes): it lets the hub tell apart people who are in the gym
at the same time. Each region (torso; both legs) gets 11 numbers summing to 1: 8 hue bins for
coloured pixels, centred on the named hues red, orange, yellow, green, cyan, blue, violet, magenta, and 3
lightness bins (dark, mid, light) for greyish ones. Assignment is soft (linear between neighbouring
bins, and between coloured and grey by chroma), so a small change of light moves mass gradually
instead of flipping pixels across a bin border.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from replens.arrays import Float32Array, Float64Array
from replens.contract import Appearance

HUE_BINS = 8
GREY_BINS = 3
BINS = HUE_BINS + GREY_BINS
# Chroma (max - min of R, G, B, 0..255) below which a pixel is grey, and above which it is fully coloured:
# camera noise and white balance give greys a chroma of ~10-20; a muted coloured shirt has 40 or more.
GREY_CHROMA, COLOUR_CHROMA = 20.0, 50.0
# Named hues, degrees: red, orange, yellow, green, cyan, blue, violet, magenta, then red again. Not
# evenly spaced: hue is not perceptually even (green spans far more degrees than orange).
HUE_CENTRES_DEG = np.array([0.0, 30.0, 60.0, 120.0, 180.0, 240.0, 270.0, 300.0, 360.0])
# Value (max of R, G, B, 0..1) of the dark, mid and light grey bins: black cloth under gym light reads
# about 0.1-0.2 and white 0.8-0.95, not 0 and 1.
GREY_CENTRES = (0.15, 0.5, 0.85)
TORSO = (11, 12, 24, 23)  # left shoulder, right shoulder, right hip, left hip
LEGS = ((23, 25, 27), (24, 26, 28))  # hip → knee → ankle, left then right
# The shirt shows from below the collar (10 % of shoulder → hip) to above the waistband (75 %: the hip
# landmarks are the joints, well below the waist); 10 % in from each side, where the arms hang.
TORSO_SPAN = (0.1, 0.75)
TORSO_INSET = 0.1
MIN_TORSO_HALF_WIDTH = 0.2  # of the torso length: side-on, a chest is still about 0.4 of it deep
LEG_THICKNESS = 0.25  # of the torso length (mid-shoulder to mid-hip): narrower than a shin
# The legs run from 20 % down the thigh to 85 % down the shin: a shirt hangs over the hip joints and
# the shoes start at the ankles (thick lines also overshoot their ends by half their width).
LEG_TRIM = (0.2, 0.85)
MIN_VISIBILITY = 0.5
MIN_PIXELS = 50


@dataclass(frozen=True, slots=True)
class AppearanceSample:
    """One frame's clothing colour: ``BINS`` non-negative floats summing to 1 per region (see the module docstring).

    Many are taken per set or visit and averaged by :class:`AppearanceAccumulator`; only that mean
    leaves the agent, as the wire model :class:`~replens.contract.Appearance`.
    """

    torso: tuple[float, ...]
    legs: tuple[float, ...]

    def __post_init__(self) -> None:
        for name, hist in (("torso", self.torso), ("legs", self.legs)):
            if not hist or not all(math.isfinite(v) and v >= 0 for v in hist):
                raise ValueError(f"appearance {name}: expected non-negative finite floats, got {hist}")


def colour_histogram(pixels_bgr: npt.NDArray[np.uint8]) -> Float32Array:
    """(n, 3) uint8 BGR pixels → (11,) float32 soft histogram summing to 1 (zeros for no pixels)."""
    if not len(pixels_bgr):
        return np.zeros(BINS, dtype=np.float32)
    unit = pixels_bgr.reshape(-1, 1, 3).astype(np.float32) / 255.0
    hsv = cv2.cvtColor(unit, cv2.COLOR_BGR2HSV).reshape(-1, 3)  # hue in degrees, value in [0, 1]
    chroma = 255.0 * (unit.max(axis=2) - unit.min(axis=2)).ravel()  # (n,)
    coloured = np.clip((chroma - GREY_CHROMA) / (COLOUR_CHROMA - GREY_CHROMA), 0.0, 1.0)
    hist = np.zeros(BINS, dtype=np.float64)
    # each pixel split between the two named hues around it, in proportion to closeness
    upper = np.clip(np.searchsorted(HUE_CENTRES_DEG, hsv[:, 0], side="right"), 1, HUE_BINS)
    lo, hi = HUE_CENTRES_DEG[upper - 1], HUE_CENTRES_DEG[upper]
    frac = (hsv[:, 0] - lo) / (hi - lo)
    np.add.at(hist, upper - 1, coloured * (1 - frac))
    np.add.at(hist, upper % HUE_BINS, coloured * frac)
    # greys by value: linear between the dark, mid and light centres, all dark or all light beyond them
    level = np.clip((hsv[:, 2] - GREY_CENTRES[0]) / (GREY_CENTRES[1] - GREY_CENTRES[0]), 0.0, GREY_BINS - 1.0)
    dark = np.minimum(np.floor(level).astype(int), GREY_BINS - 2)
    frac = level - dark
    np.add.at(hist, HUE_BINS + dark, (1 - coloured) * (1 - frac))
    np.add.at(hist, HUE_BINS + dark + 1, (1 - coloured) * frac)
    normalised: Float32Array = (hist / hist.sum()).astype(np.float32)
    return normalised


def torso_quad(xy: Float64Array) -> Float64Array:
    """(4, 2) corners of the shirt region from (33, 2) landmark pixels.

    Built around the mid-shoulder → mid-hip axis so that it stays a body-wide region when the person
    turns side-on and the shoulders overlap in the image.
    """
    shoulders, hips = xy[[11, 12]], xy[[23, 24]]
    top_mid, bottom_mid = shoulders.mean(axis=0), hips.mean(axis=0)
    axis = bottom_mid - top_mid
    length = float(np.hypot(*axis))
    normal = np.array([-axis[1], axis[0]]) / max(length, 1e-6)
    corners = []
    for span, pair in zip(TORSO_SPAN, (shoulders, hips), strict=True):
        centre = top_mid + span * axis
        half = max((1 - 2 * TORSO_INSET) * float(np.hypot(*(pair[0] - pair[1]))) / 2, MIN_TORSO_HALF_WIDTH * length)
        corners += [centre - half * normal, centre + half * normal]
    return np.stack([corners[0], corners[1], corners[3], corners[2]])


def region_masks(
    shape: tuple[int, int], landmarks: Float32Array
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8]]:
    """(h, w) uint8 masks of the torso and the legs; a region whose landmarks are not visible stays empty.

    ``landmarks``: (33, 2+) pixels, MediaPipe order; a 4th column, when present, is visibility.
    """
    xy = landmarks[:, :2].astype(np.float64)
    visible = landmarks[:, 3] >= MIN_VISIBILITY if landmarks.shape[1] >= 4 else np.ones(len(landmarks), bool)
    torso = np.zeros(shape, dtype=np.uint8)
    legs = np.zeros(shape, dtype=np.uint8)
    if visible[list(TORSO)].all():
        cv2.fillPoly(torso, [np.round(torso_quad(xy)).astype(np.int32)], 1)
    torso_len = float(np.linalg.norm(xy[[11, 12]].mean(axis=0) - xy[[23, 24]].mean(axis=0)))
    thickness = max(1, round(LEG_THICKNESS * torso_len))
    for hip, knee, ankle in LEGS:
        if visible[[hip, knee, ankle]].all():
            top = xy[hip] + LEG_TRIM[0] * (xy[knee] - xy[hip])
            bottom = xy[knee] + LEG_TRIM[1] * (xy[ankle] - xy[knee])
            line = np.round(np.stack([top, xy[knee], bottom])).astype(np.int32)
            cv2.polylines(legs, [line], False, 1, thickness)
    return torso, legs


def describe(image_bgr: npt.NDArray[np.uint8], landmarks: Float32Array) -> AppearanceSample | None:
    """The person's clothing colour in this frame; None when a region has under ``MIN_PIXELS`` visible pixels."""
    if landmarks.ndim != 2 or landmarks.shape[0] != 33 or landmarks.shape[1] < 2:
        raise ValueError(f"appearance: expected (33, 2+) landmarks, got {landmarks.shape}")
    torso, legs = region_masks(image_bgr.shape[:2], landmarks)
    hists = []
    for mask in (torso, legs):
        pixels = image_bgr[mask.astype(bool)]
        if len(pixels) < MIN_PIXELS:
            return None
        hists.append(tuple(float(v) for v in colour_histogram(pixels)))
    return AppearanceSample(hists[0], hists[1])


class AppearanceAccumulator:
    """Mean appearance over many frames: one frame's lighting or a passing arm weighs little.

    The mean is what sets and visits carry, so it is the wire model itself.
    """

    def __init__(self) -> None:
        self._torso = np.zeros(BINS, dtype=np.float64)
        self._legs = np.zeros(BINS, dtype=np.float64)
        self.count = 0

    def add(self, appearance: AppearanceSample | None) -> None:
        """Add one frame's descriptor; None (a frame without one) is skipped."""
        if appearance is None:
            return
        self._torso += appearance.torso
        self._legs += appearance.legs
        self.count += 1

    def mean(self) -> Appearance | None:
        """The average so far (still summing to 1 per region); None before the first descriptor."""
        if not self.count:
            return None
        return Appearance(torso=(self._torso / self.count).tolist(), legs=(self._legs / self.count).tolist())
