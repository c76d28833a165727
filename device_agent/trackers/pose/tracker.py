"""One person's BlazePose landmarks per frame, tracked as MediaPipe tracks them on video, and kept.

The detector runs only when there is no region to follow; otherwise the region comes from the
previous frame's smoothed auxiliary points. On top of MediaPipe's pipeline:

* A pose flag at or below 0.5 (a bar or plate hides the lifter at the bottom of a rep) does not drop
  the track at once. For ``hold_s`` the landmark model tries the last region again, then the
  detector searches a window around it, before it searches the whole frame. MediaPipe detects over
  the whole frame at the first such frame and re-acquires with two or three frames of jumps.
* Whoever is detected, the lifter is kept by continuity of position and size with the last region
  they were measured in, not by the detector's rank: a neighbour who outranks them must not take
  over the track. Only after ``lifter_memory_s`` without the lifter does the best detection start a
  new track.
* A gate rejects impossible jumps, and short losses are bridged with the last accepted landmarks.
  Such repeated frames, and the first frames of a re-acquired track, are marked
  (:attr:`PoseResult.measured` is False): a counter should treat them as missing.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt

from replens.arrays import Float32Array
from replens.device_agent.inference.openvino_model import MODELS_DIR, InferenceSettings
from replens.device_agent.sources.frame import Frame
from replens.device_agent.trackers.pose.detector import Detection, PoseDetector
from replens.device_agent.trackers.pose.filters import GateSettings, JumpGate, aux_smoother, body_smoother
from replens.device_agent.trackers.pose.landmarks import LandmarkModel, RawLandmarks
from replens.device_agent.trackers.pose.roi import Roi, alignment_size, roi_from_points

log = logging.getLogger(__name__)


class Detects(Protocol):
    """What the tracker needs of a person detector (:class:`PoseDetector`, or a test double)."""

    def detect(self, image_bgr: npt.NDArray[np.uint8]) -> list[Detection]: ...


class RunsLandmarks(Protocol):
    """What the tracker needs of a landmark model (:class:`LandmarkModel`, or a test double)."""

    def run(self, image_bgr: npt.NDArray[np.uint8], roi: Roi) -> RawLandmarks: ...


def continuity(last: Roi, roi: Roi) -> float:
    """How far ``roi`` is from the lifter's ``last`` region: centre distance in its sizes plus |log size ratio|."""
    shift = math.hypot(roi.center_x - last.center_x, roi.center_y - last.center_y) / last.size
    return shift + abs(math.log(roi.size / last.size))


def _window(image: npt.NDArray[np.uint8], roi: Roi, scale: float) -> tuple[npt.NDArray[np.uint8], tuple[int, int]]:
    """The axis-aligned square ``scale`` times the region's size around its centre, clipped to the image (a view)."""
    h, w = image.shape[:2]
    half = 0.5 * scale * roi.size
    x0, y0 = max(0, int(roi.center_x - half)), max(0, int(roi.center_y - half))
    x1, y1 = min(w, int(roi.center_x + half) + 1), min(h, int(roi.center_y + half) + 1)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return image, (0, 0)
    return image[y0:y1, x0:x1], (x0, y0)
NUM_LANDMARKS = 33
AUX_CENTER, AUX_END = 33, 34
REACQUIRED_FRAMES = 2  # the first frames of a re-acquired track jump while the region settles
LOCAL_SEARCH_SCALE = 2.0  # the window searched around a lost lifter, in sizes of their last region
CONTINUITY_GATE = 0.6  # a detection continues the lifter within this distance (region sizes + |log size ratio|)


@dataclass(frozen=True, slots=True)
class PoseResult:
    """One person's pose in one frame.

    Attributes:
        landmarks: (33, 4) float32 x_px, y_px, z (relative depth in pixels at the x scale, smaller is
            nearer), visibility in [0, 1]; MediaPipe's landmark order.
        score: the landmark model's pose flag for the frame these landmarks come from, in [0, 1].
        roi: the region the landmark model saw.
        t_s: media time of the frame the landmarks come from.
        bridged: True when the person was lost or jumped in this frame and these are the last
            accepted landmarks, repeated to bridge a short gap.
        reacquired: True in the first ``REACQUIRED_FRAMES`` frames of a track found again by the
            detector, while its region still settles (their landmarks jump).
    """

    landmarks: Float32Array
    score: float
    roi: Roi
    t_s: float
    bridged: bool = False
    reacquired: bool = False

    @property
    def measured(self) -> bool:
        """A fresh measurement of this frame: neither repeated nor from a track still settling."""
        return not (self.bridged or self.reacquired)

    def __post_init__(self) -> None:
        if self.landmarks.shape != (NUM_LANDMARKS, 4) or self.landmarks.dtype != np.float32:
            raise ValueError(
                f"pose landmarks: expected (33, 4) float32, got {self.landmarks.shape} {self.landmarks.dtype}"
            )


class PoseTracker:
    """Frames in, one person's smoothed 33 landmarks out (or None while nobody is found).

    Args:
        device: OpenVINO device (CPU, GPU, NPU, AUTO).
        precision: inference precision hint, f32 by default (bf16 moves landmarks by pixels).
        threads: CPU inference threads per model.
        models_dir: folder with the model files and their manifest.
        smooth: MediaPipe's landmark smoothing; off gives the raw per-frame landmarks (the region of
            the next frame is still placed from smoothed auxiliary points, as in MediaPipe).
        gate: jump gate and gap bridging; None turns both off (plain MediaPipe behaviour).
        min_detection_score: detector confidence needed to start a track.
        min_pose_flag: the landmark model's pose flag must exceed this to keep the track.
        hold_s: how long a lost track's region is tried again and searched around, before the whole frame.
        lifter_memory_s: how long the lifter's last region decides who is tracked after a loss.
        detector, landmark_model: instead of the shipped models (tests).
    """

    def __init__(
        self,
        device: str = "CPU",
        precision: str = "f32",
        threads: int = 1,
        *,
        models_dir: Path = MODELS_DIR,
        smooth: bool = True,
        gate: GateSettings | None = GateSettings(),  # noqa: B008 - frozen, shared safely
        min_detection_score: float = 0.5,
        min_pose_flag: float = 0.5,
        hold_s: float = 0.5,
        lifter_memory_s: float = 3.0,
        detector: Detects | None = None,
        landmark_model: RunsLandmarks | None = None,
    ) -> None:
        settings = InferenceSettings(device=device, precision=precision, threads=threads)
        self.detector = detector or PoseDetector(settings, models_dir=models_dir, min_score=min_detection_score)
        self.landmark_model = landmark_model or LandmarkModel(settings, models_dir=models_dir)
        self.smooth = smooth
        self.min_pose_flag = min_pose_flag
        self.hold_s = hold_s
        self.lifter_memory_s = lifter_memory_s
        self._gate = JumpGate(gate) if gate is not None else None
        self._body = body_smoother()
        self._aux = aux_smoother()
        self.detector_runs = 0
        self.reset()

    def reset(self) -> None:
        """Forget the track and the lifter, as if newly made."""
        self._next_roi: Roi | None = None
        self._last: PoseResult | None = None
        self._lost: tuple[float, Roi] | None = None  # when the track was lost, and its last region
        self._lifter: tuple[float, Roi] | None = None  # when and where the lifter was last measured
        self._settling = 0  # frames of a re-acquired track still to be marked
        self._body.reset()
        self._aux.reset()
        if self._gate is not None:
            self._gate.reset()

    def update(self, frame: Frame) -> PoseResult | None:
        raw, acquired = self._landmarks_for(frame)
        if raw is None:
            self._lose(frame.t_s)
            return self._bridge(frame.t_s)
        if acquired:
            self._settling = REACQUIRED_FRAMES if self._lifter is not None else 0
        result = self._follow(frame.t_s, raw, reacquired=self._settling > 0)
        self._settling = max(0, self._settling - 1)
        if self._gate is not None and not self._gate.accept(frame.t_s, result.landmarks[:, :2], result.roi.size):
            return self._bridge(frame.t_s)
        self._last = result
        self._lifter = (frame.t_s, result.roi)
        return result

    def _landmarks_for(self, frame: Frame) -> tuple[RawLandmarks | None, bool]:
        """Landmarks in the followed region or a found one (and whether it was found anew); None: nobody."""
        if self._next_roi is not None:
            return self._confident(frame, self._next_roi), False
        lost = self._lost
        if lost is not None and frame.t_s - lost[0] <= self.hold_s:
            raw = self._confident(frame, lost[1])  # the lifter behind a plate for a moment: same place
            if raw is not None:
                return raw, True
            roi = self._search(frame, lost[1])  # then around it; the whole frame only after hold_s
            return (None, False) if roi is None else (self._confident(frame, roi), True)
        roi = self._search(frame, None)
        return (None, False) if roi is None else (self._confident(frame, roi), True)

    def _confident(self, frame: Frame, roi: Roi) -> RawLandmarks | None:
        raw = self.landmark_model.run(frame.image, roi)
        return raw if raw.pose_flag > self.min_pose_flag else None

    def _search(self, frame: Frame, around: Roi | None) -> Roi | None:
        """A region from the detector: in a window around ``around``, or the whole frame; the lifter's if seen."""
        self.detector_runs += 1
        image, (x0, y0) = frame.image, (0, 0)
        if around is not None:
            image, (x0, y0) = _window(frame.image, around, LOCAL_SEARCH_SCALE)
        regions = []
        for found in self.detector.detect(image):
            offset = np.array([x0, y0], dtype=np.float32)
            roi = roi_from_points(found.keypoints[0] + offset, found.keypoints[1] + offset)
            if roi is not None:
                regions.append(roi)
        return self._choose(frame.t_s, regions)

    def _choose(self, t_s: float, regions: list[Roi]) -> Roi | None:
        """The lifter by continuity of position and size, while they are remembered; else the best detection."""
        lifter = self._lifter
        if lifter is None or t_s - lifter[0] > self.lifter_memory_s:
            return regions[0] if regions else None
        scored = [(continuity(lifter[1], roi), roi) for roi in regions]
        near = [(d, roi) for d, roi in scored if d <= CONTINUITY_GATE]
        return min(near, key=lambda item: item[0])[1] if near else None

    def _follow(self, t_s: float, raw: RawLandmarks, *, reacquired: bool = False) -> PoseResult:
        """Smooth, place the next frame's region from the auxiliary points, and build the result."""
        aux = raw.points[AUX_CENTER : AUX_END + 1, :4]
        object_size = alignment_size(aux[0], aux[1])  # MediaPipe's smoothing scale: unsmoothed aux box
        aux_smoothed = self._aux.apply(t_s, aux, object_size)
        self._next_roi = roi_from_points(aux_smoothed[0, :2], aux_smoothed[1, :2])
        body = raw.points[:NUM_LANDMARKS, :4]
        if self.smooth:
            body = self._body.apply(t_s, body, object_size)
        return PoseResult(np.ascontiguousarray(body, dtype=np.float32), raw.pose_flag, raw.roi, t_s,
                          reacquired=reacquired)

    def _lose(self, t_s: float) -> None:
        """No landmarks this frame: reset the smoothing (as MediaPipe does) and keep the region to retry."""
        if self._next_roi is not None:
            self._lost = (t_s, self._next_roi)
        self._next_roi = None
        self._body.reset()
        self._aux.reset()

    def _bridge(self, t_s: float) -> PoseResult | None:
        last = self._last
        if self._gate is None or last is None or not 0 < t_s - last.t_s <= self._gate.settings.max_gap_s:
            return None
        return PoseResult(last.landmarks, last.score, last.roi, last.t_s, bridged=True)
