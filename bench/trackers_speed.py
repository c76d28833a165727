"""Speed of every tracker at 640×480: milliseconds per frame for each stage, frames per second end to end.

Frames: the labelled eval clips (``REPLENS_EVAL_DIR``, default ``../shared/eval`` from the repo root,
``videos/*.mp4``) and the project's own ``device_agent/samples/stack_demo.mp4``. Each clip is decoded
once with ``cv2.VideoCapture.read`` (timed per frame: the *decode* stage, at the file's own size)
and every frame is resized once to 640×480 in memory (``cv2.resize``, bilinear, aspect not kept:
the *resize* stage). Every tracker then runs on the same 640×480 frames through the station pipeline
the agent builds (``make_pipeline`` / ``PosePipeline``), with the *count* stage being the counting
engine's ``update`` and the *tracker* stage the rest of the pipeline's ``update``. End to end per
frame = decode + resize + tracker + count; fps = frames / summed end-to-end time.

Sub-stages are timed by wrapping the tracker's own calls with ``time.perf_counter`` in this
process only (instance attributes and module globals, restored afterwards); no tracker code is
changed. A sub-stage that does not run on every frame (the pose detector) is reported over the frames
it ran on, with how often it ran and its mean cost per frame.

Trackers: ``stack`` (optical flow; the demo clip uses its configured ROI, the others the whole
frame), ``pose`` (BlazePose on OpenVINO, CPU, f32 unless told, one inference thread unless told) and
``barbell`` (model-free: Hough circles for the plate, no plates in these clips, so it mostly searches).

Targets (issue 4): pose pipeline ≥ 30 fps and weight-stack tracker ≥ 300 fps, end to end at 640×480.

Usage: python bench/trackers_speed.py [--markdown] [--trackers stack,pose,barbell] [--threads 1]
       [--precision f32] [--max-frames N] [--cv-threads N]
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import platform
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
EVAL_DIR = Path(os.environ.get("REPLENS_EVAL_DIR", ROOT.parent / "shared" / "eval"))
SAMPLE = ROOT / "device_agent" / "samples" / "stack_demo.mp4"
SIZE = (640, 480)
TARGET_FPS = {"stack": 300.0, "pose": 30.0}
POSE_EXERCISES = {"squat": "squat", "situp": "situp"}  # leg_raise has no pose profile: auto
WARMUP_FRAMES = 15


@dataclass
class Clip:
    name: str
    fps: float
    frames: list[np.ndarray]  # 640×480 BGR
    decode_s: np.ndarray  # per frame, original size
    resize_s: np.ndarray
    size: tuple[int, int]  # original (w, h)
    exercise: str  # pose profile
    stack_roi: tuple[float, float, float, float] | None


def load_clip(path: Path, exercise: str, roi: tuple[float, float, float, float] | None, limit: int | None) -> Clip:
    capture = cv2.VideoCapture(str(path))
    fps = float(capture.get(cv2.CAP_PROP_FPS)) or 30.0
    originals: list[np.ndarray] = []
    decode: list[float] = []
    try:
        while limit is None or len(originals) < limit:
            start = time.perf_counter()
            ok, image = capture.read()
            elapsed = time.perf_counter() - start
            if not ok:
                break
            originals.append(image)
            decode.append(elapsed)
    finally:
        capture.release()
    if not originals:
        sys.exit(f"{path}: no frame could be decoded")
    frames: list[np.ndarray] = []
    resize: list[float] = []
    for image in originals:
        start = time.perf_counter()
        frames.append(cv2.resize(image, SIZE, interpolation=cv2.INTER_LINEAR))
        resize.append(time.perf_counter() - start)
    h, w = originals[0].shape[:2]
    return Clip(path.name, fps, frames, np.array(decode), np.array(resize), (w, h), exercise, roi)


def load_clips(limit: int | None) -> list[Clip]:
    clips = []
    videos = EVAL_DIR / "videos"
    labels = videos / "labels.csv"
    if labels.is_file():
        with labels.open(encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                clips.append(load_clip(videos / row["file"], POSE_EXERCISES.get(row["exercise"], "auto"), None, limit))
    else:
        print(f"no eval clips at {videos} (set REPLENS_EVAL_DIR); timing the sample clip only")
    truth = json.loads(SAMPLE.with_suffix(".json").read_text(encoding="utf-8"))
    clips.append(load_clip(SAMPLE, "auto", tuple(truth["roi"]), limit))
    return clips


@dataclass
class StageClock:
    """Per-frame seconds for named stages; wrapped calls add to the current frame's slot."""

    n: int
    index: int = 0
    seconds: dict[str, np.ndarray] = field(default_factory=dict)
    calls: dict[str, np.ndarray] = field(default_factory=dict)

    def add(self, stage: str, dt: float) -> None:
        if stage not in self.seconds:
            self.seconds[stage] = np.zeros(self.n)
            self.calls[stage] = np.zeros(self.n, dtype=int)
        self.seconds[stage][self.index] += dt
        self.calls[stage][self.index] += 1

    def timed(self, stage: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.add(stage, time.perf_counter() - start)

        return wrapper


@contextlib.contextmanager
def wrapped(clock: StageClock, targets: list[tuple[Any, str, str]]) -> Iterator[None]:
    """Replace ``obj.attr`` with a timed wrapper for the duration (objects or modules), then restore."""
    saved = []
    for obj, attr, stage in targets:
        original = getattr(obj, attr)
        in_dict = attr in vars(obj)
        saved.append((obj, attr, original, in_dict))
        setattr(obj, attr, clock.timed(stage, original))
    try:
        yield
    finally:
        for obj, attr, original, in_dict in reversed(saved):
            if in_dict:
                setattr(obj, attr, original)
            else:
                delattr(obj, attr)  # an instance attribute shadowing the class's method


# Each tracker: build its pipeline for a clip, the calls to time as (object, attribute, stage), and
# derived stages (name, total stage, parts subtracted). "pipeline" is the pipeline's whole update.

def stack_pipeline(clip: Clip, shared: dict[str, Any]) -> Any:
    from replens.config.agent import StackTrackerConfig, StationConfig
    from replens.device_agent.trackers.registry import make_pipeline

    axis = "vertical" if clip.stack_roi is not None else "auto"
    tracker = StackTrackerConfig(roi=clip.stack_roi, axis=axis)
    return make_pipeline(StationConfig(exercise="lat_pulldown", tracker=tracker))


def stack_targets(pipeline: Any) -> list[tuple[Any, str, str]]:
    t = pipeline.tracker
    return [(pipeline.counter, "update", "count"), (t, "_work_image", "grey+scale"), (t, "_flow", "features+flow"),
            (t, "_coherent_step", "coherent step")]


def pose_pipeline(clip: Clip, shared: dict[str, Any]) -> Any:
    from replens.config.agent import PoseTrackerConfig, StationConfig
    from replens.device_agent.trackers.pose.tracker import PoseTracker
    from replens.device_agent.trackers.registry import PosePipeline

    config = PoseTrackerConfig(precision=shared["precision"], threads=shared["threads"])
    if "pose_tracker" not in shared:  # compile the models once
        shared["pose_tracker"] = PoseTracker(config.device, config.precision, config.threads)
    tracker = shared["pose_tracker"]
    tracker.reset()
    return PosePipeline(config, StationConfig(exercise=clip.exercise, tracker=config), tracker=tracker)


def pose_targets(pipeline: Any) -> list[tuple[Any, str, str]]:
    from replens.device_agent.trackers.pose import detector, landmarks
    from replens.device_agent.trackers.pose import tracker as tracker_module

    t = pipeline.tracker
    return [
        (pipeline.engine, "update", "count"),
        (t.detector, "detect", "detector"),
        (detector, "letterbox", "detector letterbox"),
        (t.detector, "model", "detector inference"),
        (t.landmark_model, "run", "landmarks"),
        (t.landmark_model, "model", "landmark inference"),
        (landmarks, "decode", "landmark decode"),
        (tracker_module, "roi_from_points", "ROI"),
        (tracker_module, "alignment_size", "ROI"),
        (t._body, "apply", "smoothing"),
        (t._aux, "apply", "smoothing"),
    ]


def barbell_pipeline(clip: Clip, shared: dict[str, Any]) -> Any:
    from replens.config.agent import BarbellTrackerConfig, StationConfig
    from replens.device_agent.trackers.registry import make_pipeline

    return make_pipeline(StationConfig(exercise="squat", tracker=BarbellTrackerConfig()))


def barbell_targets(pipeline: Any) -> list[tuple[Any, str, str]]:
    t = pipeline.tracker
    return [(pipeline.engine, "update", "count"), (t.finder, "find", "circle search"),
            (t.track, "update", "plate track")]


TRACKERS: dict[str, tuple[Callable[[Clip, dict[str, Any]], Any], Callable[[Any], list[tuple[Any, str, str]]]]] = {
    "stack": (stack_pipeline, stack_targets),
    "pose": (pose_pipeline, pose_targets),
    "barbell": (barbell_pipeline, barbell_targets),
}

# (row label, how to compute it from the stage arrays, the stage whose frames it is reported over or
# None for every frame); indented rows are parts of the row above.
Layout = list[tuple[str, Callable[[dict[str, np.ndarray]], np.ndarray], str | None]]
LAYOUT: dict[str, Layout] = {
    "stack": [
        ("  grey + scale ROI", lambda s: s["grey+scale"], None),
        ("  features + LK flow", lambda s: s["features+flow"], None),
        ("  coherent step", lambda s: s["coherent step"], None),
    ],
    "pose": [
        ("  detector (when run)", lambda s: s["detector"], "detector"),
        ("    letterbox", lambda s: s["detector letterbox"], "detector"),
        ("    inference", lambda s: s["detector inference"], "detector"),
        ("    decode + NMS", lambda s: s["detector"] - s["detector letterbox"] - s["detector inference"], "detector"),
        ("  landmarks", lambda s: s["landmarks"], "landmarks"),
        ("    crop + normalise", lambda s: s["landmarks"] - s["landmark inference"] - s["landmark decode"],
         "landmarks"),
        ("    inference", lambda s: s["landmark inference"], "landmarks"),
        ("    decode + heatmap", lambda s: s["landmark decode"], "landmarks"),
        ("  ROI from points", lambda s: s["ROI"], "ROI"),
        ("  smoothing", lambda s: s["smoothing"], "smoothing"),
        ("  other (gate, bookkeeping)",
         lambda s: s["tracker"] - s["detector"] - s["landmarks"] - s["ROI"] - s["smoothing"], None),
    ],
    "barbell": [
        ("  circle search", lambda s: s["circle search"], None),
        ("  plate track", lambda s: s["plate track"], None),
    ],
}


@dataclass
class Run:
    tracker: str
    clips: list[str]
    stages: dict[str, np.ndarray]  # per frame, seconds; all clips concatenated
    ran: dict[str, np.ndarray]  # per frame, bool
    per_clip_fps: dict[str, float]
    extra: dict[str, Any] = field(default_factory=dict)


def run_tracker(name: str, clips: list[Clip], shared: dict[str, Any]) -> Run:
    from replens.device_agent.sources.frame import Frame

    build, targets = TRACKERS[name]
    warm = build(clips[-1], shared)  # first inference, allocations, lazy imports
    for i, image in enumerate(clips[-1].frames[:WARMUP_FRAMES]):
        warm.update(Frame(image, i / clips[-1].fps, 0.0, i))
    parts: list[dict[str, np.ndarray]] = []
    ran: list[dict[str, np.ndarray]] = []
    per_clip_fps: dict[str, float] = {}
    detector_runs = 0
    for clip in clips:
        pipeline = build(clip, shared)
        clock = StageClock(len(clip.frames))
        total = np.zeros(len(clip.frames))
        runs_before = getattr(pipeline.tracker, "detector_runs", 0)
        with wrapped(clock, targets(pipeline)):
            for i, image in enumerate(clip.frames):
                clock.index = i
                frame = Frame(image, i / clip.fps, 0.0, i)
                start = time.perf_counter()
                pipeline.update(frame)
                total[i] = time.perf_counter() - start
        detector_runs += getattr(pipeline.tracker, "detector_runs", 0) - runs_before
        stages = {k: v for k, v in clock.seconds.items()}
        stage_ran = {k: v > 0 for k, v in clock.calls.items()}
        stages["tracker"] = total - stages.get("count", 0.0)
        stages["decode"], stages["resize"] = clip.decode_s, clip.resize_s
        stages["end to end"] = clip.decode_s + clip.resize_s + total
        per_clip_fps[clip.name] = len(clip.frames) / float(stages["end to end"].sum())
        parts.append(stages)
        ran.append(stage_ran)
    keys = {k for p in parts for k in p}
    merged = {k: np.concatenate([p.get(k, np.zeros(len(p["tracker"]))) for p in parts]) for k in keys}
    pairs = list(zip(parts, ran, strict=True))
    merged_ran = {k: np.concatenate([r.get(k, np.zeros(len(p["tracker"]), bool)) for p, r in pairs]) for k in keys}
    run = Run(name, [c.name for c in clips], merged, merged_ran, per_clip_fps)
    if name == "pose":
        run.extra["detector_runs"] = detector_runs
    return run


def stats(values: np.ndarray) -> tuple[float, float, float]:
    """Median and p95 in ms, and the mean in ms."""
    if values.size == 0:
        return float("nan"), float("nan"), float("nan")
    return 1e3 * float(np.median(values)), 1e3 * float(np.percentile(values, 95)), 1e3 * float(values.mean())


def table_rows(run: Run) -> list[tuple[str, str, float, float, float]]:
    """(stage, frames it ran on, median ms, p95 ms, mean ms per frame of all frames)."""
    s, n = run.stages, len(run.stages["tracker"])
    rows = []

    def add(label: str, values: np.ndarray, mask: np.ndarray | None = None) -> None:
        subset = values if mask is None else values[mask]
        med, p95, _ = stats(subset)
        share = "all" if mask is None or mask.all() else f"{int(mask.sum())}/{n}"
        rows.append((label, share, med, p95, 1e3 * float(values.sum()) / n))

    add("decode (original size)", s["decode"])
    add("resize to 640×480", s["resize"])
    add("tracker", s["tracker"])
    for label, fn, over in LAYOUT[run.tracker]:
        try:
            values = fn(s)
        except KeyError:  # a stage that never ran (no detector call in a short run)
            continue
        add(label, values, None if over is None else run.ran.get(over))
    add("count (engine update)", s["count"])
    add("end to end", s["end to end"])
    return rows


def fps(run: Run) -> float:
    e2e = run.stages["end to end"]
    return len(e2e) / float(e2e.sum())


def report(runs: list[Run], clips: list[Clip], markdown: bool, header: str) -> None:
    print(header)
    for run in runs:
        n = len(run.stages["tracker"])
        note = ""
        if "detector_runs" in run.extra:
            note = f"; detector ran on {run.extra['detector_runs']} of {n} frames"
        title = f"{run.tracker}: {n} frames from {len(run.clips)} clips{note}"
        rows = table_rows(run)
        if markdown:
            print(f"\n**{title}**\n")
            print("| stage | frames | median ms | p95 ms | mean ms/frame |")
            print("|---|---|---|---|---|")
            for label, share, med, p95, mean in rows:
                indent = "&nbsp;" * (len(label) - len(label.lstrip())) * 2
                print(f"| {indent}{label.strip()} | {share} | {med:.2f} | {p95:.2f} | {mean:.2f} |")
        else:
            print(f"\n{title}")
            print(f"{'stage':32} {'frames':>10} {'median ms':>10} {'p95 ms':>8} {'mean ms/frame':>14}")
            for label, share, med, p95, mean in rows:
                print(f"{label:32} {share:>10} {med:10.2f} {p95:8.2f} {mean:14.2f}")
    # summary: fps end to end per clip and overall, against the targets
    names = [c.name for c in clips]
    print()
    if markdown:
        print("| tracker | " + " | ".join(names) + " | all frames | tracker only | target | met |")
        print("|---|" + "---|" * (len(names) + 4))
    else:
        print(f"{'fps end to end':16}" + "".join(f"{n[:22]:>24}" for n in names)
              + f"{'all frames':>12}{'tracker only':>14}{'target':>9}  met")
    for run in runs:
        target = TARGET_FPS.get(run.tracker)
        overall = fps(run)
        tracker_only = len(run.stages["tracker"]) / float((run.stages["tracker"] + run.stages["count"]).sum())
        met = "-" if target is None else ("yes" if overall >= target else "NO")
        tgt = "-" if target is None else f"≥ {target:.0f}"
        cells = [f"{run.per_clip_fps[n]:.1f}" for n in names]
        if markdown:
            tail = f" | {overall:.1f} | {tracker_only:.1f} | {tgt} | {met} |"
            print(f"| {run.tracker} | " + " | ".join(cells) + tail)
        else:
            print(f"{run.tracker:16}" + "".join(f"{c:>24}" for c in cells)
                  + f"{overall:12.1f}{tracker_only:14.1f}{tgt:>9}  {met}")
    sizes = ", ".join(f"{c.name} {c.size[0]}×{c.size[1]} @ {c.fps:g} fps ({len(c.frames)} frames)" for c in clips)
    print(f"\nclips (original size): {sizes}")
    print("end to end = decode of the original file + resize to 640×480 + tracker + count; "
          "'tracker only' leaves out decode and resize.")


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, OpenCV {cv2.__version__}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables")
    parser.add_argument("--trackers", default="stack,pose,barbell", help="comma-separated: stack, pose, barbell")
    parser.add_argument("--precision", default="f32", help="pose inference precision (f32, f16, bf16)")
    parser.add_argument("--threads", type=int, default=1, help="pose inference threads")
    parser.add_argument("--max-frames", type=int, help="at most this many frames per clip (quick runs)")
    parser.add_argument("--cv-threads", type=int, help="cv2.setNumThreads (default: OpenCV's own, as the agent)")
    args = parser.parse_args()
    names = [n.strip() for n in args.trackers.split(",") if n.strip()]
    unknown = [n for n in names if n not in TRACKERS]
    if unknown:
        sys.exit(f"unknown tracker(s) {unknown}; choose from {sorted(TRACKERS)}")

    import openvino as ov

    if args.cv_threads is not None:
        cv2.setNumThreads(args.cv_threads)
    load_before = os.getloadavg()
    clips = load_clips(args.max_frames)
    shared: dict[str, Any] = {"precision": args.precision, "threads": args.threads}
    runs = [run_tracker(name, clips, shared) for name in names]
    load_after = os.getloadavg()
    pose_note = ""
    if "pose_tracker" in shared:
        model = shared["pose_tracker"].landmark_model.model
        pose_note = f"; pose: OpenVINO {ov.__version__.split('-')[0]}, precision {model.precision}, " \
                    f"{model.threads} inference thread(s)"
    header = (f"{machine()}, cv2 threads {cv2.getNumThreads()}{pose_note}\n"
              f"load average (1 min) {load_before[0]:.2f} before, {load_after[0]:.2f} after")
    report(runs, clips, args.markdown, header)


if __name__ == "__main__":
    main()
