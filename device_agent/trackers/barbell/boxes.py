"""Detector outputs → boxes in frame pixels: SSD DetectionOutput and YOLO adapters, NMS, the input map."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from replens.arrays import Float32Array

IntArray = npt.NDArray[np.int64]
_NORMALISED_MAX = 1.5  # YOLO coordinates all below this are fractions of the input, not pixels


@dataclass(frozen=True, slots=True)
class InputMap:
    """How a frame was fitted into the network input: ``input_px = frame_px * scale + pad``.

    Attributes:
        frame_size: (w, h) of the frame, pixels.
        input_size: (w, h) of the network input, pixels.
        scale: (sx, sy); equal for a letterbox, per axis for a plain resize.
        pad: (x, y) border added on the left and top, input pixels.
    """

    frame_size: tuple[int, int]
    input_size: tuple[int, int]
    scale: tuple[float, float]
    pad: tuple[float, float] = (0.0, 0.0)

    @classmethod
    def resize(cls, frame_size: tuple[int, int], input_size: tuple[int, int]) -> InputMap:
        """Stretch the frame to the input (what SSDs trained on warped images expect)."""
        return cls(frame_size, input_size, (input_size[0] / frame_size[0], input_size[1] / frame_size[1]))

    @classmethod
    def letterbox(cls, frame_size: tuple[int, int], input_size: tuple[int, int]) -> InputMap:
        """Keep the aspect ratio and pad both sides evenly (what YOLO exports expect)."""
        k = min(input_size[0] / frame_size[0], input_size[1] / frame_size[1])
        pad = ((input_size[0] - frame_size[0] * k) / 2, (input_size[1] - frame_size[1] * k) / 2)
        return cls(frame_size, input_size, (k, k), pad)

    def to_frame(self, xyxy: Float32Array) -> Float32Array:
        """(n, 4) xyxy input pixels → frame pixels, clipped to the frame."""
        (sx, sy), (px, py) = self.scale, self.pad
        out = (xyxy - np.array([px, py, px, py], np.float32)) / np.array([sx, sy, sx, sy], np.float32)
        w, h = self.frame_size
        return np.clip(out, 0.0, np.array([w, h, w, h], np.float32)).astype(np.float32)


@dataclass(frozen=True, slots=True)
class Boxes:
    """Detections of one frame, best first after :meth:`nms`.

    Attributes:
        xyxy: (n, 4) float32 x_min, y_min, x_max, y_max in frame pixels.
        scores: (n,) float32 confidence in [0, 1].
        labels: (n,) int64 class ids as the model numbers them.
    """

    xyxy: Float32Array
    scores: Float32Array
    labels: IntArray

    def __post_init__(self) -> None:
        n = len(self.scores)
        if self.xyxy.shape != (n, 4) or self.scores.shape != (n,) or self.labels.shape != (n,):
            raise ValueError(f"boxes: xyxy {self.xyxy.shape}, scores {self.scores.shape}, labels {self.labels.shape}")

    def __len__(self) -> int:
        return len(self.scores)

    @classmethod
    def empty(cls) -> Boxes:
        return cls(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64))

    @property
    def centers(self) -> Float32Array:
        """(n, 2) box centres, frame pixels."""
        return ((self.xyxy[:, :2] + self.xyxy[:, 2:]) / 2).astype(np.float32)

    @property
    def sizes(self) -> Float32Array:
        """(n, 2) width and height, frame pixels."""
        return (self.xyxy[:, 2:] - self.xyxy[:, :2]).astype(np.float32)

    def select(self, mask: npt.NDArray[np.bool_] | IntArray) -> Boxes:
        """The boxes a boolean mask or an index array picks, in that order."""
        return Boxes(self.xyxy[mask], self.scores[mask], self.labels[mask])

    def with_labels(self, labels: Collection[int] | None) -> Boxes:
        """Only the given class ids (None: all)."""
        return self if labels is None else self.select(np.isin(self.labels, list(labels)))

    @classmethod
    def from_ssd(
        cls,
        output: npt.NDArray[np.floating],
        frame_size: tuple[int, int],
        score_threshold: float,
        *,
        input_map: InputMap | None = None,
        labels: Collection[int] | None = None,
    ) -> Boxes:
        """Caffe/OpenVINO ``DetectionOutput`` [1, 1, N, 7]: image_id, label, conf, x_min, y_min, x_max, y_max.

        Coordinates are fractions of the network input; without ``input_map`` the input is taken to be
        the whole frame stretched (plain resize). Rows after the first image_id of -1 are padding.
        The layer has already suppressed overlaps, so no NMS here.
        """
        rows = np.asarray(output, np.float32).reshape(-1, 7)
        end = np.flatnonzero(rows[:, 0] < 0)
        rows = rows[: end[0]] if end.size else rows
        rows = rows[rows[:, 2] >= score_threshold]
        if input_map is None:
            w, h = frame_size
            xyxy = np.clip(rows[:, 3:7] * np.array([w, h, w, h], np.float32), 0, np.array([w, h, w, h], np.float32))
        else:
            iw, ih = input_map.input_size
            xyxy = input_map.to_frame(rows[:, 3:7] * np.array([iw, ih, iw, ih], np.float32))
        boxes = cls(xyxy.astype(np.float32), rows[:, 2].copy(), rows[:, 1].astype(np.int64))
        return boxes.with_labels(labels).sorted()

    @classmethod
    def from_yolo(
        cls,
        output: npt.NDArray[np.floating],
        frame_size: tuple[int, int],
        score_threshold: float,
        *,
        input_map: InputMap | None = None,
        labels: Collection[int] | None = None,
        iou_threshold: float = 0.45,
        objectness: bool | None = None,
        channels_first: bool | None = None,
    ) -> Boxes:
        """YOLO head output: cx, cy, w, h in input pixels (or fractions of it), then scores.

        Layouts: [1, N, 5+C] with objectness (YOLOv5/v7: score = objectness × class score) and
        [1, 4+C, N] without (YOLOv8/v11: channels first). ``channels_first`` None infers the layout
        from the shape (fewer values per box than boxes); ``objectness`` None infers it from the layout
        (channels first: none). Without ``input_map`` coordinates are frame pixels.
        """
        raw = np.asarray(output, np.float32)
        raw = raw[0] if raw.ndim == 3 else raw
        if raw.ndim != 2:
            raise ValueError(f"YOLO output must be [1, N, K] or [1, K, N], got {np.shape(output)}")
        if channels_first is None:
            channels_first = raw.shape[0] < raw.shape[1]
        rows = raw.T if channels_first else raw
        has_obj = (not channels_first) if objectness is None else objectness
        first = 5 if has_obj else 4
        if rows.shape[1] < first:
            raise ValueError(f"YOLO output {np.shape(output)} has too few values per box")
        cls_scores = rows[:, first:] if rows.shape[1] > first else np.ones((len(rows), 1), np.float32)
        label = np.argmax(cls_scores, axis=1)
        score = cls_scores[np.arange(len(rows)), label] * (rows[:, 4] if has_obj else 1.0)
        keep = score >= score_threshold
        cxcywh, score, label = rows[keep, :4], score[keep], label[keep]
        if input_map is not None and cxcywh.size and float(np.abs(cxcywh).max()) <= _NORMALISED_MAX:
            iw, ih = input_map.input_size
            cxcywh = cxcywh * np.array([iw, ih, iw, ih], np.float32)
        half = cxcywh[:, 2:] / 2
        xyxy = np.concatenate([cxcywh[:, :2] - half, cxcywh[:, :2] + half], axis=1)
        if input_map is None:
            input_map = InputMap(frame_size, frame_size, (1.0, 1.0))
        boxes = cls(input_map.to_frame(xyxy), score.astype(np.float32), label.astype(np.int64))
        return boxes.with_labels(labels).nms(iou_threshold)

    def sorted(self) -> Boxes:
        """Highest score first."""
        return self.select(np.argsort(-self.scores, kind="stable"))

    def nms(self, iou_threshold: float) -> Boxes:
        """Greedy per-class non-maximum suppression; the survivors best first."""
        order = np.argsort(-self.scores, kind="stable")
        keep: list[int] = []
        while order.size:
            best = int(order[0])
            keep.append(best)
            rest = order[1:]
            same = self.labels[rest] == self.labels[best]
            order = rest[~(same & (iou(self.xyxy[best], self.xyxy[rest]) > iou_threshold))]
        return self.select(np.asarray(keep, np.int64))


def iou(box: Float32Array, others: Float32Array) -> Float32Array:
    """IoU of one (4,) xyxy box with (n, 4) boxes."""
    ix = np.clip(np.minimum(box[2], others[:, 2]) - np.maximum(box[0], others[:, 0]), 0, None)
    iy = np.clip(np.minimum(box[3], others[:, 3]) - np.maximum(box[1], others[:, 1]), 0, None)
    inter = ix * iy
    areas = (others[:, 2] - others[:, 0]) * (others[:, 3] - others[:, 1])
    union = (box[2] - box[0]) * (box[3] - box[1]) + areas - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0).astype(np.float32)
