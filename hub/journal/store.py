"""SQLite journal. One transaction per batch of messages: de-duplicate, record, queue InfluxDB points.

The queue of points lives in the same database as the record, so a hub killed anywhere either has
both the event and its points or neither; the agent sends again whatever the hub did not confirm.
The CLI may open the same file while the hub runs (to claim sets or forget a member): writers wait
for each other (busy timeout), and what the CLI queues the hub publishes.
"""

from __future__ import annotations

import logging
import math
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from replens.contract import (
    Event,
    Exercise,
    IdentitySource,
    LoadUnit,
    RepEvent,
    SetAttribution,
    SetEvent,
    SetField,
    SetPhase,
    Stats,
    VisitEvent,
)
from replens.contract.edits import EditVia, SetEdit
from replens.errors import TransientError
from replens.hub.journal import corrections, edits, personal_records
from replens.hub.journal.body import body_weight_on, set_body_weight
from replens.hub.journal.corrections import EditOutcome
from replens.hub.journal.edits import Forgotten, reweigh
from replens.hub.journal.member_units import set_member_unit
from replens.hub.journal.outgoing import Announcement, PointOp, pending_announcements, queue_delete, queue_point
from replens.hub.journal.reads import JournalReader
from replens.hub.journal.schema import create_and_migrate
from replens.hub.journal.visits import record_visit
from replens.hub.storage.points import rep_key, rep_line, set_line, stats_line

log = logging.getLogger(__name__)

_CHECKPOINT_TRIES = 50

@dataclass(slots=True)
class Inbound:
    """One batch of decoded messages, recorded in a single transaction."""

    events: list[Event] = field(default_factory=list)
    stats: list[Stats] = field(default_factory=list)
    agents: list[tuple[str, str | None, str | None]] = field(default_factory=list)  # id, availability, state

    def __bool__(self) -> bool:
        return bool(self.events or self.stats or self.agents)


@dataclass(frozen=True, slots=True)
class BatchResult:
    stored: list[tuple[str, int]]  # (agent_id, seq) newly recorded
    duplicates: list[tuple[str, int]]  # already recorded: confirm again, change nothing
    sets: list[str] = field(default_factory=list)  # set ids changed by this batch, for attribution
    visits: list[VisitEvent] = field(default_factory=list)  # visits changed by this batch


@dataclass(frozen=True, slots=True)
class PendingPoint:
    id: int
    line: str  # a line-protocol point, or for a delete the PointKey's JSON
    queued_at: float  # hub clock (UNIX s) when the point was queued: agent clocks may be off
    op: PointOp = PointOp.WRITE


class Journal(JournalReader):
    """The writer: thread-safe (one connection, one lock); the hub calls it from worker threads."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        super().__init__(path)
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            # 32 MiB of page cache instead of SQLite's 2: the journal's indexes outgrow 2 MiB within minutes
            # at thousands of events a second, and then every insert reads its pages back from the OS.
            self._db.execute("PRAGMA cache_size=-32768")
            added = create_and_migrate(self._db)
        except sqlite3.Error as err:
            raise TransientError(f"journal {path}: cannot open: {err}") from err
        if added:
            log.info("journal %s: migrated %s", path, ", ".join(added))

    def record(self, batch: Inbound) -> BatchResult:
        """Store a batch atomically; events already seen (same agent_id and seq) change nothing."""
        result = BatchResult([], [])
        with self._lock, self._transaction():
            for stats in batch.stats:
                self._queue_point(stats_line(stats))
            for agent_id, availability, state in batch.agents:
                self._record_agent(agent_id, availability, state)
            for event in batch.events:
                key = (event.agent_id, event.seq)
                cursor = self._db.execute("INSERT OR IGNORE INTO seen(agent_id, seq) VALUES (?, ?)", key)
                if cursor.rowcount == 0:
                    result.duplicates.append(key)
                    continue
                result.stored.append(key)
                if isinstance(event, SetEvent):
                    if self._apply_set(event):
                        result.sets.append(event.set_id)
                elif isinstance(event, VisitEvent):
                    if record_visit(self._db, event):
                        result.visits.append(event)
                else:
                    self._apply_rep(event)
        return result

    def pending_points(self, limit: int) -> list[PendingPoint]:
        """Points to write and to delete, in the order they were queued."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, line, queued_at, op FROM influx_outbox ORDER BY id LIMIT ?", (limit,)
            ).fetchall()
        return [PendingPoint(int(i), str(line), float(t), PointOp(op)) for i, line, t, op in rows]

    def points_written(self, ids: Iterable[int]) -> None:
        with self._lock, self._transaction():
            self._db.executemany("DELETE FROM influx_outbox WHERE id = ?", [(i,) for i in ids])

    def point_rejected(self, point: PendingPoint, reason: str) -> None:
        """InfluxDB refused this point for good: keep it aside for inspection instead of retrying forever."""
        with self._lock, self._transaction():
            self._db.execute(
                "INSERT INTO influx_rejected(id, line, reason, at, op) VALUES (?, ?, ?, ?, ?)",
                (point.id, point.line, reason, time.time(), point.op.value),
            )
            self._db.execute("DELETE FROM influx_outbox WHERE id = ?", (point.id,))

    def points_depth(self) -> tuple[int, float | None]:
        """Points owed to InfluxDB and when the oldest one was queued."""
        with self._lock:
            count, oldest = self._db.execute("SELECT COUNT(*), MIN(queued_at) FROM influx_outbox").fetchone()
        return int(count), None if oldest is None else float(oldest)

    # identity --------------------------------------------------------------------------------
    def claim(self, set_id: str, member: str | None, by: str | None = None, *,
              if_nobodys: bool = False) -> SetAttribution | None:
        """A person says whose set it was (None: nobody we know); None when that was already so.

        Raises UnknownSetError for a set the journal does not have, and with ``if_nobodys`` TakenError for a set
        someone has. Checking that ``member`` exists is the caller's job (the journal does not know the gallery).
        """
        with self._lock, self._transaction():
            return edits.claim(self._db, set_id, member, by, if_nobodys=if_nobodys)

    def attribute(
        self, set_id: str, member: str | None, source: IdentitySource | None, score: float | None
    ) -> SetAttribution | None:
        """A strategy's decision; a claimed set, or one whose member and source are unchanged, stays as is."""
        with self._lock, self._transaction():
            return edits.attribute(self._db, set_id, member, source, score)

    def edit(self, change: SetEdit, via: EditVia, at: datetime | None = None) -> EditOutcome:
        """A person's correction, applied once per ``edit_id`` (a duplicate changes nothing and says so).

        Raises UnknownSetError, and changes nothing, for a set the journal does not have.
        """
        with self._lock, self._transaction():
            outcome = corrections.edit(self._db, change, via, at or datetime.now(UTC))
            if outcome.changed:
                was = [(outcome.announcement.member if outcome.announcement else None, str(c.old))
                       for c in outcome.changes if c.field is SetField.EXERCISE]
                personal_records.judge_changed(self._db, change.set_id, was=was)
            return outcome

    def set_body_weight(self, member: str, kg: float, at: datetime | None = None) -> int:
        """The member's body weight from ``at`` (default now): the load of their bodyweight sets from then on.

        Sets already recorded that it weighs (those since ``at``, and for a member's first body weight also the
        earlier ones, which had no load) get their points and records rewritten. Returns how many.
        """
        since = (at or datetime.now(UTC)).timestamp()
        with self._lock, self._transaction():
            first = set_body_weight(self._db, member, kg, since)
            return reweigh(self._db, member, -math.inf if first else since)

    def set_member_unit(self, member: str, unit: LoadUnit) -> None:
        """The unit the member reads and types loads in from now on (the journal keeps kg regardless)."""
        with self._lock, self._transaction():
            set_member_unit(self._db, member, unit)

    def forget_member(self, member: str) -> Forgotten:
        """Delete a member's visits and attributions, rewrite their InfluxDB points, leave no trace in the file."""
        with self._lock, self._transaction():
            forgotten = edits.forget_member(self._db, member)
        self._compact()
        return forgotten

    def pending_announcements(self, limit: int = 100) -> list[Announcement]:
        with self._lock:
            return pending_announcements(self._db, limit)

    def announced(self, ids: Iterable[int]) -> None:
        with self._lock, self._transaction():
            self._db.executemany("DELETE FROM announcements WHERE id = ?", [(i,) for i in ids])

    # internals ---------------------------------------------------------------------------------
    def _record_agent(self, agent_id: str, availability: str | None, state: str | None) -> None:
        self._db.execute(
            "INSERT INTO agents(agent_id, availability, state, last_seen) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(agent_id) DO UPDATE SET availability = COALESCE(excluded.availability, availability), "
            "state = COALESCE(excluded.state, state), last_seen = excluded.last_seen",
            (agent_id, availability, state, time.time()),
        )

    def _apply_set(self, event: SetEvent) -> bool:
        row = self._db.execute(
            "SELECT last_seq, member, identity_source, identity_score, claimed, exercise, overrides FROM sets "
            "WHERE set_id = ?", (event.set_id,),
        ).fetchone()
        if row is not None and row[0] > event.seq:
            return False  # an older update arrived late: the newer one already wrote the point
        member, source, score = (row[1], row[2], row[3]) if row else (None, None, None)
        if source is None and not (row and row[4]):
            member = event.member or member  # the hub has decided nothing yet: keep what the agent says
        effective = corrections.shown(event, corrections.overrides_of(row[6] if row else None))
        self._db.execute(
            "INSERT INTO sets(set_id, agent_id, station, exercise, member, reps, phase, started_at, ended_at, "
            "last_seq, payload, appearance, started_ts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(set_id) DO UPDATE SET exercise = excluded.exercise, member = excluded.member, "
            "reps = excluded.reps, phase = excluded.phase, ended_at = excluded.ended_at, "
            "last_seq = excluded.last_seq, payload = excluded.payload, "
            "appearance = COALESCE(excluded.appearance, appearance)",
            (
                event.set_id, event.agent_id, event.station, effective.exercise.value, member, effective.reps,
                event.event.value, event.started_at.isoformat(),
                event.ended_at.isoformat() if event.ended_at else None, event.seq, event.model_dump_json(),
                event.appearance.model_dump_json() if event.appearance else None, event.started_at.timestamp(),
            ),
        )
        previous = Exercise(row[5]) if row else None
        if previous is not effective.exercise:  # a new set (reps may have come first), or the agent decided again
            corrections.retag(self._db, effective, previous)
        self._queue_point(set_line(effective, member, IdentitySource(source) if source else None, score,
                                   body_weight_on(self._db, member, event.started_at)))
        if event.event is SetPhase.END:  # records and profiles are judged on ended sets; updates before cost nothing
            # Later sets too: a set delivered late (an agent's outbox after an outage) may take their records.
            personal_records.judge_changed(self._db, event.set_id)
        return True

    def _apply_rep(self, event: RepEvent) -> None:
        """The rep's point carries its set's effective exercise (the rep's own until the set is known)."""
        found = self._db.execute("SELECT exercise FROM sets WHERE set_id = ?", (event.set_id,)).fetchone()
        shown = corrections.with_exercise(event, Exercise(found[0]) if found else event.exercise)
        before = self._db.execute("SELECT exercise, payload FROM reps WHERE set_id = ? AND idx = ?",
                                  (event.set_id, event.index)).fetchone()
        self._db.execute(
            "INSERT OR REPLACE INTO reps(set_id, idx, agent_id, seq, started_at, ended_at, payload, exercise) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                event.set_id, event.index, event.agent_id, event.seq, event.started_at.isoformat(),
                event.ended_at.isoformat(), event.model_dump_json(), shown.exercise.value,
            ),
        )
        if before is not None and before[0] is not None:  # the same rep sent again: its old point may differ
            old = rep_key(corrections.with_exercise(RepEvent.model_validate_json(before[1]), Exercise(before[0])))
            if old != rep_key(shown):
                queue_delete(self._db, old)
        self._queue_point(rep_line(shown))

    def queue_points(self, lines: Iterable[str]) -> None:
        """Points that come from no event (presence changes), in their own transaction."""
        with self._lock, self._transaction():
            for line in lines:
                self._queue_point(line)

    def _queue_point(self, line: str) -> None:
        queue_point(self._db, line)

    def _compact(self) -> None:
        """Rebuild the file and empty the WAL, so deleted rows linger neither in free pages nor in old frames."""
        with self._lock:
            try:
                self._db.execute("VACUUM")
                for _ in range(_CHECKPOINT_TRIES):
                    busy, _, _ = self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
                    if not busy:
                        return
                    time.sleep(0.1)  # another process is reading an older snapshot
            except sqlite3.Error as err:
                raise TransientError(f"journal {self.path}: cannot compact: {err}") from err
        log.warning("journal %s: the WAL is still in use; old frames go at the next checkpoint", self.path)

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db, self.path)


class _Transaction:
    """BEGIN IMMEDIATE … COMMIT, turning SQLite trouble (disk full, locked) into TransientError."""

    def __init__(self, db: sqlite3.Connection, path: Path) -> None:
        self._db = db
        self._path = path

    def __enter__(self) -> None:
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as err:
            raise TransientError(f"journal {self._path}: {err}") from err

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            try:
                self._db.execute("COMMIT")
            except sqlite3.Error as err:
                self._rollback()
                raise TransientError(f"journal {self._path}: cannot commit: {err}") from err
        else:
            self._rollback()
            if isinstance(exc, sqlite3.Error):
                raise TransientError(f"journal {self._path}: {exc}") from exc

    def _rollback(self) -> None:
        """SQLite has already rolled back after some errors (disk full): a second ROLLBACK would raise."""
        if self._db.in_transaction:
            try:
                self._db.execute("ROLLBACK")
            except sqlite3.Error:
                log.debug("journal %s: rollback after a failed write also failed", self._path)
