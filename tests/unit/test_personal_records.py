"""Personal records in the journal: judged when a set ends and when it changes, announced once, points kept right."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from replens.contract import EditVia, Exercise, RecordKind, SetEdit, SetEvent, SetPhase
from replens.hub.journal import Inbound, Journal, Outgoing, PointOp
from replens.hub.storage.points import PointKey

START = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
ANN = "m0a1b2c3d4e"


def lifted(number: int, weight_kg: float, reps: int, seq: int | None = None,
           phase: SetPhase = SetPhase.END) -> SetEvent:
    start = START + timedelta(minutes=5 * number)
    return SetEvent(agent_id="a1", seq=seq or number, set_id=f"a1.rack.{number}", station="rack",
                    exercise=Exercise.BENCH_PRESS, event=phase, reps=reps, started_at=start, weight_kg=weight_kg,
                    member=ANN, ended_at=start + timedelta(seconds=40) if phase is SetPhase.END else None)


def announced(journal: Journal) -> list[tuple[str, str, float, float | None]]:
    """(set_id, kind, value, previous) of the personal records announced since the last call."""
    found = journal.pending_announcements(1000)
    journal.announced([a.id for a in found])
    return [(p["set_id"], p["kind"], p["value"], p["previous"]) for a in found
            if a.kind is Outgoing.PERSONAL_RECORD for p in [json.loads(a.payload)]]


def record_ops(journal: Journal) -> list[tuple[str, str, str]]:
    """(op, set start minute, kind) of the record points queued since the last call."""
    pending = journal.pending_points(1000)
    journal.points_written([p.id for p in pending])
    found = []
    for point in pending:
        if point.op is PointOp.DELETE:
            key = PointKey.from_json(point.line)
            if key.measurement == "record":
                found.append(("delete", key.tags["kind"], str(key.time_ns)))
        elif point.line.startswith("record,"):
            tags = dict(t.split("=", 1) for t in point.line.split(" ", 1)[0].split(",")[1:])
            found.append(("write", tags["kind"], point.line.rsplit(" ", 1)[1]))
    return found


@pytest.fixture
def journal(tmp_path: Path) -> Journal:
    return Journal(tmp_path / "j.sqlite3")


def test_records_are_judged_at_the_end_and_announced_once(journal: Journal) -> None:
    journal.record(Inbound(events=[lifted(1, 60.0, 8, phase=SetPhase.NEW), lifted(1, 60.0, 8, seq=2)]))
    assert announced(journal) == [("a1.rack.1", "heaviest_load", 60.0, None), ("a1.rack.1", "best_e1rm", 76.0, None)]
    journal.record(Inbound(events=[lifted(2, 60.0, 9, seq=3), lifted(3, 70.0, 3, seq=4)]))
    assert announced(journal) == [("a1.rack.2", "most_reps_at_load", 9.0, 8.0),
                                  ("a1.rack.2", "best_e1rm", 78.0, 76.0), ("a1.rack.3", "heaviest_load", 70.0, 60.0)]
    record_ops(journal)
    journal.record(Inbound(events=[lifted(3, 70.0, 3, seq=9)]))  # the agent ends the set again (a restart)
    assert announced(journal) == [] and record_ops(journal) == [("write", "heaviest_load", str(
        int((START + timedelta(minutes=15)).timestamp()) * 1_000_000_000))]  # rewritten in place, not announced


def test_an_edit_that_undoes_a_record_deletes_its_point(journal: Journal) -> None:
    journal.record(Inbound(events=[lifted(1, 60.0, 8), lifted(2, 70.0, 3)]))
    announced(journal)
    record_ops(journal)
    journal.edit(SetEdit(edit_id="e1", set_id="a1.rack.2", weight_kg=55.0), EditVia.CLI)
    assert sorted((op, kind) for op, kind, _ in record_ops(journal)) == [("delete", "best_e1rm"),
                                                                         ("delete", "heaviest_load")]
    assert announced(journal) == []
    journal.edit(SetEdit(edit_id="e2", set_id="a1.rack.2", weight_kg=72.5, reps=5), EditVia.CLI)
    assert announced(journal) == [("a1.rack.2", "heaviest_load", 72.5, 60.0),
                                  ("a1.rack.2", "best_e1rm", pytest.approx(84.583, abs=1e-3), 76.0)]


def test_a_deleted_member_leaves_no_records(journal: Journal, tmp_path: Path) -> None:
    journal.record(Inbound(events=[lifted(1, 60.0, 8)]))
    record_ops(journal)
    journal.forget_member(ANN)
    assert sorted(kind for op, kind, _ in record_ops(journal) if op == "delete") == [RecordKind.BEST_E1RM,
                                                                                     RecordKind.HEAVIEST_LOAD]
    assert announced(journal) == []
    journal.close()
    assert not any(ANN.encode() in p.read_bytes() for p in tmp_path.iterdir())


def test_sets_without_a_member_or_a_load_set_no_records(journal: Journal) -> None:
    anonymous = lifted(1, 60.0, 8).model_copy(update={"member": None})
    unloaded = lifted(2, 60.0, 8, seq=2).model_copy(update={"weight_kg": None})
    journal.record(Inbound(events=[anonymous, unloaded]))
    assert announced(journal) == [] and record_ops(journal) == []


def test_correcting_an_earlier_set_re_judges_the_later_ones_quietly(journal: Journal) -> None:
    journal.record(Inbound(events=[lifted(1, 60.0, 8), lifted(2, 70.0, 3)]))
    announced(journal)
    record_ops(journal)
    journal.edit(SetEdit(edit_id="e1", set_id="a1.rack.1", weight_kg=80.0), EditVia.CLI)  # a typo: it was 60
    assert sorted(kind for op, kind, _ in record_ops(journal) if op == "delete") == ["best_e1rm", "heaviest_load"]
    assert announced(journal) == []  # set 1 held both records already; set 2 lost its own
    journal.edit(SetEdit(edit_id="e2", set_id="a1.rack.1", weight_kg=60.0), EditVia.CLI)  # corrected back
    later = str(int((START + timedelta(minutes=10)).timestamp()) * 1_000_000_000)
    assert sorted((op, kind) for op, kind, at in record_ops(journal) if at == later) == [
        ("write", "best_e1rm"), ("write", "heaviest_load")]  # set 2 holds its records again ...
    assert announced(journal) == []  # ... as history, not news


def test_a_set_delivered_late_takes_the_records_of_the_sets_after_it(journal: Journal) -> None:
    journal.record(Inbound(events=[lifted(2, 70.0, 3, seq=1)]))
    announced(journal)
    record_ops(journal)
    journal.record(Inbound(events=[lifted(1, 80.0, 5, seq=2)]))  # started first, delivered after an outage
    assert announced(journal) == [("a1.rack.1", "heaviest_load", 80.0, None),
                                  ("a1.rack.1", "best_e1rm", pytest.approx(93.333, abs=1e-3), None)]
    later = str(int((START + timedelta(minutes=10)).timestamp()) * 1_000_000_000)
    assert sorted((op, kind) for op, kind, at in record_ops(journal) if op == "delete") == [
        ("delete", "best_e1rm"), ("delete", "heaviest_load")]
    assert all(at == later for op, _, at in record_ops(journal) if op == "delete")


def test_a_claim_moves_the_records_between_members(journal: Journal) -> None:
    journal.record(Inbound(events=[lifted(1, 80.0, 5), lifted(2, 70.0, 3)]))
    announced(journal)
    record_ops(journal)  # set 2 holds nothing: set 1 was heavier
    journal.claim("a1.rack.1", "m0other0000", by=None)  # the first set was someone else's
    later = str(int((START + timedelta(minutes=10)).timestamp()) * 1_000_000_000)
    assert sorted((op, kind) for op, kind, at in record_ops(journal) if at == later) == [
        ("write", "best_e1rm"), ("write", "heaviest_load")]  # now Ann's first: her records, quietly
    assert announced(journal) == []
