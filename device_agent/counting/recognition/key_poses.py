"""Each exercise's movement as joint angles at rest and at the turning point, and the generated bank.

The angles are written from how the exercises are performed (textbook technique, one to three
common variants), not fitted to recordings. The bank poses every motion at five points from rest
to turn, with two nuisance variants (arms carried a little away from the body, a wider stance),
seen from 16 directions around the person and 3 camera heights, and normalised per axis as the
observed frames are (:mod:`features`). Building it takes well under a second; it is cached.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cache

import numpy as np

from replens.arrays import Float64Array
from replens.contract.exercises import Exercise
from replens.device_agent.counting.recognition.body_model import (
    Joints,
    camera_rotations,
    landmarks_3d,
    project,
)
from replens.device_agent.counting.recognition.features import (
    BODY,
    DESCRIPTOR_SIZE,
    descriptor,
)

AZIMUTHS_DEG = np.arange(0.0, 360.0, 22.5)
ELEVATIONS_DEG = (-10.0, 10.0, 30.0)  # camera slightly below, at and above chest height
PHASES = np.linspace(0.0, 1.0, 5)  # rest ... turning point


@dataclass(frozen=True)
class Motion:
    """One way of doing an exercise: the pose at rest and at the turning point (right side optional)."""

    rest: Joints
    turn: Joints
    rest_right: Joints | None = None
    turn_right: Joints | None = None


J = Joints
_SQUAT_ARMS = (
    {"shoulder_flex": -20, "shoulder_abd": 70, "elbow": 120},  # bar on the back
    {"shoulder_flex": 20, "shoulder_abd": 10, "elbow": 140},  # goblet / front rack
)
_STANCE = {"hip_abd": 8, "hip_plane": 30}  # feet a little wider than the hips, toes and knees turned out
_SQUAT = tuple(
    Motion(J(pitch=5, hip_flex=5, knee=5, **_STANCE, **a), J(pitch=40, hip_flex=115, knee=115, **_STANCE, **a))
    for a in _SQUAT_ARMS
)
_SQUAT_BODYWEIGHT = Motion(  # arms reach forward for balance
    J(pitch=5, hip_flex=5, knee=5, shoulder_flex=10, elbow=10, **_STANCE),
    J(pitch=40, hip_flex=115, knee=115, shoulder_flex=90, elbow=5, **_STANCE),
)
_SITUP_ARMS = (
    {"shoulder_flex": 150, "shoulder_abd": 60, "elbow": 140},  # hands behind the head
    {"shoulder_flex": 30, "shoulder_abd": 0, "elbow": 140},  # crossed on the chest
    {"shoulder_flex": 60, "elbow": 0},  # reaching forward
)
_SEATED = {"hip_flex": 90, "knee": 90}
_ARM_DOWN = {"shoulder_flex": 5, "elbow": 10}

MOTIONS: dict[Exercise, tuple[Motion, ...]] = {
    Exercise.SQUAT: (*_SQUAT, _SQUAT_BODYWEIGHT),
    Exercise.LUNGE: (  # the right leg steps back and its knee sinks towards the floor
        Motion(J(**_ARM_DOWN), J(hip_flex=90, knee=90, **_ARM_DOWN), None, J(hip_flex=-15, knee=100, **_ARM_DOWN)),
        Motion(
            J(hip_flex=25, knee=5, **_ARM_DOWN),
            J(hip_flex=90, knee=90, **_ARM_DOWN),
            J(hip_flex=-20, knee=5, **_ARM_DOWN),
            J(hip_flex=-15, knee=100, **_ARM_DOWN),
        ),
    ),
    Exercise.DEADLIFT: (  # arms hang vertically: shoulder flexion equals the trunk's lean
        Motion(J(pitch=55, hip_flex=80, knee=60, shoulder_flex=55, elbow=0), J(elbow=0)),
    ),
    Exercise.LEG_PRESS: (
        Motion(
            J(pitch=-50, hip_flex=60, knee=10, shoulder_flex=20, elbow=30),
            J(pitch=-50, hip_flex=130, knee=100, shoulder_flex=20, elbow=30),
        ),
    ),
    Exercise.BENCH_PRESS: tuple(  # forearms stay vertical; the elbows drop out to the sides
        Motion(
            J(pitch=p, hip_flex=h, knee=k, shoulder_flex=90, shoulder_abd=10, forearm_flex=90, forearm_abd=10),
            J(pitch=p, hip_flex=h, knee=k, shoulder_flex=fl, shoulder_abd=ab, forearm_flex=90, forearm_abd=0),
        )
        for p, h, k, fl, ab in ((-90, 10, 90, 20, 65), (-85, 30, 100, 30, 50))
    ),
    Exercise.OVERHEAD_PRESS: (
        Motion(  # barbell: elbows in front of the bar
            J(shoulder_flex=30, shoulder_abd=50, forearm_flex=175, forearm_abd=5),
            J(shoulder_flex=170, shoulder_abd=10, forearm_flex=172, forearm_abd=10),
        ),
        Motion(  # dumbbells: elbows out to the sides
            J(shoulder_flex=10, shoulder_abd=85, forearm_flex=10, forearm_abd=175),
            J(shoulder_flex=10, shoulder_abd=165, forearm_flex=10, forearm_abd=170),
        ),
    ),
    Exercise.CHEST_PRESS: (
        Motion(
            J(pitch=-10, shoulder_flex=10, shoulder_abd=60, elbow=100, **_SEATED),
            J(pitch=-10, shoulder_flex=85, shoulder_abd=15, elbow=0, **_SEATED),
        ),
    ),
    Exercise.PUSH_UP: (  # hands stay under the shoulders, the body pivots on the toes
        Motion(
            J(pitch=75, shoulder_flex=75, shoulder_abd=15, forearm_flex=75, forearm_abd=15),
            J(pitch=85, shoulder_flex=25, shoulder_abd=35, forearm_flex=85, forearm_abd=5),
        ),
    ),
    Exercise.BARBELL_ROW: (
        Motion(
            J(pitch=50, hip_flex=50, knee=20, shoulder_flex=50, elbow=0),
            J(pitch=50, hip_flex=50, knee=20, shoulder_flex=-10, elbow=100),
        ),
    ),
    Exercise.LAT_PULLDOWN: (
        Motion(
            J(pitch=-10, shoulder_flex=10, shoulder_abd=155, forearm_flex=10, forearm_abd=160, **_SEATED),
            J(pitch=-10, shoulder_flex=10, shoulder_abd=60, forearm_flex=10, forearm_abd=170, **_SEATED),
        ),
    ),
    Exercise.SEATED_ROW: (
        Motion(
            J(hip_flex=85, knee=20, shoulder_flex=80, elbow=0),
            J(hip_flex=85, knee=20, shoulder_flex=10, elbow=100),
        ),
    ),
    Exercise.PULL_UP: (
        *(  # wide grip: the arms move in the frontal plane; legs straight or bent
            Motion(
                J(hip_flex=h, knee=k, shoulder_flex=10, shoulder_abd=150, forearm_flex=10, forearm_abd=155),
                J(hip_flex=h, knee=k, shoulder_flex=10, shoulder_abd=60, forearm_flex=10, forearm_abd=170),
            )
            for h, k in ((5, 10), (20, 70))
        ),
        Motion(  # chin-up: narrow underhand grip, elbows come down in front
            J(hip_flex=10, knee=30, shoulder_flex=170, shoulder_abd=10, elbow=0),
            J(hip_flex=10, knee=30, shoulder_flex=30, shoulder_abd=15, forearm_flex=175, forearm_abd=5),
        ),
    ),
    Exercise.BICEPS_CURL: (
        Motion(J(elbow=5), J(shoulder_flex=15, elbow=140)),
        Motion(J(elbow=5), J(shoulder_flex=15, elbow=140), None, J(elbow=5)),  # alternating arms
    ),
    Exercise.TRICEPS_PUSHDOWN: (Motion(J(pitch=10, shoulder_flex=5, elbow=100), J(pitch=10, elbow=0)),),
    Exercise.LEG_RAISE: (
        Motion(
            J(pitch=-90, shoulder_abd=10, elbow=0),
            J(pitch=-90, hip_flex=90, knee=5, shoulder_abd=10, elbow=0),
        ),
    ),
    Exercise.SITUP: tuple(  # the feet stay on the floor: hip flexion grows as the trunk rises
        Motion(J(pitch=-90, hip_flex=50, knee=100, head=10, **a), J(pitch=-20, hip_flex=120, knee=100, head=20, **a))
        for a in _SITUP_ARMS
    ),
    Exercise.FRONT_RAISE: (
        Motion(J(**_ARM_DOWN), J(shoulder_flex=90, elbow=10)),
        Motion(J(**_ARM_DOWN), J(shoulder_flex=90, shoulder_plane=35, elbow=10)),  # in the scapular plane
        Motion(J(**_ARM_DOWN), J(shoulder_flex=90, shoulder_plane=20, elbow=10), None, J(**_ARM_DOWN)),  # alternating
    ),
    Exercise.JUMPING_JACK: (Motion(J(shoulder_abd=5, hip_abd=3), J(shoulder_abd=165, hip_abd=20, elbow=10)),),
    Exercise.DIPS: tuple(  # hands on the bars beside the hips; the shoulders sink between them
        Motion(
            J(pitch=10, hip_flex=20, knee=k, shoulder_flex=5, forearm_flex=5, forearm_abd=5),
            J(pitch=20, hip_flex=20, knee=k, shoulder_flex=-50, forearm_flex=20, forearm_abd=5),
        )
        for k in (5, 70)
    ),
}


def _nuisance(j: Joints, kind: int) -> Joints:
    """A nuisance variant of a pose.

    0: as written; 1: arms carried 12 degrees further out (unless abduction is the movement);
    2: a stance 7 degrees wider.
    """
    if kind == 1:
        arm = j.shoulder_abd + 12.0 if j.shoulder_abd < 30.0 else j.shoulder_abd
        fore = j.forearm_abd + 12.0 if j.forearm_abd < 30.0 else j.forearm_abd  # NaN stays NaN
        return replace(j, shoulder_abd=arm, forearm_abd=fore)
    if kind == 2:
        return replace(j, hip_abd=j.hip_abd + 7.0)
    return j


def _poses(motion: Motion, kind: int) -> Float64Array:
    """(len(PHASES), 33, 3) world points from rest to turn for one nuisance variant."""
    rest, turn = _nuisance(motion.rest, kind), _nuisance(motion.turn, kind)
    rest_r = _nuisance(motion.rest_right, kind) if motion.rest_right else None
    turn_r = _nuisance(motion.turn_right, kind) if motion.turn_right else None
    out = []
    for t in PHASES:
        left = rest.towards(turn, float(t))
        right = None
        if rest_r is not None or turn_r is not None:
            right = (rest_r or rest).towards(turn_r or turn, float(t))
        out.append(landmarks_3d(left, right))
    return np.array(out)


@cache
def key_pose_bank(exercise: Exercise) -> Float64Array:
    """(n_templates, len(PHASES), DESCRIPTOR_SIZE) descriptors of an exercise's generated poses.

    A template is one motion, nuisance variant and camera view; its rows are the phases from rest
    to turn. Empty for ``auto``.
    """
    motions = MOTIONS.get(exercise, ())
    if not motions:
        return np.zeros((0, len(PHASES), DESCRIPTOR_SIZE))
    rotations = camera_rotations(AZIMUTHS_DEG, ELEVATIONS_DEG)
    poses = np.array([_poses(m, kind) for m in motions for kind in range(3)])  # (n_var, phases, 33, 3)
    xy = project(poses, rotations)  # (views, n_var, phases, 33, 2)
    lo = xy.min(axis=-2, keepdims=True)
    span = np.maximum(xy.max(axis=-2, keepdims=True) - lo, 1e-9)
    rows = ((xy - lo) / span)[..., BODY, :].reshape(*xy.shape[:3], -1)
    desc = descriptor(rows)  # (views, n_var, phases, D)
    out: Float64Array = np.ascontiguousarray(desc.transpose(1, 0, 2, 3).reshape(-1, len(PHASES), DESCRIPTOR_SIZE))
    return out
