"""Accuracy regression guard for CI: the 3 shared clips count exactly, RepCount-A (exercise given) is no worse.

Runs only where the evaluation data is (``REPLENS_EVAL_DIR``, default ``../shared/eval`` beside the
repository; CI has it there); without it, it says so and passes, so a clone without the data still
tests green. Two checks, each printing its figures:

* the 3 shared clips through the production pose pipeline (``PosePipeline``, as in
  ``bench/vision_counts.py``) must each count exactly their labelled reps; a clip recorded in
  ``bench/baselines.json`` as a known miss (with its cause) must count exactly or what was recorded,
  and is printed as a known miss on every run until the fix that makes it exact removes the record;
* RepCount-A with the exercise given (as in ``bench/repcount.py``): MAE must not be above, and OBO
  not below, the accepted figures in ``bench/baselines.json`` (compared at the 4 decimals recorded
  there; the counting is deterministic, so any change is a real one).

A change that improves the figures should record them in ``bench/baselines.json`` in the same commit.
Exit status 1 on a regression. About 1 minute on 2 cores.

Usage: python bench/guard.py
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASELINES = ROOT / "bench" / "baselines.json"
EVAL_DIR = Path(os.environ.get("REPLENS_EVAL_DIR", ROOT.parent / "shared" / "eval"))


def repcount_given() -> tuple[float, float, int]:
    """RepCount-A, exercise given: (MAE, OBO, videos)."""
    import repcount
    from repcount_score import rel_error

    videos = repcount.load(EVAL_DIR)
    errors, within = [], []
    for v in videos:
        reps, _, _ = repcount.run_engine(v, v.exercise)
        errors.append(rel_error(len(reps), v.count))
        within.append(abs(len(reps) - v.count) <= 1)
    return sum(errors) / len(errors), sum(within) / len(within), len(videos)


def shared_clips() -> list[tuple[str, int, int]]:
    """(file, counted, true) for each shared clip, through the production pose pipeline."""
    import vision_counts

    rows = []
    for clip in vision_counts.clips(EVAL_DIR):
        if clip.group != "shared":
            continue
        frames, fps = vision_counts.read_frames(clip.path)
        rows.append((clip.path.name, vision_counts.count_ours(frames, fps, clip.exercise).reps, clip.truth))
    return rows


def regressions(accepted: dict[str, float], mae: float, obo: float) -> list[str]:
    """What got worse than the accepted RepCount-A figures (empty: nothing)."""
    out = []
    if round(mae, 4) > accepted["mae"]:
        out.append(f"RepCount-A given MAE {mae:.4f} is above the accepted {accepted['mae']:.4f}")
    if round(obo, 4) < accepted["obo"]:
        out.append(f"RepCount-A given OBO {obo:.4f} is below the accepted {accepted['obo']:.4f}")
    return out


def clip_failures(rows: list[tuple[str, int, int]], known: dict[str, dict[str, object]]) -> list[str]:
    """Prints each shared clip's count; returns what is wrong: a clip not exact, unless it is a known miss that
    still counts exactly what was recorded (any other count of it is a change someone must look at)."""
    out = []
    for name, counted, truth in rows:
        miss = known.get(name)
        if counted == truth:
            mark = "" if miss is None else f"  now exact: remove its known miss from {BASELINES.name}"
        elif miss is not None and counted == int(str(miss["counted"])):
            mark = f"  KNOWN MISS: {miss['why']}"
        else:
            mark = "  WRONG (must be exact)" if miss is None else f"  CHANGED from its known miss ({miss['counted']})"
            out.append(f"{name} counted {counted}, true {truth}")
        print(f"shared clip {name}: {counted} reps, true {truth}{mark}")
    return out


def main() -> int:
    """Run both checks; 0 when nothing regressed (or there is no data), 1 otherwise."""
    if not (EVAL_DIR / "repcount" / "labels.csv").is_file():
        print(f"accuracy guard: no evaluation data at {EVAL_DIR}; skipped")
        return 0
    sys.path.insert(0, str(ROOT / "bench"))
    baselines = json.loads(BASELINES.read_text(encoding="utf-8"))
    accepted = baselines["repcount_given"]
    start = time.perf_counter()
    failures = clip_failures(shared_clips(), baselines.get("shared_clip_known_misses", {}))
    mae, obo, n = repcount_given()
    print(f"RepCount-A given ({n} videos): MAE {mae:.4f} (accepted {accepted['mae']:.4f}), "
          f"OBO {obo:.4f} (accepted {accepted['obo']:.4f})")
    failures += regressions(accepted, mae, obo)
    print(f"accuracy guard: {time.perf_counter() - start:.0f} s, "
          + ("passed" if not failures else "FAILED: " + "; ".join(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
