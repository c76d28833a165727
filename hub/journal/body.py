"""Members' body weights: the load of their bodyweight exercises (push-ups, pull-ups, dips) plus what they add.

Kept in the journal beside the sets it weighs, as a history (``body_weight_log``: one row per time a person
said it), so that every set is weighed with the body weight of its day: a set uses the newest entry made
before it started, and a set older than every entry uses the oldest one (the best guess there is). So a new
body weight re-weighs nobody's past, except a member's first: it gives their earlier bodyweight sets a load
(:func:`set_body_weight` says so; the caller rewrites those sets' points and records).
"""

from __future__ import annotations

import sqlite3
import time
from datetime import datetime

from replens.strength import BODYWEIGHT_EXERCISES


def weighed_sql(member: str, at: str) -> str:
    """A SQL expression: the body weight of ``member`` at UNIX time ``at`` (both SQL expressions), or NULL.

    The newest entry at or before ``at``, else the oldest. Queries that list sets use it to weigh each set in
    the same statement. (SQLite cannot order a subquery by the outer query's columns, hence two.)
    """
    return (f"COALESCE((SELECT kg FROM body_weight_log AS b WHERE b.member = {member} AND b.at <= {at} "
            f"ORDER BY b.at DESC LIMIT 1), (SELECT kg FROM body_weight_log AS b WHERE b.member = {member} "
            "ORDER BY b.at LIMIT 1))")


def weighed_set_sql(table: str) -> str:
    """A SQL expression over a row of ``sets`` (named ``table`` in the query): the body weight in its load.

    That is the member's body weight on the set's day for bodyweight exercises, NULL for the others.
    """
    bodyweight = ", ".join(f"'{e.value}'" for e in sorted(BODYWEIGHT_EXERCISES))
    return (f"CASE WHEN {table}.exercise IN ({bodyweight}) "
            f"THEN {weighed_sql(f'{table}.member', f'{table}.started_ts')} END")


def body_weight_kg(db: sqlite3.Connection, member: str | None, at: float | None = None) -> float | None:
    """The member's body weight at UNIX time ``at`` (None: the latest), or None when unknown (or no member)."""
    if member is None:
        return None
    if at is None:
        row = db.execute("SELECT kg FROM body_weight_log WHERE member = ? ORDER BY at DESC LIMIT 1",
                         (member,)).fetchone()
    else:
        row = db.execute(f"SELECT {weighed_sql(':member', ':at')}", {"member": member, "at": at}).fetchone()
    return None if row is None or row[0] is None else float(row[0])


def body_weight_on(db: sqlite3.Connection, member: str | None, day: datetime) -> float | None:
    """The body weight a set that started at ``day`` is weighed with (None: unknown, or no member)."""
    return body_weight_kg(db, member, day.timestamp())


def set_body_weight(db: sqlite3.Connection, member: str, kg: float, at: float | None = None) -> bool:
    """Record the member's body weight from ``at`` (default now); True when it is their first."""
    first = db.execute("SELECT 1 FROM body_weight_log WHERE member = ? LIMIT 1", (member,)).fetchone() is None
    db.execute("INSERT OR REPLACE INTO body_weight_log(member, kg, at) VALUES (?, ?, ?)",
               (member, kg, time.time() if at is None else at))
    return first


def forget(db: sqlite3.Connection, member: str) -> None:
    db.execute("DELETE FROM body_weight_log WHERE member = ?", (member,))
