"""BlazePose on OpenVINO on the 3 labelled eval clips: detection rate, speed, agreement with MediaPipe, rep counts.

Per clip: the share of frames with a tracked pose (and with a bridged one), the median time per
frame (frame in → 33 smoothed landmarks out; 1 inference thread, f32 unless told otherwise), how
often the detector ran, and the reps that ``PoseRepEngine`` counts from the landmarks against the
clip's label (leg raises have no profile and run as ``auto``).

Agreement with MediaPipe 0.10.14 itself needs its landmarks saved beforehand, from a separate
environment (mediapipe is never a RepLens dependency)::

    python3.11 -m venv /tmp/mpvenv && /tmp/mpvenv/bin/pip install mediapipe==0.10.14
    /tmp/mpvenv/bin/python bench/pose_tracker.py --save-mediapipe /tmp/replens-mediapipe-ref

That mode imports only mediapipe and OpenCV. With the reference present, a second pass runs without
the jump gate and with frames stamped 1/30 s apart, as MediaPipe's Python solution stamps them, and
reports the median landmark distance (px) over frames both found a pose in, the share of frames on
which both agree whether there is a pose, and the reps counted from MediaPipe's own landmarks.

Data: ``REPLENS_EVAL_DIR`` (default ``../shared/eval`` from the repo root) must hold ``videos/``.
Usage: python bench/pose_tracker.py [--device CPU] [--precision f32] [--threads 1] [--mediapipe-ref DIR]
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
EVAL_DIR = Path(os.environ.get("REPLENS_EVAL_DIR", ROOT.parent / "shared" / "eval"))
DEFAULT_REF = Path("/tmp/replens-mediapipe-ref")
EXERCISES = {"squat": "squat", "situp": "situp", "leg_raise": "auto"}


def read_frames(path: Path) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(path))
    frames: list[np.ndarray] = []
    try:
        while True:
            ok, image = capture.read()
            if not ok:
                return frames
            frames.append(image)
    finally:
        capture.release()


def save_mediapipe(videos: Path, out: Path) -> None:
    """(T, 33, 4) x_px, y_px, z_px, visibility per clip, NaN where MediaPipe found nobody (video mode)."""
    import mediapipe as mp  # type: ignore[import-not-found]

    out.mkdir(parents=True, exist_ok=True)
    for clip in sorted(videos.glob("*.mp4")):
        frames = read_frames(clip)
        pose = mp.solutions.pose.Pose(model_complexity=1, smooth_landmarks=True, static_image_mode=False)
        series = np.full((len(frames), 33, 4), np.nan, dtype=np.float32)
        cost = []
        for i, image in enumerate(frames):
            h, w = image.shape[:2]
            start = time.perf_counter()
            found = pose.process(cv2.cvtColor(image, cv2.COLOR_BGR2RGB)).pose_landmarks
            cost.append(time.perf_counter() - start)
            if found:
                series[i] = [[p.x * w, p.y * h, p.z * w, p.visibility] for p in found.landmark]
        np.save(out / f"{clip.stem}.npy", series)
        print(f"{clip.stem}: pose in {np.isfinite(series[:, 0, 0]).mean():.1%}, {1e3 * np.median(cost):.1f} ms/frame")


def track(frames: list[np.ndarray], fps: float, tracker: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Landmarks (T, 33, 4) NaN where none, bridged flags (T,), seconds per frame (T,)."""
    from replens.device_agent.sources.frame import Frame

    tracker.reset()
    series = np.full((len(frames), 33, 4), np.nan, dtype=np.float32)
    bridged = np.zeros(len(frames), dtype=bool)
    cost = np.zeros(len(frames))
    for i, image in enumerate(frames):
        start = time.perf_counter()
        result = tracker.update(Frame(image, i / fps, 0.0, i))
        cost[i] = time.perf_counter() - start
        if result is not None:
            series[i], bridged[i] = result.landmarks, result.bridged
    return series, bridged, cost


def count_reps(series: np.ndarray, fps: float, exercise: str) -> int:
    from replens.device_agent.counting.events import RepCompleted
    from replens.device_agent.counting.pose import PoseRepEngine

    engine = PoseRepEngine(exercise)
    events = []
    for i, frame in enumerate(series):
        events += engine.update(i / fps, None if np.isnan(frame[0, 0]) else frame)
    events += engine.finish(len(series) / fps)
    return sum(isinstance(e, RepCompleted) for e in events)


def agreement(ours: np.ndarray, ref: np.ndarray) -> tuple[float, float]:
    """Median landmark distance (px) where both found a pose, and the share of frames where both agree on presence."""
    a, b = np.isfinite(ours[:, 0, 0]), np.isfinite(ref[:, 0, 0])
    both = a & b
    dist = np.hypot(*(ours[both, :, :2] - ref[both, :, :2]).transpose(2, 0, 1))
    return (float(np.median(dist)) if dist.size else float("nan")), float((a == b).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="CPU")
    parser.add_argument("--precision", default="f32")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--mediapipe-ref", type=Path, default=DEFAULT_REF)
    parser.add_argument("--save-mediapipe", type=Path, help="write MediaPipe's landmarks here and stop")
    args = parser.parse_args()
    videos = EVAL_DIR / "videos"
    if not (videos / "labels.csv").is_file():
        sys.exit(f"no eval clips at {videos} (set REPLENS_EVAL_DIR)")
    if args.save_mediapipe:
        save_mediapipe(videos, args.save_mediapipe)
        return

    sys.path.insert(0, str(ROOT))
    from replens.device_agent.trackers.pose.tracker import PoseTracker

    tracker = PoseTracker(args.device, args.precision, args.threads)
    plain = PoseTracker(args.device, args.precision, args.threads, gate=None)
    with (videos / "labels.csv").open(encoding="utf-8") as fh:
        labels = list(csv.DictReader(fh))
    print(f"device {args.device}, precision {tracker.landmark_model.model.precision}, threads {args.threads}")
    head = "clip                   exercise  pose   bridged  ms/frame  detector  reps/label"
    print(head + "  | vs MediaPipe: median px  presence  mp reps")
    for row in labels:
        clip, fps, exercise = row["file"], float(row["fps"]), EXERCISES.get(row["exercise"], "auto")
        frames = read_frames(videos / clip)
        runs = tracker.detector_runs
        series, bridged, cost = track(frames, fps, tracker)
        found = np.isfinite(series[:, 0, 0])
        reps = count_reps(series, fps, exercise)
        line = (
            f"{clip:22} {exercise:8} {(found & ~bridged).mean():6.1%} {bridged.mean():6.1%}"
            f"  {1e3 * np.median(cost):8.1f}  {tracker.detector_runs - runs:8d}  {reps:4d}/{row['reps']}"
        )
        ref_path = args.mediapipe_ref / f"{Path(clip).stem}.npy"
        if ref_path.is_file():
            ref = np.load(ref_path)
            ours, _, _ = track(frames, 30.0, plain)  # MediaPipe's Python solution stamps frames 1/30 s apart
            px, presence = agreement(ours, ref)
            line += f"  | {px:8.2f}  {presence:8.1%}  {count_reps(ref, fps, exercise):4d}"
        print(line)


if __name__ == "__main__":
    main()
