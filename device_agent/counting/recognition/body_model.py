"""A 3D stick body that poses like a person and is seen like BlazePose sees one: generated key poses.

The recogniser is not trained on recordings (RepCount-A and the other eval sets have no licence that
allows it). It compares what it sees with poses generated here from joint angles written down from
biomechanics (:mod:`key_poses`), seen from many camera directions and normalised exactly as the
observed frames are. Nothing in this module is fitted to data.

Body frame (torso units: mid-hip to mid-shoulder = 1, about 0.5 m): x to the person's left, y up
the trunk, z forward (where the face points). A limb direction is "hanging down" rotated forward by
its flexion and then out to the side by its abduction, both in degrees.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace

import numpy as np
import numpy.typing as npt

from replens.arrays import Float64Array

N_LANDMARKS = 33
_DOWN = np.array([0.0, -1.0, 0.0])
# segment lengths in torso units (adult proportions)
_HIP_HALF, _SHOULDER_HALF = 0.17, 0.37
_UPPER_ARM, _FOREARM, _HAND = 0.6, 0.55, 0.15
_THIGH, _SHIN, _FOOT = 0.9, 0.9, 0.2
_NECK = np.array([0.0, 1.05, 0.0])
# face points (BlazePose 0..10) in the trunk frame before the head turns: nose, eyes, ears, mouth
_FACE = {
    0: (0.0, 1.38, 0.11),
    1: (0.03, 1.42, 0.09),
    2: (0.05, 1.42, 0.08),
    3: (0.07, 1.42, 0.07),
    4: (-0.03, 1.42, 0.09),
    5: (-0.05, 1.42, 0.08),
    6: (-0.07, 1.42, 0.07),
    7: (0.1, 1.40, -0.01),
    8: (-0.1, 1.40, -0.01),
    9: (0.03, 1.32, 0.09),
    10: (-0.03, 1.32, 0.09),
}


def _rx(deg: float) -> Float64Array:
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])


def _ry(deg: float) -> Float64Array:
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def _rz(deg: float) -> Float64Array:
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def limb_direction(flexion: float, abduction: float, side: float, plane: float = 0.0) -> Float64Array:
    """Unit vector of a limb in the trunk frame; ``side`` is +1 for the left, -1 for the right.

    Flexion swings the limb forward in a vertical plane turned ``plane`` degrees out from straight
    ahead (knees tracking over turned-out toes, arms raised in the scapular plane); abduction then
    lifts it out to the side.
    """
    out: Float64Array = _rz(side * abduction) @ _ry(side * plane) @ _rx(-flexion) @ _DOWN
    return out


@dataclass(frozen=True)
class Joints:
    """One side's joint angles in degrees, plus the whole-body angles (taken from the left side).

    Attributes:
        pitch: trunk in the world: 0 upright, + leaning forward, -90 lying on the back, +90 face down.
        head: head flexion (chin to chest) about the neck.
        shoulder_flex, shoulder_abd: upper arm direction (0, 0 = hanging along the trunk).
        shoulder_plane: the arm's flexion plane, turned out from straight ahead (0 = sagittal).
        elbow: elbow flexion, bending the forearm forward in the arm's plane...
        forearm_flex, forearm_abd: ...unless the forearm's own direction is given (NaN = not given),
            for elbows that bend out to the side (pull-up, bench press bottom).
        hip_flex, hip_abd: thigh direction; knee: knee flexion (the shin bends back).
        hip_plane: the leg's flexion plane, turned out (a squat's knees follow turned-out toes).
    """

    pitch: float = 0.0
    head: float = 0.0
    shoulder_flex: float = 0.0
    shoulder_abd: float = 5.0
    shoulder_plane: float = 0.0
    elbow: float = 5.0
    forearm_flex: float = math.nan
    forearm_abd: float = math.nan
    hip_flex: float = 0.0
    hip_abd: float = 3.0
    hip_plane: float = 0.0
    knee: float = 0.0

    def towards(self, other: Joints, t: float) -> Joints:
        """The pose a fraction ``t`` of the way to ``other`` (angles interpolated linearly)."""
        values = {}
        for f in fields(self):
            a, b = getattr(self, f.name), getattr(other, f.name)
            if math.isnan(a) or math.isnan(b):
                values[f.name] = b if math.isnan(a) else a
            else:
                values[f.name] = a + (b - a) * t
        return replace(self, **values)


def landmarks_3d(left: Joints, right: Joints | None = None) -> Float64Array:
    """(33, 3) BlazePose-ordered points in the world (y up) for one pose; ``right`` defaults to ``left``."""
    pts = np.zeros((N_LANDMARKS, 3))
    for side, offset, j in ((1.0, 0, left), (-1.0, 1, right or left)):
        hip = np.array([_HIP_HALF * side, 0.0, 0.0])
        shoulder = np.array([_SHOULDER_HALF * side, 1.0, 0.0])
        upper = limb_direction(j.shoulder_flex, j.shoulder_abd, side, j.shoulder_plane)
        if math.isnan(j.forearm_flex):
            fore = limb_direction(j.shoulder_flex + j.elbow, j.shoulder_abd, side, j.shoulder_plane)
        else:
            fore = limb_direction(j.forearm_flex, j.forearm_abd, side)
        elbow = shoulder + _UPPER_ARM * upper
        wrist = elbow + _FOREARM * fore
        thigh = limb_direction(j.hip_flex, j.hip_abd, side, j.hip_plane)
        shin = limb_direction(j.hip_flex - j.knee, j.hip_abd, side, j.hip_plane)
        foot = limb_direction(j.hip_flex - j.knee + 90.0, j.hip_abd, side, j.hip_plane)
        knee = hip + _THIGH * thigh
        ankle = knee + _SHIN * shin
        lateral = np.array([0.03 * side, 0.0, 0.0])
        for k, p in ((11, shoulder), (13, elbow), (15, wrist), (23, hip), (25, knee), (27, ankle)):
            pts[k + offset] = p
        pts[17 + offset] = wrist + _HAND * fore + lateral  # pinky
        pts[19 + offset] = wrist + _HAND * fore - lateral  # index
        pts[21 + offset] = wrist + 0.5 * _HAND * fore  # thumb
        pts[29 + offset] = ankle - 0.3 * _FOOT * foot + 0.05 * shin  # heel
        pts[31 + offset] = ankle + _FOOT * foot + 0.06 * shin  # foot index
    head = _rx(-left.head)
    for k, xyz in _FACE.items():
        pts[k] = _NECK + head @ (np.array(xyz) - _NECK)
    world: Float64Array = pts @ _rx(left.pitch).T
    return world


def camera_rotations(azimuths_deg: npt.ArrayLike, elevations_deg: npt.ArrayLike) -> Float64Array:
    """(n_az * n_el, 3, 3) world-to-camera rotations.

    The person is turned by the azimuth (0 = facing the camera, 90 = left side to the camera) and
    the camera raised by the elevation, looking down.
    """
    rots = [_rx(el) @ _ry(az) for az in np.asarray(azimuths_deg) for el in np.asarray(elevations_deg)]
    return np.array(rots)


def project(points: Float64Array, rotations: Float64Array) -> Float64Array:
    """(..., 33, 3) world points seen through (v, 3, 3) rotations: (v, ..., 33, 2) image points, y down.

    Orthographic: at gym distances the depth of a body is small next to the distance to the camera.
    """
    cam = np.einsum("vij,...kj->v...ki", rotations, points)
    out: Float64Array = np.stack([cam[..., 0], -cam[..., 1]], axis=-1)
    return out
