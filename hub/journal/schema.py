"""The journal's tables, and the migrations that bring an older journal file up to them.

Times in ``visits`` and ``sets.started_ts`` are UNIX seconds (REAL) so that time windows are indexed
range queries; the other ``*_at`` columns of sets and reps keep the ISO text of the event.

A set's ``payload`` is the agent's latest event as it came (what the camera counted and recognised);
``overrides`` holds what people corrected (JSON, field → value; ``set_edits`` has who, when, how), and the
columns (``exercise``) hold the effective values, which InfluxDB points, views and the report show. A rep's
``exercise`` is the tag its InfluxDB point carries: its set's effective exercise.
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
CREATE TABLE IF NOT EXISTS set_edits (
    edit_id TEXT NOT NULL, field TEXT NOT NULL, set_id TEXT NOT NULL, old TEXT, new TEXT, via TEXT NOT NULL,
    by TEXT, at REAL NOT NULL, PRIMARY KEY (edit_id, field)
);
CREATE INDEX IF NOT EXISTS set_edits_set ON set_edits(set_id);
CREATE TABLE IF NOT EXISTS personal_records (
    set_id TEXT NOT NULL, kind TEXT NOT NULL, member TEXT NOT NULL, exercise TEXT NOT NULL, value REAL NOT NULL,
    previous REAL, PRIMARY KEY (set_id, kind)
);
CREATE INDEX IF NOT EXISTS personal_records_member ON personal_records(member);
CREATE TABLE IF NOT EXISTS profiles (set_id TEXT PRIMARY KEY, member TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS body_weight_log (
    member TEXT NOT NULL, kg REAL NOT NULL, at REAL NOT NULL, PRIMARY KEY (member, at)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS member_settings (member TEXT PRIMARY KEY, unit TEXT NOT NULL, at REAL NOT NULL);
"""

COLUMNS_ADDED: dict[str, dict[str, str]] = {
    "sets": {
        "identity_source": "TEXT",
        "identity_score": "REAL",
        "claimed": "INTEGER NOT NULL DEFAULT 0",  # 1: a person decided (or the member was deleted); strategies keep off
        "claimed_by": "TEXT",
        "appearance": "TEXT",
        "started_ts": "REAL",
        "overrides": "TEXT",  # JSON: what people corrected (field → value); NULL: nothing
    },
    "reps": {"exercise": "TEXT"},  # the exercise tag of the rep's InfluxDB point
    "influx_outbox": {"op": "TEXT NOT NULL DEFAULT 'write'"},  # write: ``line`` is a point; delete: a PointKey
    "influx_rejected": {"op": "TEXT NOT NULL DEFAULT 'write'"},
    # The fit the set's ``profile`` point carries, for Home Assistant's view; NULL in rows from before: the
    # member's next set of the exercise fits again.
    "profiles": {"exercise": "TEXT", "started_ts": "REAL", "r2": "REAL", "loads": "INTEGER", "e1rm_kg": "REAL",
                 "refused": "TEXT"},
}
"""Columns added after the first release, per table, in order; a fresh journal gets them the same way."""


PAGE_INDEXES = {
    "sets_member_started": "member, started_ts",
    "sets_member_exercise": "member, exercise, started_ts",
}
"""The members' page's queries (a member's week; one exercise's history): exact index ranges, not a scan of all
the member's sets (bench/members_page.py measures both)."""


def create_and_migrate(db: sqlite3.Connection) -> list[str]:
    """Create missing tables, add missing columns, fill them in; returns what it did.

    That is ``table.column`` for each column added and ``old → new`` for each table replaced.
    """
    db.executescript(_TABLES)
    db.execute("BEGIN IMMEDIATE")  # before looking: another process may be migrating the same file
    try:
        added: list[str] = []
        for table, columns in COLUMNS_ADDED.items():
            have = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
            for name in [c for c in columns if c not in have]:
                db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {columns[name]}")
                added.append(f"{table}.{name}")
        _fill(db, added)
        added += _tables_replaced(db)
        db.execute("CREATE INDEX IF NOT EXISTS sets_started ON sets(started_ts)")
        db.execute("CREATE INDEX IF NOT EXISTS sets_member ON sets(member)")
        db.execute("CREATE INDEX IF NOT EXISTS profiles_member ON profiles(member, exercise, started_ts)")
        for index, indexed in PAGE_INDEXES.items():
            db.execute(f"CREATE INDEX IF NOT EXISTS {index} ON sets({indexed})")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
    return added


def _tables_replaced(db: sqlite3.Connection) -> list[str]:
    """Move rows from tables an earlier release had into the ones that replaced them; returns the tables moved."""
    moved: list[str] = []
    if db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'body_weights'").fetchone():
        # One body weight per member (the latest) became a history: the latest is its first entry.
        db.execute("INSERT OR IGNORE INTO body_weight_log(member, kg, at) SELECT member, kg, at FROM body_weights")
        db.execute("DROP TABLE body_weights")
        moved.append("body_weights → body_weight_log")
    return moved


def _fill(db: sqlite3.Connection, added: list[str]) -> None:
    """Give the columns just added the values they would have had."""
    if "sets.started_ts" in added:
        rows = db.execute("SELECT set_id, started_at FROM sets").fetchall()
        db.executemany("UPDATE sets SET started_ts = ? WHERE set_id = ?",
                       [(datetime.fromisoformat(at).timestamp(), set_id) for set_id, at in rows])
    if "sets.overrides" in added:
        # Before corrections, ``exercise`` kept the set's first event's value while the points followed the latest.
        db.execute("UPDATE sets SET exercise = json_extract(payload, '$.exercise')")
    if "reps.exercise" in added:
        db.execute("UPDATE reps SET exercise = json_extract(payload, '$.exercise')")
