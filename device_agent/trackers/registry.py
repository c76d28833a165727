"""Station config → the pipeline that turns its frames into count events, one entry per tracker type."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from replens.config.agent import PoseTrackerConfig, StackTrackerConfig, StationConfig
from replens.device_agent.counting.counter import CounterSettings, RepCounter
from replens.device_agent.counting.events import CountEvent
from replens.device_agent.counting.pose import PoseRepEngine
from replens.device_agent.sources.frame import Frame
from replens.device_agent.trackers.base import StationTracker
from replens.device_agent.trackers.stack import StackTracker

if TYPE_CHECKING:
    from replens.device_agent.trackers.pose.tracker import PoseResult


class StationPipeline(Protocol):
    """Frames in, count events out; the same for every tracker type."""

    last_signal: float | None  # latest 1-D signal value, for plots

    def update(self, frame: Frame) -> list[CountEvent]: ...

    def finish(self, t_s: float) -> list[CountEvent]: ...


class SignalPipeline:
    """A tracker that yields a 1-D position (weight stack) feeding the streaming counter."""

    def __init__(self, tracker: StationTracker, counter: RepCounter) -> None:
        self.tracker = tracker
        self.counter = counter
        self.last_signal: float | None = None

    def update(self, frame: Frame) -> list[CountEvent]:
        sample = self.tracker.update(frame)
        self.last_signal = None if sample is None else sample.position
        return self.counter.update(sample, frame.t_s)

    def finish(self, t_s: float) -> list[CountEvent]:
        return self.counter.finish(t_s)


class PosePipeline:
    """BlazePose landmarks feeding the pose engine of the station's exercise profile."""

    def __init__(self, config: PoseTrackerConfig, station: StationConfig) -> None:
        from replens.device_agent.trackers.pose.tracker import PoseTracker  # OpenVINO loads only when used

        self.tracker = PoseTracker(device=config.device, precision=config.precision, threads=config.threads)
        self.engine = PoseRepEngine(station.exercise, set_end_rest_s=station.counter.set_end_rest_s)
        self.last_pose: PoseResult | None = None
        self.last_signal: float | None = None

    def update(self, frame: Frame) -> list[CountEvent]:
        self.last_pose = self.tracker.update(frame)
        events = self.engine.update(frame.t_s, None if self.last_pose is None else self.last_pose.landmarks)
        self.last_signal = self.engine.last_value
        return events

    def finish(self, t_s: float) -> list[CountEvent]:
        return self.engine.finish(t_s)


def make_pipeline(station: StationConfig) -> StationPipeline:
    tracker = station.tracker
    if isinstance(tracker, StackTrackerConfig):
        counter = RepCounter(CounterSettings(**station.counter.model_dump()))
        return SignalPipeline(StackTracker(roi=tracker.roi, axis=tracker.axis), counter)
    if isinstance(tracker, PoseTrackerConfig):
        return PosePipeline(tracker, station)
    raise AssertionError(f"unhandled tracker type {tracker!r}")
