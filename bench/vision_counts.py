"""Counting real video through the whole pose pipeline: exact, within one and MAE, against MediaPipe in the same run.

Clips (``REPLENS_EVAL_DIR``, default ``../shared/eval`` beside the repository; never copied into it):

* ``videos/``: the 3 shared clips with their labels (squat, sit-up, leg raise);
* ``workouttracker/videos/``: 30 real clips (push-ups, pull-ups, squats). Their source labels are
  unreliable; the truth is our own count by eye, kept in ``bench/data/workouttracker_eye_counts.csv``
  with how each was decided. Only complete cycles count (rest → turning point → rest); a cycle cut
  by the start or the end of a clip does not, and a clip that starts or ends within about a fifth
  of the movement's range from the rest position counts as being at rest there.

Per clip, ours is the production path: ``PosePipeline`` (BlazePose on OpenVINO, f32, one inference
thread, jump gate and bridging on) with the clip's exercise profile, frames stamped at the clip's own
frame rate. The baseline in the same run is MediaPipe 0.10.14's own Pose runtime
(``bench/_mediapipe_worker.py`` in its own virtualenv, see ``bench/pose_tracker.py``), whose landmarks
feed the same counter (``PoseRepEngine``) with the same profile and timestamps. Reported: reps of both
against the truth, per-set quality, and over each clip group the share exact, the share within one
rep, and the MAE (mean |counted − true| in reps). Every miss is listed.

Usage: python bench/vision_counts.py [--markdown] [--only NAME] [--group shared|workouttracker]
       [--mediapipe-venv DIR | --mediapipe-ref DIR | --no-mediapipe]
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from pose_tracker import MEDIAPIPE_VENV, WORKER, load_reference, mediapipe_python
from tables import table

ROOT = Path(__file__).resolve().parents[1]
EVAL_DIR = Path(os.environ.get("REPLENS_EVAL_DIR", ROOT.parent / "shared" / "eval"))
EYE_COUNTS = ROOT / "bench" / "data" / "workouttracker_eye_counts.csv"
SHARED_EXERCISES = {"squat": "squat", "situp": "situp", "leg_raise": "leg_raise"}


@dataclass
class Clip:
    """One labelled clip: where it is, its group, the exercise profile to count with, the true reps."""

    path: Path
    group: str
    exercise: str
    truth: int
    view: str = ""


@dataclass
class Result:
    """What one pipeline counted on one clip."""

    reps: int
    quality: str = "-"
    detail: dict[str, Any] = field(default_factory=dict)


def clips(eval_dir: Path) -> list[Clip]:
    """The shared clips, then the eye-counted real clips, each with its truth."""
    found: list[Clip] = []
    videos = eval_dir / "videos"
    if (videos / "labels.csv").is_file():
        with (videos / "labels.csv").open(encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                found.append(Clip(videos / row["file"], "shared", SHARED_EXERCISES.get(row["exercise"], "auto"),
                                  int(row["reps"]), row.get("camera_view", "")))
    folder = eval_dir / "workouttracker" / "videos"
    if folder.is_dir():
        with EYE_COUNTS.open(encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                found.append(Clip(folder / row["file"], "workouttracker", row["exercise"], int(row["reps"]),
                                  row["view"]))
    return found


def read_frames(path: Path) -> tuple[list[np.ndarray], float]:
    capture = cv2.VideoCapture(str(path))
    try:
        fps = float(capture.get(cv2.CAP_PROP_FPS)) or 30.0
        frames: list[np.ndarray] = []
        while True:
            ok, image = capture.read()
            if not ok:
                return frames, fps
            frames.append(image)
    finally:
        capture.release()


def count_ours(frames: list[np.ndarray], fps: float, exercise: str) -> Result:
    """The production pose pipeline of a station with this exercise, frame by frame, then the end of source."""
    from replens.config.agent import PoseTrackerConfig, StationConfig
    from replens.device_agent.counting.events import RepCompleted
    from replens.device_agent.sets import counted_sets
    from replens.device_agent.sources.frame import Frame
    from replens.device_agent.trackers.registry import PosePipeline

    station = StationConfig(exercise=exercise, tracker=PoseTrackerConfig())
    pipeline = PosePipeline(PoseTrackerConfig(), station)
    events: list[Any] = []
    found = 0
    start = time.perf_counter()
    for i, image in enumerate(frames):
        events += pipeline.update(Frame(image, i / fps, time.time(), i))
        found += pipeline.last_pose is not None
    events += pipeline.finish(len(frames) / fps)
    spent = time.perf_counter() - start
    reps = sum(isinstance(e, RepCompleted) for e in events)
    sets = counted_sets(events, station.named)
    return Result(reps, _quality(sets), {"pose": found / max(len(frames), 1), "ms": 1e3 * spent / max(len(frames), 1)})


def count_series(series: np.ndarray, fps: float, exercise: str) -> Result:
    """The same counter on a landmark series (T, 33, 4), NaN rows where nobody was found."""
    from replens.contract.exercises import Exercise
    from replens.device_agent.counting.events import RepCompleted
    from replens.device_agent.counting.pose import PoseRepEngine
    from replens.device_agent.sets import counted_sets

    engine = PoseRepEngine(exercise)
    events: list[Any] = []
    for i, frame in enumerate(series):
        events += engine.update(i / fps, None if np.isnan(frame[0, 0]) else frame)
    events += engine.finish(len(series) / fps)
    reps = sum(isinstance(e, RepCompleted) for e in events)
    return Result(reps, _quality(counted_sets(events, Exercise(exercise))))


def _quality(sets: list[Any]) -> str:
    """The sets' quality labels, when the set type has one."""
    labels = [str(getattr(s, "quality", "")) for s in sets if getattr(s, "quality", None)]
    return ",".join(labels) if labels else "-"


def mediapipe_results(args: argparse.Namespace, chosen: list[Clip]) -> tuple[dict[str, np.ndarray], str]:
    """MediaPipe's landmarks per clip name, run now in its own environment (or loaded), and a line saying which."""
    if args.no_mediapipe:
        return {}, "MediaPipe baseline off (--no-mediapipe)"
    if args.mediapipe_ref:
        refs = {c.path.name: load_reference(args.mediapipe_ref, c.path.stem) for c in chosen}
        return ({k: r.series for k, r in refs.items() if r is not None},
                f"MediaPipe landmarks saved in {args.mediapipe_ref}")
    python, why = mediapipe_python(args.mediapipe_venv)
    if python is None:
        print(f"MediaPipe baseline SKIPPED: {why}", file=sys.stderr)
        return {}, f"MediaPipe baseline SKIPPED: {why}"
    out: dict[str, np.ndarray] = {}
    with tempfile.TemporaryDirectory(prefix="replens-mediapipe-") as tmp:
        done = subprocess.run([str(python), str(WORKER), tmp, *(str(c.path) for c in chosen)],
                              capture_output=True, text=True, check=False)
        if done.returncode != 0:
            print(f"MediaPipe worker failed: {done.stderr.strip().splitlines()[-3:]}", file=sys.stderr)
        for c in chosen:
            ref = load_reference(Path(tmp), c.path.stem)
            if ref is not None:
                out[c.path.name] = ref.series
        version = next(iter(load_reference(Path(tmp), c.path.stem).versions  # type: ignore[union-attr]
                            for c in chosen if c.path.name in out), "")
    return out, f"MediaPipe in the same run: {why}; {version}"


def scores(rows: list[tuple[Clip, Result, Result | None]], which: int) -> tuple[str, str, str, int]:
    """Exact share, within-one share and MAE (reps) of pipeline ``which`` (1 ours, 2 MediaPipe) over ``rows``."""
    errors = [abs(r[which].reps - r[0].truth) for r in rows if r[which] is not None]  # type: ignore[union-attr]
    if not errors:
        return "-", "-", "-", 0
    exact = sum(e == 0 for e in errors)
    within = sum(e <= 1 for e in errors)
    n = len(errors)
    return f"{exact}/{n} ({exact / n:.0%})", f"{within}/{n} ({within / n:.0%})", f"{statistics.fmean(errors):.2f}", n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables")
    parser.add_argument("--only", help="clips whose file name contains this")
    parser.add_argument("--group", choices=("shared", "workouttracker"), help="one clip group only")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--mediapipe-venv", type=Path, default=MEDIAPIPE_VENV)
    group.add_argument("--mediapipe-ref", type=Path, help="MediaPipe landmarks saved earlier (<stem>.npy)")
    group.add_argument("--no-mediapipe", action="store_true", help="ours only")
    args = parser.parse_args()
    chosen = [c for c in clips(EVAL_DIR) if (args.only or "") in c.path.name and args.group in (None, c.group)]
    if not chosen:
        sys.exit(f"no clips under {EVAL_DIR} (set REPLENS_EVAL_DIR)")
    sys.path.insert(0, str(ROOT))
    mediapipe, peer = mediapipe_results(args, chosen)
    rows: list[tuple[Clip, Result, Result | None]] = []
    load_before = os.getloadavg()
    for clip in chosen:
        frames, fps = read_frames(clip.path)
        ours = count_ours(frames, fps, clip.exercise)
        series = mediapipe.get(clip.path.name)
        theirs = None if series is None else count_series(series, fps, clip.exercise)
        rows.append((clip, ours, theirs))
        print(f"{clip.path.name}: ours {ours.reps} MediaPipe {'-' if theirs is None else theirs.reps} "
              f"truth {clip.truth}", file=sys.stderr)
    print(f"ours: PosePipeline (BlazePose on OpenVINO, f32, 1 inference thread); {peer}")
    print(f"load average (1 min) {load_before[0]:.2f} before, {os.getloadavg()[0]:.2f} after; {os.cpu_count()} cores")
    print_tables(rows, args.markdown)


def print_tables(rows: list[tuple[Clip, Result, Result | None]], markdown: bool) -> None:
    head = ["clip", "exercise", "true", "ours", "MediaPipe", "quality ours", "pose ours", "ms/frame ours"]
    cells = [[c.path.name, c.exercise, str(c.truth), _mark(o.reps, c.truth),
              "-" if m is None else _mark(m.reps, c.truth), o.quality, f"{o.detail['pose']:.0%}",
              f"{o.detail['ms']:.1f}"] for c, o, m in rows]
    print("\nper clip (* = wrong)")
    table(head, cells, markdown)
    head = ["clips", "n", "exact ours", "within one ours", "MAE ours", "exact MediaPipe", "within one MediaPipe",
            "MAE MediaPipe"]
    summary = []
    for name in ("shared", "workouttracker", "all"):
        part = [r for r in rows if name in ("all", r[0].group)]
        if part:
            o, m = scores(part, 1), scores(part, 2)
            summary.append([name, str(len(part)), o[0], o[1], o[2], m[0], m[1], m[2]])
    print("\nsummary (MAE: mean |counted - true| in reps)")
    table(head, summary, markdown)
    misses = [(c, o) for c, o, _ in rows if o.reps != c.truth]
    print("\nmisses, ours: " + ("none" if not misses else
                                "; ".join(f"{c.path.name} {o.reps} for {c.truth}" for c, o in misses)))


def _mark(reps: int, truth: int) -> str:
    return str(reps) if reps == truth else f"{reps}*"


if __name__ == "__main__":
    main()
