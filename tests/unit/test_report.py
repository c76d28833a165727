"""``replens report``: a member's week drawn from the hub's journal alone (no InfluxDB, no Grafana)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from replens.cli.main import main
from replens.cli.report import parse_since
from replens.cli.report_figure import render_report
from replens.config import load_config
from replens.contract import LoadUnit
from replens.device_agent.demo_week import generate_week
from replens.errors import RepLensError
from replens.hub.journal import Inbound, Journal
from replens.members import MembersStore


@pytest.fixture
def gym(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A config whose hub journal holds a generated week, with members' sets claimed; (config path, name → id)."""
    path = tmp_path / "replens.yaml"
    path.write_text(yaml.safe_dump({"version": 1, "data_dir": str(tmp_path / "data")}))
    config = load_config(path, env={})
    week = generate_week(datetime.now(UTC))
    rng = np.random.default_rng(0)
    with MembersStore(config.members_db()) as store:
        ids = {name: store.add(name, [rng.normal(size=128)], consent=True).id for name in [*week.members, "Dana"]}
    journal = Journal(config.journal_path())
    try:
        journal.record(Inbound(events=week.numbered_events()))
        for planned in week.sets:
            if planned.person in ids:
                journal.claim(planned.set_id, ids[planned.person], by="test")
    finally:
        journal.close()
    return path, ids


def plot_variance(png: Path, boxes: dict[str, tuple[int, int, int, int]]) -> dict[str, float]:
    pixels = np.asarray(Image.open(png).convert("L"), dtype=np.float64)
    return {name: float(pixels[top:bottom, left:right].var()) for name, (left, top, right, bottom) in boxes.items()}


def test_report_draws_every_panel(gym, tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    config_path, _ = gym
    out = tmp_path / "out" / "alice.png"
    assert main(["report", "--member", "alice", "--since", "7d", "--out", str(out), "--config", str(config_path)]) == 0
    out_text = capsys.readouterr().out
    assert "Alice" in out_text
    # The generated week's loads give volume and e1RM; its velocities, from sessions a few % stronger each time
    # and loads close together, fit no profile well enough: the estimate is refused, and the report says why.
    assert "squat: volume 7,045 kg in 12 sets; best e1RM (Epley) 95.7 kg; by velocity none (poor_fit, R² 0.74 over " \
           "5 loads)" in out_text
    assert "lat_pulldown: volume" in out_text and "by velocity none (no bar velocity)" in out_text
    with Image.open(out) as image:
        assert image.format == "PNG"
        assert image.size == (1400, 1100)


def test_every_plot_area_has_content(gym, tmp_path: Path):
    """Each axes' box in the PNG has real contrast in it (bars, lines, table), not a blank frame."""
    from replens.cli.report import member_sets

    config_path, ids = gym
    config = load_config(config_path, env={})
    now = datetime.now(UTC)
    sets, unit = member_sets(config.journal_path(), ids["Bruno"], now - timedelta(days=7))
    assert unit is LoadUnit.KG
    assert {s.exercise for s in sets} == {"deadlift", "overhead_press", "seated_row", "bench_press"}
    assert all(s.rep_details and len(s.rep_details) == s.reps for s in sets)
    out = tmp_path / "bruno.png"
    boxes = render_report("Bruno", sets, now - timedelta(days=7), now, out)
    assert set(boxes) == {"reps per day", "sets per day", "volume", "velocity", "summary"}
    for name, variance in plot_variance(out, boxes).items():
        assert variance > 200, f"{name} looks empty (pixel variance {variance:.0f})"
    blank = tmp_path / "blank.png"
    Image.new("L", (1400, 1100), 255).save(blank)
    assert max(plot_variance(blank, boxes).values()) == 0  # the measure does see emptiness


def test_a_member_in_pounds_reads_the_report_in_pounds(gym, tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    """The same week as above, stored in kg, shown in lb, converted from the stored kg (not the rounded 95.7 kg)."""
    config_path, _ = gym
    assert main(["members", "set", "alice", "--unit", "lb", "--config", str(config_path)]) == 0
    out = tmp_path / "alice.png"
    assert main(["report", "--member", "alice", "--since", "7d", "--out", str(out), "--config", str(config_path)]) == 0
    out_text = capsys.readouterr().out
    assert "squat: volume 15,532 lb in 12 sets; best e1RM (Epley) 210.9 lb; by velocity none" in out_text
    assert " kg" not in out_text.split("alice.png", 1)[1]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--member", "Alicia"], "no member 'Alicia'"),
        (["--member", "Dana"], "Dana"),
        (["--member", "Alice", "--since", "soon"], "--since 'soon'"),
    ],
)
def test_clear_errors(gym, tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str):
    config_path, _ = gym
    status = main(["report", *args, "--out", str(tmp_path / "x.png"), "--config", str(config_path)])
    err = capsys.readouterr().err
    assert status == 1
    assert message in err
    assert not (tmp_path / "x.png").exists()


def test_no_sets_in_the_period_says_so(gym, tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    config_path, _ = gym
    args = ["report", "--member", "Dana", "--out", str(tmp_path / "x.png"), "--config", str(config_path)]
    assert main(args) == 1
    assert "has no sets since" in capsys.readouterr().err


def test_no_journal_yet(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    path = tmp_path / "replens.yaml"
    path.write_text(yaml.safe_dump({"version": 1, "data_dir": str(tmp_path / "data")}))
    with MembersStore(load_config(path, env={}).members_db()) as store:
        store.add("Alice", [np.ones(128)], consent=True)
    assert main(["report", "--member", "Alice", "--config", str(path), "--out", str(tmp_path / "x.png")]) == 1
    assert "no hub journal" in capsys.readouterr().err


def test_parse_since():
    now = datetime(2026, 11, 26, 12, tzinfo=UTC)
    assert parse_since("7d", now) == now - timedelta(days=7)
    assert parse_since("36h", now) == now - timedelta(hours=36)
    assert parse_since("2w", now) == now - timedelta(days=14)
    assert parse_since("2026-11-01T00:00:00+00:00", now) == datetime(2026, 11, 1, tzinfo=UTC)
    with pytest.raises(RepLensError):
        parse_since("yesterday", now)
