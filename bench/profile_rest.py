"""Is each profile's resting end where real people rest? Checked against annotated footage (issue 14).

A rep starts and ends at rest and turns in between. So for every annotated rep, the profile's pose
signal (``ProfileSignal``, exactly as the counter computes it) is read at the rep's start and end
(the mean of the 5 frames around each) and at its turning point (the value in the middle third
farthest from the ends). The rest end is "high" when the ends lie above the turn. Reported per
profile: the share of reps whose ends lie on the profile's stated rest side, and the median signal
at the ends and at the turn.

Footage: RepCount-A's annotated reps (7 classes with a profile; MediaPipe landmarks normalised per
frame), and the labelled clips in ``videos/`` through our own BlazePose tracker (squat, situp, leg
raise). For the barbell lifts, the bar's rest (the trajectory engine's ``rest_position``) is checked
on the vbt Kinovea tracks: where the bar is at the start and end of each set, as a share of its range
(1 = top). Profiles with no labelled footage here (lunge, deadlift's pose signal, leg press,
overhead and chest press, rows, pulldown, curl, pushdown, dips) are not checked by this script.

Usage: python bench/profile_rest.py [--markdown] [--no-video]
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from repcount import load  # noqa: E402
from tables import table  # noqa: E402

from replens.contract.exercises import Exercise  # noqa: E402
from replens.device_agent.counting.pose_signals import ProfileSignal, frame_points  # noqa: E402
from replens.device_agent.counting.profiles import profile_for  # noqa: E402

EVAL_DIR = Path(os.environ.get("REPLENS_EVAL_DIR", ROOT.parent / "shared" / "eval"))
CLIPS = {"test2315.mp4": "squat", "test2021.mp4": "situp", "fitness-basic_000000.mp4": "leg_raise"}


def signal_series(frames: np.ndarray, fps: float, exercise: Exercise) -> np.ndarray:
    """The profile's signal per frame (NaN where there is no pose or no sane joint)."""
    spec = profile_for(exercise).pose
    assert spec is not None
    signal = ProfileSignal(spec)
    out = np.full(len(frames), np.nan)
    for i, frame in enumerate(frames):
        points = frame_points(None if np.isnan(frame).any() else frame)
        if points is not None:
            value = signal(i / fps, points[0])
            out[i] = np.nan if value is None else value
    return out


def rep_ends(signal: np.ndarray, start: int, end: int) -> tuple[float, float] | None:
    """(mean at the ends, turning value) of one rep, or None without enough signal."""
    ends = np.concatenate([signal[max(0, start - 2) : start + 3], signal[max(0, end - 2) : end + 3]])
    third = max(1, (end - start) // 3)
    middle = signal[start + third : end - third + 1]
    if np.isnan(ends).mean() > 0.5 or not np.isfinite(middle).any():
        return None
    at_ends = float(np.nanmean(ends))
    turn = float(middle[np.nanargmax(np.abs(middle - at_ends))])
    return at_ends, turn


def check(rows: list[list[str]], source: str, exercise: Exercise, reps: list[tuple[float, float]]) -> None:
    """One table row: how many reps rest on the profile's side."""
    spec = profile_for(exercise).pose
    assert spec is not None
    if not reps:
        return
    high = [e > t for e, t in reps]
    agree = statistics.fmean(h == (spec.rest_position == "high") for h in high)
    rows.append([exercise.value, source, str(len(reps)), spec.rest_position, f"{agree:.0%}",
                 f"{statistics.median(e for e, _ in reps):.2f}", f"{statistics.median(t for _, t in reps):.2f}"])


def repcount_rows(rows: list[list[str]]) -> None:
    by_class: dict[Exercise, list[tuple[float, float]]] = {}
    for v in load(EVAL_DIR):
        if v.exercise is Exercise.AUTO or not v.reps:
            continue
        frames = v.frames.copy()
        frames[~frames.any(axis=(1, 2))] = np.nan
        sig = signal_series(frames, v.fps, v.exercise)
        for s, e in v.reps:
            found = rep_ends(sig, round(s * v.fps), round(e * v.fps))
            if found is not None:
                by_class.setdefault(v.exercise, []).append(found)
    for exercise, reps in sorted(by_class.items()):
        check(rows, "RepCount-A (MediaPipe)", exercise, reps)


def clip_rows(rows: list[list[str]]) -> None:
    """The labelled clips through our BlazePose tracker."""
    from pose_tracker import read_frames, track

    from replens.device_agent.trackers.pose.tracker import PoseTracker

    tracker = PoseTracker("CPU", "f32", 1)
    with (EVAL_DIR / "videos" / "labels.csv").open(newline="") as fh:
        for row in csv.DictReader(fh):
            fps = float(row["fps"])
            series, _, _ = track(read_frames(EVAL_DIR / "videos" / row["file"]), fps, tracker)
            tracker.reset()
            exercise = Exercise(CLIPS[row["file"]])
            sig = signal_series(series, fps, exercise)
            bounds = [tuple(int(x) for x in pair.split("-")) for pair in row["rep_bounds"].split(";")]
            reps = [r for s, e in bounds if (r := rep_ends(sig, s, e)) is not None]
            check(rows, f"{row['file']} (our BlazePose)", exercise, reps)


def bar_rows(rows: list[list[str]]) -> None:
    """Where the bar is at the start and end of each Kinovea set, as a share of its range (1 = top)."""
    folder = EVAL_DIR / "vbt" / "kinovea"
    lifts = {"squat": Exercise.SQUAT, "dl": Exercise.DEADLIFT}
    lifts |= {"bp": Exercise.BENCH_PRESS, "smith_bp": Exercise.BENCH_PRESS}
    found: dict[Exercise, list[float]] = {}
    with (folder / "labels.csv").open(newline="") as fh:
        for row in csv.DictReader(fh):
            if row["lift"] not in lifts:
                continue
            y = np.loadtxt(folder / row["file"], delimiter=",", skiprows=1, usecols=2)
            lo, hi = np.percentile(y, [2.0, 98.0])
            for end in (y[:5].mean(), y[-5:].mean()):
                found.setdefault(lifts[row["lift"]], []).append(float((end - lo) / (hi - lo)))
    for exercise, shares in sorted(found.items()):
        rest = profile_for(exercise).rest_position
        agree = statistics.fmean((s > 0.5) == (rest == "high") for s in shares)
        rows.append([exercise.value, "vbt Kinovea bar (y up)", f"{len(shares) // 2} sets", f"bar {rest}",
                     f"{agree:.0%}", f"{statistics.median(shares):.2f} of range", "-"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--no-video", action="store_true", help="skip the clips (needs the BlazePose models)")
    args = parser.parse_args(argv)
    rows: list[list[str]] = []
    repcount_rows(rows)
    if not args.no_video:
        clip_rows(rows)
    bar_rows(rows)
    table(["profile", "footage", "reps", "rests", "ends on that side", "signal at ends", "at turn"], rows,
          args.markdown)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
