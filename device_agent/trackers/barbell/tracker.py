"""Barbell station: a plate found per frame (circles or a user's detector), tracked, counted by the bar-path engine."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

import numpy as np
import numpy.typing as npt

from replens.contract.exercises import Exercise
from replens.device_agent.counting.bar_recognition import RecognizingTrajectoryCounter
from replens.device_agent.counting.counter import TimingOverrides
from replens.device_agent.counting.recognizing import StationEvent
from replens.device_agent.counting.trajectory import TrajectoryRepEngine
from replens.device_agent.sources.frame import Frame
from replens.device_agent.trackers.barbell.boxes import Boxes
from replens.device_agent.trackers.barbell.plate import CircleSettings, PlateFinder
from replens.device_agent.trackers.barbell.track import Candidates, PlateTrack, TrackSettings

if TYPE_CHECKING:  # the detector pulls in OpenVINO; the model-free tracker does not need it
    from replens.device_agent.trackers.barbell.detector import ObjectDetector


@dataclass(frozen=True, slots=True)
class BarSample:
    """Where the bar (its plate's centre) is in one frame.

    Attributes:
        t_s: media time of the frame.
        x, y: plate centre, frame pixels (y down).
        plate_size: apparent plate diameter, frame pixels; the engine's metre scale. None while bridged.
        confidence: 0..1.
        bridged: no detection in this frame; the position is the track's prediction.
    """

    t_s: float
    x: float
    y: float
    plate_size: float | None
    confidence: float = 1.0
    bridged: bool = False

    def __post_init__(self) -> None:
        if not all(math.isfinite(v) for v in (self.t_s, self.x, self.y)):
            raise ValueError(f"bar sample: non-finite t={self.t_s} x={self.x} y={self.y}")


class CandidateFinder(Protocol):
    """One frame → plate candidates, best first."""

    def find(self, image: npt.NDArray[np.uint8]) -> Candidates: ...


def candidates_from_boxes(boxes: Boxes) -> Candidates:
    """Detector boxes → plate candidates: the box centre, and its larger side as the diameter.

    A plate seen at an angle is an ellipse whose major axis is still its diameter.
    """
    xyd = np.column_stack([boxes.centers, boxes.sizes.max(axis=1)]).astype(np.float32)
    return Candidates(xyd.reshape(-1, 3), boxes.scores.astype(np.float32))


class DetectorFinder:
    """Adapts an :class:`ObjectDetector` to the candidate interface."""

    def __init__(self, detector: ObjectDetector) -> None:
        self.detector = detector

    def find(self, image: npt.NDArray[np.uint8]) -> Candidates:
        return candidates_from_boxes(self.detector.detect(image))


class BarbellTracker:
    """Frames in, one :class:`BarSample` per frame out (None before a track exists or after it is lost).

    Build it with :meth:`model_free` (Hough circles, no model) or :meth:`from_detector`.
    """

    def __init__(self, finder: CandidateFinder, track: TrackSettings | None = None) -> None:
        self.finder = finder
        self.track = PlateTrack(track)
        self.last_candidates: Candidates | None = None

    @classmethod
    def model_free(
        cls,
        roi: tuple[float, float, float, float] | None = None,
        *,
        circles: CircleSettings | None = None,
        track: TrackSettings | None = None,
    ) -> BarbellTracker:
        """The plate in a side view, found as a circle; ``roi`` as (x, y, w, h) fractions of the frame."""
        return cls(PlateFinder(roi, circles), track)

    @classmethod
    def from_detector(cls, detector: ObjectDetector, *, track: TrackSettings | None = None) -> BarbellTracker:
        return cls(DetectorFinder(detector), track)

    def reset(self) -> None:
        self.track.reset()
        self.last_candidates = None

    def update(self, frame: Frame) -> BarSample | None:
        self.last_candidates = self.finder.find(frame.image)
        obs = self.track.update(frame.t_s, self.last_candidates)
        if obs is None:
            return None
        size = None if obs.bridged else obs.diameter_px
        return BarSample(obs.t_s, obs.x, obs.y, size, obs.confidence, obs.bridged)


class BarbellPipeline:
    """A barbell station: tracker samples feed :class:`TrajectoryRepEngine`, scaled by the plate's size.

    Same interface as the registry's pipelines. ``last_signal`` is the bar height above the bottom of
    the frame in pixels (up positive), for plots.

    Args:
        tracker: where the bar samples come from.
        exercise: the lift; its profile says where the bar rests between reps.
        plate_diameter_m: real diameter of the tracked plate (0.45 m for standard plates).
        meters_per_unit: fixed scale, metres per pixel, instead of the plate size.
        rest_position: overrides the exercise's rest side (e.g. "high" for a Romanian deadlift).
        min_rom_m: smallest bar excursion that counts as a rep.
        timing: the station's counter timings (see :class:`TrajectoryRepEngine`).
        recognise: tell the lift apart among ``candidates`` (None: every barbell lift) from the bar path,
            instead of counting ``exercise``.
    """

    def __init__(
        self,
        tracker: BarbellTracker,
        exercise: Exercise,
        *,
        plate_diameter_m: float = 0.45,
        meters_per_unit: float | None = None,
        rest_position: Literal["low", "high"] | None = None,
        min_rom_m: float = 0.12,
        timing: TimingOverrides | None = None,
        recognise: bool = False,
        candidates: tuple[Exercise, ...] | None = None,
    ) -> None:
        self.tracker = tracker
        self.engine: TrajectoryRepEngine | RecognizingTrajectoryCounter
        if recognise:
            self.engine = RecognizingTrajectoryCounter(candidates, meters_per_unit=meters_per_unit,
                                                       plate_diameter_m=plate_diameter_m, min_rom_m=min_rom_m,
                                                       timing=timing)
        else:
            self.engine = TrajectoryRepEngine(exercise, meters_per_unit=meters_per_unit,
                                              plate_diameter_m=plate_diameter_m, rest_position=rest_position,
                                              min_rom_m=min_rom_m, timing=timing)
        self.last_sample: BarSample | None = None
        self.last_signal: float | None = None

    def update(self, frame: Frame) -> Sequence[StationEvent]:
        sample = self.last_sample = self.tracker.update(frame)
        if sample is None:
            self.last_signal = None
            return self.engine.update(frame.t_s, None, None)
        self.last_signal = frame.image.shape[0] - sample.y
        return self.engine.update(sample.t_s, sample.x, sample.y, sample.plate_size)

    def finish(self, t_s: float) -> Sequence[StationEvent]:
        return self.engine.finish(t_s)

