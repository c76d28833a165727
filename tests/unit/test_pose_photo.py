"""Real inference on a real photo: BlazePose on OpenVINO puts the landmarks on the person.

scikit-image's ``data.astronaut()`` (Eileen Collins, NASA, public domain) ships inside the package.
The expected positions were checked by hand on the image (512×512); tolerances allow for the
suit hiding the shoulder joints.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage import data

from replens.device_agent.sources.frame import Frame
from replens.device_agent.trackers.pose.tracker import PoseTracker

HAND_CHECKED = {  # landmark index: (x, y, tolerance) in pixels
    0: (224.0, 126.0, 12.0),  # nose
    2: (250.0, 110.0, 12.0),  # left eye (her left, image right)
    5: (201.0, 104.0, 12.0),  # right eye
    11: (315.0, 252.0, 30.0),  # left shoulder, under the suit
    12: (108.0, 242.0, 30.0),  # right shoulder
}


@pytest.fixture(scope="module")
def astronaut_landmarks() -> np.ndarray:
    image = np.ascontiguousarray(cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR))
    result = PoseTracker(smooth=False, gate=None).update(Frame(image, 0.0, 0.0, 0))
    assert result is not None, "no pose found on the astronaut photo"
    assert result.score > 0.9
    return result.landmarks


@pytest.mark.parametrize("index", sorted(HAND_CHECKED))
def test_landmark_on_the_person(astronaut_landmarks: np.ndarray, index: int) -> None:
    x, y, tolerance = HAND_CHECKED[index]
    found = astronaut_landmarks[index]
    assert float(np.hypot(found[0] - x, found[1] - y)) < tolerance, found
    assert found[3] > 0.5  # visible


def test_body_is_upright_and_left_is_left(astronaut_landmarks: np.ndarray) -> None:
    nose_y = astronaut_landmarks[0, 1]
    shoulders = astronaut_landmarks[[11, 12]]
    assert (shoulders[:, 1] > nose_y + 60).all()  # shoulders well below the nose
    assert shoulders[0, 0] > shoulders[1, 0]  # her left shoulder is on the image's right
