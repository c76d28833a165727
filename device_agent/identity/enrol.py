"""Enrolment and identification for the ``replens members`` commands: photos or a live camera in, descriptors out."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from replens.arrays import Float32Array
from replens.config.identity import FaceMatchConfig
from replens.device_agent.identity.embedder import FaceEmbedder
from replens.device_agent.identity.face_detector import FaceDetection, FaceDetector
from replens.device_agent.identity.gallery import Gallery
from replens.device_agent.identity.photos import enrolment_face, faces_in_photo
from replens.device_agent.identity.watcher import match_settings
from replens.errors import RepLensError

log = logging.getLogger(__name__)

CAMERA_TIMEOUT_S = 60.0
CAMERA_FACE_SPACING_S = 0.3  # apart, so the faces differ a little (pose, expression)


@dataclass(frozen=True, slots=True)
class PhotoIdentity:
    """Who the largest face of a photo is: member or None, score in [0, 1] (0 at the threshold), its distance."""

    member_id: str | None
    score: float
    distance: float | None
    faces: int


def face_crop(image: npt.NDArray[np.uint8], face: FaceDetection) -> bytes:
    """JPEG of the face with some margin: kept only when identity.keep_face_crops is on."""
    h, w = image.shape[:2]
    x0, y0, x1, y1 = face.box.tolist()
    pad = 0.25 * max(x1 - x0, y1 - y0)
    crop = image[max(0, int(y0 - pad)) : min(h, int(y1 + pad)), max(0, int(x0 - pad)) : min(w, int(x1 + pad))]
    ok, data = cv2.imencode(".jpg", crop)
    if not ok:
        raise RepLensError("cannot encode a face crop as JPEG")
    return bytes(data.tobytes())


def embeddings_from_photos(
    photos: Sequence[Path], *, face_index: int | None = None
) -> tuple[list[Float32Array], list[bytes]]:
    """One descriptor per photo; every photo must show exactly one usable face (or ``face_index`` picks one)."""
    detector, embedder = FaceDetector(), FaceEmbedder(num_jitters=1)
    embeddings, crops = [], []
    for photo in photos:
        face = enrolment_face(photo, index=face_index, detector=detector, embedder=embedder)
        embeddings.append(face.embedding)
        image = cv2.imread(str(photo), cv2.IMREAD_COLOR)
        if image is not None:
            crops.append(face_crop(np.asarray(image, dtype=np.uint8), face.detection))
    return embeddings, crops


def _open_camera(source: str) -> cv2.VideoCapture:
    capture = cv2.VideoCapture(int(source) if source.isdigit() else source)
    if not capture.isOpened():
        raise RepLensError(f"camera {source}: cannot open it")
    return capture


def embeddings_from_camera(
    source: str, *, frames: int, config: FaceMatchConfig
) -> tuple[list[Float32Array], list[bytes]]:
    """Descriptors from ``frames`` camera frames that show exactly one large enough face, 0.3 s apart."""
    detector, embedder = FaceDetector(min_face_px=config.min_face_px), FaceEmbedder()
    capture = _open_camera(source)
    embeddings: list[Float32Array] = []
    crops: list[bytes] = []
    deadline = time.monotonic() + CAMERA_TIMEOUT_S
    last_taken = -math.inf
    began, frames_read, clock = time.monotonic(), 0, False
    try:
        while len(embeddings) < frames:
            if time.monotonic() > deadline:
                raise RepLensError(f"camera {source}: only {len(embeddings)} of {frames} frames showed exactly one "
                                   f"face of at least {config.min_face_px} px within {CAMERA_TIMEOUT_S:.0f} s")
            ok, raw = capture.read()
            if not ok:
                raise RepLensError(f"camera {source}: stopped delivering frames after {len(embeddings)} of "
                                   f"{frames} faces")
            # The frame's own time (media time for a recorded stream), so faces are spread over the
            # person's movement however fast frames are read; cameras that report none use the clock.
            frames_read += 1
            media_s = capture.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
            clock = clock or (frames_read > 1 and media_s <= 0)
            t_s = time.monotonic() - began if clock else media_s
            image = np.asarray(raw, dtype=np.uint8)
            faces = [f for f in detector.detect(image) if f.width >= config.min_face_px]
            if len(faces) != 1 or t_s - last_taken < CAMERA_FACE_SPACING_S:
                continue
            last_taken = t_s
            embeddings.append(embedder.embed(image, faces[0]))
            crops.append(face_crop(image, faces[0]))
            log.info("camera %s: face %d of %d taken", source, len(embeddings), frames)
    finally:
        capture.release()
    return embeddings, crops


def identify_photo(photo: Path, vectors: dict[str, list[Float32Array]], config: FaceMatchConfig) -> PhotoIdentity:
    """The largest face of the photo against the gallery: a single frame, so no voting across frames."""
    faces = faces_in_photo(photo)
    largest = max(faces, key=lambda f: f.detection.width)
    match = Gallery.of(vectors, match_settings(config)).match(largest.embedding)
    distance = None if math.isinf(match.distance) else match.distance
    score = 0.0 if match.member_id is None else max(0.0, 1.0 - match.distance / config.match_distance)
    return PhotoIdentity(match.member_id, score, distance, len(faces))
