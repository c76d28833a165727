"""BlazeFace short-range on OpenVINO: shipped model, anchors, tiling geometry, and real faces in real photos.

The portraits are public-domain White House photos (tests/data/faces/PROVENANCE.md); the astronaut
is scikit-image's ``data.astronaut()`` (NASA, public domain).
"""

from __future__ import annotations

import itertools
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from skimage import data

from replens.device_agent.identity.face_detector import (
    FACE_ANCHORS,
    LEFT_EYE,
    MIN_FACE_FRACTION,
    MOUTH,
    NOSE_TIP,
    RIGHT_EYE,
    FaceDetection,
    FaceDetector,
    tile_regions,
)
from replens.device_agent.inference.openvino_model import MODELS_DIR, load_manifest, sha256_of
from replens.device_agent.trackers.pose.detector import ssd_anchors
from replens.device_agent.trackers.pose.roi import Roi
from replens.errors import ModelError

FACES = Path(__file__).resolve().parents[1] / "data" / "faces"
PORTRAITS = ["obama", "obama2", "obama3", "biden", "astronaut"]


def load(name: str) -> np.ndarray:
    if name == "astronaut":
        return np.ascontiguousarray(cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR))
    image = cv2.imread(str(FACES / f"{name}.jpg"), cv2.IMREAD_COLOR)
    assert image is not None, name
    return np.asarray(image, dtype=np.uint8)


def side_by_side(*names: str, height: int = 600) -> np.ndarray:
    images = [load(n) for n in names]
    return np.hstack([cv2.resize(im, (round(im.shape[1] * height / im.shape[0]), height)) for im in images])


def gradient(width: int = 640, height: int = 480) -> np.ndarray:
    x = np.linspace(0, 255, width, dtype=np.float32)[None, :, None]
    y = np.linspace(0, 255, height, dtype=np.float32)[:, None, None]
    return np.broadcast_to(np.concatenate([x + 0 * y, y + 0 * x, (x + y) / 2], axis=2), (height, width, 3)).astype(
        np.uint8
    )


@pytest.fixture(scope="module")
def detector() -> FaceDetector:
    return FaceDetector()


def test_shipped_face_model_matches_manifest_and_provenance() -> None:
    spec = load_manifest()["face_detection_short_range"]
    assert spec.input_shape == (1, 128, 128, 3)
    assert sha256_of(MODELS_DIR / spec.file) == spec.sha256
    assert spec.sha256 in (MODELS_DIR / "MODELS.md").read_text(encoding="utf-8")


def test_corrupt_face_model_is_a_model_error_naming_it(tmp_path: Path) -> None:
    folder = tmp_path / "models"
    shutil.copytree(MODELS_DIR, folder)
    target = folder / "face_detection_short_range.tflite"
    raw = bytearray(target.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    target.write_bytes(bytes(raw))
    with pytest.raises(ModelError, match=r"face_detection_short_range\.tflite.*sha256"):
        FaceDetector(models_dir=folder)


def test_anchors_are_mediapipes_896() -> None:
    anchors = ssd_anchors(FACE_ANCHORS)
    assert anchors.shape == (896, 2)
    # stride 8: 16×16 cells × 2 anchors; stride 16 (three layers share it): 8×8 cells × 6 anchors
    np.testing.assert_allclose(anchors[0], [0.5 / 16, 0.5 / 16])
    np.testing.assert_allclose(anchors[1], anchors[0])
    np.testing.assert_allclose(anchors[512], [0.5 / 8, 0.5 / 8])
    np.testing.assert_allclose(anchors[512:518], np.repeat(anchors[512:513], 6, axis=0))
    np.testing.assert_allclose(anchors[-1], [7.5 / 8, 7.5 / 8])


@pytest.mark.parametrize("name", PORTRAITS)
@pytest.mark.parametrize("min_face_px", [None, 60.0])
def test_one_face_per_portrait_with_its_features_in_place(
    detector: FaceDetector, name: str, min_face_px: float | None
) -> None:
    """Whole frame, and tiled down to 60 px faces: the tiles add no hand, tie or pattern as a face."""
    image = load(name)
    faces = detector.detect(image, min_face_px=min_face_px)
    assert len(faces) == 1, [(f.score, f.box) for f in faces]
    face = faces[0]
    assert face.score > 0.8
    kp = face.keypoints
    # her/his right eye is on the image's left; the nose between the eyes, below them; the mouth below
    assert kp[RIGHT_EYE, 0] < kp[NOSE_TIP, 0] < kp[LEFT_EYE, 0]
    assert max(kp[RIGHT_EYE, 1], kp[LEFT_EYE, 1]) < kp[NOSE_TIP, 1] < kp[MOUTH, 1]
    x0, y0, x1, y1 = face.box
    assert (x0 < kp[:4, 0]).all() and (kp[:4, 0] < x1).all() and (y0 < kp[:4, 1]).all() and (kp[:4, 1] < y1).all()
    eye_distance = float(np.hypot(*(kp[LEFT_EYE] - kp[RIGHT_EYE])))
    assert 0.25 < eye_distance / face.width < 0.6


def test_astronaut_eyes_where_checked_by_hand(detector: FaceDetector) -> None:
    """Same hand-checked eye positions as the pose test (tests/unit/test_pose_photo.py), 12 px tolerance."""
    kp = detector.detect(load("astronaut"))[0].keypoints
    assert float(np.hypot(*(kp[RIGHT_EYE] - [201.0, 104.0]))) < 12
    assert float(np.hypot(*(kp[LEFT_EYE] - [250.0, 110.0]))) < 12


@pytest.mark.parametrize("min_face_px", [None, 40.0])
def test_no_face_in_a_gradient(detector: FaceDetector, min_face_px: float | None) -> None:
    assert detector.detect(gradient(), min_face_px=min_face_px) == []


@pytest.mark.parametrize("min_face_px", [None, 60.0])
def test_two_faces_side_by_side(detector: FaceDetector, min_face_px: float | None) -> None:
    image = side_by_side("obama", "biden")
    faces = detector.detect(image, min_face_px=min_face_px)
    assert len(faces) == 2
    split = load("obama").shape[1] * 600 / load("obama").shape[0]
    centres = sorted(float(f.box[0] + f.box[2]) / 2 for f in faces)
    assert centres[0] < split < centres[1]


def small_face_frame(face_px: float) -> tuple[np.ndarray, tuple[float, float]]:
    """The astronaut scaled so her face is ``face_px`` wide, pasted into a grey 1280×720 frame."""
    portrait = load("astronaut")  # face box ~95 px wide in 512 px
    scale = face_px / 95.0
    small = cv2.resize(portrait, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    frame = np.full((720, 1280, 3), 110, dtype=np.uint8)
    y, x = 200, 700
    frame[y : y + small.shape[0], x : x + small.shape[1]] = small
    return frame, (x + 225 * scale, y + 128 * scale)  # where the face centre lands


def test_small_face_needs_tiles(detector: FaceDetector) -> None:
    """A 60 px face is under 5 % of a 1280 px frame: the whole frame misses it, tiles find it."""
    frame, (cx, cy) = small_face_frame(60.0)
    assert detector.detect(frame) == []
    faces = detector.detect(frame, min_face_px=48.0)
    assert len(faces) == 1
    box = faces[0].box
    assert box[0] < cx < box[2] and box[1] < cy < box[3]
    assert 45 < faces[0].width < 80


def test_detect_in_a_region_around_the_head(detector: FaceDetector) -> None:
    """What a pose-guided search does: one inference on a square around the head."""
    frame, (cx, cy) = small_face_frame(60.0)
    faces = detector.detect_in(frame, Roi(cx, cy, 60.0 / 0.3))
    assert len(faces) == 1
    assert faces[0].box[0] < cx < faces[0].box[2]


@pytest.mark.parametrize("shape", [(10, 20, 3), (100, 2000, 3), (3000, 40, 3), (1, 1, 3)])
def test_any_image_size(detector: FaceDetector, shape: tuple[int, int, int]) -> None:
    assert detector.detect(np.zeros(shape, dtype=np.uint8), min_face_px=8.0) == []


def test_tiles_cover_the_frame_down_to_the_smallest_face() -> None:
    assert len(tile_regions(1280, 720, None)) == 1
    assert len(tile_regions(640, 480, 200.0)) == 1  # the whole frame already finds 200 px faces
    regions = tile_regions(1280, 720, 40.0)
    finest = min(r.size for r in regions)
    assert finest == pytest.approx(40.0 / MIN_FACE_FRACTION)
    sizes = sorted({round(r.size, 3) for r in regions}, reverse=True)
    assert all(a / b <= 2.0 + 1e-9 for a, b in itertools.pairwise(sizes))  # face ranges meet
    tiles = [r for r in regions if r.size == finest]
    ys, xs = np.mgrid[0:720:7, 0:1280:7]
    for x, y in zip(xs.ravel(), ys.ravel(), strict=True):  # every point of the frame lies in a finest tile
        assert any(abs(x - t.center_x) <= t.size / 2 and abs(y - t.center_y) <= t.size / 2 for t in tiles)


def test_face_detection_checks_its_shapes() -> None:
    with pytest.raises(ValueError, match="keypoints"):
        FaceDetection(np.zeros(4, np.float32), 0.9, np.zeros((4, 2), np.float32))
