"""The hub's load-velocity profile per member and exercise: a profile point per set once there are 3 loads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from replens.contract import EditVia, Event, Exercise, RepEvent, SetEdit, SetEvent, SetPhase
from replens.hub.journal import Inbound, Journal, PointOp
from replens.hub.storage.points import PointKey

START = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
ANN = "m0a1b2c3d4e"


def lifted(number: int, weight_kg: float, velocities: list[float]) -> list[Event]:
    """A bench set's reps (with their mean velocities) and its end, numbered from ``number * 100``."""
    start = START + timedelta(minutes=5 * number)
    common = {"agent_id": "a1", "set_id": f"a1.bench.{number}", "station": "bench", "exercise": Exercise.BENCH_PRESS}
    events: list[Event] = [RepEvent(seq=number * 100 + i, index=i, started_at=start + timedelta(seconds=3 * i),
                                    turned_at=start + timedelta(seconds=3 * i + 1),
                                    ended_at=start + timedelta(seconds=3 * i + 2), concentric_s=1, eccentric_s=1,
                                    rom=0.4, mean_velocity_m_s=v, confidence=1, **common)
                           for i, v in enumerate(velocities, start=1)]
    events.append(SetEvent(seq=number * 100 + 99, event=SetPhase.END, reps=len(velocities), started_at=start,
                           ended_at=start + timedelta(seconds=30), weight_kg=weight_kg, member=ANN, **common))
    return events


def profile_ops(journal: Journal) -> list[tuple[str, dict[str, str]]]:
    pending = journal.pending_points(1000)
    journal.points_written([p.id for p in pending])
    found: list[tuple[str, dict[str, str]]] = []
    for point in pending:
        if point.op is PointOp.DELETE and PointKey.from_json(point.line).measurement == "profile":
            found.append(("delete", {}))
        elif point.line.startswith("profile,"):
            fields = point.line.rsplit(" ", 1)[0].split(" ", 1)[1]
            found.append(("write", dict(f.split("=", 1) for f in fields.split(","))))
    return found


@pytest.fixture
def journal(tmp_path: Path) -> Journal:
    return Journal(tmp_path / "j.sqlite3")


def test_three_loads_give_a_profile_and_the_load_at_the_bench_threshold(journal: Journal) -> None:
    journal.record(Inbound(events=[*lifted(1, 40.0, [1.0, 0.95]), *lifted(2, 60.0, [0.76, 0.7])]))
    assert profile_ops(journal) == []  # two loads: no profile yet
    journal.record(Inbound(events=lifted(3, 80.0, [0.52, 0.45])))  # fastest reps: 1.0, 0.76, 0.52 m/s
    ((op, fields),) = profile_ops(journal)
    assert op == "write" and fields["e1rm_velocity_kg"] == "110.0" and fields["r2"] == "1.0"
    assert (fields["loads"], fields["refused"], fields["exercise"]) == ("3i", '""', '"bench_press"')


def test_a_correction_that_leaves_two_loads_deletes_the_profile_point(journal: Journal) -> None:
    journal.record(Inbound(events=[*lifted(1, 40.0, [1.0]), *lifted(2, 60.0, [0.76]), *lifted(3, 80.0, [0.52])]))
    profile_ops(journal)
    journal.edit(SetEdit(edit_id="e1", set_id="a1.bench.3", weight_kg=60.0), EditVia.CLI)
    assert profile_ops(journal) == [("delete", {})]


def test_a_poor_fit_is_written_with_its_r2_and_refused(journal: Journal) -> None:
    journal.record(Inbound(events=[*lifted(1, 40.0, [0.9]), *lifted(2, 60.0, [0.5]), *lifted(3, 80.0, [0.7]),
                                   *lifted(4, 50.0, [0.4])]))
    last = profile_ops(journal)[-1][1]
    assert last["refused"] == '"poor_fit"' and "e1rm_velocity_kg" not in last and float(last["r2"]) < 0.1
