"""Barbell trajectories → reps and velocities, scored against the vbt eval set (never copied here).

Tables: (a) the 32 Kinovea sets, predicted vs labelled reps, with two baselines in the same run;
(b) the 5 mocap sets, reps measured on the phone's plate-tracker trajectory (metres from the plate
size) and on the mocap trajectory itself, matched rep by rep to ``reps_reference.csv``;
(c) streaming throughput on one core.

Usage: python bench/vbt.py [--markdown]   (eval folder: $REPLENS_EVAL_DIR, default ../shared/eval)
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Literal

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from replens.contract import Exercise  # noqa: E402
from replens.device_agent.counting.bar_recognition import RecognizingTrajectoryCounter  # noqa: E402
from replens.device_agent.counting.events import CountEvent, RepCompleted, RepMeasurement  # noqa: E402
from replens.device_agent.counting.recognizing import StationEvent  # noqa: E402
from replens.device_agent.counting.trajectory import TrajectoryRepEngine  # noqa: E402
from replens.device_agent.sets import counted_sets  # noqa: E402

# Kinovea lift codes: bar on the back (squat, good morning) or bench rests high; Romanian deadlifts
# start from the top; deadlifts and stiff-leg deadlifts start on the floor.
LIFTS: dict[str, tuple[Exercise, Literal["low", "high"] | None]] = {
    "squat": (Exercise.SQUAT, None),
    "gms": (Exercise.SQUAT, None),
    "bp": (Exercise.BENCH_PRESS, None),
    "smith_bp": (Exercise.BENCH_PRESS, None),
    "dl": (Exercise.DEADLIFT, None),
    "sdl": (Exercise.DEADLIFT, None),
    "sldl": (Exercise.DEADLIFT, None),
    "rdl": (Exercise.DEADLIFT, "high"),
}
PHONE_ASPECT = 9 / 16  # portrait phone frame, width / height (README: portrait, inferred)
ROM_TOLERANCE_CM = 3.0  # the range-of-motion target, per rep
VIDEO_LAG_S = 0.04  # the video tracker stamps frames 0.03–0.05 s later than mocap
Track = list[tuple[float, float | None, float | None, tuple[float, float] | None]]
Pair = tuple[dict[str, str], RepMeasurement | None]  # a reference rep and ours


def load(path: Path) -> dict[str, np.ndarray]:
    """A CSV as named float columns."""
    with path.open() as f:
        rows = list(csv.DictReader(f))
    return {k: np.array([float(r[k]) for r in rows]) for k in rows[0]}


def run(engine: TrajectoryRepEngine, track: Track) -> list[RepMeasurement]:
    """Stream a whole track; the completed reps."""
    events: list[CountEvent] = []
    for t, x, y, plate in track:
        events += engine.update(t, x, y, plate)
    events += engine.finish(track[-1][0] + 0.1)
    return [e.rep for e in events if isinstance(e, RepCompleted)]


def kinovea_baselines(y: np.ndarray, rest: str) -> tuple[int, int]:
    """(raw local minima of y, crossings of the set's mid-level): the naive and an offline counter."""
    minima = int(np.sum((y[1:-1] < y[:-2]) & (y[1:-1] <= y[2:])))
    lo, hi = np.percentile(y, [2, 98])
    side = y > (lo + hi) / 2 if rest == "low" else y < (lo + hi) / 2
    return minima, int(np.sum(side[1:] & ~side[:-1]))


def table_a(kin: Path) -> tuple[list[list[str]], str]:
    rows, exact, base_exact, mid_exact = [], 0, 0, 0
    for lab in csv.DictReader((kin / "labels.csv").open()):
        d = load(kin / lab["file"])
        exercise, rest = LIFTS[lab["lift"]]
        engine = TrajectoryRepEngine(exercise, meters_per_unit=0.01, y_up=True, rest_position=rest)
        reps = run(engine, [(t, x, y, None) for t, x, y in zip(d["t_s"], d["x_cm"], d["y_cm"], strict=True)])
        side = rest or ("high" if exercise in (Exercise.SQUAT, Exercise.BENCH_PRESS) else "low")
        minima, mid = kinovea_baselines(d["y_cm"], side)
        gt = int(lab["reps"])
        exact += len(reps) == gt
        base_exact += minima == gt
        mid_exact += mid == gt
        mcv = np.mean([r.mean_velocity_m_s or 0.0 for r in reps]) if reps else float("nan")
        rom = np.mean([r.rom_m or 0.0 for r in reps]) if reps else float("nan")
        rows.append([lab["file"], side, str(gt), str(len(reps)), "ok" if len(reps) == gt else "MISS",
                     str(minima), str(mid), f"{mcv:.2f}", f"{100 * rom:.0f}"])
    n = len(rows)
    summary = (f"exact: engine {exact}/{n}, raw local minima of y {base_exact}/{n}, "
               f"offline mid-level crossings {mid_exact}/{n}")
    return rows, summary


def match(reps: Sequence[RepMeasurement], ref: list[dict[str, str]], lag: float, low: bool) -> list[Pair]:
    """(reference row, our rep or None): ours is the rep whose concentric half holds the reference's middle."""
    out = []
    for r in ref:
        mid = (float(r["t_conc_start_s"]) + float(r["t_conc_end_s"])) / 2 + lag
        hit = [p for p in reps if (p.start_s <= mid <= p.turn_s if low else p.turn_s <= mid <= p.end_s)]
        out.append((r, hit[0] if hit else None))
    return out


def score(pairs: list[Pair], n_pred: int) -> list[str]:
    got = [(r, p) for r, p in pairs if p is not None]
    mcv = [(p.mean_velocity_m_s or 0.0) - float(r["mcv_mps"]) for r, p in got]
    rom = [100 * ((p.rom_m or 0.0) - float(r["rom_m"])) for r, p in got]
    peak = [(p.peak_velocity_m_s or 0.0) - float(r["peak_v_mps"]) for r, p in got]
    dur = [p.concentric_s - float(r["conc_dur_s"]) for r, p in got]

    def rms(e: list[float]) -> str:
        return f"{math.sqrt(np.mean(np.square(e))):.3f}" if e else "-"

    def mean(e: list[float]) -> str:
        return f"{np.mean(e):+.3f}" if e else "-"

    within = f"{sum(abs(e) <= ROM_TOLERANCE_CM for e in rom)}/{len(rom)}"
    rom_rms = f"{math.sqrt(np.mean(np.square(rom))):.1f}" if rom else "-"
    rom_max = f"{np.max(np.abs(rom)):.1f}" if rom else "-"
    return [f"{n_pred}/{len(pairs)}", str(len(got)), rms(mcv), mean(mcv), rom_rms, within, rom_max, mean(rom),
            rms(peak), mean(peak), mean(dur)]


def table_b(ev: Path) -> list[list[str]]:
    refs: dict[str, list[dict[str, str]]] = {}
    for r in csv.DictReader((ev / "mocap" / "reps_reference.csv").open()):
        refs.setdefault(r["set"], []).append(r)
    rows: list[list[str]] = []
    all_pairs: dict[str, tuple[list[Pair], int]] = {}
    for lab in csv.DictReader((ev / "mocap" / "labels.csv").open()):
        name, exercise = lab["set"], Exercise(lab["lift"])
        low = exercise is Exercise.DEADLIFT
        v = load(ev / "video_tracker" / f"{name}.csv")
        track: Track = [(t, x, y, (w, h)) for t, x, y, w, h in
                        zip(v["t_s"], v["x_norm"], v["y_norm"], v["plate_w_norm"], v["plate_h_norm"], strict=True)]
        m = load(ev / "mocap" / f"{name}.csv")
        mx, mz = (m["left_x_mm"] + m["right_x_mm"]) / 2, (m["left_z_mm"] + m["right_z_mm"]) / 2
        mtrack: Track = [(t, x, z, None) for t, x, z in zip(m["t_s"], mx, mz, strict=True)]
        for source, tr, eng, lag in (
            ("video per-axis", track, TrajectoryRepEngine(exercise), VIDEO_LAG_S),
            ("video 9:16", track, TrajectoryRepEngine(exercise, frame_aspect=PHONE_ASPECT), VIDEO_LAG_S),
            ("mocap", mtrack, TrajectoryRepEngine(exercise, meters_per_unit=0.001, y_up=True), 0.0),
        ):
            reps = run(eng, tr)
            pairs = match(reps, refs[name], lag, low)
            acc, n = all_pairs.get(source, ([], 0))
            all_pairs[source] = (acc + pairs, n + len(reps))
            rows.append([name, source, *score(pairs, len(reps))])
    for source, (pairs, n) in all_pairs.items():
        rows.append(["ALL", source, *score(pairs, n)])
    return rows


def table_c(ev: Path) -> list[list[str]]:
    tracks: list[tuple[TrajectoryRepEngine, Track]] = []
    for f in sorted((ev / "kinovea").glob("0*.csv")):
        d = load(f)
        ex, rest = LIFTS[f.stem.split("_", 1)[1].rsplit("_", 1)[0]]
        eng = TrajectoryRepEngine(ex, meters_per_unit=0.01, y_up=True, rest_position=rest)
        tracks.append((eng, [(t, x, y, None) for t, x, y in zip(d["t_s"], d["x_cm"], d["y_cm"], strict=True)]))
    for f in sorted((ev / "video_tracker").glob("*.csv")):
        v = load(f)
        eng = TrajectoryRepEngine(Exercise(f.stem.rstrip("0123456789")))
        tracks.append((eng, [(t, x, y, (w, h)) for t, x, y, w, h in zip(
            v["t_s"], v["x_norm"], v["y_norm"], v["plate_w_norm"], v["plate_h_norm"], strict=True)]))
    tracks = [(e, [(float(t), float(x), float(y), p and (float(p[0]), float(p[1]))) for t, x, y, p in tr])  # type: ignore[arg-type]
              for e, tr in tracks]
    n = sum(len(tr) for _, tr in tracks)
    best = math.inf
    for _ in range(3):
        t0 = time.perf_counter()
        for eng, tr in tracks:
            run(eng, tr)
        best = min(best, time.perf_counter() - t0)
    return [[str(len(tracks)), str(n), f"{best:.2f}", f"{n / best:,.0f}", f"{1e6 * best / n:.1f}"]]


LIFT_OF = {"squat": Exercise.SQUAT, "bp": Exercise.BENCH_PRESS, "smith_bp": Exercise.BENCH_PRESS,
           "dl": Exercise.DEADLIFT}  # the Kinovea lifts that have a profile (rdl, sdl and gms have none)
STATIONS = {"rack (squat, bench, deadlift)": [Exercise.SQUAT, Exercise.BENCH_PRESS, Exercise.DEADLIFT],
            "every barbell lift (auto)": None}


def table_d(kin: Path) -> list[list[str]]:
    """Lifts told apart from the bar path alone, and the count with the recognised lift."""
    rows = []
    labels = [lab for lab in csv.DictReader((kin / "labels.csv").open()) if lab["lift"] in LIFT_OF]
    for name, candidates in STATIONS.items():
        right = exact = 0
        wrong: list[str] = []
        for lab in labels:
            d = load(kin / lab["file"])
            counter = RecognizingTrajectoryCounter(candidates, meters_per_unit=0.01, y_up=True)
            events: list[StationEvent] = []
            for t, x, y in zip(d["t_s"], d["x_cm"], d["y_cm"], strict=True):
                events += counter.update(float(t), float(x), float(y))
            events += counter.finish(float(d["t_s"][-1]) + 0.1)
            sets = counted_sets(events, Exercise.AUTO)
            got = max(sets, key=lambda s: len(s.reps)).exercise if sets else None
            right += got is LIFT_OF[lab["lift"]]
            exact += sum(len(s.reps) for s in sets) == int(lab["reps"])
            if got is not LIFT_OF[lab["lift"]]:
                wrong.append(f"{lab['file'][:3]}→{got.value if got else '-'}")
        rows.append([name, f"{right}/{len(labels)}", f"{exact}/{len(labels)}", " ".join(wrong) or "-"])
    return rows


def render(title: str, head: list[str], rows: Iterable[list[str]], markdown: bool) -> str:
    rows = list(rows)
    if markdown:
        lines = [f"**{title}**", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows]) + "\n"
    widths = [max(len(c) for c in col) for col in zip(head, *rows, strict=True)]
    fmt = "  ".join(f"{{:>{w}}}" for w in widths)
    return "\n".join([title, fmt.format(*head)] + [fmt.format(*r) for r in rows]) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--markdown", action="store_true", help="print the tables as markdown")
    args = parser.parse_args()
    ev = Path(os.environ.get("REPLENS_EVAL_DIR", ROOT.parent / "shared" / "eval")) / "vbt"
    if not (ev / "kinovea" / "labels.csv").is_file() or not (ev / "mocap" / "reps_reference.csv").is_file():
        print(f"error: vbt eval set not found at {ev} (set REPLENS_EVAL_DIR to the folder holding vbt/)",
              file=sys.stderr)
        return 2
    rows, summary = table_a(ev / "kinovea")
    print(render("(a) Kinovea: reps per set", ["file", "rest", "gt", "ours", "", "raw minima", "mid-level",
                                                "MCV m/s", "ROM cm"], rows, args.markdown))
    print(summary + "\n")
    print(render("(b) mocap sets vs reps_reference.csv (errors = ours - reference)",
                 ["set", "source", "reps ours/ref", "matched", "MCV RMSE", "MCV bias", "ROM RMSE cm",
                  f"ROM within {ROM_TOLERANCE_CM:g} cm", "ROM max abs err cm",
                  "ROM bias cm", "peak RMSE", "peak bias", "dur bias s"], table_b(ev), args.markdown))
    print(render("(c) streaming throughput, one core (best of 3)",
                 ["tracks", "samples", "seconds", "samples/s", "us/sample"], table_c(ev), args.markdown))
    print(render("(d) Kinovea: the lift recognised from the bar path (rest side, travel) and the count with it",
                 ["station", "recognised", "count exact", "misses"], table_d(ev / "kinovea"), args.markdown))
    return 0


if __name__ == "__main__":
    sys.exit(main())
