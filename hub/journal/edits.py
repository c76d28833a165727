"""Changes to recorded sets after the fact: whose set it is (claims, strategy decisions, member deletion).

Every change rewrites the set's InfluxDB point (same timestamp, so it overwrites) and queues a
``SetAttribution`` announcement, in the caller's transaction: the hub publishes what is queued, whoever
changed the journal (the hub itself, or the CLI on the same file). The point and the announcement show
the set with people's corrections (corrections.py): a claim keeps a corrected exercise.
"""

from __future__ import annotations

import math
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime

from replens.contract import IdentitySource, SetAttribution, SetEvent
from replens.hub.journal import body, personal_records
from replens.hub.journal.corrections import UnknownSetError, announcement, overrides_of, shown, unknown_set
from replens.hub.journal.member_units import forget_member_unit
from replens.hub.journal.outgoing import Outgoing, queue_announcement, queue_point
from replens.hub.journal.reads import sets_by_id
from replens.hub.journal.records import RecordedSet
from replens.hub.storage.points import set_line
from replens.strength import BODYWEIGHT_EXERCISES

__all__ = ["CLAIM_SCORE", "Forgotten", "TakenError", "UnknownSetError", "attribute", "claim", "forget_member",
           "reweigh"]

CLAIM_SCORE = 1.0
"""A person said so."""


@dataclass(frozen=True, slots=True)
class Forgotten:
    """What deleting a member changed in the journal."""

    visits: int
    sets: int


class TakenError(ValueError):
    """A claim of a set nobody had, when the set is someone's (or decided) by now."""


def claim(db: sqlite3.Connection, set_id: str, member: str | None, by: str | None, *,
          if_nobodys: bool = False) -> SetAttribution | None:
    """A person decides (``member`` None: nobody we know); strategies never change the set afterwards.

    ``if_nobodys``: only if nobody has the set and nobody decided it yet (raises TakenError otherwise), checked in
    the same transaction, so two members tapping "That was me" at once cannot take it from each other.
    """
    current = _current(db, set_id)
    if if_nobodys and (current.member is not None or current.claimed):
        raise TakenError(f"set {set_id} is not unclaimed any more")
    if current.claimed and current.identity_source is IdentitySource.CLAIM and current.member == member:
        return None
    return _rewrite(db, set_id, member, IdentitySource.CLAIM, CLAIM_SCORE if member else None, claimed=True, by=by)


def attribute(
    db: sqlite3.Connection, set_id: str, member: str | None, source: IdentitySource | None, score: float | None
) -> SetAttribution | None:
    """A strategy's decision; ignored for claimed sets and when neither member nor source changes."""
    current = _current(db, set_id)
    if current.claimed or (current.member, current.identity_source) == (member, source):
        return None
    if member is None and current.identity_source is None:
        return None  # nothing decided before; a member given by the agent stays
    if member is not None and db.execute("SELECT 1 FROM visits WHERE member = ? LIMIT 1", (member,)).fetchone() is None:
        return None  # decided from visits read before the member was forgotten: their id must not come back
    return _rewrite(db, set_id, member, source, score, claimed=False, by=None)


def forget_member(db: sqlite3.Connection, member: str) -> Forgotten:
    """Remove every trace of a member: visits, attributions, queued points and announcements naming them.

    Their sets stay unattributed and locked (claimed, nobody): otherwise the next strategy run would hand
    them to whoever else was in the gym.
    """
    visits = db.execute("DELETE FROM visits WHERE member = ?", (member,)).rowcount
    db.execute("UPDATE sets SET payload = json_set(payload, '$.member', NULL) "
               "WHERE json_extract(payload, '$.member') = ?", (member,))
    db.execute("UPDATE sets SET claimed_by = NULL WHERE claimed_by = ?", (member,))
    db.execute("UPDATE set_edits SET by = NULL WHERE by = ?", (member,))
    set_ids = [row[0] for row in db.execute("SELECT set_id FROM sets WHERE member = ?", (member,))]
    for set_id in set_ids:
        _rewrite(db, set_id, None, None, None, claimed=True, by=None)
    named, blank = f'member="{member}"', 'member=""'
    for table in ("influx_outbox", "influx_rejected"):
        db.execute(f"UPDATE {table} SET line = replace(line, ?, ?) WHERE instr(line, ?) > 0", (named, blank, named))
    db.execute("DELETE FROM announcements WHERE topic_kind = ? AND json_extract(payload, '$.member') = ?",
               (Outgoing.HUB_SETS.value, member))
    personal_records.forget(db, member)
    body.forget(db, member)
    forget_member_unit(db, member)
    queue_announcement(db, Outgoing.PRESENCE, "")
    return Forgotten(visits=int(visits), sets=len(set_ids))


def reweigh(db: sqlite3.Connection, member: str, since_ts: float) -> int:
    """Rewrite the points and records of the member's bodyweight sets started since ``since_ts`` (-inf: all).

    Each with the body weight of its day, after a body weight entry changed it. Returns how many sets.
    """
    exercises = sorted(e.value for e in BODYWEIGHT_EXERCISES)
    rows = db.execute(
        "SELECT payload, overrides, identity_source, identity_score FROM sets WHERE member = ? AND started_ts >= ? "
        f"AND exercise IN ({', '.join('?' * len(exercises))}) ORDER BY started_ts",
        (member, since_ts, *exercises)).fetchall()
    for payload, stored, source, score in rows:
        agent = SetEvent.model_validate_json(payload)
        weighed = body.body_weight_on(db, member, agent.started_at)
        queue_point(db, set_line(shown(agent, overrides_of(stored)), member,
                                 IdentitySource(source) if source else None, score, weighed))
    if rows:
        for exercise in sorted(BODYWEIGHT_EXERCISES):
            personal_records.rejudge_after(db, member, exercise, -math.inf)
    return len(rows)


def _rewrite(
    db: sqlite3.Connection, set_id: str, member: str | None, source: IdentitySource | None, score: float | None,
    *, claimed: bool, by: str | None,
) -> SetAttribution:
    was, exercise = db.execute("SELECT member, exercise FROM sets WHERE set_id = ?", (set_id,)).fetchone()
    db.execute(
        "UPDATE sets SET member = ?, identity_source = ?, identity_score = ?, claimed = ?, claimed_by = ? "
        "WHERE set_id = ?",
        (member, source.value if source else None, score, int(claimed), by, set_id),
    )
    payload, stored = db.execute("SELECT payload, overrides FROM sets WHERE set_id = ?", (set_id,)).fetchone()
    agent, overrides = SetEvent.model_validate_json(payload), overrides_of(stored)
    weighed = body.body_weight_on(db, member, agent.started_at)
    queue_point(db, set_line(shown(agent, overrides), member, source, score, weighed))
    personal_records.judge_changed(db, set_id, was=[(was, exercise)])
    said = announcement(agent, overrides, member, source, score, at=datetime.now(UTC))
    queue_announcement(db, Outgoing.HUB_SETS, said.to_json().decode())
    return said


def _current(db: sqlite3.Connection, set_id: str) -> RecordedSet:
    found = sets_by_id(db, [set_id])
    if not found:
        raise unknown_set(set_id)
    return found[0]
