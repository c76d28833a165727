"""BlazeFace short-range face detector on OpenVINO: MediaPipe's letterbox, anchors, decoding and NMS, plus tiling.

Options are those of MediaPipe 0.10.14's ``FaceDetectionShortRange`` graph (read from the wheel's
compiled graph): 128×128 input in [-1, 1] with a zero border, 4 anchor layers with strides 8, 16, 16,
16 and fixed-size anchors (896 in all), 6 keypoints, sigmoid scores clipped at ±100, score threshold
0.5, weighted NMS at IoU 0.3.

The model is trained on selfie-distance faces: it finds a face only when the face is a sizeable part
of its input (see ``MIN_FACE_FRACTION``). A whole entrance-camera frame squeezed to 128 px makes
faces a few pixels wide, so ``FaceDetector`` can also run on overlapping square tiles sized from the
smallest face wanted, and merge what the tiles find.
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
from replens.device_agent.trackers.pose.detector import AnchorOptions, ssd_anchors, weighted_nms
from replens.device_agent.trackers.pose.detector import decode as decode_ssd
from replens.device_agent.trackers.pose.roi import Roi, square_letterbox

INPUT_SIZE = 128
NUM_KEYPOINTS = 6
KEYPOINT_NAMES = ("right_eye", "left_eye", "nose_tip", "mouth_center", "right_ear_tragion", "left_ear_tragion")
RIGHT_EYE, LEFT_EYE, NOSE_TIP, MOUTH = 0, 1, 2, 3
FACE_ANCHORS = AnchorOptions(num_layers=4, input_size=INPUT_SIZE, strides=(8, 16, 16, 16))
# Smallest face (box width) the model finds reliably, as a share of its input square's side. Measured
# on the 5 test portraits cropped to squares around the face: found from 0.12 (scores 0.44-0.77),
# reliably from 0.16 (0.88-0.93); up to 1.0.
MIN_FACE_FRACTION = 0.16
TILE_OVERLAP = 0.5  # a face up to half a tile wide lies wholly inside some tile


@dataclass(frozen=True, slots=True)
class FaceDetection:
    """One face, in image pixels.

    Attributes:
        box: (4,) float32 x0, y0, x1, y1, about brows to chin: as wide as dlib's HOG box, which
            sits about 5 % of the width higher (see ``embedder.HOG_BOX_SHIFT_Y``).
        score: sigmoid confidence in [0, 1].
        keypoints: (6, 2) float32 x, y in ``KEYPOINT_NAMES`` order: the person's right eye (on the
            image's left for a frontal face), left eye, nose tip, mouth centre, right and left ear
            tragion.
    """

    box: Float32Array
    score: float
    keypoints: Float32Array

    def __post_init__(self) -> None:
        if self.box.shape != (4,) or self.keypoints.shape != (NUM_KEYPOINTS, 2):
            raise ValueError(f"face detection: box {self.box.shape}, keypoints {self.keypoints.shape}")

    @property
    def width(self) -> float:
        return float(self.box[2] - self.box[0])

    @property
    def height(self) -> float:
        return float(self.box[3] - self.box[1])


def letterbox(image_bgr: npt.NDArray[np.uint8], region: Roi) -> Float32Array:
    """(1, 128, 128, 3) RGB float32 in [-1, 1]: ``region`` of the frame, zeros outside it.

    MediaPipe warps bilinearly, which aliases when it shrinks a region by more than 2×; an unrotated
    region that large is area-averaged instead (scores +0.01 to +0.03 on the test portraits).
    """
    if region.rotation == 0 and region.size > 2 * INPUT_SIZE:
        crop = _area_crop(image_bgr, region)
    else:
        crop = region.crop(image_bgr, INPUT_SIZE, border=cv2.BORDER_CONSTANT)
    rgb = crop[:, :, ::-1].astype(np.float32)
    return (rgb * (2.0 / 255.0) - 1.0)[None]


def _area_crop(image_bgr: npt.NDArray[np.uint8], region: Roi) -> npt.NDArray[np.uint8]:
    """(128, 128, 3) area-resampled unrotated square region, zero where it leaves the frame."""
    h, w = image_bgr.shape[:2]
    scale = INPUT_SIZE / region.size
    x0, y0 = region.center_x - region.size / 2, region.center_y - region.size / 2
    sx0, sy0 = max(0, math.floor(x0)), max(0, math.floor(y0))
    sx1, sy1 = min(w, math.ceil(x0 + region.size)), min(h, math.ceil(y0 + region.size))
    dx0, dy0 = round((sx0 - x0) * scale), round((sy0 - y0) * scale)
    dx1, dy1 = min(INPUT_SIZE, round((sx1 - x0) * scale)), min(INPUT_SIZE, round((sy1 - y0) * scale))
    out = np.zeros((INPUT_SIZE, INPUT_SIZE, 3), dtype=np.uint8)
    if dx1 > dx0 and dy1 > dy0:
        source = image_bgr[sy0:sy1, sx0:sx1]
        out[dy0:dy1, dx0:dx1] = cv2.resize(source, (dx1 - dx0, dy1 - dy0), interpolation=cv2.INTER_AREA)
    return out


def decode(
    raw_boxes: Float32Array, raw_scores: Float32Array, anchors: Float32Array
) -> tuple[Float32Array, Float32Array, Float32Array]:
    """Raw (n, 16) and (n,) outputs → boxes (n, 4) xyxy, keypoints (n, 6, 2), scores (n,), in [0, 1] units."""
    return decode_ssd(raw_boxes, raw_scores, anchors, input_size=INPUT_SIZE, num_keypoints=NUM_KEYPOINTS)


def _axis_starts(length: int, side: float) -> list[float]:
    """Tile starts along one axis: stride ``side × (1 - overlap)``, the last tile flush with the far edge."""
    if side >= length:
        return [(length - side) / 2]  # one tile, centred, zero-padded both sides
    stride = side * (1 - TILE_OVERLAP)
    count = math.ceil((length - side) / stride) + 1
    return list(np.linspace(0.0, length - side, count))


def tile_regions(width: int, height: int, min_face_px: float | None) -> list[Roi]:
    """Square regions to run the model on: the whole frame, then finer levels of tiles.

    The finest tiles make a face of ``min_face_px`` ``MIN_FACE_FRACTION`` of the tile; the levels in
    between shrink by the same ratio, at most 2, so that their face-size ranges meet: with 50 %
    overlap a level of side s holds every face from 0.16 s to 0.5 s wholly in one tile.
    ``None`` (or a face size the whole frame already finds): the whole frame only.
    """
    whole = square_letterbox(width, height)
    finest = min_face_px / MIN_FACE_FRACTION if min_face_px is not None else whole.size
    if finest >= whole.size:
        return [whole]
    levels = math.ceil(math.log2(whole.size / finest))
    ratio = (whole.size / finest) ** (1 / levels)
    regions = [whole]
    for level in range(1, levels + 1):
        side = whole.size / ratio**level
        regions += [
            Roi(x0 + side / 2, y0 + side / 2, side)
            for y0 in _axis_starts(height, side)
            for x0 in _axis_starts(width, side)
        ]
    return regions


def _whole_in_tile(box: Float32Array, tile: Roi, width: int, height: int) -> bool:
    """False when the box crosses a tile edge that lies inside the frame: a cut face, seen whole elsewhere."""
    half = tile.size / 2
    slack = 0.02 * tile.size
    x0, y0, x1, y1 = tile.center_x - half, tile.center_y - half, tile.center_x + half, tile.center_y + half
    return bool(
        (box[0] >= x0 - slack or x0 <= 0)
        and (box[1] >= y0 - slack or y0 <= 0)
        and (box[2] <= x1 + slack or x1 >= width)
        and (box[3] <= y1 + slack or y1 >= height)
    )


def _suppress(found: list[FaceDetection], iou_threshold: float) -> list[FaceDetection]:
    """Plain NMS across regions: the best-scoring copy of each face stays, best first."""
    kept: list[FaceDetection] = []
    for face in sorted(found, key=lambda f: -f.score):
        if all(_iou(face.box, k.box) <= iou_threshold for k in kept):
            kept.append(face)
    return kept


def _iou(a: Float32Array, b: Float32Array) -> float:
    ix = max(0.0, float(min(a[2], b[2]) - max(a[0], b[0])))
    iy = max(0.0, float(min(a[3], b[3]) - max(a[1], b[1])))
    inter = ix * iy
    union = float((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1])) - inter
    return inter / union if union > 0 else 0.0


class FaceDetector:
    """Finds faces in a frame, best first. Runs ``face_detection_short_range.tflite`` with OpenVINO.

    Args:
        min_face_px: smallest face box width (pixels) to look for. None runs the model once on the
            whole frame, which finds faces wider than about ``MIN_FACE_FRACTION`` of the frame's long
            side (e.g. 100 px in a 640×480 frame). A number adds tiles (more inferences) so that
            faces down to that width are found; below about 40 px there is too little face for an
            embedding anyway.
        tile_min_score: score a face found in a tile needs. Small tiles show hands, ties and
            patterns at a face's scale; on the test photos they scored up to 0.73, real faces 0.93.
    """

    def __init__(
        self,
        settings: InferenceSettings | None = None,
        *,
        models_dir: Path = MODELS_DIR,
        min_score: float = 0.5,
        iou_threshold: float = 0.3,
        min_face_px: float | None = None,
        tile_min_score: float = 0.75,
    ) -> None:
        self.model = CompiledModel("face_detection_short_range", settings, models_dir=models_dir)
        self.anchors = ssd_anchors(FACE_ANCHORS)
        self.min_score = min_score
        self.iou_threshold = iou_threshold
        self.min_face_px = min_face_px
        self.tile_min_score = tile_min_score

    def detect(self, image_bgr: npt.NDArray[np.uint8], *, min_face_px: float | None = None) -> list[FaceDetection]:
        """Faces in the whole frame and, for small faces, its tiles; best first.

        ``min_face_px`` overrides the detector's own for this call (photos of any size).
        """
        h, w = image_bgr.shape[:2]
        whole, *tiles = tile_regions(w, h, min_face_px if min_face_px is not None else self.min_face_px)
        found = self.detect_in(image_bgr, whole)
        if not tiles:
            return found
        for tile in tiles:
            found += [
                face
                for face in self.detect_in(image_bgr, tile)
                if face.score >= self.tile_min_score and _whole_in_tile(face.box, tile, w, h)
            ]
        return _suppress(found, self.iou_threshold)

    def detect_in(self, image_bgr: npt.NDArray[np.uint8], region: Roi) -> list[FaceDetection]:
        """Faces inside one square region of the frame (e.g. around a tracked person's head), best first."""
        raw_boxes, raw_scores = self.model(letterbox(image_bgr, region))[:2]
        boxes, keypoints, scores = decode(raw_boxes[0], raw_scores[0, :, 0], self.anchors)
        keep = scores >= self.min_score
        found = []
        for score, box, kps in weighted_nms(boxes[keep], keypoints[keep], scores[keep], self.iou_threshold):
            corners = region.to_image(box.reshape(2, 2)).ravel()
            found.append(FaceDetection(corners, score, region.to_image(kps)))
        return found
