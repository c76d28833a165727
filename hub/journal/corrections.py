"""What a set shows: the agent's latest event with people's corrections over it, and the edits that correct it.

The agent's event stays in ``sets.payload`` as it came (what the camera counted and recognised); the
corrections sit in ``sets.overrides`` (field → value) and each edit in ``set_edits`` (who, how, when, old →
new). The effective set (:func:`shown`) is what the InfluxDB points, Home Assistant's views and the report
use. An agent's later events change the payload only: a correction stays until a person changes it.

When the effective exercise changes (an edit, or the agent deciding again while the set runs), the set's
InfluxDB point and its reps' points move: each is deleted under the old ``exercise`` tag and written
under the new one at the same timestamp (:func:`retag`), queued in the caller's transaction.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from replens.contract import Exercise, IdentitySource, RepEvent, SetAttribution, SetEvent
from replens.contract.edits import EditVia, SetChanges, SetEdit
from replens.contract.events import SetField
from replens.errors import RepLensError
from replens.hub.journal.body import body_weight_on
from replens.hub.journal.outgoing import Outgoing, queue_announcement, queue_delete, queue_point
from replens.hub.storage.points import rep_key, rep_line, set_key, set_line


class UnknownSetError(RepLensError):
    """A claim or an edit names a set the journal does not have (yet)."""


class ForgottenMemberSetError(UnknownSetError):
    """An edit names the set of a member who was deleted: it stays as the deletion left it."""


def unknown_set(set_id: str) -> UnknownSetError:
    return UnknownSetError(f"no set {set_id!r} in the journal (set ids look like <agent>.<station>.<start ms>)")


@dataclass(frozen=True, slots=True)
class FieldChange:
    """One field an edit set: its effective value before and after (equal when it confirmed the value)."""

    field: SetField
    old: Any
    new: Any


@dataclass(frozen=True, slots=True)
class EditOutcome:
    """What one edit did. ``duplicate``: its id was applied before, nothing changed now."""

    set_id: str
    duplicate: bool
    changes: tuple[FieldChange, ...] = ()
    announcement: SetAttribution | None = None
    """Queued for ``<prefix>/hub/sets`` when the set changed; None when the edit only confirmed what it was."""

    @property
    def changed(self) -> bool:
        return self.announcement is not None


def overrides_of(text: str | None) -> dict[str, Any]:
    """``sets.overrides`` as a dict (JSON values: ``{"exercise": "squat"}``)."""
    return dict(json.loads(text)) if text else {}


def shown(event: SetEvent, overrides: dict[str, Any]) -> SetEvent:
    """The agent's event with the corrections applied: the set as the hub shows and stores it."""
    if not overrides:
        return event
    fields = SetChanges.model_validate(overrides).changes()
    return event.model_copy(update={f.value: value for f, value in fields.items()})


def with_exercise(event: RepEvent, exercise: Exercise) -> RepEvent:
    return event if event.exercise is exercise else event.model_copy(update={"exercise": exercise})


def retag(db: sqlite3.Connection, event: SetEvent, previous: Exercise | None) -> None:
    """The set's effective exercise is now ``event.exercise``: move the points tagged otherwise.

    ``previous``: the tag of the set's point so far (None: no point yet). Its reps' points are moved when
    any carries another tag. The caller writes the set's new point.
    """
    if previous is not None and previous is not event.exercise:
        queue_delete(db, set_key(event.model_copy(update={"exercise": previous})))
    moved = db.execute("SELECT idx, exercise, payload FROM reps WHERE set_id = ? AND exercise IS NOT ?",
                       (event.set_id, event.exercise.value)).fetchall()
    for index, tag, payload in moved:
        rep = RepEvent.model_validate_json(payload)
        if tag is not None:
            queue_delete(db, rep_key(with_exercise(rep, Exercise(tag))))
        queue_point(db, rep_line(with_exercise(rep, event.exercise)))
        db.execute("UPDATE reps SET exercise = ? WHERE set_id = ? AND idx = ?", (event.exercise.value, event.set_id,
                                                                                 index))


def announcement(agent: SetEvent, overrides: dict[str, Any], member: str | None, source: IdentitySource | None,
                 score: float | None, *, at: datetime) -> SetAttribution:
    """The ``SetAttribution`` of a set as it is now (queued by whoever changed it)."""
    event = shown(agent, overrides)
    return SetAttribution(
        set_id=event.set_id, agent_id=event.agent_id, station=event.station, exercise=event.exercise,
        reps=event.reps, started_at=event.started_at, ended_at=event.ended_at, member=member,
        identity_source=source, identity_score=score, at=at, recognised_exercise=agent.exercise,
        exercise_confidence=agent.exercise_confidence, edited=sorted(SetField(f) for f in overrides),
        weight_kg=event.weight_kg, counted_reps=agent.reps, agent_weight_kg=agent.weight_kg,
    )


def edit(db: sqlite3.Connection, change: SetEdit, via: EditVia, at: datetime) -> EditOutcome:
    """Apply a person's correction once per ``edit_id``: audit rows, overrides, points, announcement.

    Raises UnknownSetError, and changes nothing, for a set the journal does not have, and
    ForgottenMemberSetError (one) for the set of a deleted member.
    """
    if db.execute("SELECT 1 FROM set_edits WHERE edit_id = ? LIMIT 1", (change.edit_id,)).fetchone():
        return EditOutcome(change.set_id, duplicate=True)
    row = db.execute("SELECT payload, overrides, member, identity_source, identity_score, claimed FROM sets "
                     "WHERE set_id = ?", (change.set_id,)).fetchone()
    if row is None:
        raise unknown_set(change.set_id)
    payload, stored, member, source, score, claimed = row
    if claimed and member is None and source is None:  # what forget_member leaves (a claim of nobody says claim)
        raise ForgottenMemberSetError(f"set {change.set_id!r} was a deleted member's: it stays anonymous and as it "
                                      "was; nothing changed")
    agent, overrides = SetEvent.model_validate_json(payload), overrides_of(stored)
    before = shown(agent, overrides)
    overrides.update(change.model_dump(mode="json", include={f.value for f in change.changes()}))
    after = shown(agent, overrides)
    changes = tuple(FieldChange(f, getattr(before, f.value), getattr(after, f.value)) for f in change.changes())
    db.executemany(
        "INSERT INTO set_edits(edit_id, field, set_id, old, new, via, by, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [(change.edit_id, c.field.value, change.set_id, json.dumps(c.old), json.dumps(c.new), via.value, change.by,
          at.timestamp()) for c in changes],
    )
    db.execute("UPDATE sets SET overrides = ?, exercise = ?, reps = ? WHERE set_id = ?",  # the effective values
               (json.dumps(overrides, sort_keys=True), after.exercise.value, after.reps, change.set_id))
    if all(c.old == c.new for c in changes):
        return EditOutcome(change.set_id, duplicate=False, changes=changes)
    identity = IdentitySource(source) if source else None
    retag(db, after, previous=before.exercise)
    queue_point(db, set_line(after, member, identity, score, body_weight_on(db, member, agent.started_at)))
    said = announcement(agent, overrides, member, identity, score, at=at)
    queue_announcement(db, Outgoing.HUB_SETS, said.to_json().decode())
    return EditOutcome(change.set_id, duplicate=False, changes=changes, announcement=said)
