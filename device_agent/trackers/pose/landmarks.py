"""BlazePose landmark model: crop a rotated region to 256×256, decode 39 points, project them back.

Decoding follows MediaPipe 0.10.14's ``PoseLandmarkByRoiCpu`` graph: input RGB in [0, 1] with a
replicated border, coordinates divided by 256, sigmoid on visibility and presence, refinement of x, y
from the 64×64 heatmap (7×7 window, applied where its peak confidence reaches 0.5), then the inverse
of the crop. Points 33 and 34 are the auxiliary hip-centre and size/rotation points used to place
the next frame's region.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from replens.arrays import Float32Array
from replens.device_agent.inference.openvino_model import MODELS_DIR, CompiledModel, InferenceSettings
from replens.device_agent.trackers.pose.roi import Roi

INPUT_SIZE = 256
NUM_POINTS = 39  # 33 body landmarks + 2 auxiliary + 4 unused
VALUES_PER_POINT = 5  # x, y, z, visibility, presence
HEATMAP_KERNEL = 7
HEATMAP_MIN_CONFIDENCE = 0.5
# Outputs of pose_landmark_full.tflite as OpenVINO reads it: 0 landmarks, 1 pose flag, 2 segmentation
# mask, 3 heatmap, 4 world landmarks. Only 0, 1 and 3 are compiled: the mask's decoder and the world
# landmarks took about a third of the inference time (30.6 -> 19.9 ms, 1 thread, f32), outputs identical.
KEPT_OUTPUTS = (0, 1, 3)
OUT_LANDMARKS, OUT_FLAG, OUT_HEATMAP = 0, 1, 2  # their places among the kept ones


def _sigmoid(x: Float32Array) -> Float32Array:
    """Overflow-free logistic (logits reach ±100, and padding uses -inf)."""
    out: Float32Array = (0.5 * (1.0 + np.tanh(0.5 * x))).astype(np.float32)
    return out


@dataclass(frozen=True, slots=True)
class RawLandmarks:
    """One landmark-model result, unsmoothed.

    Attributes:
        points: (39, 5) float32: x, y in image pixels; z in pixels at the x scale (relative depth,
            smaller is nearer the camera); visibility and presence in [0, 1].
        pose_flag: the model's confidence that a person is in the region, in [0, 1].
        roi: the region the model saw.
    """

    points: Float32Array
    pose_flag: float
    roi: Roi

    def __post_init__(self) -> None:
        if self.points.shape != (NUM_POINTS, VALUES_PER_POINT):
            raise ValueError(f"landmarks: expected ({NUM_POINTS}, {VALUES_PER_POINT}), got {self.points.shape}")


def refine_from_heatmap(xy: Float32Array, heatmap: Float32Array, kernel: int = HEATMAP_KERNEL) -> Float32Array:
    """(n, 2) crop-unit x, y → refined (n, 2): confidence-weighted mean of a window of the heatmap.

    ``heatmap`` is (hm_h, hm_w, n) logits. A point whose window peaks below 0.5, or whose centre
    falls outside the heatmap, keeps its regressed position (``RefineLandmarksFromHeatmapCalculator``).
    """
    hm_h, hm_w, n = heatmap.shape
    half = (kernel - 1) // 2
    cols = (xy[:, 0] * hm_w).astype(np.int64)  # C++ float → int truncation
    rows = (xy[:, 1] * hm_h).astype(np.int64)
    inside = (cols >= 0) & (cols < hm_w) & (rows >= 0) & (rows < hm_h)
    padded = np.pad(heatmap, ((half, half), (half, half), (0, 0)), constant_values=-np.inf)  # sigmoid → 0
    offsets = np.arange(kernel)
    r_idx = np.clip(rows, 0, hm_h - 1)[:, None, None] + offsets[None, :, None]  # (n, k, 1) in padded rows
    c_idx = np.clip(cols, 0, hm_w - 1)[:, None, None] + offsets[None, None, :]  # (n, 1, k)
    conf = _sigmoid(padded[r_idx, c_idx, np.arange(n)[:, None, None]])  # (n, k, k)
    total = conf.sum(axis=(1, 2))
    row_pos = (r_idx - half).astype(np.float32)
    col_pos = (c_idx - half).astype(np.float32)
    ok = inside & (conf.max(axis=(1, 2)) >= HEATMAP_MIN_CONFIDENCE) & (total > 0)
    safe = np.where(total > 0, total, 1.0)
    refined = np.stack(
        [(conf * col_pos).sum(axis=(1, 2)) / hm_w / safe, (conf * row_pos).sum(axis=(1, 2)) / hm_h / safe], axis=1
    )
    return np.where(ok[:, None], refined, xy).astype(np.float32)


def decode(raw: Float32Array, heatmap: Float32Array, roi: Roi) -> Float32Array:
    """Raw (195,) output and (64, 64, 39) heatmap → (39, 5) points in image pixels (see :class:`RawLandmarks`)."""
    values = raw.reshape(NUM_POINTS, VALUES_PER_POINT) / np.float32(INPUT_SIZE)
    xy = refine_from_heatmap(values[:, :2], heatmap)
    out = np.empty((NUM_POINTS, VALUES_PER_POINT), dtype=np.float32)
    out[:, :2] = roi.to_image(xy)
    out[:, 2] = values[:, 2] * roi.size
    out[:, 3:] = _sigmoid(raw.reshape(NUM_POINTS, VALUES_PER_POINT)[:, 3:])
    return out


class LandmarkModel:
    """Runs ``pose_landmark_full.tflite`` on one rotated region of a frame."""

    def __init__(self, settings: InferenceSettings | None = None, *, models_dir: Path = MODELS_DIR) -> None:
        self.model = CompiledModel("pose_landmark_full", settings, models_dir=models_dir, outputs=KEPT_OUTPUTS)

    def run(self, image_bgr: npt.NDArray[np.uint8], roi: Roi) -> RawLandmarks:
        crop = roi.crop(image_bgr, INPUT_SIZE)
        batch = (crop[:, :, ::-1].astype(np.float32) * np.float32(1.0 / 255.0))[None]
        outputs = self.model(batch)
        points = decode(outputs[OUT_LANDMARKS][0], outputs[OUT_HEATMAP][0], roi)
        return RawLandmarks(points, float(outputs[OUT_FLAG].ravel()[0]), roi)
