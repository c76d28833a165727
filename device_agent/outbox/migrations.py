"""Outbox files written by earlier versions, brought to the current schema when they are opened.

Up to issue 13 each event was stored with the MQTT topic it was meant for, either the shared
``<prefix>/<kind>`` or the agent's own ``<prefix>/agent/<id>/<kind>``; the publisher mapped it back
to a kind. Now the kind itself is stored, and the publisher derives the topic. The kind is the
topic's last level in both layouts, whatever the prefix.
"""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

from replens.contract import EventKind
from replens.errors import TransientError

_KINDS = frozenset(kind.value for kind in EventKind)
_WITH_KINDS = """
CREATE TABLE outbox_with_kinds (
    seq INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    payload BLOB NOT NULL,
    created_at REAL NOT NULL,
    sent_at REAL
)
"""


def stores_topics(db: sqlite3.Connection) -> bool:
    """The outbox table is the old one, with a topic per event."""
    return "topic" in {row[1] for row in db.execute("PRAGMA table_info(outbox)")}


def topics_to_kinds(db: sqlite3.Connection, path: Path) -> int:
    """Rewrite the outbox table with a kind per event in one transaction; returns the events carried over.

    Every event keeps its number, payload, age and sent mark. An event whose topic names no kind stops
    the migration and leaves the file as it was: no event may be lost on the way.
    """
    try:
        db.execute("BEGIN IMMEDIATE")
        try:
            rows = db.execute("SELECT seq, topic FROM outbox").fetchall()
            kinds = [(_kind_of(str(topic), seq, path), seq) for seq, topic in rows]
            db.execute(_WITH_KINDS)
            db.executemany("INSERT INTO outbox_with_kinds(seq, kind, payload, created_at, sent_at) "
                           "SELECT seq, ?, payload, created_at, sent_at FROM outbox WHERE seq = ?", kinds)
            db.execute("DROP TABLE outbox")
            db.execute("ALTER TABLE outbox_with_kinds RENAME TO outbox")
            db.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                db.execute("ROLLBACK")
            raise
    except sqlite3.Error as err:
        raise TransientError(f"outbox {path}: cannot store kinds instead of topics: {err}") from err
    return len(kinds)


def _kind_of(topic: str, seq: int, path: Path) -> str:
    kind = topic.rsplit("/", 1)[-1]
    if kind not in _KINDS:
        raise TransientError(f"outbox {path}: event {seq} is stored for topic {topic!r}, which names no event kind "
                             f"({', '.join(sorted(_KINDS))}); the file is left as it was")
    return kind
