"""SQLite journal. One transaction per batch of messages: de-duplicate, record, queue InfluxDB points.

The queue of points lives in the same database as the record, so a hub killed anywhere either has
both the event and its points or neither; the agent sends again whatever the hub did not confirm.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from replens.contract import RepEvent, SetEvent, Stats
from replens.errors import TransientError
from replens.hub.storage.points import rep_line, set_line, stats_line

_SCHEMA = """
CREATE TABLE IF NOT EXISTS seen (agent_id TEXT NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (agent_id, seq))
    WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS agents (
    agent_id TEXT PRIMARY KEY, availability TEXT, state TEXT, last_seen REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS sets (
    set_id TEXT PRIMARY KEY, agent_id TEXT NOT NULL, station TEXT NOT NULL, exercise TEXT NOT NULL,
    member TEXT, reps INTEGER NOT NULL, phase TEXT NOT NULL, started_at TEXT NOT NULL, ended_at TEXT,
    last_seq INTEGER NOT NULL, payload TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS reps (
    set_id TEXT NOT NULL, idx INTEGER NOT NULL, agent_id TEXT NOT NULL, seq INTEGER NOT NULL,
    started_at TEXT NOT NULL, ended_at TEXT NOT NULL, payload TEXT NOT NULL, PRIMARY KEY (set_id, idx)
);
CREATE TABLE IF NOT EXISTS influx_outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT, line TEXT NOT NULL, queued_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS influx_rejected (
    id INTEGER PRIMARY KEY, line TEXT NOT NULL, reason TEXT NOT NULL, at REAL NOT NULL
);
"""

Sequenced = SetEvent | RepEvent


@dataclass(slots=True)
class Inbound:
    """One batch of decoded messages, recorded in a single transaction."""

    events: list[Sequenced] = field(default_factory=list)
    stats: list[Stats] = field(default_factory=list)
    agents: list[tuple[str, str | None, str | None]] = field(default_factory=list)  # id, availability, state

    def __bool__(self) -> bool:
        return bool(self.events or self.stats or self.agents)


@dataclass(frozen=True, slots=True)
class BatchResult:
    stored: list[tuple[str, int]]  # (agent_id, seq) newly recorded
    duplicates: list[tuple[str, int]]  # already recorded: confirm again, change nothing


@dataclass(frozen=True, slots=True)
class PendingPoint:
    id: int
    line: str
    queued_at: float  # hub clock (UNIX s) when the point was queued: agent clocks may be off


@dataclass(frozen=True, slots=True)
class StoredSet:
    set_id: str
    agent_id: str
    station: str
    exercise: str
    member: str | None
    reps: int
    phase: str
    started_at: str
    ended_at: str | None


class Journal:
    """Thread-safe (one connection, one lock); the hub calls it from worker threads."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
        except sqlite3.Error as err:
            raise TransientError(f"journal {path}: cannot open: {err}") from err

    def record(self, batch: Inbound) -> BatchResult:
        """Store a batch atomically; events already seen (same agent_id and seq) change nothing."""
        stored: list[tuple[str, int]] = []
        duplicates: list[tuple[str, int]] = []
        with self._lock, self._transaction():
            for stats in batch.stats:
                self._queue_point(stats_line(stats))
            for agent_id, availability, state in batch.agents:
                self._record_agent(agent_id, availability, state)
            for event in batch.events:
                key = (event.agent_id, event.seq)
                cursor = self._db.execute("INSERT OR IGNORE INTO seen(agent_id, seq) VALUES (?, ?)", key)
                if cursor.rowcount == 0:
                    duplicates.append(key)
                    continue
                stored.append(key)
                if isinstance(event, SetEvent):
                    self._apply_set(event)
                else:
                    self._apply_rep(event)
        return BatchResult(stored, duplicates)

    def agents(self) -> dict[str, tuple[str | None, str | None]]:
        """Agent id → (availability, state JSON) as last seen."""
        with self._lock:
            rows = self._db.execute("SELECT agent_id, availability, state FROM agents").fetchall()
        return {str(a): (av, st) for a, av, st in rows}

    def pending_points(self, limit: int) -> list[PendingPoint]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, line, queued_at FROM influx_outbox ORDER BY id LIMIT ?", (limit,)
            ).fetchall()
        return [PendingPoint(int(i), str(line), float(t)) for i, line, t in rows]

    def points_written(self, ids: Iterable[int]) -> None:
        with self._lock, self._transaction():
            self._db.executemany("DELETE FROM influx_outbox WHERE id = ?", [(i,) for i in ids])

    def point_rejected(self, point: PendingPoint, reason: str) -> None:
        """InfluxDB refused this point for good: keep it aside for inspection instead of retrying forever."""
        with self._lock, self._transaction():
            self._db.execute(
                "INSERT INTO influx_rejected(id, line, reason, at) VALUES (?, ?, ?, ?)",
                (point.id, point.line, reason, time.time()),
            )
            self._db.execute("DELETE FROM influx_outbox WHERE id = ?", (point.id,))

    def points_depth(self) -> tuple[int, float | None]:
        """Points owed to InfluxDB and when the oldest one was queued."""
        with self._lock:
            count, oldest = self._db.execute("SELECT COUNT(*), MIN(queued_at) FROM influx_outbox").fetchone()
        return int(count), None if oldest is None else float(oldest)

    def sets(self) -> list[StoredSet]:
        with self._lock:
            rows = self._db.execute(
                "SELECT set_id, agent_id, station, exercise, member, reps, phase, started_at, ended_at "
                "FROM sets ORDER BY started_at"
            ).fetchall()
        return [StoredSet(*row) for row in rows]

    def counts(self) -> dict[str, int]:
        with self._lock:
            (sets,) = self._db.execute("SELECT COUNT(*) FROM sets").fetchone()
            (reps,) = self._db.execute("SELECT COUNT(*) FROM reps").fetchone()
            (seen,) = self._db.execute("SELECT COUNT(*) FROM seen").fetchone()
        return {"sets": int(sets), "reps": int(reps), "events": int(seen)}

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # internals ---------------------------------------------------------------------------------
    def _record_agent(self, agent_id: str, availability: str | None, state: str | None) -> None:
        self._db.execute(
            "INSERT INTO agents(agent_id, availability, state, last_seen) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(agent_id) DO UPDATE SET availability = COALESCE(excluded.availability, availability), "
            "state = COALESCE(excluded.state, state), last_seen = excluded.last_seen",
            (agent_id, availability, state, time.time()),
        )

    def _apply_set(self, event: SetEvent) -> None:
        row = self._db.execute("SELECT last_seq, member FROM sets WHERE set_id = ?", (event.set_id,)).fetchone()
        if row is not None and row[0] > event.seq:
            return  # an older update arrived late: the newer one already wrote the point
        member = event.member or (row[1] if row else None)
        self._db.execute(
            "INSERT INTO sets(set_id, agent_id, station, exercise, member, reps, phase, started_at, ended_at, "
            "last_seq, payload) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(set_id) DO UPDATE SET "
            "member = excluded.member, reps = excluded.reps, phase = excluded.phase, "
            "ended_at = excluded.ended_at, last_seq = excluded.last_seq, payload = excluded.payload",
            (
                event.set_id, event.agent_id, event.station, event.exercise.value, member, event.reps,
                event.event.value, event.started_at.isoformat(),
                event.ended_at.isoformat() if event.ended_at else None, event.seq, event.model_dump_json(),
            ),
        )
        self._queue_point(set_line(event, member))

    def _apply_rep(self, event: RepEvent) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO reps(set_id, idx, agent_id, seq, started_at, ended_at, payload) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                event.set_id, event.index, event.agent_id, event.seq, event.started_at.isoformat(),
                event.ended_at.isoformat(), json.dumps(event.model_dump(mode="json")),
            ),
        )
        self._queue_point(rep_line(event))

    def _queue_point(self, line: str) -> None:
        self._db.execute("INSERT INTO influx_outbox(line, queued_at) VALUES (?, ?)", (line, time.time()))

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
                self._db.execute("ROLLBACK")
                raise TransientError(f"journal {self._path}: cannot commit: {err}") from err
        else:
            self._db.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise TransientError(f"journal {self._path}: {exc}") from exc
