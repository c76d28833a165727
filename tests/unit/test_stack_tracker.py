"""The stack tracker on the rendered sample clip (known ground truth) and on a still scene."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from replens.device_agent.signal import SignalSample
from replens.device_agent.sources.frame import Frame
from replens.device_agent.sources.opencv_source import open_source
from replens.device_agent.trackers.base import StationTracker
from replens.device_agent.trackers.stack import StackTracker

SAMPLES = Path(__file__).resolve().parents[2] / "device_agent" / "samples"
CLIP = SAMPLES / "stack_demo.mp4"
TRUTH: dict[str, Any] = json.loads((SAMPLES / "stack_demo.json").read_text(encoding="utf-8"))
REPS = [rep for s in TRUTH["sets"] for rep in s["reps"]]


@dataclass
class Run:
    t: np.ndarray
    position: np.ndarray
    confidence: np.ndarray
    frames: int
    cost_s: float


def track(path: Path, tracker: StackTracker) -> Run:
    samples: list[SignalSample] = []
    cost, frames = 0.0, 0
    with open_source(str(path), realtime=False) as source:
        for frame in source:
            began = time.perf_counter()
            sample = tracker.update(frame)
            cost += time.perf_counter() - began
            frames += 1
            if sample is not None:
                samples.append(sample)
    return Run(np.array([s.t_s for s in samples]), np.array([s.position for s in samples]),
               np.array([s.confidence for s in samples]), frames, cost)


def hysteresis_peaks(t: np.ndarray, x: np.ndarray, threshold: float) -> list[float]:
    """Times of maxima that rise ``threshold`` above the last minimum and fall ``threshold`` below."""
    peaks: list[float] = []
    rising, low, high, high_t = True, x[0], x[0], t[0]
    for ti, xi in zip(t, x, strict=True):
        if rising:
            low = min(low, xi)
            if xi > low + threshold:
                rising, high, high_t = False, xi, ti
        elif xi > high:
            high, high_t = xi, ti
        elif xi < high - threshold:
            peaks.append(float(high_t))
            rising, low = True, xi
    return peaks


@pytest.fixture(scope="module", params=["auto", "vertical"])
def clip_run(request: pytest.FixtureRequest) -> Run:
    run = track(CLIP, StackTracker(tuple(TRUTH["roi"]), request.param))
    print(f"\nstack tracker ({request.param}): {1e3 * run.cost_s / run.frames:.2f} ms/frame over {run.frames} frames")
    return run


def test_is_a_station_tracker() -> None:
    assert isinstance(StackTracker(None), StationTracker)


def test_clip_has_exactly_ten_clear_oscillations_at_the_true_tops(clip_run: Run) -> None:
    threshold = 0.5 * float(np.median([rep["lift_px"] for rep in REPS]))
    peaks = hysteresis_peaks(clip_run.t, clip_run.position, threshold)
    assert len(peaks) == 10 == len(REPS)
    for peak, rep in zip(peaks, REPS, strict=True):
        assert rep["top_s"] - 0.3 <= peak <= rep["top_end_s"] + 0.3, (peak, rep)


def test_amplitude_is_the_lift_in_pixels_and_up_is_positive(clip_run: Run) -> None:
    for rep in REPS:
        during = (clip_run.t >= rep["start_s"]) & (clip_run.t <= rep["end_s"])
        before = clip_run.position[clip_run.t <= rep["start_s"]][-1]
        assert clip_run.position[during].max() - before == pytest.approx(rep["lift_px"], rel=0.15)


def test_rest_with_a_walker_stays_in_a_small_band(clip_run: Run) -> None:
    rest = (clip_run.t >= TRUTH["rest"]["start_s"] + 0.5) & (clip_run.t <= TRUTH["rest"]["end_s"] - 0.2)
    walker = TRUTH["walker"]
    assert TRUTH["rest"]["start_s"] + 0.5 < walker["start_s"] < walker["end_s"] < TRUTH["rest"]["end_s"]
    band = clip_run.position[rest]
    assert np.ptp(band) < 5.0
    assert np.abs(band).max() < 5.0  # and near the rest position of set 1


def test_still_start_and_end_are_flat_and_confident(clip_run: Run) -> None:
    first = REPS[0]["start_s"]
    assert np.abs(clip_run.position[clip_run.t < first]).max() < 1.0
    tail = clip_run.position[clip_run.t > REPS[-1]["end_s"] + 0.2]
    assert np.abs(tail).max() < 4.0
    assert abs(tail[-1]) < 0.5  # the bounded correction took the leftover back to the rest position
    assert np.median(clip_run.confidence) > 0.8


def test_auto_axis_ignores_a_walker_before_the_first_rep() -> None:
    """Start just before the walker: the first motion seen is a person, not the stack."""
    tracker = StackTracker(tuple(TRUTH["roi"]), "auto")
    samples = [s for f in open_source(str(CLIP), realtime=False)
               if f.t_s >= TRUTH["walker"]["start_s"] - 0.5 and (s := tracker.update(f)) is not None]
    t, x = np.array([s.t_s for s in samples]), np.array([s.position for s in samples])
    assert np.abs(x[t < TRUTH["rest"]["end_s"]]).max() < 5.0
    peaks = hysteresis_peaks(t, x, 0.5 * float(np.median([rep["lift_px"] for rep in REPS])))
    np.testing.assert_allclose(peaks, [rep["top_s"] for rep in TRUTH["sets"][1]["reps"]], atol=0.3)
    assert tracker.axis is not None and tracker.axis[1] < -0.95  # up


def test_auto_axis_finds_a_horizontal_stack() -> None:
    """The clip turned 90° clockwise: the stack now moves right when lifted, the walker vertically."""
    x, y, w, h = TRUTH["roi"]
    tracker = StackTracker((1 - y - h, x, h, w), "auto")
    samples = []
    with open_source(str(CLIP), realtime=False) as source:
        for f in source:
            turned = np.ascontiguousarray(cv2.rotate(f.image, cv2.ROTATE_90_CLOCKWISE), dtype=np.uint8)
            if (s := tracker.update(Frame(turned, f.t_s, f.wall_time_s, f.index))) is not None:
                samples.append(s)
    assert tracker.axis is not None and tracker.axis[0] > 0.95  # lifting (the first movement) is positive
    t, pos = np.array([s.t_s for s in samples]), np.array([s.position for s in samples])
    peaks = hysteresis_peaks(t, pos, 0.5 * float(np.median([rep["lift_px"] for rep in REPS])))
    assert len(peaks) == 10
    # until the first rep has gone up and come back, auto reports the vertical: that peak comes late
    np.testing.assert_allclose(peaks[1:], [rep["top_s"] for rep in REPS[1:]], atol=0.3)


def still_video(path: Path, seconds: float, fps: int = 15) -> Path:
    """A still frame of the sample clip with fresh sensor noise and flicker in every frame."""
    capture = cv2.VideoCapture(str(CLIP))
    ok, still = capture.read()
    capture.release()
    assert ok
    rng = np.random.default_rng(7)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), fps, (still.shape[1], still.shape[0]))
    for i in range(round(seconds * fps)):
        gain = 1.0 + 0.03 * np.sin(2 * np.pi * 0.7 * i / fps)
        noisy = still.astype(np.float32) * gain + rng.normal(0, 2.0, still.shape)
        writer.write(np.clip(noisy, 0, 255).astype(np.uint8))
    writer.release()
    return path


@pytest.mark.parametrize("axis", ["auto", "vertical", "horizontal"])
def test_still_scene_does_not_drift(tmp_path: Path, axis: str) -> None:
    run = track(still_video(tmp_path / "still.mp4", 10.0), StackTracker(tuple(TRUTH["roi"]), axis))  # type: ignore[arg-type]
    assert run.t[-1] - run.t[0] >= 9.5
    assert np.abs(run.position - run.position[0]).max() < 2.0


def test_whole_frame_roi_and_reset() -> None:
    tracker = StackTracker(None, "vertical")
    image = np.zeros((120, 160, 3), np.uint8)
    texture = np.random.default_rng(3).integers(0, 255, (15, 20), dtype=np.uint8)
    image[30:90, 40:120] = cv2.resize(texture, (80, 60), interpolation=cv2.INTER_NEAREST)[:, :, None]
    assert tracker.update(Frame(image, 0.0, 0.0, 0)) is None  # no previous frame yet
    moved = np.roll(image, -3, axis=0)  # the block moves up 3 px
    sample = tracker.update(Frame(moved, 0.1, 0.1, 1))
    assert sample is not None and sample.position == pytest.approx(3.0, abs=0.5)
    tracker.reset()
    assert tracker.update(Frame(moved, 0.2, 0.2, 2)) is None


@pytest.mark.parametrize("roi", [(0.5, 0.5, 0.6, 0.2), (0.0, 0.0, 0.0, 0.5), (-0.1, 0.0, 0.5, 0.5)])
def test_roi_outside_the_frame_is_rejected(roi: tuple[float, float, float, float]) -> None:
    with pytest.raises(ValueError, match="roi"):
        StackTracker(roi)
