"""Station config → the pipeline that turns its frames into count events, one entry per tracker type."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

import cv2
import numpy as np
import numpy.typing as npt

from replens.config.agent import (
    BarbellTrackerConfig,
    CounterConfig,
    PoseTrackerConfig,
    StackTrackerConfig,
    StationConfig,
)
from replens.device_agent.counting.counter import CounterSettings, RepCounter, TimingOverrides
from replens.device_agent.counting.events import CountEvent
from replens.device_agent.counting.pose import PoseRepEngine
from replens.device_agent.counting.recognizing import RecognizingPoseCounter, StationEvent
from replens.device_agent.sources.frame import Frame
from replens.device_agent.trackers.base import StationTracker
from replens.device_agent.trackers.stack import StackTracker
from replens.device_agent.zones import FrameSize, PixelBox, Zone, frame_size, pose_in_zone, pose_to_frame

if TYPE_CHECKING:
    from replens.device_agent.trackers.pose.tracker import PoseResult

POSE_CROP_MARGIN = 0.25  # of the zone's width/height on each side: limbs reach past where the body centre may be
STACK_MIN_RANGE_PX = 20.0  # a stack station's smallest rep when its counter sets no min_range


class StationPipeline(Protocol):
    """Frames in, count events out; the same for every tracker type."""

    last_signal: float | None  # latest 1-D signal value, for plots

    def update(self, frame: Frame) -> Sequence[StationEvent]: ...

    def finish(self, t_s: float) -> Sequence[StationEvent]: ...


class PoseSource(Protocol):
    """What the pose pipeline needs of a pose tracker (BlazePose's :class:`PoseTracker`, or a test double)."""

    def update(self, frame: Frame) -> PoseResult | None: ...

    def reset(self) -> None: ...


class SignalPipeline:
    """A tracker that yields a 1-D position (weight stack) feeding the streaming counter.

    With a zone, pixels outside the polygon are blanked before tracking, so a plate or a person
    moving just outside it adds nothing. ``roi_is_zone_box`` says the tracker already sees only the
    zone's bounding box, so a rectangular zone needs no blanking.
    """

    def __init__(self, tracker: StationTracker, counter: RepCounter, zone: Zone | None = None, *,
                 roi_is_zone_box: bool = False) -> None:
        self.tracker = tracker
        self.counter = counter
        self.zone = zone
        self._roi_is_zone_box = roi_is_zone_box
        self.last_signal: float | None = None
        self._box_masks: dict[FrameSize, tuple[PixelBox, npt.NDArray[np.uint8]] | None] = {}  # None: rectangle

    def update(self, frame: Frame) -> list[CountEvent]:
        sample = self.tracker.update(self._inside_zone(frame))
        self.last_signal = None if sample is None else sample.position
        return self.counter.update(sample, frame.t_s)

    def finish(self, t_s: float) -> list[CountEvent]:
        return self.counter.finish(t_s)

    def _inside_zone(self, frame: Frame) -> Frame:
        """The frame with everything outside the zone black (flat black has no features to track)."""
        if self.zone is None:
            return frame
        size = frame_size(frame.image)
        if size not in self._box_masks:
            box = self.zone.bounding_box(size)
            inside = self.zone.mask(size)[box.y0 : box.y1, box.x0 : box.x1]  # (h, w) bool
            rectangle = bool(inside.all()) and self._roi_is_zone_box
            self._box_masks[size] = None if rectangle else (box, inside.astype(np.uint8) * 255)
        cached = self._box_masks[size]
        if cached is None:
            return frame  # the tracker's roi is this rectangle: it sees nothing outside the zone
        box, mask = cached
        image = np.zeros_like(frame.image)
        region = frame.image[box.y0 : box.y1, box.x0 : box.x1]
        cv2.bitwise_and(region, region, dst=image[box.y0 : box.y1, box.x0 : box.x1], mask=mask)
        return dataclasses.replace(frame, image=image)


class PosePipeline:
    """BlazePose landmarks feeding the pose engine of the station's exercise profile.

    With a zone, BlazePose sees only the crop of the zone's box plus a margin, so a person at the
    next station is mostly not even seen; the landmarks are moved back to full-frame pixels and a pose
    counts only when its body centre is inside the polygon, otherwise the frame has no detection.
    """

    def __init__(self, config: PoseTrackerConfig, station: StationConfig, zone: Zone | None = None, *,
                 tracker: PoseSource | None = None) -> None:
        if tracker is None:
            from replens.device_agent.trackers.pose.tracker import PoseTracker  # OpenVINO loads only when used

            tracker = PoseTracker(device=config.device, precision=config.precision, threads=config.threads)
        self.tracker = tracker
        self.zone = zone
        timing = timing_of(station.counter)
        self.engine: PoseRepEngine | RecognizingPoseCounter = (
            RecognizingPoseCounter(station.candidates, timing=timing) if station.recognises
            else PoseRepEngine(station.named, timing=timing))
        self.last_pose: PoseResult | None = None  # full-frame pixels, None while nobody is at the station
        self.last_signal: float | None = None

    def update(self, frame: Frame) -> Sequence[StationEvent]:
        pose = self.last_pose = self._pose(frame)
        measured = pose.landmarks if pose is not None and pose.measured else None  # repeated or settling: missing
        events = self.engine.update(frame.t_s, measured, frame_size=frame_size(frame.image))
        self.last_signal = self.engine.last_value
        return events

    def finish(self, t_s: float) -> Sequence[StationEvent]:
        return self.engine.finish(t_s)

    def _pose(self, frame: Frame) -> PoseResult | None:
        if self.zone is None:
            return self.tracker.update(frame)
        size = frame_size(frame.image)
        box = self.zone.bounding_box(size, POSE_CROP_MARGIN)
        found = self.tracker.update(dataclasses.replace(frame, image=box.crop(frame.image)))
        if found is None:
            return None
        pose = pose_in_zone(pose_to_frame(found, box), self.zone, size)
        if pose is None:
            self.tracker.reset()  # it follows someone outside the zone: look afresh next frame
        return pose


def timing_of(counter: CounterConfig) -> TimingOverrides:
    """The counter timings every tracker takes from a station's ``counter:`` (the config refuses the rest)."""
    return TimingOverrides(**counter.model_dump(include={f.name for f in dataclasses.fields(TimingOverrides)}))


def stack_counter(counter: CounterConfig) -> RepCounter:
    """A weight stack's counter: every ``counter:`` key applies, in the stack tracker's pixels."""
    settings = CounterSettings(
        min_range=STACK_MIN_RANGE_PX if counter.min_range is None else counter.min_range,
        rest_position=counter.rest_position or "low",
        meters_per_unit=counter.meters_per_unit,
    )
    return RepCounter(timing_of(counter).applied_to(settings))


def make_pipeline(station: StationConfig) -> StationPipeline:
    tracker = station.tracker
    zone = Zone.of(station.zone)
    if isinstance(tracker, StackTrackerConfig):
        counter = stack_counter(station.counter)
        roi = tracker.roi if tracker.roi is not None or zone is None else zone.bounds()
        return SignalPipeline(StackTracker(roi=roi, axis=tracker.axis), counter, zone,
                              roi_is_zone_box=tracker.roi is None)
    if isinstance(tracker, PoseTrackerConfig):
        return PosePipeline(tracker, station, zone)
    if isinstance(tracker, BarbellTrackerConfig):
        return barbell_pipeline(tracker, station, zone)
    raise AssertionError(f"unhandled tracker type {tracker!r}")


def barbell_pipeline(config: BarbellTrackerConfig, station: StationConfig, zone: Zone | None) -> StationPipeline:
    """The plate as a circle, or a user's detector; a zone without a roi limits the search to its box."""
    from replens.device_agent.trackers.barbell.detector import ObjectDetector  # OpenVINO loads only when used
    from replens.device_agent.trackers.barbell.tracker import BarbellPipeline, BarbellTracker

    roi = config.roi if config.roi is not None or zone is None else zone.bounds()
    if config.detector is None:
        tracker = BarbellTracker.model_free(roi)
    else:
        d = config.detector
        detector = ObjectDetector(
            d.model, labels=d.labels, score_threshold=d.score_threshold, input_size=d.input_size,
            mean_values=d.mean_values, scale=d.scale, rgb=d.rgb, layout=d.layout, resize=d.resize,
            output=d.output, iou_threshold=d.iou_threshold, device=d.device, precision=d.precision,
            threads=d.threads,
        )
        tracker = BarbellTracker.from_detector(detector)
    return BarbellPipeline(tracker, station.named, plate_diameter_m=config.plate_diameter_m,
                           meters_per_unit=station.counter.meters_per_unit, rest_position=config.rest_position,
                           min_rom_m=config.min_rom_m, timing=timing_of(station.counter),
                           recognise=station.recognises, candidates=station.candidates)
