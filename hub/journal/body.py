"""Members' body weights: the load of their bodyweight exercises (push-ups, pull-ups, dips) plus what they add.

Kept in the journal beside the sets it weighs, so that the hub and the CLI read and write it like any change to
a set. A set's points and records use the body weight known when they are written; changing it re-weighs no
earlier set.
"""

from __future__ import annotations

import sqlite3
import time


def body_weight_kg(db: sqlite3.Connection, member: str | None) -> float | None:
    """The member's body weight, or None when unknown (or no member)."""
    if member is None:
        return None
    row = db.execute("SELECT kg FROM body_weights WHERE member = ?", (member,)).fetchone()
    return None if row is None else float(row[0])


def set_body_weight(db: sqlite3.Connection, member: str, kg: float) -> None:
    db.execute("INSERT OR REPLACE INTO body_weights(member, kg, at) VALUES (?, ?, ?)", (member, kg, time.time()))
