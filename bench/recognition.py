"""RepCount-A pose series with ``--exercise auto``: which exercise, and the count with it (issue 14).

For every series the recognising counter (``RecognizingPoseCounter``: the recogniser plus one
counter per distinct counting configuration, all fed every frame) runs twice: with every profile as
a candidate, and with a station-style list of 4 candidates that holds the true exercise and 3 others
drawn with a fixed seed (series without a profile, ``pommel`` and ``others``, get 4 random ones).
Reported:

* recognition accuracy over the series whose class has a profile (136 of 152; ``test534`` has no
  pose at all and counts as wrong), both ways, with confusion matrices, accuracy on two random
  halves (a check against tuning to the set) and how often the stated confidence is right;
* MAE (mean |pred - truth| / truth, the one series with truth 0 divided by 1) and OBO over all 152,
  counting with the recognised exercise, beside today's ``auto`` (dominant motion) and the exercise
  given, from the same run, and a policy for uncertain decisions (count with ``auto`` when the
  stated confidence is below ``FALLBACK_CONFIDENCE``), with MAE on the two random halves;
* cost per frame on one core, best of 3 passes over every 4th series: the recogniser alone and the
  whole recognising counter, for both candidate lists, against the plain single-profile engine.
  With ``--clips`` the 3 labelled clips in ``videos/`` go through our BlazePose tracker (the video
  pipeline's pose stage, timed per frame) and the recognising counter with every profile a
  candidate; each cost is then also given as a share of the measured pose time (the budget is 10 %).

The data stays outside the repository: ``REPLENS_EVAL_DIR`` (default ``../shared/eval``).
Usage: python bench/recognition.py [--markdown] [--seed 0] [--clips] [--only CLASS] [--no-cost]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # one core, as the cost figures claim

import argparse  # noqa: E402
import itertools  # noqa: E402
import random  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections import Counter, defaultdict  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from repcount import Video, load, run_engine  # noqa: E402
from repcount_score import rel_error  # noqa: E402
from tables import table  # noqa: E402

from replens.contract.exercises import Exercise  # noqa: E402
from replens.device_agent.counting.recognition import ExerciseRecognizer  # noqa: E402
from replens.device_agent.counting.recognizing import RecognizingEvent, RecognizingPoseCounter  # noqa: E402
from replens.device_agent.sets import counted_sets  # noqa: E402

PROFILED = [e for e in Exercise if e is not Exercise.AUTO]
STATION_SIZE = 4
FALLBACK_CONFIDENCE = 0.5  # a policy measured here, not (yet) the recognising counter's behaviour


@dataclass
class Outcome:
    """One series run with one candidate list."""

    name: str
    label: str
    truth: Exercise | None  # None: the class has no profile
    predicted: Exercise | None
    confidence: float
    count: int
    reps_truth: int


def station_list(video: Video, rng: random.Random) -> list[Exercise]:
    """The true exercise and 3 others (4 random ones for a class without a profile)."""
    truth = video.exercise
    others = [e for e in PROFILED if e is not truth]
    if truth is Exercise.AUTO:
        return rng.sample(others, STATION_SIZE)
    picked: list[Exercise] = [truth, *rng.sample(others, STATION_SIZE - 1)]
    rng.shuffle(picked)
    return picked


def recognise_and_count(video: Video, candidates: list[Exercise] | None) -> tuple[Exercise | None, float, int]:
    """(recognised exercise of the longest set, its confidence, reps over all sets)."""
    counter = RecognizingPoseCounter(candidates)
    events: list[RecognizingEvent] = []
    n = len(video.frames)
    for i in range(n):
        events += counter.update(i / video.fps, video.frames[i])
    events += counter.finish(n / video.fps)
    sets = counted_sets(events, Exercise.AUTO)
    if not sets:
        return None, 0.0, 0
    longest = max(sets, key=lambda s: len(s.reps))
    return longest.exercise, longest.exercise_confidence, sum(len(s.reps) for s in sets)


def evaluate(videos: list[Video], seed: int) -> tuple[list[Outcome], list[Outcome]]:
    """Every series with every profile, then with a station list of 4."""
    rng = random.Random(seed)
    every: list[Outcome] = []
    station: list[Outcome] = []
    for v in videos:
        truth = None if v.exercise is Exercise.AUTO else v.exercise
        for candidates, out in ((None, every), (station_list(v, rng), station)):
            predicted, conf, count = recognise_and_count(v, candidates)
            out.append(Outcome(v.name, v.label, truth, predicted, conf, count, v.count))
        print(".", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return every, station


def accuracy(outcomes: list[Outcome]) -> tuple[float, int]:
    scored = [o for o in outcomes if o.truth is not None]
    return statistics.fmean(o.predicted is o.truth for o in scored), len(scored)


def confusion(outcomes: list[Outcome], markdown: bool) -> None:
    """Rows: the true class; columns: what was recognised (only columns that occur)."""
    rows: dict[str, Counter[str]] = defaultdict(Counter)
    for o in outcomes:
        if o.truth is not None:
            rows[o.truth.value][o.predicted.value if o.predicted else "none"] += 1
    cols = sorted({c for r in rows.values() for c in r}, key=lambda c: (c not in rows, c))
    cells = [
        [truth, *(str(r[c] or ".") for c in cols), f"{r[truth] / sum(r.values()):.2f}"]
        for truth, r in sorted(rows.items())
    ]
    table(["true \\ recognised", *cols, "recall"], cells, markdown)


def halves(outcomes: list[Outcome], seed: int) -> list[float]:
    names = sorted(o.name for o in outcomes if o.truth is not None)
    random.Random(seed).shuffle(names)
    parts = [set(names[: len(names) // 2]), set(names[len(names) // 2 :])]
    return [accuracy([o for o in outcomes if o.name in part])[0] for part in parts]


def calibration(outcomes: list[Outcome]) -> str:
    """Accuracy within bands of stated confidence."""
    scored = [o for o in outcomes if o.truth is not None and o.predicted is not None]
    parts = []
    for lo, hi in ((0.0, 0.3), (0.3, 0.5), (0.5, 0.7), (0.7, 1.01)):
        band = [o for o in scored if lo <= o.confidence < hi]
        if band:
            right = statistics.fmean(o.predicted is o.truth for o in band)
            parts.append(f"conf {lo:.1f}-{min(hi, 1.0):.1f}: {right:.2f} right (n={len(band)})")
    return "; ".join(parts)


def count_rows(
    videos: list[Video], every: list[Outcome], station: list[Outcome], seed: int
) -> list[list[str]]:
    """MAE / OBO of the ways of counting, over all series, over those with a profile, and MAE on random halves."""
    given, auto = [], []
    for v in videos:
        given.append(len(run_engine(v, v.exercise)[0]))
        auto.append(len(run_engine(v, Exercise.AUTO)[0]))
    truths = [v.count for v in videos]
    profiled = [v.exercise is not Exercise.AUTO for v in videos]
    ways = {
        "today's auto (dominant motion)": auto,
        "exercise given": given,
        "recognised, every profile a candidate": [o.count for o in every],
        f"recognised, station list of {STATION_SIZE}": [o.count for o in station],
    }
    for label, outcomes in (("every profile", every), (f"station list of {STATION_SIZE}", station)):
        ways[f"recognised ({label}), auto below {FALLBACK_CONFIDENCE:.1f} confidence"] = [
            o.count if o.confidence >= FALLBACK_CONFIDENCE else a for o, a in zip(outcomes, auto, strict=True)
        ]
    names = sorted(v.name for v in videos)
    random.Random(seed).shuffle(names)
    halves = [set(names[: len(names) // 2]), set(names[len(names) // 2 :])]
    rows = []
    for name, preds in ways.items():
        row = [name]
        masks = [[True] * len(videos), profiled, *([v.name in h for v in videos] for h in halves)]
        for k, mask in enumerate(masks):
            pairs = [(p, t) for p, t, m in zip(preds, truths, mask, strict=True) if m]
            row.append(f"{statistics.fmean(rel_error(p, t) for p, t in pairs):.3f}")
            if k < 2:
                row.append(f"{statistics.fmean(abs(p - t) <= 1 for p, t in pairs):.2f}")
        rows.append(row)
    return rows


def per_frame_us(videos: list[Video], make: object, repeats: int = 3) -> float:
    """Best-of-``repeats`` microseconds per frame of ``make()``'s update over every 4th series."""
    sample = videos[::4]
    best = float("inf")
    for _ in range(repeats):
        spent = frames = 0.0
        for v in sample:
            worker = make()  # type: ignore[operator]
            t0 = time.perf_counter()
            for i in range(len(v.frames)):
                worker.update(i / v.fps, v.frames[i])
            spent += time.perf_counter() - t0
            frames += len(v.frames)
        best = min(best, spent / frames * 1e6)
    return best


def clips(eval_dir: Path, markdown: bool) -> float:
    """The labelled clips through BlazePose and the recognising counter; returns the median pose ms/frame."""
    import csv

    from pose_tracker import read_frames, track

    from replens.device_agent.trackers.pose.tracker import PoseTracker

    tracker = PoseTracker("CPU", "f32", 1)
    rows, times = [], []
    with (eval_dir / "videos" / "labels.csv").open(newline="") as fh:
        for row in csv.DictReader(fh):
            fps = float(row["fps"])
            series, _, seconds = track(read_frames(eval_dir / "videos" / row["file"]), fps, tracker)
            tracker.reset()
            times += seconds.tolist()
            counter = RecognizingPoseCounter()
            events = []
            for i, frame in enumerate(series):
                events += counter.update(i / fps, None if np.isnan(frame).any() else frame)
            events += counter.finish(len(series) / fps)
            sets = counted_sets(events, Exercise.AUTO)
            last = max(sets, key=lambda s: len(s.reps)) if sets else None
            got = runner = "-"
            if last is not None:
                got = f"{last.exercise.value} ({last.exercise_confidence:.2f})"
                if last.runner_up is not None:
                    runner = f"{last.runner_up.value} ({last.runner_up_confidence or 0.0:.2f})"
            count = sum(len(s.reps) for s in sets)
            pose = f"{np.median(seconds) * 1e3:.1f}"
            rows.append([row["file"], row["exercise"], got, runner, f"{count} / {row['reps']}", pose])
    print("\n## The labelled clips: our BlazePose, then the recognising counter with every profile a candidate\n")
    table(["clip", "exercise", "recognised", "runner-up", "reps / truth", "pose ms/frame"], rows, markdown)
    return float(np.median(times) * 1e3)


def cost_rows(videos: list[Video], pose: float | None, seed: int) -> list[list[str]]:
    rng = random.Random(seed)
    lists = [station_list(v, rng) for v in videos[::4]]
    picks = itertools.cycle(lists)
    workers = {
        "plain engine, one profile": _Plain,
        "recogniser, every profile": ExerciseRecognizer,
        f"recogniser, {STATION_SIZE} candidates": lambda: ExerciseRecognizer(next(picks)),
        "recognising counter, every profile": RecognizingPoseCounter,
        f"recognising counter, {STATION_SIZE} candidates": lambda: RecognizingPoseCounter(next(picks)),
    }
    rows = []
    for name, make in workers.items():
        us = per_frame_us(videos, make)
        share = f"{us / 1e3 / pose:.1%}" if pose else "-"
        rows.append([name, f"{us:.0f}", share])
    return rows


class _Plain:
    """Today's per-frame cost: one PoseRepEngine with a named profile."""

    def __init__(self) -> None:
        from replens.device_agent.counting.pose import PoseRepEngine

        self._engine = PoseRepEngine(Exercise.SQUAT)

    def update(self, t_s: float, frame: np.ndarray) -> None:
        self._engine.update(t_s, frame)


def print_cost(videos: list[Video], pose: float | None, args: argparse.Namespace) -> None:
    budget = f"{0.1 * pose:.2f} ms (10 % of {pose:.1f} ms pose inference)" if pose else "1.5 ms (issue 14)"
    print(f"\n## Cost per frame, one core, best of 3 passes over every 4th series (budget {budget})\n")
    table(["work per frame", "us/frame", "of pose inference"], cost_rows(videos, pose, args.seed), args.markdown)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--markdown", action="store_true", help="print the tables as markdown")
    parser.add_argument("--seed", type=int, default=0, help="seed of the station lists and the random halves")
    parser.add_argument("--only", help="one eval class only (e.g. squat)")
    parser.add_argument("--clips", action="store_true", help="also the 3 labelled clips through BlazePose")
    parser.add_argument("--no-cost", action="store_true", help="skip the cost measurement")
    parser.add_argument("--cost-only", action="store_true", help="only the cost measurement")
    parser.add_argument("--list", action="store_true", help="also print every series' outcome")
    args = parser.parse_args(argv)
    eval_dir = Path(os.environ.get("REPLENS_EVAL_DIR", ROOT.parent / "shared" / "eval"))
    videos = [v for v in load(eval_dir) if args.only in (None, v.label)]
    if args.cost_only:
        pose = clips(eval_dir, args.markdown) if args.clips else None
        print_cost(videos, pose, args)
        return 0
    every, station = evaluate(videos, args.seed)
    for title, outcomes in (("every profile a candidate", every), (f"station lists of {STATION_SIZE}", station)):
        acc, n = accuracy(outcomes)
        h = halves(outcomes, args.seed)
        print(f"\n## Recognition, {title}: {acc:.1%} of {n} series (random halves {h[0]:.1%} / {h[1]:.1%})\n")
        confusion(outcomes, args.markdown)
        print(f"\n{calibration(outcomes)}")
    print("\n## Counting (MAE = mean |pred - truth| / truth, OBO = share off by at most one)\n")
    head = ["counted with", "MAE all", "OBO all", "MAE profiled", "OBO profiled", "MAE half 1", "MAE half 2"]
    table(head, count_rows(videos, every, station, args.seed), args.markdown)
    pose = clips(eval_dir, args.markdown) if args.clips else None
    if not args.no_cost:
        print_cost(videos, pose, args)
    if args.list:
        for a, b in zip(every, station, strict=True):
            print(f"{a.name} {a.label} every={a.predicted} ({a.confidence:.2f}) count={a.count} "
                  f"station={b.predicted} count={b.count} truth={a.reps_truth}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
