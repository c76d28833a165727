import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from replens.contract import EventKind, Exercise, SetEvent, SetPhase
from replens.device_agent.outbox import Outbox
from replens.errors import TransientError


class Clock:
    def __init__(self, t=1_000.0):
        self.t = t

    def __call__(self):
        return self.t


def payload(seq: int) -> bytes:
    return f'{{"seq": {seq}}}'.encode()


def test_sequence_numbers_start_at_creation_ms_and_survive_reopen(tmp_path):
    clock = Clock(1_700_000_000.0)
    box = Outbox(tmp_path / "o.sqlite3", clock=clock)
    first = box.append(EventKind.REPS, payload)
    second = box.append(EventKind.REPS, payload)
    assert first == 1_700_000_000_000 and second == first + 1
    box.close()
    clock.t += 5
    reopened = Outbox(tmp_path / "o.sqlite3", clock=clock)
    assert reopened.append(EventKind.REPS, payload) == second + 1  # continues, does not restart at the clock
    assert [i.payload for i in reopened.unsent(10)] == [payload(first), payload(second), payload(second + 1)]


def test_new_outbox_file_continues_above_old_numbers(tmp_path):
    """Deleting the outbox file must not make the hub drop new events as duplicates."""
    clock = Clock(1_000.0)
    old = Outbox(tmp_path / "a.sqlite3", clock=clock)
    last_old = max(old.append(EventKind.REPS, payload) for _ in range(50))
    clock.t += 1.0
    fresh = Outbox(tmp_path / "b.sqlite3", clock=clock)
    assert fresh.append(EventKind.REPS, payload) > last_old


def test_confirm_removes_only_confirmed_and_resend_marks_unsent(tmp_path):
    clock = Clock()
    box = Outbox(tmp_path / "o.sqlite3", clock=clock)
    seqs = [box.append(EventKind.REPS, payload) for _ in range(5)]
    box.mark_sent(seqs, box.resend_epoch)
    assert box.unsent(10) == []
    assert box.confirm([(seqs[0], seqs[1]), (seqs[3], seqs[3])]) == 3
    assert box.depth() == 2
    assert box.resend_all() == 2
    assert [i.seq for i in box.unsent(10)] == [seqs[2], seqs[4]]


def test_a_resend_between_taking_and_marking_events_wins(tmp_path):
    """Race: the publisher took events and published them on a connection that then dropped; the reconnect
    (paho's thread) marked everything for resending before the publisher marked them sent."""
    box = Outbox(tmp_path / "o.sqlite3", clock=Clock())
    seqs = [box.append(EventKind.REPS, payload) for _ in range(3)]
    epoch = box.resend_epoch
    taken = [item.seq for item in box.unsent(10)]
    box.resend_all()  # on_connect, in between
    box.mark_sent(taken, epoch)
    assert [item.seq for item in box.unsent(10)] == seqs  # all go out again on the new connection
    box.mark_sent(seqs, box.resend_epoch)
    assert box.unsent(10) == []


def test_resend_older_than_and_oldest_age(tmp_path):
    clock = Clock(100.0)
    box = Outbox(tmp_path / "o.sqlite3", clock=clock)
    a = box.append(EventKind.REPS, payload)
    box.mark_sent([a], box.resend_epoch)
    clock.t = 110.0
    b = box.append(EventKind.REPS, payload)
    box.mark_sent([b], box.resend_epoch)
    assert box.oldest_age_s() == 10.0
    clock.t = 125.0
    assert box.resend_older_than(20.0) == 1
    assert [i.seq for i in box.unsent(10)] == [a]


def set_event(set_id: str, reps: int, seq: int = 1) -> SetEvent:
    return SetEvent(agent_id="a1", seq=seq, set_id=set_id, station="rack", exercise=Exercise.SQUAT,
                    event=SetPhase.UPDATE, reps=reps, started_at=datetime(2026, 1, 5, 18, 0, tzinfo=UTC))


def set_payload(set_id: str, reps: int) -> Callable[[int], bytes]:
    return lambda seq: set_event(set_id, reps, seq).to_json()


def ledger(box: Outbox) -> list[tuple[str, int, float]]:
    return [(s.last.set_id, s.last.reps, s.updated_at) for s in box.open_sets()]


def test_open_set_ledger_follows_the_events(tmp_path):
    clock = Clock(50.0)
    box = Outbox(tmp_path / "o.sqlite3", clock=clock)
    box.append(EventKind.SETS, set_payload("s1", 1), open_set="s1")
    clock.t = 52.0
    s1_seq = box.append(EventKind.SETS, set_payload("s1", 2), open_set="s1")
    box.append(EventKind.SETS, set_payload("s2", 1), open_set="s2")
    assert ledger(box) == [("s1", 2, 52.0), ("s2", 1, 52.0)]
    assert box.open_sets()[0].last.seq == s1_seq  # the event as stored, with its real number
    box.append(EventKind.SETS, payload, closed_set="s1")
    box.close()
    assert ledger(Outbox(tmp_path / "o.sqlite3", clock=clock)) == [("s2", 1, 52.0)]


def test_a_ledger_written_by_an_earlier_version_still_ends_its_sets(tmp_path):
    """Earlier versions kept a snapshot of the set event with a placeholder seq 1 (field names, not aliases)."""
    Outbox(tmp_path / "o.sqlite3").close()
    with sqlite3.connect(tmp_path / "o.sqlite3") as db:
        db.execute("INSERT INTO open_sets(set_id, snapshot, updated_at) VALUES (?, ?, ?)",
                   ("s1", set_event("s1", 3).model_dump_json(), 60.0))
        db.execute("INSERT INTO open_sets(set_id, snapshot, updated_at) VALUES (?, ?, ?)", ("s2", "{broken", 61.0))
    assert ledger(Outbox(tmp_path / "o.sqlite3")) == [("s1", 3, 60.0)]  # an unreadable row is logged, not fatal


OLD_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE open_sets (set_id TEXT PRIMARY KEY, snapshot TEXT NOT NULL, updated_at REAL NOT NULL);
CREATE TABLE outbox (seq INTEGER PRIMARY KEY, topic TEXT NOT NULL, payload BLOB NOT NULL, created_at REAL NOT NULL,
                     sent_at REAL);
"""


def old_outbox(path, rows: list[tuple[int, str, bytes, float, float | None]]) -> None:
    """An outbox file as versions before issue 13 wrote it: a topic per event (shared or the agent's own)."""
    with sqlite3.connect(path) as db:
        db.executescript(OLD_SCHEMA)
        db.execute("INSERT INTO meta(key, value) VALUES ('next_seq', ?)", (max(r[0] for r in rows) + 1,))
        db.executemany("INSERT INTO outbox(seq, topic, payload, created_at, sent_at) VALUES (?, ?, ?, ?, ?)", rows)
    db.close()


def test_an_outbox_of_an_earlier_version_keeps_every_event_with_its_kind(tmp_path):
    path = tmp_path / "outbox.sqlite3"
    old_outbox(path, [
        (10, "gym/sets", b'{"seq": 10}', 1.0, None),  # shared topics, from before per-agent topics
        (11, "gym/reps", b'{"seq": 11}', 2.0, 5.0),  # handed to the broker, not yet confirmed
        (12, "gym/agent/a1/reps", b'{"seq": 12}', 3.0, None),
        (13, "my/prefix/agent/a1/visits", b'{"seq": 13}', 4.0, None),
    ])
    box = Outbox(path, clock=Clock(100.0))
    assert [(i.seq, i.kind, i.payload, i.created_at) for i in box.unsent(10)] == [
        (10, EventKind.SETS, b'{"seq": 10}', 1.0),
        (12, EventKind.REPS, b'{"seq": 12}', 3.0),
        (13, EventKind.VISITS, b'{"seq": 13}', 4.0),
    ]
    assert box.depth() == 4 and box.oldest_age_s() == 99.0
    assert box.resend_all() == 1 and [i.kind for i in box.unsent(10)][1] == EventKind.REPS
    assert box.append(EventKind.REPS, payload) == 14  # numbering goes on
    box.close()
    reopened = Outbox(path, clock=Clock(100.0))  # migrated once: the second open changes nothing
    assert [(i.seq, i.kind) for i in reopened.unsent(10)] == [
        (10, EventKind.SETS), (11, EventKind.REPS), (12, EventKind.REPS), (13, EventKind.VISITS), (14, EventKind.REPS)]


def test_an_old_event_whose_topic_names_no_kind_leaves_the_file_untouched(tmp_path):
    path = tmp_path / "outbox.sqlite3"
    old_outbox(path, [(10, "gym/agent/a1/reps", b"{}", 1.0, None), (11, "gym/agent/a1/weather", b"{}", 2.0, None)])
    with pytest.raises(TransientError, match="event 11 is stored for topic 'gym/agent/a1/weather'"):
        Outbox(path)
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT seq, topic FROM outbox ORDER BY seq").fetchall() == [
            (10, "gym/agent/a1/reps"), (11, "gym/agent/a1/weather")]
    db.close()
