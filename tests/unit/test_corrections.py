"""A set's exercise after the fact: the agent deciding again while the set runs, and people's corrections.

What the journal queues for InfluxDB is read back as (op, measurement, exercise tag, time): one point per set
and per rep means every write under a new tag follows a delete of the old one, at the same timestamp.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from replens.contract import Exercise, IdentitySource, RepEvent, SetEvent, SetPhase
from replens.contract.codec import decode
from replens.contract.edits import EditLastCommand, EditVia, SetEdit, exercise_named
from replens.contract.events import SetField
from replens.errors import ContractError
from replens.hub.journal import Inbound, Journal, Outgoing, PointOp, UnknownSetError
from replens.hub.storage.points import PointKey

START = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
START_NS = int(START.timestamp()) * 1_000_000_000
SET_ID = "a1.floor.1795683600000"


def set_event(seq: int, phase: SetPhase, reps: int, exercise: Exercise, confidence: float = 0.7) -> SetEvent:
    return SetEvent(agent_id="a1", seq=seq, set_id=SET_ID, station="floor", exercise=exercise, event=phase,
                    reps=reps, started_at=START, exercise_confidence=confidence,
                    ended_at=START + timedelta(seconds=30) if phase is SetPhase.END else None)


def rep_event(seq: int, index: int, exercise: Exercise) -> RepEvent:
    begin = START + timedelta(seconds=3 * index)
    return RepEvent(agent_id="a1", seq=seq, set_id=SET_ID, station="floor", exercise=exercise, index=index,
                    started_at=begin, turned_at=begin, ended_at=begin + timedelta(seconds=2), concentric_s=1,
                    eccentric_s=1, rom=80, confidence=1)


def rep_ns(index: int) -> int:
    return START_NS + 3 * index * 1_000_000_000


def queue(journal: Journal, *, written: bool = True) -> list[tuple[str, str, str, int]]:
    """(op, measurement, exercise, time) of everything queued for InfluxDB; ``written``: then empty the queue."""
    found = []
    pending = journal.pending_points(1000)
    for point in pending:
        if point.op is PointOp.DELETE:
            key = PointKey.from_json(point.line)
            found.append(("delete", key.measurement, key.tags["exercise"], key.time_ns))
        else:
            head, stamp = point.line.rsplit(" ", 1)
            series = head.split(" ", 1)[0].split(",")
            tags = dict(t.split("=", 1) for t in series[1:])
            found.append(("write", series[0], tags["exercise"], int(stamp)))
    if written:
        journal.points_written([p.id for p in pending])
    return found


def announced(journal: Journal) -> list[dict[str, object]]:
    found = journal.pending_announcements()
    journal.announced([a.id for a in found])
    return [json.loads(a.payload) for a in found if a.kind is Outgoing.HUB_SETS]


def edit(exercise: Exercise, edit_id: str = "e1", set_id: str = SET_ID, by: str | None = "Ann") -> SetEdit:
    return SetEdit(edit_id=edit_id, set_id=set_id, exercise=exercise, by=by)


@pytest.fixture
def journal(tmp_path: Path) -> Journal:
    return Journal(tmp_path / "j.sqlite3")


def test_the_agent_deciding_again_moves_the_set_and_its_reps(journal: Journal) -> None:
    """A station that sends reps as they come: the first two under squat, then the agent says lunge."""
    journal.record(Inbound(events=[rep_event(1, 1, Exercise.SQUAT), set_event(2, SetPhase.NEW, 1, Exercise.SQUAT),
                                   rep_event(3, 2, Exercise.SQUAT), set_event(4, SetPhase.UPDATE, 2, Exercise.SQUAT)]))
    assert queue(journal) == [("write", "rep", "squat", rep_ns(1)), ("write", "set", "squat", START_NS),
                              ("write", "rep", "squat", rep_ns(2)), ("write", "set", "squat", START_NS)]
    journal.record(Inbound(events=[set_event(5, SetPhase.UPDATE, 2, Exercise.LUNGE, confidence=0.8)]))
    assert queue(journal) == [
        ("delete", "set", "squat", START_NS),
        ("delete", "rep", "squat", rep_ns(1)), ("write", "rep", "lunge", rep_ns(1)),
        ("delete", "rep", "squat", rep_ns(2)), ("write", "rep", "lunge", rep_ns(2)),
        ("write", "set", "lunge", START_NS)]
    journal.record(Inbound(events=[rep_event(6, 3, Exercise.LUNGE),
                                   set_event(7, SetPhase.END, 3, Exercise.LUNGE, confidence=0.9)]))
    assert queue(journal) == [("write", "rep", "lunge", rep_ns(3)), ("write", "set", "lunge", START_NS)]
    (stored,) = journal.sets()
    assert (stored.exercise, stored.recognised_exercise, stored.exercise_confidence, stored.edited) == (
        Exercise.LUNGE, Exercise.LUNGE, 0.9, frozenset())
    assert announced(journal) == []  # the agent's own decisions are the set's life, not a change after the fact


def test_reps_held_until_the_end_come_under_the_final_exercise(journal: Journal) -> None:
    """A recognising station: set events change their mind, the reps come at the end with the final one."""
    journal.record(Inbound(events=[set_event(1, SetPhase.NEW, 1, Exercise.SQUAT, 0.4),
                                   set_event(2, SetPhase.UPDATE, 2, Exercise.LUNGE, 0.6)]))
    journal.record(Inbound(events=[rep_event(3, 1, Exercise.LUNGE), rep_event(4, 2, Exercise.LUNGE),
                                   set_event(5, SetPhase.END, 2, Exercise.LUNGE, 0.9)]))
    assert queue(journal) == [
        ("write", "set", "squat", START_NS), ("delete", "set", "squat", START_NS), ("write", "set", "lunge", START_NS),
        ("write", "rep", "lunge", rep_ns(1)), ("write", "rep", "lunge", rep_ns(2)), ("write", "set", "lunge", START_NS)]


def test_a_correction_moves_the_points_once_and_keeps_what_the_agent_said(journal: Journal) -> None:
    journal.record(Inbound(events=[set_event(1, SetPhase.NEW, 1, Exercise.SQUAT), rep_event(2, 1, Exercise.SQUAT),
                                   set_event(3, SetPhase.END, 1, Exercise.SQUAT, 0.55)]))
    queue(journal)
    at = START + timedelta(minutes=5)
    outcome = journal.edit(edit(Exercise.LUNGE), EditVia.MQTT, at)
    assert outcome.changed and not outcome.duplicate
    assert [(c.field, c.old, c.new) for c in outcome.changes] == [(SetField.EXERCISE, Exercise.SQUAT, Exercise.LUNGE)]
    assert queue(journal) == [("delete", "set", "squat", START_NS), ("delete", "rep", "squat", rep_ns(1)),
                              ("write", "rep", "lunge", rep_ns(1)), ("write", "set", "lunge", START_NS)]
    (said,) = announced(journal)
    assert (said["exercise"], said["recognised_exercise"], said["exercise_confidence"], said["edited"]) == (
        "lunge", "squat", 0.55, ["exercise"])
    (stored,) = journal.sets()
    assert (stored.exercise, stored.recognised_exercise, stored.exercise_confidence, stored.edited) == (
        Exercise.LUNGE, Exercise.SQUAT, 0.55, frozenset({SetField.EXERCISE}))
    (trail,) = journal.set_edits(SET_ID)
    assert (trail.edit_id, trail.field, trail.old, trail.new, trail.via, trail.by, trail.at) == (
        "e1", SetField.EXERCISE, "squat", "lunge", EditVia.MQTT, "Ann", at)

    again = journal.edit(edit(Exercise.LUNGE), EditVia.MQTT)  # delivered twice, or replayed after a restart
    assert again.duplicate and not again.changed
    assert queue(journal) == [] and announced(journal) == [] and len(journal.set_edits(SET_ID)) == 1


def test_an_edit_id_is_applied_once_even_when_a_later_edit_undid_it(journal: Journal) -> None:
    journal.record(Inbound(events=[set_event(1, SetPhase.END, 1, Exercise.SQUAT)]))
    journal.edit(edit(Exercise.LUNGE, "e1"), EditVia.CLI)
    journal.edit(edit(Exercise.SQUAT, "e2"), EditVia.HOMEASSISTANT)
    queue(journal)
    assert journal.edit(edit(Exercise.LUNGE, "e1"), EditVia.MQTT).duplicate  # a stale replay must not flip it back
    assert journal.sets()[0].exercise is Exercise.SQUAT and queue(journal) == []
    assert [(t.old, t.new, t.via) for t in journal.set_edits(SET_ID)] == [
        ("squat", "lunge", EditVia.CLI), ("lunge", "squat", EditVia.HOMEASSISTANT)]


def test_the_agent_cannot_undo_a_correction(journal: Journal) -> None:
    journal.record(Inbound(events=[set_event(1, SetPhase.NEW, 1, Exercise.SQUAT)]))
    journal.edit(edit(Exercise.LUNGE), EditVia.CLI)  # the set still runs: corrected while it goes on
    queue(journal)
    journal.record(Inbound(events=[set_event(2, SetPhase.UPDATE, 2, Exercise.BENCH_PRESS, 0.9),
                                   rep_event(3, 1, Exercise.BENCH_PRESS),
                                   set_event(4, SetPhase.END, 2, Exercise.BENCH_PRESS, 0.95)]))
    assert queue(journal) == [("write", "set", "lunge", START_NS), ("write", "rep", "lunge", rep_ns(1)),
                              ("write", "set", "lunge", START_NS)]
    (stored,) = journal.sets()
    assert (stored.exercise, stored.recognised_exercise, stored.exercise_confidence, stored.reps) == (
        Exercise.LUNGE, Exercise.BENCH_PRESS, 0.95, 2)


def test_a_claim_keeps_the_corrected_exercise(journal: Journal) -> None:
    journal.record(Inbound(events=[set_event(1, SetPhase.END, 4, Exercise.SQUAT)]))
    journal.edit(edit(Exercise.LUNGE), EditVia.CLI)
    queue(journal)
    announced(journal)
    assert journal.claim(SET_ID, "m1", by="cli") is not None
    assert queue(journal) == [("write", "set", "lunge", START_NS)]
    (said,) = announced(journal)
    assert (said["member"], said["identity_source"], said["exercise"], said["edited"]) == (
        "m1", IdentitySource.CLAIM, "lunge", ["exercise"])


def test_confirming_what_the_agent_recognised_changes_no_point_but_holds(journal: Journal) -> None:
    journal.record(Inbound(events=[set_event(1, SetPhase.NEW, 1, Exercise.SQUAT)]))
    queue(journal)
    outcome = journal.edit(edit(Exercise.SQUAT), EditVia.HOMEASSISTANT)
    assert not outcome.changed and not outcome.duplicate
    assert queue(journal) == [] and announced(journal) == []
    assert [(t.old, t.new) for t in journal.set_edits(SET_ID)] == [("squat", "squat")]
    journal.record(Inbound(events=[set_event(2, SetPhase.UPDATE, 2, Exercise.LUNGE)]))
    assert queue(journal) == [("write", "set", "squat", START_NS)]


def test_an_unknown_set_is_an_error_and_changes_nothing(journal: Journal) -> None:
    journal.record(Inbound(events=[set_event(1, SetPhase.END, 1, Exercise.SQUAT)]))
    queue(journal)
    with pytest.raises(UnknownSetError, match=r"no set 'a1\.floor\.1'"):
        journal.edit(edit(Exercise.LUNGE, set_id="a1.floor.1"), EditVia.CLI)
    assert journal.set_edits("a1.floor.1") == [] and queue(journal) == [] and announced(journal) == []
    # The id of a refused edit is not used up: the same edit for a set that arrives later applies.
    assert journal.edit(edit(Exercise.LUNGE), EditVia.CLI).changed


def test_reps_that_come_again_leave_no_stale_point(journal: Journal) -> None:
    """The same rep sent again after a correction (its set is known): the old point goes, the new tag stays."""
    journal.record(Inbound(events=[rep_event(1, 1, Exercise.SQUAT)]))
    journal.record(Inbound(events=[set_event(2, SetPhase.END, 1, Exercise.SQUAT)]))
    journal.edit(edit(Exercise.LUNGE), EditVia.CLI)
    queue(journal)
    journal.record(Inbound(events=[rep_event(3, 1, Exercise.SQUAT)]))
    assert queue(journal) == [("write", "rep", "lunge", rep_ns(1))]


# The wire ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("payload", "message"), [
    ({"edit_id": "e", "set_id": "s"}, "an edit must change something"),
    ({"edit_id": "e", "set_id": "s", "exercise": "auto"}, "auto names no exercise"),
    ({"edit_id": "e", "set_id": "s", "exercise": "benchpress"}, "did you mean 'bench_press'"),
    ({"edit_id": "", "set_id": "s", "exercise": "squat"}, "edit_id"),
    ({"set_id": "s", "exercise": "squat"}, "edit_id: Field required"),
])
def test_bad_edits_are_refused_with_the_reason(payload: dict[str, object], message: str) -> None:
    with pytest.raises(ContractError, match=message):
        decode(SetEdit, "replens/hub/edit", json.dumps({"schema": 1, **payload}).encode())


def test_an_edit_of_the_last_set_names_the_station() -> None:
    command = EditLastCommand(edit_id="ha.1764158400.5", agent_id="rack_1", station="floor", exercise=Exercise.LUNGE)
    assert decode(EditLastCommand, "t", command.to_json()) == command
    with pytest.raises(ValidationError):
        EditLastCommand(edit_id="x", agent_id="rack_1", station="floor")


@pytest.mark.parametrize(("text", "found"), [("lunge", Exercise.LUNGE), ("Bench Press", Exercise.BENCH_PRESS),
                                             ("pull-up", Exercise.PULL_UP)])
def test_exercise_names_are_forgiving_about_case_and_separators(text: str, found: Exercise) -> None:
    assert exercise_named(text) is found


@pytest.mark.parametrize(("text", "message"), [("benchpress", "did you mean 'bench_press'"),
                                               ("auto", "unknown exercise 'auto'"), ("yoga", "one of: squat")])
def test_unknown_exercise_names_say_what_would_do(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        exercise_named(text)


def test_forgetting_a_member_clears_them_from_the_audit_trail(tmp_path: Path) -> None:
    """``by`` is free text: a client may put a member id there, and a deleted member must leave no trace."""
    journal = Journal(tmp_path / "j.sqlite3")
    journal.record(Inbound(events=[set_event(1, SetPhase.END, 1, Exercise.SQUAT)]))
    journal.edit(edit(Exercise.LUNGE, by="m0a1b2c3d4e"), EditVia.MQTT)
    journal.forget_member("m0a1b2c3d4e")
    (trail,) = journal.set_edits(SET_ID)
    assert (trail.by, trail.new) == (None, "lunge")
    journal.close()
    assert not any(b"m0a1b2c3d4e" in p.read_bytes() for p in tmp_path.iterdir())
