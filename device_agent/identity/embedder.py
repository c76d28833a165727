"""128-d face descriptors with dlib's ResNet, aligned by dlib's 5-point shape predictor inside a BlazeFace box.

dlib and its model files are an optional extra (``pip install 'replens[identity]'``): the models come
from the ``face_recognition_models`` package, found without importing it (its ``__init__`` imports
``pkg_resources``, which newer setuptools warn about or no longer ship), and are checked against the
sha256 below before use.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from replens.arrays import Float32Array
from replens.device_agent.identity.face_detector import FaceDetection
from replens.device_agent.inference.openvino_model import sha256_of
from replens.errors import ConfigError, ModelError

IDENTITY_EXTRA_HINT = "face identity needs: pip install 'replens[identity]'"
EMBEDDING_SIZE = 128
SHAPE_PREDICTOR_FILE = "shape_predictor_5_face_landmarks.dat"
RECOGNITION_FILE = "dlib_face_recognition_resnet_model_v1.dat"
MODEL_SHA256 = {
    SHAPE_PREDICTOR_FILE: "c4b1e9804792707d3a405c2c16a80a20269e6675021f64a41d30fffafbc41888",
    RECOGNITION_FILE: "55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30",
}
# dlib's 5-point predictor was trained on its HOG detector's boxes. BlazeFace's box is about as wide
# but sits lower (it reaches the chin); this maps it to the HOG box dlib would draw. Median over 85
# views (5 test faces × 3 scales × mirrored × 0/±12° turns; `bench/identity.py --calibrate`): centre x
# -0.01, centre y -0.053, width 0.964, in BlazeFace box widths. With it the descriptor lies a median
# 0.04 (at most 0.10) from the one computed on dlib's own HOG box; same-person threshold 0.6.
HOG_BOX_SCALE = 0.96
HOG_BOX_SHIFT_Y = -0.05


@dataclass(frozen=True, slots=True)
class DlibModelPaths:
    """The two dlib model files the embedder loads."""

    shape_predictor: Path
    recognition: Path


def default_model_paths() -> DlibModelPaths:
    """The files inside the installed ``face_recognition_models`` package.

    Raises:
        ConfigError: the package is not installed.
    """
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(f"{IDENTITY_EXTRA_HINT} (package face_recognition_models is missing)")
    folder = Path(next(iter(spec.submodule_search_locations))) / "models"
    return DlibModelPaths(folder / SHAPE_PREDICTOR_FILE, folder / RECOGNITION_FILE)


def import_dlib() -> Any:
    """The ``dlib`` module, or an actionable error when the extra is not installed.

    Raises:
        ConfigError: dlib cannot be imported.
    """
    try:
        import dlib  # type: ignore[import-untyped, import-not-found, unused-ignore]
    except ImportError as err:
        raise ConfigError(f"{IDENTITY_EXTRA_HINT} (cannot import dlib: {err})") from err
    return dlib


def hog_like_box(face: FaceDetection) -> tuple[int, int, int, int]:
    """Left, top, right, bottom (pixels) of the square dlib's HOG detector would draw around this face."""
    side = HOG_BOX_SCALE * face.width
    cx = float(face.box[0] + face.box[2]) / 2
    cy = float(face.box[1] + face.box[3]) / 2 + HOG_BOX_SHIFT_Y * face.width
    left, top = round(cx - side / 2), round(cy - side / 2)
    return left, top, left + round(side), top + round(side)


def _verified(path: Path) -> str:
    if not path.is_file():
        raise ModelError(f"{path}: model file missing ({IDENTITY_EXTRA_HINT})")
    expected = MODEL_SHA256.get(path.name)
    if expected is not None and (actual := sha256_of(path)) != expected:
        raise ModelError(f"{path}: sha256 {actual} does not match the expected {expected} (corrupt?)")
    return str(path)


class FaceEmbedder:
    """Turns a detected face into a 128-d descriptor; faces of one person lie within about 0.6 (Euclidean).

    Args:
        num_jitters: dlib re-computes the descriptor on this many randomly jittered chips and
            averages them (0 or 1: once). Each jitter costs a full network pass; it helps enrolment
            photos a little, and is too slow for every video frame.
        paths: the model files; default: those of the installed ``face_recognition_models``.

    Raises:
        ConfigError: dlib or face_recognition_models is not installed.
        ModelError: a model file is missing or corrupt.
    """

    def __init__(self, *, num_jitters: int = 0, paths: DlibModelPaths | None = None) -> None:
        self._dlib = import_dlib()
        paths = paths or default_model_paths()
        self._predictor = self._dlib.shape_predictor(_verified(paths.shape_predictor))
        self._network = self._dlib.face_recognition_model_v1(_verified(paths.recognition))
        self.num_jitters = num_jitters

    def _shape(self, rgb: npt.NDArray[np.uint8], face: FaceDetection) -> Any:
        return self._predictor(rgb, self._dlib.rectangle(*hog_like_box(face)))

    def landmarks(self, image_bgr: npt.NDArray[np.uint8], face: FaceDetection) -> Float32Array:
        """The 5 points dlib aligns the descriptor by, (5, 2) float32 pixels.

        Order: image-right eye outer and inner corner, image-left eye outer and inner corner, bottom
        of the nose.
        """
        shape = self._shape(_rgb(image_bgr), face)
        return np.array([[shape.part(i).x, shape.part(i).y] for i in range(5)], dtype=np.float32)

    def embed(self, image_bgr: npt.NDArray[np.uint8], face: FaceDetection) -> Float32Array:
        """(128,) float32 descriptor of one face of the frame."""
        vector: Float32Array = self.embed_many(image_bgr, [face])[0]
        return vector

    def embed_many(self, image_bgr: npt.NDArray[np.uint8], faces: list[FaceDetection]) -> Float32Array:
        """(n, 128) float32 descriptors of several faces of one frame (one colour conversion)."""
        rgb = _rgb(image_bgr)
        out = np.empty((len(faces), EMBEDDING_SIZE), dtype=np.float32)
        for i, face in enumerate(faces):
            # dlib aligns the 5 points to a 150×150 chip (25 % padding) and runs the ResNet on it.
            out[i] = np.asarray(self._network.compute_face_descriptor(rgb, self._shape(rgb, face), self.num_jitters))
        return out


def _rgb(image_bgr: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    if image_bgr.ndim != 3 or image_bgr.shape[2] != 3 or image_bgr.dtype != np.uint8:
        raise ValueError(f"expected an (h, w, 3) uint8 BGR image, got {image_bgr.shape} {image_bgr.dtype}")
    return np.ascontiguousarray(image_bgr[:, :, ::-1])
