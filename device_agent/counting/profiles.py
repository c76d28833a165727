"""Exercise profiles: what moves in each exercise, where it rests, and how long a rep may take.

One profile per :class:`Exercise`, written from biomechanics, not fitted to any recording:

* ``pose`` says which joints carry the rep. The pose engine turns it into one number per frame:
  the sum of joint angles in degrees (angles need no body-size unit and survive pixel or normalised
  coordinates), or a vertical offset between two landmarks in torso lengths.
* ``pose.rest_position`` is where *that pose signal* sits between reps ("high" = larger value).
* ``rest_position`` (top level) is where the *load* sits between reps in image-up terms: the bar
  for barbell lifts, the weight stack for machines, the body for body-weight work. The trajectory
  engine reads it, with ``min_rep_s`` / ``max_rep_s``, for bar and stack tracks. Weight stacks
  always rest low; ``load`` says what the load is.
* ``head_fallback``: the whole body moves up and down with each rep, so when the profile's joints are
  out of sight (a close camera), the height of the head and shoulders in the frame carries the rep.
* The smallest rep is the larger of ``pose.min_range`` (an absolute floor in signal units: degrees
  or torso lengths, so noise on a still pose never counts) and ``rel_min_range`` times the recent
  robust amplitude of the signal (pose signals have no fixed scale across camera views).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from replens.contract.exercises import Exercise

Rest = Literal["low", "high"]
Side = Literal["shoulder", "elbow", "wrist", "hip", "knee", "ankle", "nose"]

# MediaPipe BlazePose indices as (left, right) pairs; the nose has no side.
LANDMARKS: dict[str, tuple[int, int]] = {
    "nose": (0, 0),
    "shoulder": (11, 12),
    "elbow": (13, 14),
    "wrist": (15, 16),
    "hip": (23, 24),
    "knee": (25, 26),
    "ankle": (27, 28),
}
# Joint angles as (proximal, vertex, distal): flexion makes the angle smaller.
JOINTS: dict[str, tuple[Side, Side, Side]] = {
    "elbow": ("shoulder", "elbow", "wrist"),
    "shoulder": ("hip", "shoulder", "elbow"),  # arm elevation: 0 = arm down along the body
    "hip": ("shoulder", "hip", "knee"),
    "knee": ("hip", "knee", "ankle"),
}


@dataclass(frozen=True)
class PoseSignal:
    """How a pose becomes the 1-D signal the rep counter sees.

    Attributes:
        joints: joint angles (names in :data:`JOINTS`) summed, each the mean of left and right.
        height: alternatively (``joints`` empty), ``(upper, lower)``: how far ``upper`` is above
            ``lower`` in torso lengths (mean of both sides).
        rest_position: where this signal sits between reps.
        min_range: absolute floor of a rep in signal units (degrees, or torso lengths).
        split_lagging: when the median-filtered signal comes back to rest and leaves again while
            the smoothed one lags above the return band (fast reps), count two reps instead of
            dropping the excursion as chatter. Height signals of large segments are steady enough
            for that; summed joint angles jitter near full extension (occluded elbows and hips), so
            there the excursion stays dropped.
    """

    joints: tuple[str, ...] = ()
    height: tuple[Side, Side] | None = None
    rest_position: Rest = "high"
    min_range: float = 20.0
    split_lagging: bool = False

    def __post_init__(self) -> None:
        if bool(self.joints) == (self.height is not None):
            raise ValueError("a PoseSignal needs joints or a height, not both")
        unknown = [j for j in self.joints if j not in JOINTS]
        if unknown:
            raise ValueError(f"unknown joints {unknown}")


@dataclass(frozen=True)
class ExerciseProfile:
    """Everything exercise-specific the counters need; see the module docstring for the fields."""

    exercise: Exercise
    pose: PoseSignal | None  # None: find the dominant motion (``auto``)
    rest_position: Rest  # where the load (bar, stack, body) rests, image-up
    load: Literal["barbell", "stack", "body", "dumbbell", "unknown"]
    min_rep_s: float = 0.5
    max_rep_s: float = 10.0
    rel_min_range: float = 0.4  # smallest rep as a fraction of the recent robust amplitude
    head_fallback: bool = False  # the body moves up and down with the rep: the head's height can carry it


def _angles(*joints: str, rest: Rest, floor: float = 25.0) -> PoseSignal:
    return PoseSignal(joints=joints, rest_position=rest, min_range=floor * len(joints) ** 0.5)


def _height(upper: Side, lower: Side, *, rest: Rest, floor: float = 0.15) -> PoseSignal:
    return PoseSignal(height=(upper, lower), rest_position=rest, min_range=floor, split_lagging=True)


_P = ExerciseProfile
_E = Exercise
PROFILES: dict[Exercise, ExerciseProfile] = {
    p.exercise: p
    for p in (
        # Legs: standing (hip and knee extended) is rest; the bar rests high on the back. Seen from the
        # front the thighs come towards the camera, and the hip angle in the image opens by only about
        # 26 degrees: the floor is 20, not 25. (Hip and knee angles summed, or the hip's height above the
        # ankles in torso lengths, counted RepCount-A's squats worse: MAE 0.29 and 0.53 against 0.16.)
        _P(_E.SQUAT, _angles("hip", rest="high", floor=20.0), "high", "barbell", 0.5, 10.0, head_fallback=True),
        _P(_E.LUNGE, _angles("hip", "knee", rest="high"), "high", "body", 0.3, 10.0, head_fallback=True),
        # Conventional deadlift: every rep starts from the floor, hips flexed.
        _P(_E.DEADLIFT, _angles("hip", "knee", rest="low"), "low", "barbell", 0.3, 10.0, head_fallback=True),
        # Sled or stack: the legs lock out between reps, the stack is down when the knees bend.
        _P(_E.LEG_PRESS, _angles("knee", "hip", rest="high"), "low", "stack", 0.3, 10.0),
        # Presses: arms locked out between reps (bench), bar racked at the shoulders (overhead).
        _P(_E.BENCH_PRESS, _angles("elbow", rest="high"), "high", "barbell", 0.5, 12.0),
        _P(_E.OVERHEAD_PRESS, _angles("elbow", "shoulder", rest="low"), "low", "barbell", 0.3, 10.0),
        _P(_E.CHEST_PRESS, _angles("elbow", rest="low"), "low", "stack", 0.3, 10.0),
        # Push-up depth is the shoulder coming down to the elbow (upper arm level with the floor).
        _P(_E.PUSH_UP, _height("shoulder", "elbow", rest="high"), "high", "body", 0.3, 8.0, head_fallback=True),
        # Pulls: arms extended between reps; the load hangs or the stack sits.
        _P(_E.BARBELL_ROW, _angles("elbow", rest="high"), "low", "barbell", 0.3, 8.0),
        _P(_E.LAT_PULLDOWN, _angles("elbow", rest="high"), "low", "stack", 0.3, 10.0),
        _P(_E.SEATED_ROW, _angles("elbow", rest="high"), "low", "stack", 0.3, 10.0),
        # Pull-up: the elbows travel from overhead (hanging) down past the shoulders (chin over the
        # bar); the hands stay on the bar, so the upper arm carries the rep, not the wrists.
        _P(_E.PULL_UP, _height("elbow", "shoulder", rest="high"), "low", "body", 0.6, 10.0, head_fallback=True),
        # Arm isolation: the curl starts extended, the pushdown starts flexed.
        _P(_E.BICEPS_CURL, _angles("elbow", rest="high"), "low", "dumbbell", 0.3, 8.0),
        _P(_E.TRICEPS_PUSHDOWN, _angles("elbow", rest="low"), "low", "stack", 0.3, 8.0),
        # Dips: the body rests at the top on straight arms and sinks by bending the elbows. The same
        # elbow angle as a pushdown, but resting at the other end: counted with the pushdown's profile,
        # the rep would run bottom to bottom and split every pause at the top (issue 14).
        _P(_E.DIPS, _angles("elbow", rest="high"), "high", "body", 0.3, 8.0, head_fallback=True),
        # Lying leg raise: legs straight along the floor (hip open) between reps, raised by hip flexion;
        # the squat's hip-angle signal, floor included (the same foreshortening seen end on).
        _P(_E.LEG_RAISE, _angles("hip", rest="high", floor=20.0), "low", "body", 0.5, 10.0),
        # Trunk: lying (hip open) between sit-ups.
        _P(_E.SITUP, _height("nose", "hip", rest="low"), "low", "body", 0.3, 8.0, head_fallback=True),
        # Arm elevation from the side of the body.
        # The upper arm's elevation: the elbow rises to shoulder height. Hands holding a weight
        # are the jitteriest, most often occluded landmarks, so the elbow is the steadier marker.
        _P(_E.FRONT_RAISE, _height("elbow", "shoulder", rest="low"), "low", "dumbbell", 0.3, 8.0),
        _P(_E.JUMPING_JACK, _angles("shoulder", rest="low"), "low", "body", 0.3, 4.0),
        _P(_E.AUTO, None, "low", "unknown", 0.4, 10.0),
    )
}


def profile_for(exercise: Exercise | str) -> ExerciseProfile:
    """The profile of an exercise name (``Exercise`` or its string value)."""
    return PROFILES[Exercise(exercise)]
