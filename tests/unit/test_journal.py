import json
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from replens.contract import (
    Appearance,
    Exercise,
    IdentitySource,
    LoadUnit,
    RepEvent,
    SetEvent,
    SetPhase,
    VisitEvent,
    VisitRole,
)
from replens.hub.journal import Inbound, Journal, Outgoing, PointOp, UnknownSetError

START = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def set_event(seq: int, phase: SetPhase, reps: int, **extra) -> SetEvent:
    return SetEvent(agent_id="a1", seq=seq, set_id="a1.bench.1", station="bench", exercise=Exercise.CHEST_PRESS,
                    event=phase, reps=reps, started_at=START, **extra)


def rep_event(seq: int, index: int) -> RepEvent:
    begin = START + timedelta(seconds=3 * index)
    return RepEvent(agent_id="a1", seq=seq, set_id="a1.bench.1", station="bench", exercise=Exercise.CHEST_PRESS,
                    index=index, started_at=begin, turned_at=begin, ended_at=begin + timedelta(seconds=2),
                    concentric_s=1, eccentric_s=1, rom=80, confidence=1)


def test_duplicates_change_nothing_and_are_reported(tmp_path):
    journal = Journal(tmp_path / "j.sqlite3")
    first = journal.record(Inbound(events=[rep_event(1, 1), set_event(2, SetPhase.NEW, 1)]))
    again = journal.record(Inbound(events=[rep_event(1, 1), set_event(2, SetPhase.NEW, 1), rep_event(3, 2)]))
    assert first.stored == [("a1", 1), ("a1", 2)] and first.duplicates == []
    assert again.stored == [("a1", 3)] and again.duplicates == [("a1", 1), ("a1", 2)]
    assert journal.counts() == {"sets": 1, "reps": 2, "events": 3}
    assert len(journal.pending_points(100)) == 3


def test_late_older_update_does_not_overwrite_newer(tmp_path):
    """Reordered delivery: `end` (seq 5) before the `update` (seq 4) it follows."""
    journal = Journal(tmp_path / "j.sqlite3")
    journal.record(Inbound(events=[set_event(5, SetPhase.END, 3, ended_at=START + timedelta(seconds=20))]))
    journal.record(Inbound(events=[set_event(4, SetPhase.UPDATE, 2)]))
    (stored,) = journal.sets()
    assert (stored.reps, stored.phase) == (3, "end")
    lines = [p.line for p in journal.pending_points(10)]
    assert len(lines) == 1 and "reps=3i" in lines[0] and "ended=true" in lines[0]


def test_set_point_timestamp_is_the_set_start(tmp_path):
    journal = Journal(tmp_path / "j.sqlite3")
    journal.record(Inbound(events=[set_event(1, SetPhase.NEW, 1), set_event(2, SetPhase.UPDATE, 2)]))
    stamps = {p.line.rsplit(" ", 1)[1] for p in journal.pending_points(10)}
    assert stamps == {str(int(START.timestamp()) * 1_000_000_000)}


def test_written_and_rejected_points_leave_the_queue(tmp_path):
    journal = Journal(tmp_path / "j.sqlite3")
    journal.record(Inbound(events=[rep_event(1, 1), rep_event(2, 2)]))
    first, second = journal.pending_points(10)
    journal.points_written([first.id])
    journal.point_rejected(second, "bad")
    assert journal.points_depth() == (0, None)


def test_journal_survives_reopen(tmp_path):
    journal = Journal(tmp_path / "j.sqlite3")
    journal.record(Inbound(events=[rep_event(1, 1)]))
    journal.close()
    reopened = Journal(tmp_path / "j.sqlite3")
    assert reopened.record(Inbound(events=[rep_event(1, 1)])).duplicates == [("a1", 1)]


# Migrations ------------------------------------------------------------------------------------------------------

FIRST_RELEASE_SETS = """
CREATE TABLE sets (
    set_id TEXT PRIMARY KEY, agent_id TEXT NOT NULL, station TEXT NOT NULL, exercise TEXT NOT NULL,
    member TEXT, reps INTEGER NOT NULL, phase TEXT NOT NULL, started_at TEXT NOT NULL, ended_at TEXT,
    last_seq INTEGER NOT NULL, payload TEXT NOT NULL
);
"""


def test_an_older_journal_gains_the_identity_columns(tmp_path):
    path = tmp_path / "j.sqlite3"
    old = set_event(1, SetPhase.NEW, 1)
    with sqlite3.connect(path) as db:
        db.executescript(FIRST_RELEASE_SETS)
        db.execute("INSERT INTO sets VALUES (?, 'a1', 'bench', 'chest_press', NULL, 1, 'new', ?, NULL, 1, ?)",
                   (old.set_id, old.started_at.isoformat(), old.model_dump_json()))
    db.close()
    journal = Journal(path)
    columns = {row[1] for row in journal._db.execute("PRAGMA table_info(sets)")}
    assert {"identity_source", "identity_score", "claimed", "claimed_by", "appearance", "started_ts"} <= columns
    (facts,) = journal.unattributed_sets(START - timedelta(hours=1))
    assert facts.set_id == old.set_id and facts.started_at == START and not facts.claimed
    journal.record(Inbound(events=[set_event(2, SetPhase.UPDATE, 2)]))
    assert journal.claim(old.set_id, "m1", by="cli") is not None
    journal.close()
    reopened = Journal(path)  # migrating again changes nothing
    (stored,) = reopened.sets()
    assert (stored.reps, stored.member, stored.identity_source, stored.claimed) == (2, "m1", "claim", True)


FIRST_RELEASE_QUEUES = """
CREATE TABLE reps (
    set_id TEXT NOT NULL, idx INTEGER NOT NULL, agent_id TEXT NOT NULL, seq INTEGER NOT NULL,
    started_at TEXT NOT NULL, ended_at TEXT NOT NULL, payload TEXT NOT NULL, PRIMARY KEY (set_id, idx)
);
CREATE TABLE influx_outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, line TEXT NOT NULL, queued_at REAL NOT NULL);
CREATE TABLE influx_rejected (id INTEGER PRIMARY KEY, line TEXT NOT NULL, reason TEXT NOT NULL, at REAL NOT NULL);
"""


def test_an_older_journal_keeps_its_queue_and_learns_deletes(tmp_path):
    """Points queued by an older hub are written as before; the exercise columns take the latest event's value."""
    path = tmp_path / "j.sqlite3"
    first, rep = set_event(1, SetPhase.NEW, 1), rep_event(3, 1)
    latest = set_event(2, SetPhase.UPDATE, 2).model_copy(update={"exercise": Exercise.SQUAT})
    with sqlite3.connect(path) as db:
        db.executescript(FIRST_RELEASE_SETS + FIRST_RELEASE_QUEUES)
        db.execute("INSERT INTO sets VALUES (?, 'a1', 'bench', 'chest_press', NULL, 2, 'update', ?, NULL, 2, ?)",
                   (first.set_id, first.started_at.isoformat(), latest.model_dump_json()))
        db.execute("INSERT INTO reps VALUES (?, 1, 'a1', 3, ?, ?, ?)", (rep.set_id, rep.started_at.isoformat(),
                                                                         rep.ended_at.isoformat(),
                                                                         rep.model_dump_json()))
        db.execute("INSERT INTO influx_outbox(line, queued_at) VALUES ('m v=1i 1', 0)")
    db.close()
    journal = Journal(path)
    (pending,) = journal.pending_points(10)
    assert (pending.line, pending.op) == ("m v=1i 1", PointOp.WRITE)
    assert journal.sets()[0].exercise is Exercise.SQUAT  # the tag of the point the latest event wrote
    assert journal._db.execute("SELECT exercise FROM reps").fetchone() == ("chest_press",)
    journal.point_rejected(pending, "kept aside")
    assert journal._db.execute("SELECT op FROM influx_rejected").fetchone() == ("write",)


# Visits, claims, attribution, deletion -----------------------------------------------------------------------------


def visit_event(seq: int, member: str | None, phase=SetPhase.NEW, minutes: float = -10, visit_id="door.v1",
                **extra) -> VisitEvent:
    return VisitEvent(agent_id="door", seq=seq, visit_id=visit_id, camera="door", role=VisitRole.ENTRANCE,
                      event=phase, member=member, score=0.8, frames=seq, started_at=START + timedelta(minutes=minutes),
                      seen_at=START + timedelta(minutes=minutes + 1), **extra)


def identity_of(line: str) -> tuple[str, str, str, int]:
    """(member, identity_source, identity_score, timestamp) of a set line (fields here hold no commas)."""
    head, stamp = line.rsplit(" ", 1)
    fields = dict(item.split("=", 1) for item in head.split(" ", 1)[1].split(","))
    return fields["member"], fields["identity_source"], fields["identity_score"], int(stamp)


def test_visits_are_upserted_and_late_old_events_ignored(tmp_path):
    journal = Journal(tmp_path / "j.sqlite3")
    appearance = Appearance(torso=[0.5, 0.5], legs=[1.0, 0.0])
    first = journal.record(Inbound(events=[visit_event(2, None, appearance=appearance), visit_event(1, "m1")]))
    assert [v.seq for v in first.visits] == [2]
    journal.record(Inbound(events=[visit_event(3, "m1", SetPhase.UPDATE)]))
    (visit,) = journal.visits_between(START - timedelta(hours=1), START)
    assert (visit.member, visit.frames, visit.role, visit.appearance) == ("m1", 3, VisitRole.ENTRANCE, appearance)
    assert journal.visits_between(START, START + timedelta(hours=1)) == []


def seen(journal: Journal, *members: str) -> None:
    """Strategies decide from visits: record one for each member."""
    journal.record(Inbound(events=[visit_event(i, m, visit_id=f"door.{m}") for i, m in enumerate(members, 100)]))


def test_claim_beats_strategies_rewrites_the_point_and_queues_an_announcement(tmp_path):
    journal = Journal(tmp_path / "j.sqlite3")
    seen(journal, "m1", "m3")
    journal.record(Inbound(events=[set_event(1, SetPhase.NEW, 1)]))
    journal.points_written([p.id for p in journal.pending_points(10)])
    auto = journal.attribute("a1.bench.1", "m1", IdentitySource.ONLY_PRESENT, 0.8)
    assert auto is not None and auto.member == "m1"
    assert journal.attribute("a1.bench.1", "m1", IdentitySource.ONLY_PRESENT, 0.9) is None  # unchanged
    claimed = journal.claim("a1.bench.1", "m2", by="alice's phone")
    assert claimed is not None
    assert (claimed.member, claimed.identity_source, claimed.identity_score) == ("m2", IdentitySource.CLAIM, 1.0)
    assert journal.claim("a1.bench.1", "m2") is None
    assert journal.attribute("a1.bench.1", "m3", IdentitySource.STATION_FACE, 1.0) is None  # a claim always wins
    journal.record(Inbound(events=[set_event(2, SetPhase.UPDATE, 2)]))  # later reps keep the claim
    lines = [identity_of(p.line) for p in journal.pending_points(10)]
    assert [line[:3] for line in lines] == [
        ('"m1"', '"only_present"', "0.8"), ('"m2"', '"claim"', "1.0"), ('"m2"', '"claim"', "1.0")]
    assert {line[3] for line in lines} == {int(START.timestamp()) * 1_000_000_000}  # overwrites in place
    queued = journal.pending_announcements()
    assert [(a.kind, json.loads(a.payload)["member"]) for a in queued] == [
        (Outgoing.HUB_SETS, "m1"), (Outgoing.HUB_SETS, "m2")]
    journal.announced([a.id for a in queued])
    assert journal.pending_announcements() == []
    with pytest.raises(UnknownSetError, match="no set 'nope'"):
        journal.claim("nope", "m1")


def test_an_empty_claim_locks_the_set_to_nobody(tmp_path):
    journal = Journal(tmp_path / "j.sqlite3")
    seen(journal, "m1")
    journal.record(Inbound(events=[set_event(1, SetPhase.NEW, 1)]))
    assert journal.attribute("a1.bench.1", "m1", IdentitySource.APPEARANCE, 0.7) is not None
    change = journal.claim("a1.bench.1", None, by="m1")
    assert change is not None
    assert (change.member, change.identity_source, change.identity_score) == (None, IdentitySource.CLAIM, None)
    assert journal.attribute("a1.bench.1", "m1", IdentitySource.APPEARANCE, 0.7) is None
    assert journal.unattributed_sets(START - timedelta(hours=1)) == []  # decided: nothing left to claim


def test_a_member_the_agent_named_stays_until_the_hub_decides(tmp_path):
    journal = Journal(tmp_path / "j.sqlite3")
    seen(journal, "m2")
    journal.record(Inbound(events=[set_event(1, SetPhase.NEW, 1, member="m1")]))
    assert journal.attribute("a1.bench.1", None, None, None) is None
    assert journal.sets()[0].member == "m1"
    assert journal.attribute("a1.bench.1", "m2", IdentitySource.STATION_FACE, 0.9) is not None


def test_a_decision_for_a_member_without_visits_is_stale(tmp_path):
    """The hub read visits, then the CLI forgot the member: the late decision must not bring the id back."""
    journal = Journal(tmp_path / "j.sqlite3")
    journal.record(Inbound(events=[set_event(1, SetPhase.NEW, 1)]))
    assert journal.attribute("a1.bench.1", "m1", IdentitySource.ONLY_PRESENT, 0.8) is None
    assert journal.sets()[0].member is None


def test_forget_member_leaves_no_trace(tmp_path):
    path = tmp_path / "j.sqlite3"
    journal = Journal(path)
    journal.record(Inbound(events=[visit_event(1, "m0a1b2c3d4e"), set_event(2, SetPhase.NEW, 1)]))
    journal.attribute("a1.bench.1", "m0a1b2c3d4e", IdentitySource.ONLY_PRESENT, 0.8)
    journal.point_rejected(journal.pending_points(10)[-1], "kept aside for inspection")
    journal.set_member_unit("m0a1b2c3d4e", LoadUnit.LB)
    forgotten = journal.forget_member("m0a1b2c3d4e")
    assert journal.member_unit("m0a1b2c3d4e") is LoadUnit.KG and journal.members_in_pounds() == set()
    assert (forgotten.visits, forgotten.sets) == (1, 1)
    assert journal.visits_between(START - timedelta(days=1), START + timedelta(days=1)) == []
    (stored,) = journal.sets()
    assert (stored.member, stored.identity_source, stored.claimed) == (None, None, True)
    seen(journal, "m5")
    assert [v.member for v in journal.visits_between(START - timedelta(hours=1), START)] == ["m5"]
    assert journal.attribute("a1.bench.1", "m5", IdentitySource.ONLY_PRESENT, 0.9) is None  # nobody inherits it
    assert identity_of(journal.pending_points(10)[-1].line)[:3] == ('""', '""', "0.0")
    kinds = [(a.kind, json.loads(a.payload)["member"] if a.payload else None) for a in journal.pending_announcements()]
    assert kinds == [(Outgoing.HUB_SETS, None), (Outgoing.PRESENCE, None)]
    assert b"m0a1b2c3d4e" not in journal_bytes(tmp_path)  # while open, as when the hub holds it
    journal.close()
    assert b"m0a1b2c3d4e" not in journal_bytes(tmp_path)


def journal_bytes(folder) -> bytes:
    """The journal file, its WAL and anything else SQLite keeps beside it."""
    return b"".join(p.read_bytes() for p in folder.iterdir() if p.name.startswith("j.sqlite3"))
