"""Visits in the journal: upserted from VisitEvents (newest seq wins); reads.py reads them back."""

from __future__ import annotations

import sqlite3

from replens.contract import VisitEvent

_COLUMNS = "visit_id, agent_id, camera, role, member, score, frames, started_at, seen_at, ended_at, appearance"


def record_visit(db: sqlite3.Connection, event: VisitEvent) -> bool:
    """Upsert one visit; False when a newer event of the same visit is already recorded."""
    row = db.execute("SELECT last_seq FROM visits WHERE visit_id = ?", (event.visit_id,)).fetchone()
    if row is not None and row[0] > event.seq:
        return False
    db.execute(
        f"INSERT INTO visits({_COLUMNS}, last_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT(visit_id) DO UPDATE SET agent_id = excluded.agent_id, camera = excluded.camera, "
        "role = excluded.role, member = excluded.member, score = excluded.score, frames = excluded.frames, "
        "started_at = excluded.started_at, seen_at = excluded.seen_at, ended_at = excluded.ended_at, "
        "appearance = COALESCE(excluded.appearance, appearance), last_seq = excluded.last_seq",
        (
            event.visit_id, event.agent_id, event.camera, event.role.value, event.member, event.score, event.frames,
            event.started_at.timestamp(), event.seen_at.timestamp(),
            event.ended_at.timestamp() if event.ended_at else None,
            event.appearance.model_dump_json() if event.appearance else None, event.seq,
        ),
    )
    return True
