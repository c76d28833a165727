"""Personal records: judged when a set ends and again whenever it changes (member, load, reps, exercise).

A set is judged against the same member's earlier ended sets of the same exercise (by start time), with the
effective values (people's corrections over the agent's) and, for bodyweight exercises, each set's body weight
of its day. Each record it holds is a row of ``personal_records``, a point of the InfluxDB ``record``
measurement at the set's start, and, when it is new, a ``PersonalRecordEvent`` for Home Assistant. Judged
again, a set keeps its announced records quietly, announces the new ones, and loses (row and point) those it
no longer holds.

A change to a set also changes what the sets after it are measured against (a typo of 200 kg corrected to
100 kg gives a later 120 kg set back its record): :func:`judge_changed` re-judges those too, quietly. A record
found in the past is history, not news: Home Assistant's event entity is for the set just done.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from itertools import groupby

from replens.contract import Exercise, PersonalRecordEvent, RecordKind, SetEvent, SetPhase
from replens.hub.journal import profiles
from replens.hub.journal.body import body_weight_kg, weighed_set_sql
from replens.hub.journal.corrections import overrides_of, shown
from replens.hub.journal.outgoing import Outgoing, queue_announcement, queue_delete, queue_point
from replens.hub.storage.points import RecordPoint, ns
from replens.strength import LiftedSet, PersonalRecord, lifted_kg, records

_EFFECTIVE_WEIGHT = "COALESCE(json_extract(overrides, '$.weight_kg'), json_extract(payload, '$.weight_kg'))"


def judge_changed(db: sqlite3.Connection, set_id: str, was: Iterable[tuple[str | None, str]] = ()) -> None:
    """Judge the set, then re-judge (quietly) the later sets it is measured against.

    Those are its member's later sets of its exercise, and those of the member and exercise it had before the
    change (``was``: (member, exercise) pairs).
    """
    judge(db, set_id)
    row = db.execute("SELECT member, exercise, started_ts FROM sets WHERE set_id = ?", (set_id,)).fetchone()
    if row is None:
        return
    member, exercise, started_ts = row
    for other_member, other_exercise in sorted({(member, exercise), *was}, key=str):
        if other_member is not None:
            rejudge_after(db, other_member, Exercise(other_exercise), started_ts)


def judge(db: sqlite3.Connection, set_id: str, *, announce: bool = True) -> list[PersonalRecord]:
    """The records the set holds now (queued: rows, points, deletes; announcements of new ones if ``announce``)."""
    row = db.execute("SELECT payload, overrides, member, phase, started_ts FROM sets WHERE set_id = ?",
                     (set_id,)).fetchone()
    if row is None:
        return []
    payload, stored, member, phase, started_ts = row
    event = shown(SetEvent.model_validate_json(payload), overrides_of(stored))
    found: list[PersonalRecord] = []
    load = lifted_kg(event.exercise, event.weight_kg, body_weight_kg(db, member, started_ts))
    if member is not None and phase == SetPhase.END.value and load is not None:
        rows = db.execute(
            f"SELECT {_EFFECTIVE_WEIGHT}, reps, {weighed_set_sql('sets')} FROM sets WHERE member = ? "
            "AND exercise = ? AND phase = 'end' AND started_ts < ? AND set_id != ?",
            (member, event.exercise.value, started_ts, set_id)).fetchall()
        earlier = [LiftedSet(kg, int(r)) for w, r, body in rows
                   if (kg := lifted_kg(event.exercise, None if w is None else float(w), body)) is not None]
        found = records(earlier, LiftedSet(load, event.reps))
    _hold(db, event, member, load, found, announce=announce)
    profiles.fit(db, set_id)
    return found


def rejudge_after(db: sqlite3.Connection, member: str, exercise: Exercise, after_ts: float) -> None:
    """Judge again, quietly, the member's ended sets of the exercise started after ``after_ts``.

    One read and one pass in start order (not :func:`judge` per set, whose query reads every earlier set:
    correcting the first of a few hundred sets would be quadratic in SQL inside the hub's write transaction).
    """
    if db.execute("SELECT 1 FROM sets WHERE member = ? AND exercise = ? AND started_ts > ? AND phase = 'end' LIMIT 1",
                  (member, exercise.value, after_ts)).fetchone() is None:
        return  # the usual case: the set just ended is the member's latest
    rows = db.execute(
        f"SELECT payload, overrides, started_ts, {weighed_set_sql('sets')} FROM sets WHERE member = ? "
        "AND exercise = ? AND phase = 'end' ORDER BY started_ts", (member, exercise.value)).fetchall()
    earlier: list[LiftedSet] = []
    for started_ts, group in groupby(rows, key=lambda row: row[2]):
        lifted_now: list[LiftedSet] = []
        for payload, stored, _, body in group:  # sets that started together are not earlier than each other
            event = shown(SetEvent.model_validate_json(payload), overrides_of(stored))
            load = lifted_kg(event.exercise, event.weight_kg, body)
            if started_ts > after_ts:
                found = [] if load is None else records(earlier, LiftedSet(load, event.reps))
                _hold(db, event, member, load, found, announce=False)
            if load is not None:
                lifted_now.append(LiftedSet(load, event.reps))
        earlier.extend(lifted_now)
    profiles.refit_after(db, member, exercise, after_ts)


def _hold(db: sqlite3.Connection, event: SetEvent, member: str | None, load: float | None,
          found: list[PersonalRecord], *, announce: bool) -> None:
    """Make the set hold exactly ``found``: rows and points of records it lost go, the others are (re)written."""
    held = {RecordKind(k): e for k, e in db.execute(
        "SELECT kind, exercise FROM personal_records WHERE set_id = ?", (event.set_id,))}
    kept = {r.kind for r in found}
    for kind, exercise in held.items():
        if kind not in kept or exercise != event.exercise.value:
            db.execute("DELETE FROM personal_records WHERE set_id = ? AND kind = ?", (event.set_id, kind.value))
            queue_delete(db, _point(event, kind, exercise).key())
    for record in found:
        assert load is not None and member is not None
        _keep(db, event, member, load, record, announce=announce and record.kind not in held)


def forget(db: sqlite3.Connection, member: str) -> None:
    """A deleted member's records: rows and points gone, announcements not yet sent dropped."""
    rows = db.execute("SELECT set_id FROM personal_records WHERE member = ?", (member,)).fetchall()
    db.execute("DELETE FROM announcements WHERE topic_kind = ? AND json_extract(payload, '$.member') = ?",
               (Outgoing.PERSONAL_RECORD.value, member))
    for set_id in sorted({str(r[0]) for r in rows}):
        _drop(db, set_id)
    profiles.forget(db, member)


def _drop(db: sqlite3.Connection, set_id: str) -> None:
    payload = db.execute("SELECT payload FROM sets WHERE set_id = ?", (set_id,)).fetchone()
    for kind, exercise in db.execute("SELECT kind, exercise FROM personal_records WHERE set_id = ?",
                                     (set_id,)).fetchall():
        if payload is not None:
            queue_delete(db, _point(SetEvent.model_validate_json(payload[0]), RecordKind(kind), exercise).key())
    db.execute("DELETE FROM personal_records WHERE set_id = ?", (set_id,))


def _point(event: SetEvent, kind: RecordKind, exercise: str) -> RecordPoint:
    return RecordPoint(event.agent_id, event.station, exercise, kind.value, ns(event.started_at))


def _keep(db: sqlite3.Connection, event: SetEvent, member: str, load: float, record: PersonalRecord, *,
          announce: bool) -> None:
    db.execute("INSERT OR REPLACE INTO personal_records(set_id, kind, member, exercise, value, previous) "
               "VALUES (?, ?, ?, ?, ?, ?)", (event.set_id, record.kind.value, member, event.exercise.value,
                                             record.value, record.previous))
    fields: dict[str, float | int | bool | str] = {"member": member, "value": round(record.value, 3),
                                                   "set_id": event.set_id, "load_kg": load,
                                                   "reps": event.reps}
    if record.previous is not None:
        fields["previous"] = round(record.previous, 3)
    queue_point(db, _point(event, record.kind, event.exercise.value).line(fields))
    if announce:
        said = PersonalRecordEvent(member=member, exercise=event.exercise, kind=record.kind,
                                   value=round(record.value, 3), previous=record.previous, load_kg=load,
                                   reps=event.reps, set_id=event.set_id, at=event.started_at)
        queue_announcement(db, Outgoing.PERSONAL_RECORD, said.to_json().decode())
