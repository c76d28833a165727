"""Photos for enrolment and identification: real files, and errors that name the file and say what is wrong."""

from __future__ import annotations

import struct
from pathlib import Path

import cv2
import numpy as np
import pytest

pytest.importorskip("dlib", reason="face identity needs: pip install 'replens[identity]'")

from replens.device_agent.identity.embedder import FaceEmbedder
from replens.device_agent.identity.face_detector import FaceDetector
from replens.device_agent.identity.photos import (
    PhotoError,
    enrolment_face,
    faces_in_photo,
    read_photo,
)
from replens.errors import RepLensError

FACES = Path(__file__).resolve().parents[1] / "data" / "faces"


@pytest.fixture(scope="module")
def tools() -> dict[str, object]:
    return {"detector": FaceDetector(), "embedder": FaceEmbedder()}


def load(name: str) -> np.ndarray:
    image = cv2.imread(str(FACES / name), cv2.IMREAD_COLOR)
    assert image is not None, name
    return np.asarray(image, dtype=np.uint8)


def write(path: Path, image: np.ndarray) -> Path:
    assert cv2.imwrite(str(path), image)
    return path


def two_people(tmp_path: Path) -> Path:
    """obama.jpg and biden.jpg side by side, 600 px high."""
    images = [load(n) for n in ("obama.jpg", "biden.jpg")]
    row = np.hstack([cv2.resize(im, (round(im.shape[1] * 600 / im.shape[0]), 600)) for im in images])
    return write(tmp_path / "two.jpg", row)


def with_exif_orientation(jpeg: bytes, orientation: int) -> bytes:
    """The JPEG with a minimal EXIF block (APP1) holding only the orientation tag."""
    ifd = struct.pack(">H", 1) + struct.pack(">HHIHH", 0x0112, 3, 1, orientation, 0) + struct.pack(">I", 0)
    payload = b"Exif\x00\x00" + b"MM\x00\x2a" + struct.pack(">I", 8) + ifd
    return jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload + jpeg[2:]


def test_one_face_in_a_portrait(tools: dict) -> None:
    faces = faces_in_photo(FACES / "obama.jpg", **tools)
    assert len(faces) == 1
    assert faces[0].embedding.shape == (128,)
    assert faces[0].detection.width > 200


def test_faces_come_left_to_right(tmp_path: Path, tools: dict) -> None:
    faces = faces_in_photo(two_people(tmp_path), **tools)
    assert len(faces) == 2
    assert faces[0].detection.box[0] < faces[1].detection.box[0]
    obama = enrolment_face(FACES / "obama.jpg", **tools).embedding
    assert np.linalg.norm(faces[0].embedding - obama) < 0.6 < np.linalg.norm(faces[1].embedding - obama)


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nobody.jpg"
    with pytest.raises(PhotoError, match=rf"{path}: no such file"):
        read_photo(path)


@pytest.mark.parametrize("content", [b"", b"\xff\xd8garbage that is not a jpeg" * 10, b"GIF89a nonsense"])
def test_unreadable_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "broken.jpg"
    path.write_bytes(content)
    with pytest.raises(PhotoError, match=rf"{path}: not an image"):
        faces_in_photo(path)


def test_a_folder_is_not_a_photo(tmp_path: Path) -> None:
    with pytest.raises(PhotoError, match=rf"{tmp_path}: cannot read it"):
        read_photo(tmp_path)


def test_no_face(tmp_path: Path, tools: dict) -> None:
    gradient = np.tile(np.linspace(0, 255, 640, dtype=np.uint8)[None, :, None], (480, 1, 3))
    path = write(tmp_path / "wall.png", gradient)
    with pytest.raises(PhotoError, match=rf"{path}: no face found \(looked for faces at least 40 px wide\)"):
        faces_in_photo(path, **tools)


def test_several_faces_are_refused_unless_told_which(tmp_path: Path, tools: dict) -> None:
    path = two_people(tmp_path)
    with pytest.raises(PhotoError, match=rf"{path}: 2 faces \(widths \d+, \d+ px, left to right\)") as caught:
        enrolment_face(path, **tools)
    assert isinstance(caught.value, RepLensError) and isinstance(caught.value, ValueError)
    biden = enrolment_face(FACES / "biden.jpg", **tools).embedding
    chosen = enrolment_face(path, index=1, **tools)
    assert np.linalg.norm(chosen.embedding - biden) < 0.4
    with pytest.raises(PhotoError, match=r"no face 2: it has 2"):
        enrolment_face(path, index=2, **tools)


def test_too_small_a_face_to_enrol(tmp_path: Path, tools: dict) -> None:
    image = load("obama.jpg")
    path = write(tmp_path / "small.jpg", cv2.resize(image, None, fx=0.2, fy=0.2, interpolation=cv2.INTER_AREA))
    with pytest.raises(PhotoError, match=r"the face is \d+ px wide, enrolment needs 80"):
        enrolment_face(path, **tools)


def test_exif_orientation_is_applied(tmp_path: Path, tools: dict) -> None:
    """A phone photo stored sideways with EXIF orientation 6 (turn 90° clockwise to view) reads upright."""
    upright = load("obama.jpg")
    ok, jpeg = cv2.imencode(".jpg", cv2.rotate(upright, cv2.ROTATE_90_COUNTERCLOCKWISE))
    assert ok
    path = tmp_path / "phone.jpg"
    path.write_bytes(with_exif_orientation(jpeg.tobytes(), 6))
    assert read_photo(path).shape == upright.shape
    assert len(faces_in_photo(path, **tools)) == 1
