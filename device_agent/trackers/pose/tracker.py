"""One person's BlazePose landmarks per frame, tracked as MediaPipe tracks them on video.

The detector runs only when there is no region to follow; otherwise the region comes from the
previous frame's smoothed auxiliary points. A pose flag at or below 0.5 drops the track (and resets
the smoothing), so the next frame detects again. On top of MediaPipe's pipeline, a gate rejects
impossible jumps and short losses are bridged with the last accepted landmarks.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from replens.arrays import Float32Array
from replens.device_agent.inference.openvino_model import MODELS_DIR, InferenceSettings
from replens.device_agent.sources.frame import Frame
from replens.device_agent.trackers.pose.detector import PoseDetector
from replens.device_agent.trackers.pose.filters import GateSettings, JumpGate, aux_smoother, body_smoother
from replens.device_agent.trackers.pose.landmarks import LandmarkModel, RawLandmarks
from replens.device_agent.trackers.pose.roi import Roi, alignment_size, roi_from_points

log = logging.getLogger(__name__)
NUM_LANDMARKS = 33
AUX_CENTER, AUX_END = 33, 34


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
    """

    landmarks: Float32Array
    score: float
    roi: Roi
    t_s: float
    bridged: bool = False

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
    ) -> None:
        settings = InferenceSettings(device=device, precision=precision, threads=threads)
        self.detector = PoseDetector(settings, models_dir=models_dir, min_score=min_detection_score)
        self.landmark_model = LandmarkModel(settings, models_dir=models_dir)
        self.smooth = smooth
        self.min_pose_flag = min_pose_flag
        self._gate = JumpGate(gate) if gate is not None else None
        self._body = body_smoother()
        self._aux = aux_smoother()
        self.detector_runs = 0
        self.reset()

    def reset(self) -> None:
        """Forget the track, as if newly made."""
        self._next_roi: Roi | None = None
        self._last: PoseResult | None = None
        self._body.reset()
        self._aux.reset()
        if self._gate is not None:
            self._gate.reset()

    def update(self, frame: Frame) -> PoseResult | None:
        raw = self._landmarks_for(frame)
        if raw is None:
            self._lose()
            return self._bridge(frame.t_s)
        result = self._follow(frame.t_s, raw)
        if self._gate is not None and not self._gate.accept(frame.t_s, result.landmarks[:, :2], result.roi.size):
            return self._bridge(frame.t_s)
        self._last = result
        return result

    def _landmarks_for(self, frame: Frame) -> RawLandmarks | None:
        """Landmarks in the followed region, or in a freshly detected one; None when nobody is there."""
        roi = self._next_roi
        if roi is None:
            self.detector_runs += 1
            detections = self.detector.detect(frame.image)
            if not detections:
                return None
            roi = roi_from_points(detections[0].keypoints[0], detections[0].keypoints[1])
            if roi is None:
                return None
        raw = self.landmark_model.run(frame.image, roi)
        return raw if raw.pose_flag > self.min_pose_flag else None

    def _follow(self, t_s: float, raw: RawLandmarks) -> PoseResult:
        """Smooth, place the next frame's region from the auxiliary points, and build the result."""
        aux = raw.points[AUX_CENTER : AUX_END + 1, :4]
        object_size = alignment_size(aux[0], aux[1])  # MediaPipe's smoothing scale: unsmoothed aux box
        aux_smoothed = self._aux.apply(t_s, aux, object_size)
        self._next_roi = roi_from_points(aux_smoothed[0, :2], aux_smoothed[1, :2])
        body = raw.points[:NUM_LANDMARKS, :4]
        if self.smooth:
            body = self._body.apply(t_s, body, object_size)
        return PoseResult(np.ascontiguousarray(body, dtype=np.float32), raw.pose_flag, raw.roi, t_s)

    def _lose(self) -> None:
        """MediaPipe resets its smoothing when a frame has no landmarks, and detects again next frame."""
        self._next_roi = None
        self._body.reset()
        self._aux.reset()

    def _bridge(self, t_s: float) -> PoseResult | None:
        last = self._last
        if self._gate is None or last is None or not 0 < t_s - last.t_s <= self._gate.settings.max_gap_s:
            return None
        return PoseResult(last.landmarks, last.score, last.roi, last.t_s, bridged=True)
