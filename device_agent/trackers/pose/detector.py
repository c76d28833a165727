"""BlazePose person detector: MediaPipe's letterbox, SSD anchors, box/keypoint decoding and weighted NMS.

Options are those of MediaPipe 0.10.14's ``PoseDetectionCpu`` graph (read from the wheel's compiled
graph): 224×224 input in [-1, 1] with a zero border, 5 anchor layers with strides 8, 16, 32, 32, 32
and fixed-size anchors (2254 in all), 4 keypoints, sigmoid scores clipped at ±100, score threshold
0.5, weighted NMS at IoU 0.3.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from replens.arrays import Float32Array
from replens.device_agent.inference.openvino_model import MODELS_DIR, CompiledModel, InferenceSettings
from replens.device_agent.trackers.pose.roi import square_letterbox

INPUT_SIZE = 224
NUM_KEYPOINTS = 4  # 0 mid-hip, 1 full-body size/rotation point, 2 mid-shoulder, 3 upper-body point
SCORE_CLIP = 100.0


@dataclass(frozen=True, slots=True)
class AnchorOptions:
    """``SsdAnchorsCalculatorOptions`` of the pose detection graph."""

    num_layers: int = 5
    min_scale: float = 0.1484375
    max_scale: float = 0.75
    input_size: int = INPUT_SIZE
    strides: tuple[int, ...] = (8, 16, 32, 32, 32)
    offset: float = 0.5
    aspect_ratios: tuple[float, ...] = (1.0,)
    interpolated_scale_aspect_ratio: float = 1.0


def ssd_anchors(opts: AnchorOptions = AnchorOptions()) -> Float32Array:
    """(n, 2) anchor centres in [0, 1] (x, y), in MediaPipe's order.

    With ``fixed_anchor_size`` only the centres matter. Consecutive layers with the same stride share
    one feature map, and each layer adds one anchor per aspect ratio plus an interpolated-scale one.
    """
    centres: list[Float32Array] = []
    layer = 0
    while layer < opts.num_layers:
        per_cell = 0
        last = layer
        while last < opts.num_layers and opts.strides[last] == opts.strides[layer]:
            per_cell += len(opts.aspect_ratios) + (1 if opts.interpolated_scale_aspect_ratio > 0 else 0)
            last += 1
        cells = math.ceil(opts.input_size / opts.strides[layer])
        grid = (np.arange(cells, dtype=np.float32) + opts.offset) / cells
        ys, xs = np.meshgrid(grid, grid, indexing="ij")  # row-major: y outer, x inner
        cell_xy = np.stack([xs.ravel(), ys.ravel()], axis=1)
        centres.append(np.repeat(cell_xy, per_cell, axis=0))
        layer = last
    return np.concatenate(centres).astype(np.float32)


@dataclass(frozen=True, slots=True)
class Detection:
    """One person found by the detector, in image pixels.

    Attributes:
        score: sigmoid confidence in [0, 1].
        box: (4,) float32 xmin, ymin, xmax, ymax of the face box the model predicts.
        keypoints: (4, 2) float32 x, y: mid-hip, full-body size/rotation point, mid-shoulder,
            upper-body size/rotation point.
    """

    score: float
    box: Float32Array
    keypoints: Float32Array

    def __post_init__(self) -> None:
        if self.box.shape != (4,) or self.keypoints.shape != (NUM_KEYPOINTS, 2):
            raise ValueError(f"detection: box {self.box.shape}, keypoints {self.keypoints.shape}")


def letterbox(image_bgr: npt.NDArray[np.uint8]) -> Float32Array:
    """(1, 224, 224, 3) RGB float32 in [-1, 1]: the frame padded to a square with zeros, bilinear warp."""
    h, w = image_bgr.shape[:2]
    crop = square_letterbox(w, h).crop(image_bgr, INPUT_SIZE, border=cv2.BORDER_CONSTANT)
    rgb = crop[:, :, ::-1].astype(np.float32)
    return (rgb * (2.0 / 255.0) - 1.0)[None]


def decode(
    raw_boxes: Float32Array, raw_scores: Float32Array, anchors: Float32Array, *, input_size: int = INPUT_SIZE,
    num_keypoints: int = NUM_KEYPOINTS,
) -> tuple[Float32Array, Float32Array, Float32Array]:
    """Raw (n, 4 + 2k) and (n,) SSD outputs → boxes (n, 4) xyxy, keypoints (n, k, 2), scores (n,), in [0, 1] units.

    MediaPipe's detectors (pose, face) share this layout; the defaults are the pose detector's (k = 4).
    """
    scaled = raw_boxes / input_size  # x, y, w, h then k × (x, y): ``reverse_output_order`` layout
    cx = scaled[:, 0] + anchors[:, 0]
    cy = scaled[:, 1] + anchors[:, 1]
    half_w, half_h = scaled[:, 2] / 2, scaled[:, 3] / 2
    boxes = np.stack([cx - half_w, cy - half_h, cx + half_w, cy + half_h], axis=1)
    keypoints = scaled[:, 4:].reshape(-1, num_keypoints, 2) + anchors[:, None, :]
    scores = 0.5 * (1.0 + np.tanh(0.5 * np.clip(raw_scores, -SCORE_CLIP, SCORE_CLIP)))  # sigmoid, no overflow
    return boxes.astype(np.float32), keypoints.astype(np.float32), scores.astype(np.float32)


def _iou(box: Float32Array, others: Float32Array) -> Float32Array:
    """IoU of one (4,) box with (n, 4) boxes, xyxy."""
    ix = np.clip(np.minimum(box[2], others[:, 2]) - np.maximum(box[0], others[:, 0]), 0, None)
    iy = np.clip(np.minimum(box[3], others[:, 3]) - np.maximum(box[1], others[:, 1]), 0, None)
    inter = ix * iy
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (others[:, 2] - others[:, 0]) * (others[:, 3] - others[:, 1])
    union = area + areas - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0).astype(np.float32)


def weighted_nms(
    boxes: Float32Array, keypoints: Float32Array, scores: Float32Array, iou_threshold: float = 0.3
) -> list[tuple[float, Float32Array, Float32Array]]:
    """MediaPipe's WEIGHTED non-max suppression: each cluster becomes its score-weighted mean.

    The cluster keeps its best score; box and keypoints are averaged over all members (best included)
    weighted by score. Returns (score, box (4,), keypoints (4, 2)) best first.
    """
    order = np.argsort(-scores, kind="stable")
    out: list[tuple[float, Float32Array, Float32Array]] = []
    while order.size:
        best = order[0]
        overlap = _iou(boxes[best], boxes[order]) > iou_threshold
        members = order[overlap]
        weights = scores[members][:, None]
        total = float(weights.sum())
        box = (boxes[members] * weights).sum(axis=0) / total
        kps = (keypoints[members] * weights[:, :, None]).sum(axis=0) / total
        out.append((float(scores[best]), box.astype(np.float32), kps.astype(np.float32)))
        order = order[~overlap]
    return out


class PoseDetector:
    """Finds people in a frame; best first. Runs ``pose_detection.tflite`` with OpenVINO."""

    def __init__(
        self,
        settings: InferenceSettings | None = None,
        *,
        models_dir: Path = MODELS_DIR,
        min_score: float = 0.5,
        iou_threshold: float = 0.3,
    ) -> None:
        self.model = CompiledModel("pose_detection", settings, models_dir=models_dir)
        self.anchors = ssd_anchors()
        self.min_score = min_score
        self.iou_threshold = iou_threshold

    def detect(self, image_bgr: npt.NDArray[np.uint8]) -> list[Detection]:
        raw_boxes, raw_scores = self.model(letterbox(image_bgr))[:2]
        boxes, keypoints, scores = decode(raw_boxes[0], raw_scores[0, :, 0], self.anchors)
        keep = scores >= self.min_score
        h, w = image_bgr.shape[:2]
        square = square_letterbox(w, h)
        found = []
        for score, box, kps in weighted_nms(boxes[keep], keypoints[keep], scores[keep], self.iou_threshold):
            corners = square.to_image(box.reshape(2, 2)).ravel()
            found.append(Detection(score, corners, square.to_image(kps)))
        return found
