"""The CI accuracy guard (bench/guard.py): passes without the evaluation data, fails on a worse figure."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


def load_guard() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_guard", BENCH / "guard.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_without_the_evaluation_data_the_guard_passes_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    guard = load_guard()
    monkeypatch.setattr(guard, "EVAL_DIR", tmp_path)
    assert guard.main() == 0
    assert "skipped" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("mae", "obo", "worse"),
    [
        pytest.param(0.19741, 0.6776, 0, id="same-figures"),
        pytest.param(0.1900, 0.7000, 0, id="better"),
        pytest.param(0.1980, 0.6776, 1, id="mae-worse"),
        pytest.param(0.1974, 0.6711, 1, id="obo-worse"),
        pytest.param(0.2066, 0.6645, 2, id="both-worse"),
    ],
)
def test_a_worse_repcount_figure_is_a_regression(mae: float, obo: float, worse: int) -> None:
    assert len(load_guard().regressions({"mae": 0.1974, "obo": 0.6776}, mae, obo)) == worse


def test_the_recorded_baselines_are_readable() -> None:
    accepted = json.loads((BENCH / "baselines.json").read_text(encoding="utf-8"))["repcount_given"]
    assert 0.0 < accepted["mae"] < 1.0
    assert 0.0 < accepted["obo"] <= 1.0


KNOWN = {"a.mp4": {"counted": 2, "true": 3, "why": "its first rep is hidden"}}


@pytest.mark.parametrize(
    ("rows", "failing"),
    [
        pytest.param([("a.mp4", 2, 3), ("b.mp4", 6, 6)], [], id="known-miss-as-recorded"),
        pytest.param([("a.mp4", 3, 3), ("b.mp4", 6, 6)], [], id="known-miss-fixed"),
        pytest.param([("a.mp4", 1, 3), ("b.mp4", 6, 6)], ["a.mp4"], id="known-miss-worse"),
        pytest.param([("a.mp4", 4, 3)], ["a.mp4"], id="known-miss-changed"),
        pytest.param([("a.mp4", 2, 3), ("b.mp4", 5, 6)], ["b.mp4"], id="other-clip-off-by-one"),
        pytest.param([("b.mp4", 7, 6)], ["b.mp4"], id="other-clip-over"),
    ],
)
def test_a_shared_clip_must_be_exact_unless_a_known_miss_that_did_not_grow(
    rows: list[tuple[str, int, int]], failing: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    failures = load_guard().clip_failures(rows, KNOWN)
    assert [f.split()[0] for f in failures] == failing
    printed = capsys.readouterr().out
    assert ("KNOWN MISS" in printed) == any(r[0] == "a.mp4" and r[1] == 2 for r in rows)


def test_every_recorded_known_miss_says_why() -> None:
    known = json.loads((BENCH / "baselines.json").read_text(encoding="utf-8")).get("shared_clip_known_misses", {})
    for name, miss in known.items():
        assert {"counted", "true", "why"} <= set(miss), name
        assert len(str(miss["why"])) > 20, name
