"""Clothing colour on synthetic figures: same clothes look alike across pose, size and light; others do not."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
import pytest

from replens.appearance import appearance_similarity, bhattacharyya
from replens.device_agent.identity.appearance import (
    BINS,
    HUE_BINS,
    AppearanceAccumulator,
    AppearanceSample,
    colour_histogram,
    describe,
)

RED, BLUE, GREEN, BLACK, WHITE = (30, 30, 200), (190, 40, 30), (50, 160, 40), (25, 25, 25), (235, 235, 235)
RED_BIN, BLUE_BIN, GREEN_BIN = 0, 5, 3
DARK_BIN, LIGHT_BIN = HUE_BINS, HUE_BINS + 2


def figure(
    shirt: tuple[int, int, int],
    trousers: tuple[int, int, int],
    *,
    scale: float = 1.0,
    dx: float = 0.0,
    light: float = 1.0,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """A person facing the camera on a grey wall, with sensor noise; returns (BGR image, (33, 4) landmarks)."""
    image = np.full((480, 640, 3), 128, dtype=np.float32)
    landmarks = np.zeros((33, 4), dtype=np.float32)
    landmarks[:, 3] = 1.0
    points = {11: (370, 120), 12: (270, 120), 23: (355, 270), 24: (285, 270),
              25: (360, 370), 26: (280, 370), 27: (362, 460), 28: (278, 460)}
    for index, (x, y) in points.items():
        landmarks[index, :2] = (320 + (x - 320) * scale + dx, 40 + (y - 40) * scale)
    xy = landmarks[:, :2]
    body = np.array([xy[11] + (15 * scale, -10 * scale), xy[12] + (-15 * scale, -10 * scale),
                     xy[24] + (-20 * scale, 10 * scale), xy[23] + (20 * scale, 10 * scale)])
    cv2.fillPoly(image, [np.round(body).astype(np.int32)], shirt)
    for leg in ((23, 25, 27), (24, 26, 28)):
        cv2.polylines(image, [np.round(xy[list(leg)]).astype(np.int32)], False, trousers, round(55 * scale))
    lit = image * light + np.random.default_rng(seed).normal(0, 6, image.shape)
    return np.clip(lit, 0, 255).astype(np.uint8), landmarks


def look(shirt: tuple[int, int, int], trousers: tuple[int, int, int], **kwargs: Any) -> AppearanceSample:
    found = describe(*figure(shirt, trousers, **kwargs))
    assert found is not None
    return found


def test_red_shirt_blue_trousers() -> None:
    appearance = look(RED, BLUE)
    assert len(appearance.torso) == len(appearance.legs) == BINS
    assert sum(appearance.torso) == pytest.approx(1.0) and sum(appearance.legs) == pytest.approx(1.0)
    # noise spreads a little mass to the neighbouring hues (soft bins), none to greys
    assert appearance.torso[RED_BIN] > 0.8 and max(appearance.torso) == appearance.torso[RED_BIN]
    assert appearance.legs[BLUE_BIN] > 0.8 and max(appearance.legs) == appearance.legs[BLUE_BIN]
    assert sum(appearance.torso[HUE_BINS:]) < 0.01


def test_same_clothes_alike_across_size_place_and_light() -> None:
    a = look(RED, BLUE)
    b = look(RED, BLUE, scale=0.6, dx=-150, light=0.7, seed=1)
    assert appearance_similarity(a, b) > 0.9


def test_different_clothes_differ() -> None:
    red_blue = look(RED, BLUE)
    assert appearance_similarity(red_blue, look(GREEN, BLACK)) < 0.2
    half = appearance_similarity(red_blue, look(RED, BLACK))  # same shirt, other trousers
    assert 0.4 < half < 0.7


def test_black_and_white_are_greys_not_hues() -> None:
    appearance = look(WHITE, BLACK)
    assert appearance.torso[LIGHT_BIN] > 0.8
    assert appearance.legs[DARK_BIN] > 0.8
    assert appearance_similarity(appearance, look(BLACK, WHITE)) < 0.2


def test_hidden_or_off_frame_regions_give_nothing() -> None:
    image, landmarks = figure(RED, BLUE)
    hidden = landmarks.copy()
    hidden[[25, 26, 27, 28], 3] = 0.1  # legs behind a bench
    assert describe(image, hidden) is None
    away = landmarks.copy()
    away[:, :2] += 5000
    assert describe(image, away) is None
    assert describe(image, landmarks[:, :2]) is not None  # no visibility column: all visible
    with pytest.raises(ValueError, match=r"\(33, 2\+\)"):
        describe(image, landmarks[:17])


def test_accumulator_averages_frames() -> None:
    accumulator = AppearanceAccumulator()
    assert accumulator.mean() is None
    accumulator.add(None)
    assert accumulator.count == 0
    red_blue, green_black = look(RED, BLUE), look(GREEN, BLACK)
    accumulator.add(red_blue)
    accumulator.add(green_black)
    mean = accumulator.mean()
    assert mean is not None and accumulator.count == 2
    assert sum(mean.torso) == pytest.approx(1.0)
    assert mean.torso[RED_BIN] == pytest.approx((red_blue.torso[RED_BIN] + green_black.torso[RED_BIN]) / 2)
    assert 0.3 < appearance_similarity(mean, red_blue) < 0.9


def test_histogram_and_coefficient_edges() -> None:
    assert colour_histogram(np.zeros((0, 3), dtype=np.uint8)).sum() == 0
    grey = colour_histogram(np.full((10, 3), 128, dtype=np.uint8))
    assert grey[:HUE_BINS].sum() == 0 and grey[HUE_BINS + 1] == pytest.approx(1.0, abs=0.01)
    assert bhattacharyya((0.5, 0.5), (0.5, 0.5)) == pytest.approx(1.0)
    assert bhattacharyya((1.0, 0.0), (0.0, 1.0)) == 0.0
    assert bhattacharyya((1.0,), (0.5, 0.5)) == 0.0  # different bin layouts are not comparable
    assert bhattacharyya((0.0, 0.0), (0.5, 0.5)) == 0.0
    with pytest.raises(ValueError, match="non-negative"):
        AppearanceSample((-0.1, 1.1), (1.0,))
