"""dlib face descriptors on BlazeFace boxes, on real photos: the same person matches, others stay unknown.

Needs the identity extra (dlib, face_recognition_models); skipped with the install hint otherwise.
Run with ``-s`` to see the distances.
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from skimage import data

pytest.importorskip("dlib", reason="face identity needs: pip install 'replens[identity]'")

from replens.device_agent.identity.embedder import (
    IDENTITY_EXTRA_HINT,
    DlibModelPaths,
    FaceEmbedder,
    default_model_paths,
    hog_like_box,
    import_dlib,
)
from replens.device_agent.identity.face_detector import LEFT_EYE, RIGHT_EYE, FaceDetector
from replens.device_agent.identity.gallery import Gallery
from replens.errors import ConfigError, ModelError

FACES = Path(__file__).resolve().parents[1] / "data" / "faces"
PHOTOS = ["obama", "obama2", "obama3", "biden", "astronaut"]


def load(name: str) -> np.ndarray:
    if name == "astronaut":
        return np.ascontiguousarray(cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR))
    if name == "biden_variant":
        return variant(load("biden"))
    return np.asarray(cv2.imread(str(FACES / f"{name}.jpg"), cv2.IMREAD_COLOR), dtype=np.uint8)


def variant(image: np.ndarray) -> np.ndarray:
    """Another view of the one Biden photo we have: mirrored, 40 % of the size, turned 8°."""
    small = cv2.resize(image[:, ::-1], None, fx=0.4, fy=0.4, interpolation=cv2.INTER_AREA)
    h, w = small.shape[:2]
    turn = cv2.getRotationMatrix2D((w / 2, h / 2), 8.0, 1.0)
    return np.asarray(cv2.warpAffine(small, turn, (w, h), borderMode=cv2.BORDER_REFLECT), dtype=np.uint8)


@pytest.fixture(scope="module")
def detector() -> FaceDetector:
    return FaceDetector()


@pytest.fixture(scope="module")
def embedder() -> FaceEmbedder:
    return FaceEmbedder()


@pytest.fixture(scope="module")
def embeddings(detector: FaceDetector, embedder: FaceEmbedder) -> dict[str, np.ndarray]:
    out = {}
    for name in [*PHOTOS, "biden_variant"]:
        image = load(name)
        faces = detector.detect(image)
        assert len(faces) == 1, name
        out[name] = embedder.embed(image, faces[0])
    return out


def test_descriptor_is_128_finite_floats(embeddings: dict[str, np.ndarray]) -> None:
    for vector in embeddings.values():
        assert vector.shape == (128,) and vector.dtype == np.float32 and np.isfinite(vector).all()


def test_enrolled_obama_matches_obama_only(embeddings: dict[str, np.ndarray]) -> None:
    gallery = Gallery()
    gallery.add("obama", embeddings["obama"])
    print("\nenrolled: obama.jpg")
    for name in ["obama2", "obama3", "biden", "astronaut"]:
        match = gallery.match(embeddings[name])
        print(f"  {name:13s} distance to obama {match.distance:.3f} -> {match.member_id}")
        expected = "obama" if name.startswith("obama") else None
        assert match.member_id == expected, (name, match)


def test_with_biden_enrolled_too_each_matches_himself(embeddings: dict[str, np.ndarray]) -> None:
    """There is one Biden photo: it is enrolled, and a mirrored, smaller, turned copy must match it."""
    gallery = Gallery()
    gallery.add("obama", embeddings["obama"])
    gallery.add("biden", embeddings["biden"])
    print("\nenrolled: obama.jpg, biden.jpg")
    for name, expected in [("obama2", "obama"), ("obama3", "obama"), ("biden_variant", "biden"), ("astronaut", None)]:
        match = gallery.match(embeddings[name])
        print(f"  {name:13s} nearest {match.nearest_id} {match.distance:.3f}, runner-up {match.runner_up_distance:.3f}"
              f" -> {match.member_id}")
        assert match.member_id == expected, (name, match)
    assert np.linalg.norm(embeddings["obama"] - embeddings["biden"]) > 0.6


@pytest.mark.parametrize("name", PHOTOS)
def test_blazeface_box_gives_dlibs_own_descriptor(
    detector: FaceDetector, embedder: FaceEmbedder, name: str
) -> None:
    """Calibration holds: on dlib's own HOG box the descriptor is nearly the same, eyes where BlazeFace has them."""
    dlib = import_dlib()
    image = load(name)
    rgb = np.ascontiguousarray(image[:, :, ::-1])
    face = detector.detect(image)[0]
    hog_boxes = dlib.get_frontal_face_detector()(rgb, 1)
    centre = (face.box[:2] + face.box[2:]) / 2
    hog = min(hog_boxes, key=lambda r: abs(r.center().x - centre[0]) + abs(r.center().y - centre[1]))
    paths = default_model_paths()
    shape = dlib.shape_predictor(str(paths.shape_predictor))(rgb, hog)
    reference = np.asarray(dlib.face_recognition_model_v1(str(paths.recognition)).compute_face_descriptor(rgb, shape))
    distance = float(np.linalg.norm(embedder.embed(image, face) - reference))
    left, top, right, bottom = hog_like_box(face)
    print(f"\n{name}: HOG box {hog.left(), hog.top(), hog.right(), hog.bottom()}, ours {left, top, right, bottom}, "
          f"descriptor distance {distance:.3f}")
    assert distance < 0.15
    points = embedder.landmarks(image, face)
    eye_distance = float(np.linalg.norm(face.keypoints[LEFT_EYE] - face.keypoints[RIGHT_EYE]))
    assert np.linalg.norm(points[2:4].mean(axis=0) - face.keypoints[RIGHT_EYE]) < 0.25 * eye_distance
    assert np.linalg.norm(points[0:2].mean(axis=0) - face.keypoints[LEFT_EYE]) < 0.25 * eye_distance


def test_embed_many_equals_embed(detector: FaceDetector, embedder: FaceEmbedder) -> None:
    image = load("astronaut")
    face = detector.detect(image)[0]
    np.testing.assert_array_equal(embedder.embed_many(image, [face, face])[1], embedder.embed(image, face))
    assert embedder.embed_many(image, []).shape == (0, 128)


def test_missing_dlib_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "dlib", None)  # what an environment without the extra looks like
    with pytest.raises(ConfigError, match=r"pip install 'replens\[identity\]'"):
        FaceEmbedder()


def test_missing_model_package_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "face_recognition_models", None)
    with pytest.raises(ConfigError, match=r"pip install 'replens\[identity\]'.*face_recognition_models"):
        default_model_paths()
    assert "replens[identity]" in IDENTITY_EXTRA_HINT


def test_corrupt_or_missing_dlib_model_is_a_model_error(tmp_path: Path) -> None:
    real = default_model_paths()
    corrupt = tmp_path / real.recognition.name
    corrupt.write_bytes(b"not a network")
    with pytest.raises(ModelError, match=r"dlib_face_recognition_resnet_model_v1\.dat: sha256"):
        FaceEmbedder(paths=DlibModelPaths(real.shape_predictor, corrupt))
    with pytest.raises(ModelError, match=r"shape_predictor_5_face_landmarks\.dat: model file missing"):
        FaceEmbedder(paths=DlibModelPaths(tmp_path / real.shape_predictor.name, real.recognition))


def test_rejects_an_image_that_is_not_bgr(detector: FaceDetector, embedder: FaceEmbedder) -> None:
    face = detector.detect(load("astronaut"))[0]
    with pytest.raises(ValueError, match=r"\(h, w, 3\) uint8"):
        embedder.embed(np.zeros((512, 512), dtype=np.uint8), face)
