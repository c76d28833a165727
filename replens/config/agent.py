"""``agents:`` camera boxes, their frame source and the stations each one watches."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, ClassVar, Literal

from pydantic import AfterValidator, BeforeValidator, Field, SecretStr, ValidationInfo, field_validator, model_validator

from replens.config.base import StrictModel
from replens.contract.events import Id
from replens.contract.exercises import BARBELL_LIFTS, Exercise
from replens.contract.load import LoadUnit

Fraction = Annotated[float, Field(ge=0.0, le=1.0)]


def _inside_frame(roi: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    x, y, w, h = roi
    if w <= 0 or h <= 0 or x + w > 1.0 + 1e-9 or y + h > 1.0 + 1e-9:
        raise ValueError("roi must have positive size and lie inside the frame (x+w <= 1, y+h <= 1)")
    return roi


Region = Annotated[tuple[Fraction, Fraction, Fraction, Fraction], AfterValidator(_inside_frame)]
"""x, y, width, height as fractions of the frame."""
Point = tuple[Fraction, Fraction]
MIN_ZONE_AREA = 1e-6  # of the frame: below this a zone is a line or a point, not a place


def _cross(o: tuple[float, float], a: tuple[float, float], b: tuple[float, float]) -> float:
    return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])


def _on_segment(p: tuple[float, float], a: tuple[float, float], b: tuple[float, float]) -> bool:
    return min(a[0], b[0]) <= p[0] <= max(a[0], b[0]) and min(a[1], b[1]) <= p[1] <= max(a[1], b[1])


def _segments_meet(a: tuple[float, float], b: tuple[float, float], c: tuple[float, float],
                   d: tuple[float, float]) -> bool:
    """True when segments ab and cd share any point, touching and collinear overlap included."""
    d1, d2, d3, d4 = _cross(c, d, a), _cross(c, d, b), _cross(a, b, c), _cross(a, b, d)
    if ((d1 > 0 > d2) or (d1 < 0 < d2)) and ((d3 > 0 > d4) or (d3 < 0 < d4)):
        return True
    return any(
        side == 0 and _on_segment(p, s, e)
        for side, p, s, e in ((d1, a, c, d), (d2, b, c, d), (d3, c, a, b), (d4, d, a, b))
    )


def _xy(point: tuple[float, float]) -> str:
    return f"({point[0]:g}, {point[1]:g})"


def polygon_problem(points: Sequence[tuple[float, float]]) -> str | None:
    """Why ``points`` (x, y fractions, in order around the edge) is not a usable zone; None when it is.

    Pure Python so that the config package stays free of numpy; zones have a handful of points.
    """
    n = len(points)
    if n < 3:
        return f"a zone needs at least 3 points, got {n}"
    for i in range(n):
        if points[i] == points[(i + 1) % n]:
            return f"the zone repeats the point {_xy(points[i])} right after itself"
    for k in range(n):  # neighbouring edges share a corner; they may only not run back along each other
        prev, corner, after = points[k - 1], points[k], points[(k + 1) % n]
        back = (prev[0] - corner[0]) * (after[0] - corner[0]) + (prev[1] - corner[1]) * (after[1] - corner[1])
        if _cross(corner, prev, after) == 0 and back > 0:
            return f"the zone's edges fold back on each other at {_xy(corner)}"
    for i in range(n):
        for j in range(i + 2, n - (i == 0)):
            a, b, c, d = points[i], points[(i + 1) % n], points[j], points[(j + 1) % n]
            if _segments_meet(a, b, c, d):
                return (f"the zone's edges {_xy(a)}-{_xy(b)} and {_xy(c)}-{_xy(d)} cross or touch; "
                        "list the points in order around the edge")
    area = 0.5 * abs(sum(_cross((0.0, 0.0), points[i], points[(i + 1) % n]) for i in range(n)))
    if area < MIN_ZONE_AREA:
        return "the zone encloses (almost) no area: its points lie on one line or close together"
    return None


class SourceConfig(StrictModel):
    """Where the agent's frames come from."""

    url: str | int = Field(
        description="A video file (relative to the config file), a camera index (0) or an rtsp:// or http:// URL."
    )
    realtime: bool = Field(
        default=True,
        description="Pace a video file at its frame rate, as a camera would. Off reads files as fast as possible.",
    )
    loop: bool = Field(default=False, description="Start a video file again at its end (for demos and soak tests).")
    fps_limit: float | None = Field(
        default=None, gt=0, le=240, description="Drop frames above this rate; lower saves CPU, costs timing precision."
    )


class StackTrackerConfig(StrictModel):
    """Model-free weight-stack tracker: optical flow inside a region over the stack."""

    type: Literal["stack"] = "stack"
    roi: Region | None = Field(
        default=None,
        description="Region over the weight stack as x, y, width, height fractions of the frame; null = whole frame.",
    )
    axis: Literal["auto", "vertical", "horizontal"] = Field(
        default="auto", description="Direction of motion; auto finds the dominant direction."
    )

    refused_counter_keys: ClassVar[dict[str, str]] = {}
    """``counter:`` keys this tracker has no use for, with what to do instead (a stack uses them all)."""


class PoseTrackerConfig(StrictModel):
    """Body pose (BlazePose on OpenVINO); the exercise profile picks the joints that carry the rep."""

    type: Literal["pose"] = "pose"
    device: Literal["CPU", "GPU", "NPU", "AUTO"] = Field(
        default="CPU", description="OpenVINO device; GPU/NPU take load off the CPU where the box has them."
    )
    precision: Literal["f32", "f16", "bf16"] = Field(
        default="f32", description="Inference precision; bf16 is faster on recent CPUs but moves landmarks."
    )
    threads: int = Field(default=1, ge=1, le=64, description="Inference threads; more is faster, starves others.")

    refused_counter_keys: ClassVar[dict[str, str]] = {
        "min_range": "a pose station's smallest rep follows the movement's own range, above the exercise "
        "profile's floor (degrees or torso lengths)",
        "rest_position": "the exercise profile says where the pose signal rests",
        "meters_per_unit": "pose signals are joint angles and torso lengths, with no scale to metres",
    }


class ObjectDetectorConfig(StrictModel):
    """A user-supplied OpenVINO object detector (IR .xml/.bin or ONNX) that finds the plate or bar end."""

    model: Path = Field(description="Model file (.xml with its .bin beside it, or .onnx), relative to this file.")
    output: Literal["auto", "ssd", "yolo"] = Field(
        default="auto", description="Output layout: SSD DetectionOutput [1,1,N,7] or YOLO; auto reads the shape."
    )
    labels: list[int] | None = Field(default=None, description="Class ids to keep (the model's numbering).")
    score_threshold: float = Field(default=0.5, ge=0, le=1, description="Lower finds more, and more clutter.")
    iou_threshold: float = Field(default=0.45, gt=0, le=1, description="Overlap that non-maximum suppression merges.")
    input_size: tuple[int, int] | None = Field(default=None, description="Network input (width, height); null: read.")
    mean_values: tuple[float, float, float] = Field(default=(0.0, 0.0, 0.0), description="Subtracted per channel.")
    scale: float = Field(default=1.0, gt=0, description="Divisor after the mean (255 for 0..1 inputs).")
    rgb: bool = Field(default=False, description="Feed RGB instead of OpenCV's BGR.")
    layout: Literal["auto", "NCHW", "NHWC"] = "auto"
    resize: Literal["stretch", "letterbox"] | None = Field(
        default=None, description="How frames fit the input; null: stretch for SSD, letterbox for YOLO."
    )
    device: Literal["CPU", "GPU", "NPU", "AUTO"] = "CPU"
    precision: Literal["f32", "f16", "bf16"] = "f32"
    threads: int = Field(default=1, ge=1, le=64)


class BarbellTrackerConfig(StrictModel):
    """The bar's plate in a side view: found as a circle (no model needed) or by an object detector."""

    type: Literal["barbell"] = "barbell"
    roi: Region | None = Field(
        default=None, description="Where the plate moves, as x, y, width, height fractions. Set it: a tight "
        "region keeps round things on the wall from being taken for the bar and keeps the circle search fast.",
    )
    detector: ObjectDetectorConfig | None = Field(
        default=None, description="Leave out to find the plate as a circle, with no trained model."
    )
    plate_diameter_m: float = Field(
        default=0.45, gt=0.05, le=1.0, description="Real plate diameter: the scale for metres and velocities."
    )
    rest_position: Literal["low", "high"] | None = Field(
        default=None, description="Where the bar rests between reps; null: from the exercise (high for squat)."
    )
    min_rom_m: float = Field(default=0.12, gt=0, description="Smallest bar travel that counts as a rep.")

    refused_counter_keys: ClassVar[dict[str, str]] = {
        "min_range": "set tracker.min_rom_m, the smallest bar travel in metres",
        "rest_position": "set tracker.rest_position",
    }


TrackerConfig = Annotated[
    StackTrackerConfig | PoseTrackerConfig | BarbellTrackerConfig, Field(discriminator="type")
]


class CounterConfig(StrictModel):
    """How the signal becomes reps and sets; parameters belong to a station, never to one video.

    The timings apply to every station. ``min_range``, ``rest_position`` and ``meters_per_unit``
    describe a weight stack's signal: a pose or barbell station refuses the ones it has no use for.
    """

    min_range: float | None = Field(
        default=None,
        gt=0,
        description="Smallest excursion that counts as a rep, in pixels of stack travel; null: 20. Higher rejects "
        "fidgeting but misses short partial reps. Weight stacks only (pose: follows the movement; barbell: "
        "tracker.min_rom_m).",
    )
    rest_position: Literal["low", "high"] | None = Field(
        default=None,
        description="Where the signal rests between reps; null: low, as a weight stack does. Weight stacks only "
        "(pose: the exercise profile; barbell: tracker.rest_position).",
    )
    min_rep_s: float | None = Field(
        default=None,
        gt=0,
        description="Faster cycles are treated as noise; null: 0.4 s for a weight stack, the exercise profile's for "
        "pose, 0.6 s for a barbell.",
    )
    max_rep_s: float | None = Field(
        default=None,
        gt=0,
        description="Slower excursions are set-up movement, not reps; null: 15 s for a weight stack or a barbell, "
        "the exercise profile's for pose.",
    )
    set_end_rest_s: float = Field(
        default=20.0, gt=0, description="A set ends after this long without a rep. Higher merges sets split by a pause."
    )
    settle_s: float = Field(
        default=0.4, gt=0, description="Time at rest that completes the last rep; higher is surer, reports later."
    )
    smoothing_s: float = Field(default=0.1, ge=0, description="Smoothing time constant; higher rejects jitter, lags.")
    max_gap_s: float = Field(
        default=1.0, gt=0, description="Gaps in the signal longer than this drop the rep in progress."
    )
    meters_per_unit: float | None = Field(
        default=None,
        gt=0,
        description="Scale of the signal, for range of motion in metres and velocities: metres per pixel of stack "
        "travel, or a barbell's fixed scale instead of the plate's size. Not for pose stations.",
    )


def exercise_choice(value: object) -> object:
    """One exercise name, a list of them, or ``auto``; every bad name reported with a did-you-mean.

    A list of one is that exercise. ``auto`` is not allowed in a list (it already means every exercise).
    """
    names = value if isinstance(value, list) else [value]
    if not names:
        raise ValueError("an empty list names no exercise: name one, list several, or say auto")
    known = [e.value for e in Exercise]
    bad = [n for n in names if not isinstance(n, str) or n not in known]
    if bad:
        raise ValueError("; ".join(_unknown_exercise(n, known) for n in bad))
    chosen = [Exercise(str(n)) for n in names]
    if len(chosen) > 1 and Exercise.AUTO in chosen:
        raise ValueError("auto cannot be in a list: it already means every exercise")
    twice = sorted({e.value for e in chosen if chosen.count(e) > 1})
    if twice:
        raise ValueError(f"{', '.join(twice)} listed more than once")
    return chosen[0] if len(chosen) == 1 else chosen


def _unknown_exercise(name: object, known: list[str]) -> str:
    close = difflib.get_close_matches(str(name), known, n=1, cutoff=0.6)
    hint = f"; did you mean '{close[0]}'?" if close else f" (known: {', '.join(known)})"
    return f"unknown exercise {name!r}{hint}"


class StationConfig(StrictModel):
    """One exercise place watched by a camera."""

    exercise: Annotated[Exercise | list[Exercise], BeforeValidator(exercise_choice)] = Field(
        description="What is done here: one exercise profile name (e.g. lat_pulldown, squat), a list of the "
        "exercises this station hosts (e.g. [squat, bench_press, overhead_press]; each set's exercise is then "
        "recognised among them), or auto for any known profile. Telling exercises apart needs a pose tracker; "
        "more candidates cost a little CPU per frame and are confused more often than a short, true list.",
    )
    tracker: TrackerConfig = Field(default_factory=StackTrackerConfig)
    counter: CounterConfig = Field(default_factory=CounterConfig)
    weight_kg: float | None = Field(
        default=None,
        ge=0,
        le=2000,
        description="The station's starting load in kg (always kg, whatever units says). Sets carry the current "
        "load; it changes with a set_load command (Home Assistant's number, replens stations load, MQTT), which "
        "the agent keeps across restarts and which then wins over this value. null = unknown, volume 0.",
    )
    units: LoadUnit = Field(
        default=LoadUnit.KG,
        description="The unit people enter and read this station's load in (kg or lb): Home Assistant's load "
        "number and replens stations load without --unit. RepLens stores kilograms either way.",
    )
    end_set_at_velocity_loss_pct: float | None = Field(
        default=None,
        gt=0,
        lt=100,
        description="Velocity-loss target in percent (e.g. 20): when a set's loss from its fastest rep's mean "
        "concentric velocity to the latest rep's first reaches it, the agent sends one velocity_loss cue, and Home "
        "Assistant's velocity_loss event entity of this station fires (play a sound, flash a light). Needs reps "
        "with a velocity (a barbell, or a stack with meters_per_unit). null = no cue; see docs/load.md.",
    )
    recognise_faces: bool = Field(
        default=False,
        description="Recognise faces seen at this station (needs replens[identity] and the member gallery on this "
        "box): the surest attribution of a set, at some CPU cost per frame.",
    )
    zone: list[Point] | None = Field(
        default=None,
        description="Polygon around this station as [x, y] fractions of the frame (0..1, x right, y down), at "
        "least 3 points in order around its edge, not crossing itself. Only what happens inside counts (a "
        "person's mid-hips, else mid-shoulders; the moving stack), so one camera can watch several stations. "
        "Pose stations run the model on just this part of the frame plus a margin: faster, and neighbours stay "
        "unseen; too tight a zone loses a lifter who steps out of it. A stack station without a roi tracks the "
        "zone's bounding box. null = the whole frame.",
    )

    @property
    def candidates(self) -> tuple[Exercise, ...] | None:
        """The exercises a set here may be: the one named, the ones listed, or None for any profile (auto)."""
        if isinstance(self.exercise, list):
            return tuple(self.exercise)
        return None if self.exercise is Exercise.AUTO else (self.exercise,)

    @property
    def recognises(self) -> bool:
        """Sets here are told apart by their movement: several candidates, or auto at a pose or barbell station."""
        telling = self.tracker.type in ("pose", "barbell")
        return isinstance(self.exercise, list) or (telling and self.exercise is Exercise.AUTO)

    @property
    def named(self) -> Exercise:
        """The exercise a set is called before any recognition: the one named, else auto."""
        return self.exercise if isinstance(self.exercise, Exercise) else Exercise.AUTO

    @field_validator("tracker")
    @classmethod
    def _recognition_needs_pose_or_a_bar(cls, tracker: TrackerConfig, info: ValidationInfo) -> TrackerConfig:
        exercise = info.data.get("exercise")
        if not isinstance(exercise, list):
            return tracker
        if tracker.type == "stack":
            raise ValueError(f"a stack tracker cannot tell exercises apart: name one exercise "
                             f"(not {', '.join(exercise)}), or use a pose tracker to recognise it among several")
        if tracker.type == "barbell" and not set(exercise) <= BARBELL_LIFTS:
            others = ", ".join(e for e in exercise if e not in BARBELL_LIFTS)
            raise ValueError(f"a barbell tracker tells only barbell lifts apart ({', '.join(sorted(BARBELL_LIFTS))}), "
                             f"not {others}: use a pose tracker for those")
        return tracker

    @field_validator("counter")
    @classmethod
    def _counter_fits_tracker(cls, counter: CounterConfig, info: ValidationInfo) -> CounterConfig:
        tracker = info.data.get("tracker")
        if tracker is None:  # the tracker itself is invalid, and its own error says why
            return counter
        for key, instead in tracker.refused_counter_keys.items():
            if getattr(counter, key) is not None:
                raise ValueError(f"{key} does not apply to a {tracker.type} station: {instead}")
        return counter

    @field_validator("end_set_at_velocity_loss_pct")
    @classmethod
    def _target_needs_velocities(cls, target: float | None, info: ValidationInfo) -> float | None:
        """A target at a station whose reps carry no velocity would never cue: say so now, not by silence."""
        tracker, counter = info.data.get("tracker"), info.data.get("counter")
        if target is None or tracker is None or counter is None:  # their own errors say why
            return target
        if tracker.type == "pose":
            raise ValueError("a pose station measures no bar velocity, so it cannot end a set at a velocity loss")
        if tracker.type == "stack" and counter.meters_per_unit is None:
            raise ValueError("a weight stack's reps have a velocity only with counter.meters_per_unit: set it too")
        return target

    @field_validator("zone")
    @classmethod
    def _simple_polygon(cls, zone: list[tuple[float, float]] | None) -> list[tuple[float, float]] | None:
        problem = None if zone is None else polygon_problem(zone)
        if problem is not None:
            raise ValueError(problem)
        return zone


class EntranceConfig(StrictModel):
    """An entrance camera: recognises members as they arrive, for presence and attribution."""

    camera: Id = Field(default="entrance", description="Name of this entrance in visits and presence.")
    process_fps: float = Field(
        default=5.0, gt=0, le=60, description="Frames a second analysed; higher decides faster, costs CPU."
    )
    appearance: bool = Field(
        default=True,
        description="Also record clothing colour (pose model) so sets can be told apart when several members are in.",
    )


class AgentConfig(StrictModel):
    """One camera box: its source and its stations, or an entrance."""

    source: SourceConfig
    stations: dict[Id, StationConfig] = Field(
        default_factory=dict, description="Stations this camera watches, by id."
    )
    entrance: EntranceConfig | None = Field(
        default=None, description="Make this camera an entrance camera (needs replens[identity])."
    )
    data_dir: Path | None = Field(default=None, description="Outbox folder; default <data_dir>/agents/<agent id>.")
    mqtt_username: str | None = Field(
        default=None, description="This agent's own broker account (overrides mqtt.username), so ACLs can fence it."
    )
    mqtt_password: SecretStr | None = Field(default=None, description="Password of mqtt_username.")
    stats_interval_s: float = Field(default=30.0, ge=1, le=3600, description="How often health goes to <prefix>/stats.")

    @model_validator(mode="after")
    def _has_a_job(self) -> AgentConfig:
        if not self.stations and self.entrance is None:
            raise ValueError("an agent needs at least one station or an entrance")
        return self
