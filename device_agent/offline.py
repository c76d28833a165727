"""Offline counting of recorded inputs with the streaming engines, one sample at a time.

Input formats (``replens count``):
- video files: the configured tracker (weight stack today);
- ``.npy`` of shape (T, 2): a 1-D signal, columns t_s, position;
- ``.npy`` with ≥ 66 columns: a BlazePose series, one row per frame (66 = x,y; 99 = x,y,z;
  ≥ 132 = x,y,z,visibility per landmark; 104 = 99 + 5 trailing columns that are ignored); an
  all-zero row is a frame without a person; needs the frame rate;
- ``.csv``: header ``t_s,position`` (1-D signal) or ``t,x,y`` (a bar or plate track in image
  coordinates, y down), with optional ``plate_w`` (plate diameter in the same unit, for metres);
  ``x_cm,y_cm`` or ``x_m,y_m`` columns are a calibrated track with y up.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from replens.arrays import Float64Array
from replens.contract import Exercise
from replens.device_agent.counting.bar_recognition import RecognizingTrajectoryCounter
from replens.device_agent.counting.counter import CounterSettings, RepCounter, TimingOverrides
from replens.device_agent.counting.pose import PoseRepEngine
from replens.device_agent.counting.profiles import profile_for
from replens.device_agent.counting.recognizing import RecognizingPoseCounter, StationEvent
from replens.device_agent.counting.trajectory import TrajectoryRepEngine
from replens.device_agent.sets import CountedSet, counted_sets
from replens.device_agent.signal import SignalSample
from replens.errors import ConfigError, SourceError

POSE_LANDMARKS = 33
SIGNAL_COLUMNS = 2
DEFAULT_SIGNAL_MIN_RANGE = 20.0  # a bare 1-D signal has no known unit: the weight-stack tracker's pixels


@dataclass(frozen=True, slots=True)
class PoseSeries:
    """landmarks: (T, 33, k) float, k = 2, 3 or 4; rows of NaN are missing frames."""

    t_s: Float64Array
    landmarks: Float64Array


@dataclass(frozen=True, slots=True)
class Track:
    """A bar or plate track. ``y_up`` tells the axis convention; ``meters_per_unit`` the scale if known."""

    t_s: Float64Array
    x: Float64Array
    y: Float64Array
    y_up: bool
    meters_per_unit: float | None
    plate_size: Float64Array | None


@dataclass(frozen=True, slots=True)
class Signal1D:
    t_s: Float64Array
    position: Float64Array


RecordedInput = PoseSeries | Track | Signal1D


def read_recorded(path: Path, fps: float | None) -> RecordedInput:
    """Load a signal file; raise SourceError naming the file and what is wrong."""
    if path.suffix.lower() == ".npy":
        return _read_npy(path, fps)
    if path.suffix.lower() == ".csv":
        return _read_csv(path)
    raise SourceError(f"{path}: not a signal file (.npy or .csv)")


def _read_npy(path: Path, fps: float | None) -> RecordedInput:
    try:
        data = np.asarray(np.load(path, allow_pickle=False), dtype=float)
    except (OSError, ValueError) as err:
        raise SourceError(f"{path}: cannot read .npy: {err}") from err
    if data.ndim != 2 or len(data) == 0:
        raise SourceError(f"{path}: expected a 2-D array, got shape {data.shape}")
    if data.shape[1] == SIGNAL_COLUMNS:
        return Signal1D(data[:, 0], data[:, 1])
    per_landmark = next((k for k in (4, 3, 2) if data.shape[1] >= POSE_LANDMARKS * k), None)
    if per_landmark is None:
        raise SourceError(f"{path}: {data.shape[1]} columns: expected 2 (t_s, position) or ≥ 66 (pose landmarks)")
    if fps is None or fps <= 0:
        raise SourceError(f"{path}: a pose series has no timestamps: give its frame rate with --fps")
    landmarks = data[:, : POSE_LANDMARKS * per_landmark].reshape(len(data), POSE_LANDMARKS, per_landmark)
    missing = ~data.any(axis=1)
    landmarks[missing] = np.nan
    return PoseSeries(np.arange(len(data)) / fps, landmarks)


def _read_csv(path: Path) -> RecordedInput:
    try:
        with path.open() as f:
            header = [h.strip().lower() for h in f.readline().split(",")]
        data = np.atleast_2d(np.genfromtxt(path, delimiter=",", skip_header=1, dtype=float))
    except (OSError, ValueError, UnicodeDecodeError) as err:
        raise SourceError(f"{path}: cannot read CSV: {err}") from err
    if data.size == 0 or data.shape[1] != len(header):
        raise SourceError(f"{path}: expected a header line and rows with {len(header)} values")
    col = {name: data[:, i] for i, name in enumerate(header)}
    t = col.get("t", col.get("t_s"))
    if t is None:
        raise SourceError(f"{path}: no time column (t or t_s) in header {header}")
    if "position" in col:
        return Signal1D(t, col["position"])
    for suffix, scale in (("_m", 1.0), ("_cm", 0.01)):
        if f"x{suffix}" in col and f"y{suffix}" in col:
            return Track(t, col[f"x{suffix}"], col[f"y{suffix}"], True, scale, None)
    if "x" in col and "y" in col:
        plate = col.get("plate_w")
        return Track(t, col["x"], col["y"], False, None, plate)
    raise SourceError(f"{path}: header {header}: expected t_s,position or t,x,y (optionally plate_w)")


def count_recorded(
    data: RecordedInput,
    exercise: Exercise | list[Exercise],
    *,
    min_range: float | None = None,
    set_end_rest_s: float | None = None,
) -> list[CountedSet]:
    """Run the streaming engine that fits the input, one sample at a time, and collect the sets.

    A pose series with several exercises, or ``auto``, has each set's exercise recognised among them.
    """
    timing = TimingOverrides(set_end_rest_s=set_end_rest_s)
    events: list[StationEvent] = []
    if isinstance(data, PoseSeries):
        named = exercise if isinstance(exercise, Exercise) and exercise is not Exercise.AUTO else None
        pose = (PoseRepEngine(named, timing=timing) if named is not None
                else RecognizingPoseCounter(exercise if isinstance(exercise, list) else None, timing=timing))
        for t_s, frame in zip(data.t_s, data.landmarks, strict=True):
            events += pose.update(float(t_s), None if np.isnan(frame).all() else frame)
        events += pose.finish(float(data.t_s[-1]))
        return counted_sets(events, named or Exercise.AUTO)
    if isinstance(data, Track) and (isinstance(exercise, list) or exercise is Exercise.AUTO):
        if data.meters_per_unit is None and data.plate_size is None:
            raise ConfigError("telling lifts apart needs metres: a track with a plate_w column, or in cm or m")
        lifts = RecognizingTrajectoryCounter(exercise if isinstance(exercise, list) else None,
                                             meters_per_unit=data.meters_per_unit, y_up=data.y_up, timing=timing)
        return counted_sets(_feed_track(lifts, data), Exercise.AUTO)
    if isinstance(exercise, list):
        raise ConfigError("a 1-D signal cannot tell exercises apart: name one exercise")
    if isinstance(data, Track):
        events += _feed_track(_trajectory_engine(data, exercise, min_range, timing), data)
    else:
        counter = RepCounter(timing.applied_to(CounterSettings(
            min_range=min_range or DEFAULT_SIGNAL_MIN_RANGE,
            rest_position=profile_for(exercise).rest_position,
        )))
        for t_s, position in zip(data.t_s, data.position, strict=True):
            ok = math.isfinite(position)
            events += counter.update(SignalSample(float(t_s), float(position)) if ok else None, float(t_s))
        events += counter.finish(float(data.t_s[-1]))
    return counted_sets(events, exercise)


def _feed_track(engine: TrajectoryRepEngine | RecognizingTrajectoryCounter, data: Track) -> list[StationEvent]:
    """Stream a whole bar track through an engine; every event it gives."""
    events: list[StationEvent] = []
    for i, t_s in enumerate(data.t_s):
        x, y = float(data.x[i]), float(data.y[i])
        seen = math.isfinite(x) and math.isfinite(y)
        plate = float(data.plate_size[i]) if data.plate_size is not None else None
        events += engine.update(float(t_s), x if seen else None, y if seen else None,
                                plate if plate is not None and math.isfinite(plate) else None)
    return events + engine.finish(float(data.t_s[-1]))


def _trajectory_engine(data: Track, exercise: Exercise, min_range: float | None,
                       timing: TimingOverrides) -> TrajectoryRepEngine:
    if data.meters_per_unit is None and data.plate_size is None and min_range is None:
        raise ConfigError("a track in image units needs a plate_w column (plate diameter, for metres) "
                          "or --min-range in its units")
    lift = exercise if exercise is not Exercise.AUTO else Exercise.SQUAT
    return TrajectoryRepEngine(lift, meters_per_unit=data.meters_per_unit, y_up=data.y_up, min_range=min_range,
                               rest_position=None if exercise is not Exercise.AUTO else "high", timing=timing)
