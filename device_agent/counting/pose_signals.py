"""From one frame of 33 pose landmarks to one number, and the running statistics around it.

Everything here is O(1) per frame (the window statistics are recomputed on 0.1 s buckets, not per
frame), so the pose engine stays far above camera frame rates on one core.
"""

from __future__ import annotations

import math
import statistics
from collections import deque
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

import numpy as np
import numpy.typing as npt

from replens.arrays import Float64Array
from replens.device_agent.counting.profiles import JOINTS, LANDMARKS, PoseSignal

Summed = TypeVar("Summed", float, Float64Array)
Sample = tuple[float, float | None, float]  # (t_s, signal value or None for a missing frame, confidence)
N_LANDMARKS = 33
BUCKET_S = 0.1  # window statistics work on means of this many seconds of frames
SCALE_CONFIRM_S = 0.5  # no body unit before this much of the body has been seen: then their median...
SCALE_TAU_S = 2.0  # ...which follows the body this slowly afterwards
_PENDING_MAX_S = 3.0  # frames waiting for a body unit are kept this long at most
_BONE_TAU_S = 1.0  # a limb's length in the image changes (foreshortening) about as fast as a rep...
_BONE_JUMP = math.log(2.0)  # ...so halving or doubling against its last second is a landmark error


def frame_points(landmarks: npt.ArrayLike | None) -> tuple[Float64Array, float] | None:
    """(33, 2) image points and a 0..1 confidence, or None for a frame without a usable pose.

    A pose of all zeros (how some pipelines write "no detection") or with non-finite or degenerate
    coordinates counts as missing. A 4th column is read as MediaPipe visibility.
    """
    if landmarks is None:
        return None
    arr = np.asarray(landmarks, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[0] != N_LANDMARKS or not 2 <= arr.shape[1] <= 4:
        raise ValueError(f"landmarks must be (33, 2..4), got {arr.shape}")
    xy = arr[:, :2]
    total = float(np.abs(xy).sum())  # one pass: NaN/inf make it non-finite, all zeros make it 0
    if not math.isfinite(total) or total == 0.0:
        return None
    conf = 1.0
    if arr.shape[1] == 4:
        conf = float(np.clip(np.mean(arr[:, 3]), 0.0, 1.0)) if np.isfinite(arr[:, 3]).all() else 0.0
    return xy, conf


def triplets(joints: tuple[str, ...]) -> tuple[list[int], list[int], list[int]]:
    """Landmark indices (proximal, vertex, distal) of both sides of every joint."""
    a: list[int] = []
    b: list[int] = []
    c: list[int] = []
    for joint in joints:
        p, v, d = JOINTS[joint]
        for side in (0, 1):
            a.append(LANDMARKS[p][side])
            b.append(LANDMARKS[v][side])
            c.append(LANDMARKS[d][side])
    return a, b, c


class JointAngles:
    """Angles in degrees at the vertices of fixed landmark triplets, vectorised over the triplets."""

    def __init__(self, joints: tuple[str, ...]) -> None:
        a, b, c = triplets(joints)
        self._a, self._b, self._c = np.array(a), np.array(b), np.array(c)

    def __call__(self, xy: Float64Array) -> Float64Array:
        """One angle per triplet (left and right of each joint in turn)."""
        u = xy[self._a] - xy[self._b]
        v = xy[self._c] - xy[self._b]
        dot = np.einsum("ij,ij->i", u, v)
        norm = np.sqrt(np.einsum("ij,ij->i", u, u) * np.einsum("ij,ij->i", v, v)) + 1e-12
        angles: Float64Array = np.degrees(np.arccos(np.clip(dot / norm, -1.0, 1.0)))
        return angles


class BodyScale:
    """Torso length (mid-shoulder to mid-hip), smoothed over time: the unit for distances.

    A slow average keeps per-frame landmark jitter out of the unit, while it still follows the person
    walking towards or away from the camera. It starts from the median of the first
    ``SCALE_CONFIRM_S`` (0.1 s means), not from the first frame: a body partly hidden as a clip began
    once measured 41 % of its true size there, and the average took seconds to forget it, while the
    amplitude window kept the inflated heights for 10 s, so every real rep looked partial. There is
    no unit before that (:class:`ProfileSignal` holds those frames back and replays them in it).
    A median over the whole window instead of the average was worse on RepCount-A (MAE 0.213).
    """

    def __init__(self) -> None:
        self._means = Buckets(SCALE_CONFIRM_S + BUCKET_S, float)
        self.value: float | None = None
        self._t = 0.0

    def update(self, t_s: float, xy: Float64Array) -> float | None:
        """Feed one frame; returns the current unit (positive), or None while it is unconfirmed."""
        sh = 0.5 * (xy[11] + xy[12])
        hip = 0.5 * (xy[23] + xy[24])
        torso = max(math.hypot(sh[0] - hip[0], sh[1] - hip[1]), 1e-9)
        if self.value is None:
            if self._means.push(t_s, torso) and len(self._means) * BUCKET_S >= SCALE_CONFIRM_S - 1e-9:
                self.value = statistics.median(self._means.rows)
        else:
            alpha = 1.0 - math.exp(-max(t_s - self._t, 0.0) / SCALE_TAU_S)
            self.value += alpha * (torso - self.value)
        self._t = t_s
        return self.value


class BoneCheck:
    """Which joint angles of a frame to trust, from the lengths of the two bones that form each.

    A bone's length in the image changes only through foreshortening, as fast as the limb turns.
    When one halves or doubles against its recent length, a landmark has jumped (the far arm
    occluded, left and right swapped, a wrist found on the torso), and the angle at that joint is
    noise. The reference is a slow average of the log length, fed every frame, so a real change of
    view or distance is followed within seconds. A bone shared by two joints (the upper arm of the
    elbow and the shoulder) is measured once.
    """

    def __init__(self, triplets: Sequence[tuple[int, int, int]]) -> None:
        index: dict[tuple[int, int], int] = {}

        def bone(end: int, vertex: int) -> int:
            return index.setdefault((min(end, vertex), max(end, vertex)), len(index))

        self._joint_bones = [(bone(a, b), bone(c, b)) for a, b, c in triplets]
        self._bones = list(index)
        self._ref: list[float | None] = [None] * len(self._bones)
        self._t: float | None = None

    def update(self, t_s: float, rows: list[list[float]]) -> list[bool]:
        """Feed one frame's points (``xy.tolist()``); per triplet, True where both its bones are sane."""
        alpha = 1.0 if self._t is None else 1.0 - math.exp(-max(t_s - self._t, 0.0) / _BONE_TAU_S)
        self._t = t_s
        sane: list[bool] = []
        refs = self._ref
        for m, (i, j) in enumerate(self._bones):
            p, q = rows[i], rows[j]
            length = math.log(max(math.hypot(p[0] - q[0], p[1] - q[1]), 1e-9))
            ref = refs[m]
            if ref is None:
                refs[m] = length
                sane.append(True)
                continue
            sane.append(abs(length - ref) <= _BONE_JUMP)
            refs[m] = ref + alpha * (length - ref)
        return [sane[u] and sane[v] for u, v in self._joint_bones]


class ProfileSignal:
    """The 1-D signal a :class:`PoseSignal` describes: summed joint angles or a height.

    Each joint angle is the mean of the left and right side; a side whose bones fail
    :class:`BoneCheck` is left out for that frame, and a frame where both sides of a joint fail has
    no value (the counter bridges it as a missing frame). Computed in plain Python on the few
    landmarks involved: for a handful of points that is several times faster than numpy's per-call
    overhead.
    """

    def __init__(self, spec: PoseSignal) -> None:
        self._spec = spec
        a, b, c = triplets(spec.joints)
        self.triplets = list(zip(a, b, c, strict=True))  # left and right side of each joint in turn
        self._bones = BoneCheck(self.triplets)
        self._scale = BodyScale()
        upper, lower = spec.height if spec.height is not None else ("nose", "nose")
        self._upper, self._lower = LANDMARKS[upper], LANDMARKS[lower]
        self._pending: list[tuple[float, float | None, float]] = []  # (t, height px, confidence) before a unit

    @property
    def holding(self) -> bool:
        """Frames are kept back until the body unit is confirmed (height signals only)."""
        return not self.triplets and self._scale.value is None

    def __call__(self, t_s: float, xy: Float64Array) -> float | None:
        """Signal value of one frame (degrees or torso lengths), None when no side of a joint is sane.

        A height has no value either before its unit is confirmed; :meth:`push` keeps those frames.
        """
        if self.triplets:
            return self._angles(t_s, xy)
        dy, unit = self._height(t_s, xy)
        return None if unit is None or dy is None else dy / unit

    def push(self, t_s: float, xy: Float64Array, confidence: float,
             trusted: npt.NDArray[np.bool_] | None = None) -> list[Sample]:
        """Feed one frame; returns the (time, value or None, confidence) samples known now, oldest first.

        ``trusted`` (33,) says which landmarks to use (None: all); a value that needs an untrusted one is
        None. A height's frames wait until its body unit is confirmed, and are then all measured in it.
        """
        if self.triplets:
            return [(t_s, self._angles(t_s, xy, trusted), confidence)]
        dy, unit = self._height(t_s, xy, trusted)
        if unit is None:
            self._pending.append((t_s, dy, confidence))
            while self._pending and t_s - self._pending[0][0] > _PENDING_MAX_S:
                self._pending.pop(0)  # never a unit for these: they stay missing
            return []
        out: list[Sample] = [(t, None if d is None else d / unit, c) for t, d, c in self._pending]
        self._pending.clear()
        out.append((t_s, None if dy is None else dy / unit, confidence))
        return out

    def _height(self, t_s: float, xy: Float64Array,
                trusted: npt.NDArray[np.bool_] | None = None) -> tuple[float | None, float | None]:
        """How far the upper landmarks are above the lower ones in pixels (None: not seen), and the body unit.

        Only trusted sides count; the unit learns only from frames whose shoulders and hips are trusted.
        """
        torso_seen = trusted is None or bool(trusted[11] and trusted[12] and trusted[23] and trusted[24])
        unit = self._scale.update(t_s, xy) if torso_seen else self._scale.value
        upper, lower = _mean_y(xy, self._upper, trusted), _mean_y(xy, self._lower, trusted)
        if upper is None or lower is None:
            return None, unit
        return lower - upper, unit  # image y points down: lower minus upper is the height

    def _angles(self, t_s: float, xy: Float64Array, trusted: npt.NDArray[np.bool_] | None = None) -> float | None:
        """Sum over joints of the mean of the sane sides (whose landmarks are all trusted).

        Falling back to one side steps the signal by half the left-right difference at most, far
        less than the noise a broken side adds.
        """
        rows = xy.tolist()
        ok = self._bones.update(t_s, rows)
        triplets = self.triplets
        if trusted is not None:
            ok = [k_ok and bool(trusted[a] and trusted[b] and trusted[c]) for k_ok, (a, b, c) in zip(ok, triplets,
                                                                                                   strict=True)]
        total = 0.0
        for k in range(0, len(triplets), 2):
            (la, lb, lc), (ra, rb, rc) = triplets[k], triplets[k + 1]
            left, right = _angle(rows[la], rows[lb], rows[lc]), _angle(rows[ra], rows[rb], rows[rc])
            if ok[k] and ok[k + 1]:
                total += 0.5 * (left + right)
            elif ok[k] or ok[k + 1]:
                total += left if ok[k] else right
            else:
                return None
        return total


def _mean_y(xy: Float64Array, sides: tuple[int, int], trusted: npt.NDArray[np.bool_] | None) -> float | None:
    """Mean image y of a landmark's trusted sides (both when ``trusted`` is None); None when neither is."""
    ys = [float(xy[k, 1]) for k in dict.fromkeys(sides) if trusted is None or trusted[k]]
    return sum(ys) / len(ys) if ys else None


def _angle(a: list[float], b: list[float], c: list[float]) -> float:
    """Angle a-b-c in degrees at vertex b (0 for a degenerate triangle)."""
    ux, uy, vx, vy = a[0] - b[0], a[1] - b[1], c[0] - b[0], c[1] - b[1]
    norm = math.sqrt((ux * ux + uy * uy) * (vx * vx + vy * vy))
    if norm <= 0.0:
        return 0.0
    return math.degrees(math.acos(max(-1.0, min(1.0, (ux * vx + uy * vy) / norm))))


class Buckets(Generic[Summed]):
    """Means of consecutive ``BUCKET_S`` stretches of a signal (numbers or vectors), the last ``window_s`` kept.

    ``zero`` makes an empty sum: ``float`` for numbers, ``lambda: np.zeros(dim)`` for vectors.
    """

    def __init__(self, window_s: float, zero: Callable[[], Summed]) -> None:
        self.rows: deque[Summed] = deque(maxlen=max(2, round(window_s / BUCKET_S)))
        self._zero: Callable[[], Summed] = zero
        self._sum: Summed = zero()
        self._n = 0
        self._t0 = 0.0

    def push(self, t_s: float, x: Summed) -> bool:
        """Add one frame; returns True when a bucket was closed (the window changed)."""
        closed = False
        if self._n and t_s - self._t0 >= BUCKET_S:
            self.rows.append(self._sum / self._n)
            self._sum, self._n = self._zero(), 0
            closed = True
        if self._n == 0:
            self._t0 = t_s
        self._sum += x
        self._n += 1
        return closed

    def matrix(self) -> Float64Array:
        """The kept bucket means, oldest first, as (n, dim)."""
        return np.array(self.rows) if self.rows else np.zeros((0, np.size(self._sum)))

    def __len__(self) -> int:
        return len(self.rows)


class RobustRange:
    """Recent amplitude of a scalar signal: 97th minus 3rd percentile of its recent 0.1 s means."""

    def __init__(self, window_s: float) -> None:
        self.window_s = window_s
        self._means = Buckets(window_s, float)
        self.value = 0.0

    def push(self, t_s: float, x: float) -> bool:
        """Add one value; returns True when :attr:`value` was recomputed (once per bucket)."""
        if not self._means.push(t_s, x):
            return False
        ordered = sorted(self._means.rows)
        last = len(ordered) - 1
        self.value = ordered[round(0.97 * last)] - ordered[round(0.03 * last)]
        return True
