"""TrajectoryRepEngine on generated bar paths whose reps and concentric velocities are known exactly."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field

import pytest

from replens.contract.exercises import Exercise
from replens.device_agent.counting.events import CountEvent, RepCompleted, RepMeasurement
from replens.device_agent.counting.trajectory import TrajectoryRepEngine
from replens.device_agent.sets import counted_sets
from replens.errors import ConfigError

PX_PER_M = 400.0  # image scale of the generated video tracks
PLATE_PX = 0.45 * PX_PER_M
THRESHOLD = 0.05  # m/s, the reference's concentric velocity threshold


@dataclass
class Path:
    """Bar path in metres (x forward, z up) as cosine-eased moves between waypoints."""

    moves: list[tuple[float, float, float, float, float, float]] = field(default_factory=list)
    t: float = 0.0
    x: float = 0.0
    z: float = 0.0

    def move(self, duration: float, dx: float = 0.0, dz: float = 0.0) -> Path:
        if duration <= 0.0:
            return self
        self.moves.append((self.t, self.t + duration, self.x, self.x + dx, self.z, self.z + dz))
        self.t, self.x, self.z = self.t + duration, self.x + dx, self.z + dz
        return self

    def hold(self, duration: float) -> Path:
        return self.move(duration)

    def at(self, t: float) -> tuple[float, float]:
        x, z = self.moves[0][2], self.moves[0][4]
        for t0, t1, x0, x1, z0, z1 in self.moves:
            if t < t0:
                break
            w = 0.5 - 0.5 * math.cos(math.pi * min(1.0, (t - t0) / (t1 - t0)))
            x, z = x0 + (x1 - x0) * w, z0 + (z1 - z0) * w
        return x, z


def reps(path: Path, n: int, *, low: bool, rom: float = 0.6, con_s: float = 0.8, ecc_s: float = 1.2,
         turn_s: float = 0.0, rest_s: float = 1.0) -> Path:
    """``n`` reps: up then down from a low rest (deadlift), down then up from a high one (squat)."""
    for _ in range(n):
        if low:
            path.move(con_s, dz=rom).hold(turn_s).move(ecc_s, dz=-rom).hold(rest_s)
        else:
            path.move(ecc_s, dz=-rom).hold(turn_s).move(con_s, dz=rom).hold(rest_s)
    return path.hold(2.0)


def expected(rom: float, con_s: float) -> tuple[float, float, float]:
    """(rom_m, mcv, peak) of an eased concentric by the reference definition (v > 0.05 m/s run)."""
    peak = rom * math.pi / (2 * con_s)
    u0 = math.asin(THRESHOLD / peak) / math.pi
    gain = rom * math.cos(math.pi * u0)
    return gain, gain / (con_s * (1 - 2 * u0)), peak


Sample = tuple[float, float | None, float | None, float | None]


def video(
    path: Path, *, fps: float = 30.0, noise_px: float = 0.0, tilt_deg: float = 0.0, seed: int = 1
) -> list[Sample]:
    """Image track (y down, pixels) with the plate's apparent size; the camera may be rolled."""
    rng, c, s = random.Random(seed), math.cos(math.radians(tilt_deg)), math.sin(math.radians(tilt_deg))
    out: list[Sample] = []
    for i in range(int(path.t * fps)):
        t = i / fps
        x, z = path.at(t)
        u, w = c * x - s * z, s * x + c * z
        out.append((t, 500 + u * PX_PER_M + rng.gauss(0, noise_px), 900 - w * PX_PER_M + rng.gauss(0, noise_px),
                    PLATE_PX))
    return out


def feed(engine: TrajectoryRepEngine, track: Sequence[Sample]) -> list[CountEvent]:
    events: list[CountEvent] = []
    for t, x, y, plate in track:
        events += engine.update(t, x, y, plate)
    return events + engine.finish(track[-1][0] + 0.1)


def counted(events: list[CountEvent]) -> list[RepMeasurement]:
    return [e.rep for e in events if isinstance(e, RepCompleted)]


def assert_velocities(got: list[RepMeasurement], rom: float, con_s: float, tol: float = 0.03) -> None:
    """Each rep within ``tol``; on noisy tracks (tol > 3 %) the set's mean MCV within 4 %."""
    want_rom, want_mcv, want_peak = expected(rom, con_s)
    for rep in got:
        assert rep.rom_m == pytest.approx(want_rom, abs=0.02)
        assert rep.mean_velocity_m_s == pytest.approx(want_mcv, rel=tol)
        assert rep.peak_velocity_m_s == pytest.approx(want_peak, rel=tol + 0.02)
    mean = sum(rep.mean_velocity_m_s or 0.0 for rep in got) / len(got)
    assert mean == pytest.approx(want_mcv, rel=min(tol, 0.04))


def test_squat_set_counts_and_measures_each_rep() -> None:
    track = video(reps(Path().hold(2.0), 5, low=False, rom=0.7, con_s=0.9))
    events = feed(TrajectoryRepEngine(Exercise.SQUAT), track)
    got = counted(events)
    assert len(got) == 5
    assert_velocities(got, 0.7, 0.9)
    ended = counted_sets(events, Exercise.SQUAT)
    assert len(ended) == 1 and ended[0].reps == tuple(got)  # the set carries the re-measured reps


def test_deadlift_from_the_floor_with_kinovea_timing_in_cm() -> None:
    """y up in cm, timestamps rounded to 0.01 s (dt alternates 0.03/0.04), as Kinovea exports."""
    path = reps(Path().hold(3.0), 6, low=True, rom=0.52, con_s=0.75, ecc_s=1.0, rest_s=0.6)
    track: list[Sample] = []
    for i in range(int(path.t * 30)):
        x, z = path.at(round(i / 30, 2))
        track.append((round(i / 30, 2), 100 * x, 100 * z, None))
    got = counted(feed(TrajectoryRepEngine(Exercise.DEADLIFT, meters_per_unit=0.01, y_up=True), track))
    assert len(got) == 6
    assert_velocities(got, 0.52, 0.75)


def test_noise_outliers_and_impossible_jumps() -> None:
    track = video(reps(Path().hold(2.0), 6, low=False, rom=0.6, con_s=0.8), noise_px=1.5)
    rng = random.Random(7)
    for i in rng.sample(range(30, len(track) - 30), 25):  # one-frame detector glitches
        t, x, y, p = track[i]
        track[i] = (t, x, (y or 0.0) + rng.choice([-1, 1]) * rng.uniform(60, 300), p)
    for i in (200, 201, 300, 301):  # two-frame jumps of 2 m: 60 m/s, physically impossible
        t, x, y, p = track[i]
        track[i] = (t, (x or 0.0) + 800, y, p)
    got = counted(feed(TrajectoryRepEngine(Exercise.SQUAT), track))
    assert len(got) == 6
    assert_velocities(got, 0.6, 0.8, tol=0.1)


def test_dropouts_and_short_gaps_are_bridged() -> None:
    track = video(reps(Path().hold(2.0), 5, low=True, rom=0.5, con_s=0.7), noise_px=1.0)
    rng = random.Random(3)
    gaps = (range(115, 123), range(150, 158))  # 0.27 s each: at rest, and in the middle of rep 2's lift
    kept = [s for i, s in enumerate(track) if rng.random() > 0.15 and not any(i in g for g in gaps)]
    with_nones = [(t, None, None, None) if i % 17 == 0 else (t, x, y, p) for i, (t, x, y, p) in enumerate(kept)]
    got = counted(feed(TrajectoryRepEngine(Exercise.DEADLIFT), with_nones))
    assert len(got) == 5
    assert_velocities([got[0], *got[2:]], 0.5, 0.7, tol=0.1)  # rep 2's peak fell into the gap


def test_tilted_camera_projects_on_the_motion_axis() -> None:
    track = video(reps(Path().hold(2.0), 5, low=False, rom=0.6, con_s=0.8), tilt_deg=25.0)
    engine = TrajectoryRepEngine(Exercise.SQUAT)
    events: list[CountEvent] = []
    for t, x, y, plate in track:
        events += engine.update(t, x, y, plate)
    ux, uy = engine.axis
    assert abs(math.degrees(math.atan2(ux, uy))) == pytest.approx(25.0, abs=3.0)
    got = counted(events + engine.finish(track[-1][0] + 0.1))
    assert len(got) == 5
    assert_velocities(got[1:], 0.6, 0.8, tol=0.05)  # the first rep is measured while the axis converges


def test_unrack_walkout_and_rerack_do_not_count() -> None:
    path = Path().hold(2.0).move(0.6, dz=0.06)  # unrack: lift off the hooks
    for step in range(4):  # walk out backwards, the bar bobbing with each step
        path.move(0.5, dx=-0.15, dz=0.03 if step % 2 else -0.03)
    path.hold(1.5)
    reps(path, 4, low=False, rom=0.65, con_s=0.9)
    for _ in range(4):
        path.move(0.5, dx=0.15)
    path.move(0.6, dz=-0.06).hold(2.0)  # rerack
    got = counted(feed(TrajectoryRepEngine(Exercise.SQUAT), video(path, noise_px=1.0)))
    assert len(got) == 4
    assert_velocities(got, 0.65, 0.9, tol=0.1)


def test_pause_at_the_bottom() -> None:
    track = video(reps(Path().hold(2.0), 4, low=False, rom=0.7, con_s=1.0, turn_s=2.0))
    got = counted(feed(TrajectoryRepEngine(Exercise.SQUAT), track))
    assert len(got) == 4
    assert_velocities(got, 0.7, 1.0)


def test_still_bar_with_one_pixel_noise_counts_nothing() -> None:
    """The 2018 prototype fired a rep at every local minimum of a detector box: a still bar with 1 px
    of noise gave 35 false reps in 200 frames."""
    for exercise in (Exercise.SQUAT, Exercise.DEADLIFT):
        track = video(Path().hold(200 / 30 + 0.1), noise_px=1.0, seed=11)[:200]
        assert counted(feed(TrajectoryRepEngine(exercise), track)) == []
        long = video(Path().hold(60.0), noise_px=1.0, seed=12)
        assert counted(feed(TrajectoryRepEngine(exercise), long)) == []


def test_sudden_jump_in_box_size_keeps_counting() -> None:
    track = video(reps(Path().hold(2.0), 6, low=True, rom=0.55, con_s=0.8), noise_px=0.5)
    half = len(track) // 2
    track = [(t, x, y, PLATE_PX * (1.6 if i >= half else 1.0)) for i, (t, x, y, _) in enumerate(track)]
    got = counted(feed(TrajectoryRepEngine(Exercise.DEADLIFT), track))
    assert len(got) == 6
    assert_velocities(got, 0.55, 0.8, tol=0.1)  # the scale stays frozen during the set


def test_variable_frame_rate_and_rest_override() -> None:
    """A Romanian deadlift starts from the top: rest high although it is a deadlift."""
    path = reps(Path().hold(2.0), 5, low=False, rom=0.5, con_s=0.9)
    rng = random.Random(5)
    t, track = 0.0, []
    while t < path.t:
        x, z = path.at(t)
        track.append((t, x, z, None))
        t += rng.uniform(1 / 60, 1 / 15)
    engine = TrajectoryRepEngine(Exercise.DEADLIFT, meters_per_unit=1.0, y_up=True, rest_position="high")
    got = counted(feed(engine, track))
    assert len(got) == 5
    assert_velocities(got, 0.5, 0.9, tol=0.05)


def test_configuration_errors() -> None:
    with pytest.raises(ConfigError):
        TrajectoryRepEngine(Exercise.BICEPS_CURL)
    with pytest.raises(ConfigError):
        TrajectoryRepEngine(Exercise.SQUAT, meters_per_unit=0.0)
    engine = TrajectoryRepEngine(Exercise.SQUAT)  # no scale at all and no min_range in units
    with pytest.raises(ConfigError):
        engine.update(0.0, 1.0, 1.0)
    unscaled = TrajectoryRepEngine(Exercise.SQUAT, min_range=40.0)
    track = [(t, x, y, None) for t, x, y, _ in video(reps(Path().hold(2.0), 3, low=False))]
    got = counted(feed(unscaled, track))
    assert len(got) == 3 and all(r.mean_velocity_m_s is None for r in got)
