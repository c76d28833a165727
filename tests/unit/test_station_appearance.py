"""A pose station sends the lifter's clothing colour with its set events, for the hub's attribution."""

from __future__ import annotations

import numpy as np

from replens.config.agent import PoseTrackerConfig, StationConfig
from replens.contract import Exercise, SetEvent
from replens.device_agent.counting.events import RepCompleted, RepMeasurement, SetStarted
from replens.device_agent.drafts import Draft
from replens.device_agent.identity.appearance import HUE_BINS
from replens.device_agent.sources.frame import Frame
from replens.device_agent.station import Station
from replens.device_agent.trackers.pose.roi import Roi
from replens.device_agent.trackers.pose.tracker import PoseResult
from replens.device_agent.trackers.registry import PosePipeline
from tests.unit.test_identity_appearance import BLUE, BLUE_BIN, RED, RED_BIN, figure

T0 = 1_795_705_137.0
REP = RepMeasurement(index=1, start_s=0.0, turn_s=1.0, end_s=2.0, rom=40.0, concentric_s=1.0, eccentric_s=1.0,
                     confidence=0.9)


def first_set_draft(station: Station) -> Draft:
    """The ``new`` event of a set that started at T0, as the station's assembler makes it."""
    drafts = station.sets.take([SetStarted(start_s=0.0, rest_before_s=None), RepCompleted(REP)], T0)
    return drafts[-1]


class StillPerson:
    """A pose tracker double: the same person in every frame (the frames show them in red and blue)."""

    def __init__(self, landmarks: np.ndarray) -> None:
        self.landmarks = landmarks

    def update(self, frame: Frame) -> PoseResult | None:
        return PoseResult(self.landmarks, 1.0, Roi(320.0, 240.0, 400.0, 0.0), frame.t_s)

    def reset(self) -> None:
        return None


def test_set_events_of_a_pose_station_carry_the_lifters_clothing_colour() -> None:
    image, landmarks = figure(RED, BLUE)
    config = StationConfig(exercise=Exercise.SQUAT, tracker=PoseTrackerConfig())
    pipeline = PosePipeline(PoseTrackerConfig(), config, tracker=StillPerson(landmarks.astype(np.float32)))
    station = Station("rack", "squat", config, pipeline=pipeline)
    for index in range(30):  # 3 s at 10 fps: about six samples at one every 0.5 s
        station.process(Frame(image, index / 10, T0 + index / 10, index))

    draft = first_set_draft(station)
    event = draft.build(1)
    assert isinstance(event, SetEvent) and event.appearance is not None
    torso, legs = np.array(event.appearance.torso), np.array(event.appearance.legs)
    assert len(torso) == len(legs) == HUE_BINS + 3
    assert torso.argmax() == RED_BIN and legs.argmax() == BLUE_BIN
    assert abs(torso.sum() - 1) < 1e-6 and abs(legs.sum() - 1) < 1e-6


def test_stations_without_a_pose_send_no_appearance() -> None:
    config = StationConfig(exercise=Exercise.LAT_PULLDOWN)  # weight stack: nobody's clothes to see
    station = Station("rack", "stack", config)
    frame = np.zeros((120, 160, 3), np.uint8)
    for index in range(10):
        station.process(Frame(frame, index / 10, T0 + index / 10, index))
    event = first_set_draft(station).build(1)
    assert isinstance(event, SetEvent) and event.appearance is None
