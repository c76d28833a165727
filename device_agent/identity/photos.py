"""Faces in still photos, for enrolment and identification, with errors that name the file and what is wrong."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from replens.arrays import Float32Array
from replens.device_agent.identity.embedder import FaceEmbedder
from replens.device_agent.identity.face_detector import FaceDetection, FaceDetector
from replens.errors import RepLensError

MIN_PHOTO_FACE_PX = 40.0  # smallest face searched in any photo
PHOTO_FACE_SHARE = 1 / 20  # ... or this share of the photo's long side, whichever is larger
MIN_ENROL_FACE_PX = 80.0  # dlib aligns to a 150 px chip: a smaller face is mostly upsampled blur


class PhotoError(RepLensError, ValueError):
    """A photo cannot be used: missing, unreadable, no face, or not exactly one face where one is needed."""


@dataclass(frozen=True, slots=True)
class PhotoFace:
    """One face of a photo and its (128,) float32 descriptor."""

    detection: FaceDetection
    embedding: Float32Array


def read_photo(path: Path) -> npt.NDArray[np.uint8]:
    """(h, w, 3) uint8 BGR, turned upright by its EXIF orientation (OpenCV applies it when decoding).

    Raises:
        PhotoError: missing, unreadable, or not an image OpenCV can decode.
    """
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except FileNotFoundError as err:
        raise PhotoError(f"{path}: no such file") from err
    except OSError as err:
        raise PhotoError(f"{path}: cannot read it: {err.strerror or err}") from err
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None:
        raise PhotoError(f"{path}: not an image OpenCV can read (JPEG, PNG, WebP, TIFF, BMP...)")
    return np.asarray(image, dtype=np.uint8)


def photo_min_face_px(image: npt.NDArray[np.uint8]) -> float:
    """Smallest face searched in a photo: 40 px or 1/20 of its long side (group photos, not crowds)."""
    return max(MIN_PHOTO_FACE_PX, float(max(image.shape[:2])) * PHOTO_FACE_SHARE)


def faces_in_photo(
    path: Path, *, detector: FaceDetector | None = None, embedder: FaceEmbedder | None = None
) -> list[PhotoFace]:
    """Every face of the photo with its descriptor, left to right.

    Pass a detector and an embedder to reuse them (loading dlib's models takes a fraction of a second).

    Raises:
        PhotoError: the file cannot be read as an image, or has no face.
        ConfigError: the identity extra (dlib) is not installed.
    """
    image = read_photo(path)
    min_face = photo_min_face_px(image)
    found = (detector or FaceDetector()).detect(image, min_face_px=min_face)
    if not found:
        raise PhotoError(f"{path}: no face found (looked for faces at least {min_face:.0f} px wide)")
    found.sort(key=lambda face: float(face.box[0] + face.box[2]))
    embeddings = (embedder or FaceEmbedder()).embed_many(image, found)
    return [PhotoFace(face, vector) for face, vector in zip(found, embeddings, strict=True)]


def enrolment_face(
    path: Path,
    *,
    index: int | None = None,
    detector: FaceDetector | None = None,
    embedder: FaceEmbedder | None = None,
    min_face_px: float = MIN_ENROL_FACE_PX,
) -> PhotoFace:
    """The one face to enrol from a photo: the only face, or face ``index`` (0-based, left to right).

    Never guesses: with several faces and no index it refuses, because enrolling the wrong person
    would credit their workouts to someone else.

    Raises:
        PhotoError: unreadable, no face, several faces and no index, an index out of range, or a face
            narrower than ``min_face_px``.
    """
    faces = faces_in_photo(path, detector=detector, embedder=embedder)
    widths = ", ".join(f"{f.detection.width:.0f}" for f in faces)
    if index is None and len(faces) > 1:
        raise PhotoError(
            f"{path}: {len(faces)} faces (widths {widths} px, left to right); use a photo of one person, "
            "or say which face to enrol (0 = leftmost)"
        )
    chosen = 0 if index is None else index
    if not 0 <= chosen < len(faces):
        raise PhotoError(f"{path}: no face {chosen}: it has {len(faces)} (widths {widths} px, left to right)")
    face = faces[chosen]
    if face.detection.width < min_face_px:
        raise PhotoError(
            f"{path}: the face is {face.detection.width:.0f} px wide, enrolment needs {min_face_px:.0f}; "
            "use a closer or larger photo"
        )
    return face
