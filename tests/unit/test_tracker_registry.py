"""A station's `counter:` reaches the engine of every tracker type, and the defaults stay the engines' own."""

from __future__ import annotations

from replens.config.agent import BarbellTrackerConfig, CounterConfig, PoseTrackerConfig, StationConfig
from replens.contract import Exercise
from replens.device_agent.counting.counter import CounterSettings, TimingOverrides
from replens.device_agent.counting.pose import PoseRepEngine
from replens.device_agent.counting.profiles import profile_for
from replens.device_agent.counting.trajectory import TrajectoryRepEngine
from replens.device_agent.sources.frame import Frame
from replens.device_agent.trackers.barbell.tracker import BarbellPipeline
from replens.device_agent.trackers.pose.tracker import PoseResult
from replens.device_agent.trackers.registry import PosePipeline, SignalPipeline, barbell_pipeline, make_pipeline

TIMINGS = {"min_rep_s": 0.8, "max_rep_s": 9.0, "set_end_rest_s": 40.0, "settle_s": 0.6, "smoothing_s": 0.2,
           "max_gap_s": 2.0}


class Nobody:
    """A pose tracker double that never sees anyone (no OpenVINO needed)."""

    def update(self, frame: Frame) -> PoseResult | None:
        return None

    def reset(self) -> None:
        return None


def station(exercise: Exercise, tracker: object = None, **counter: float) -> StationConfig:
    fields: dict[str, object] = {"exercise": exercise, "counter": CounterConfig.model_validate(counter)}
    if tracker is not None:
        fields["tracker"] = tracker
    return StationConfig.model_validate(fields)


def test_a_stack_station_takes_every_key_and_keeps_its_defaults() -> None:
    plain = make_pipeline(station(Exercise.LAT_PULLDOWN))
    assert isinstance(plain, SignalPipeline) and plain.counter._settings == CounterSettings(min_range=20.0)
    tuned = make_pipeline(station(Exercise.LAT_PULLDOWN, min_range=30.0, meters_per_unit=0.002, **TIMINGS))
    assert isinstance(tuned, SignalPipeline)
    assert tuned.counter._settings == TimingOverrides(**TIMINGS).applied_to(
        CounterSettings(min_range=30.0, meters_per_unit=0.002))
    assert {k: getattr(tuned.counter._settings, k) for k in TIMINGS} == TIMINGS


def test_a_pose_station_takes_the_timings_and_keeps_the_profile_otherwise() -> None:
    profile = profile_for(Exercise.SQUAT)
    plain = PosePipeline(PoseTrackerConfig(), station(Exercise.SQUAT, PoseTrackerConfig()), tracker=Nobody())
    assert isinstance(plain.engine, PoseRepEngine)  # one exercise: the plain engine, exactly as before
    assert (plain.engine.profile.min_rep_s, plain.engine.profile.max_rep_s) == (profile.min_rep_s, profile.max_rep_s)
    assert plain.engine._counter._settings.set_end_rest_s == 20.0
    tuned = PosePipeline(PoseTrackerConfig(), station(Exercise.SQUAT, PoseTrackerConfig(), **TIMINGS),
                         tracker=Nobody())
    assert isinstance(tuned.engine, PoseRepEngine)
    settings = tuned.engine._counter._settings
    assert (tuned.engine.profile.min_rep_s, tuned.engine.profile.max_rep_s) == (0.8, 9.0)
    assert {k: getattr(settings, k) for k in TIMINGS} == TIMINGS


def test_a_barbell_station_takes_the_timings_and_a_fixed_scale() -> None:
    config = BarbellTrackerConfig()
    plain = barbell_pipeline(config, station(Exercise.SQUAT, config), None)
    assert isinstance(plain, BarbellPipeline)
    assert isinstance(plain.engine, TrajectoryRepEngine)  # one lift: the plain engine, as before
    assert (plain.engine._base.min_rep_s, plain.engine._base.max_rep_s) == (0.6, 15.0)  # from the phase limits
    assert plain.engine._mpu is None
    tuned = barbell_pipeline(config, station(Exercise.SQUAT, config, meters_per_unit=0.002, **TIMINGS), None)
    assert isinstance(tuned, BarbellPipeline)
    assert isinstance(tuned.engine, TrajectoryRepEngine)
    assert {k: getattr(tuned.engine._base, k) for k in TIMINGS} == TIMINGS
    assert tuned.engine._mpu == 0.002
