"""The journal's tables, and the migrations that bring an older journal file up to them.

Times in ``visits`` and ``sets.started_ts`` are UNIX seconds (REAL) so that time windows are indexed
range queries; the other ``*_at`` columns of sets and reps keep the ISO text of the event.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime

_TABLES = """
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
CREATE TABLE IF NOT EXISTS visits (
    visit_id TEXT PRIMARY KEY, agent_id TEXT NOT NULL, camera TEXT NOT NULL, role TEXT NOT NULL, member TEXT,
    score REAL NOT NULL, frames INTEGER NOT NULL, started_at REAL NOT NULL, seen_at REAL NOT NULL, ended_at REAL,
    appearance TEXT, last_seq INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS visits_seen ON visits(seen_at);
CREATE INDEX IF NOT EXISTS visits_member ON visits(member);
CREATE TABLE IF NOT EXISTS announcements (
    id INTEGER PRIMARY KEY AUTOINCREMENT, topic_kind TEXT NOT NULL, payload TEXT NOT NULL, queued_at REAL NOT NULL
);
"""

SET_COLUMNS_ADDED = {
    "identity_source": "TEXT",
    "identity_score": "REAL",
    "claimed": "INTEGER NOT NULL DEFAULT 0",  # 1: a person decided (or the member was deleted); strategies keep off
    "claimed_by": "TEXT",
    "appearance": "TEXT",
    "started_ts": "REAL",
}
"""Columns of ``sets`` added after the first release, in order; a fresh journal gets them the same way."""


def create_and_migrate(db: sqlite3.Connection) -> list[str]:
    """Create missing tables, add missing columns, fill them in; returns the columns it added."""
    db.executescript(_TABLES)
    db.execute("BEGIN IMMEDIATE")  # before looking: another process may be migrating the same file
    try:
        have = {row[1] for row in db.execute("PRAGMA table_info(sets)")}
        added = [name for name in SET_COLUMNS_ADDED if name not in have]
        for name in added:
            db.execute(f"ALTER TABLE sets ADD COLUMN {name} {SET_COLUMNS_ADDED[name]}")
        if "started_ts" in added:
            rows = db.execute("SELECT set_id, started_at FROM sets").fetchall()
            db.executemany("UPDATE sets SET started_ts = ? WHERE set_id = ?",
                           [(datetime.fromisoformat(at).timestamp(), set_id) for set_id, at in rows])
        db.execute("CREATE INDEX IF NOT EXISTS sets_started ON sets(started_ts)")
        db.execute("CREATE INDEX IF NOT EXISTS sets_member ON sets(member)")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
    return added
