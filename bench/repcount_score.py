"""Scoring helpers for ``bench/repcount.py``: metrics, rep timing match, naive baseline, tables."""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Scored:
    """One video's result."""

    name: str
    label: str
    truth: int
    pred: int
    base: int
    start_err: list[float]
    end_err: list[float]


def rel_error(pred: int, truth: int) -> float:
    """RepCount MAE term |pred - truth| / truth; truth 0 (one video) is divided by 1 instead."""
    return abs(pred - truth) / max(truth, 1)


def match_timing(
    truth: Sequence[tuple[float, float]], pred: Sequence[tuple[float, float]]
) -> tuple[list[float], list[float]]:
    """|start| and |end| errors (s) of rep pairs matched one-to-one by best overlap, in order."""
    starts: list[float] = []
    ends: list[float] = []
    j = 0
    for ts, te in truth:
        best, best_k = 0.0, -1
        for k in range(j, len(pred)):
            ps, pe = pred[k]
            if ps > te:
                break
            inter = min(te, pe) - max(ts, ps)
            union = max(te, pe) - min(ts, ps)
            if union > 0 and inter / union > best:
                best, best_k = inter / union, k
        if best_k >= 0:
            starts.append(abs(pred[best_k][0] - ts))
            ends.append(abs(pred[best_k][1] - te))
            j = best_k + 1
    return starts, ends


def baseline_count(frames: np.ndarray, fps: float) -> int:
    """Naive offline counter: upward mean crossings of the smoothed first principal component.

    Uses all landmark x, y of the whole video (offline PCA), a 0.3 s moving average, no hysteresis.
    """
    valid = frames.reshape(len(frames), -1).any(axis=1)
    if valid.sum() < 3:
        return 0
    xy = frames[valid][:, :, :2].reshape(int(valid.sum()), -1)
    xy = xy - xy.mean(axis=0)
    _, _, vt = np.linalg.svd(xy, full_matrices=False)
    pc = xy @ vt[0]
    width = max(1, round(0.3 * fps))
    smooth = np.convolve(pc, np.ones(width) / width, mode="valid")
    above = smooth > smooth.mean()
    return int(np.count_nonzero(above[1:] & ~above[:-1]))


def _median(xs: list[float]) -> str:
    return f"{statistics.median(xs):.2f}" if xs else "-"


def _row(name: str, items: list[Scored]) -> list[str]:
    mae = statistics.fmean(rel_error(s.pred, s.truth) for s in items)
    obo = statistics.fmean(abs(s.pred - s.truth) <= 1 for s in items)
    b_mae = statistics.fmean(rel_error(s.base, s.truth) for s in items)
    b_obo = statistics.fmean(abs(s.base - s.truth) <= 1 for s in items)
    starts = [e for s in items for e in s.start_err]
    ends = [e for s in items for e in s.end_err]
    ratio = f"{mae / b_mae:.2f}" if b_mae > 0 else "-"
    return [
        name,
        str(len(items)),
        f"{mae:.3f}",
        f"{obo:.2f}",
        _median(starts),
        _median(ends),
        f"{b_mae:.3f}",
        f"{b_obo:.2f}",
        ratio,
    ]


HEADER = ["exercise", "n", "MAE", "OBO", "start err s", "end err s", "base MAE", "base OBO", "MAE ours/base"]


def _table(rows: list[list[str]], markdown: bool) -> str:
    if markdown:
        lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join(lines)
    widths = [max(len(r[i]) for r in [HEADER, *rows]) for i in range(len(HEADER))]
    return "\n".join("  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in [HEADER, *rows])


def summarise(
    scored: list[Scored], mode: str, rate: float, halves: list[set[str]], *, markdown: bool, listing: bool
) -> str:
    """The per-exercise table of one mode, its random halves and the throughput, as text."""
    by_label: dict[str, list[Scored]] = defaultdict(list)
    for s in scored:
        by_label[s.label].append(s)
    rows = [_row(label, items) for label, items in sorted(by_label.items())]
    rows.append(_row("ALL", scored))
    for k, half in enumerate(halves):
        part = [s for s in scored if s.name in half]
        if part:
            rows.append(_row(f"half {k + 1}", part))
    out = [f"\n## RepCount-A, exercise {mode}\n", _table(rows, markdown)]
    out.append(f"\nstreaming throughput ({mode}): {rate:,.0f} samples/s on one core (best of 3 passes)")
    if listing:
        out += [f"{s.name} {s.label} truth={s.truth} ours={s.pred} base={s.base}" for s in scored]
    return "\n".join(out)
