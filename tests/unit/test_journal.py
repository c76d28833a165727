from datetime import UTC, datetime, timedelta

from replens.contract import Exercise, RepEvent, SetEvent, SetPhase
from replens.hub.journal import Inbound, Journal

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
