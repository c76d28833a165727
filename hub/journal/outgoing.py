"""What the journal owes the outside world, queued in the same transaction as the change that caused it.

InfluxDB points to write and to delete (``influx_outbox``, one queue, so they reach InfluxDB in the order
they were queued) and MQTT announcements (``announcements``): the hub sends what is queued, whoever
changed the journal (the hub itself, or the CLI on the same file).
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from enum import StrEnum

from replens.hub.storage.points import PointKey


class PointOp(StrEnum):
    """What a queued InfluxDB entry asks for."""

    WRITE = "write"  # line: a line-protocol point
    DELETE = "delete"  # line: a PointKey as JSON, the one point to delete


class Outgoing(StrEnum):
    """What an announcement asks the hub to publish."""

    HUB_SETS = "hub_sets"  # payload: a SetAttribution
    PRESENCE = "presence"  # no payload: publish presence again now (members changed)
    PERSONAL_RECORD = "personal_record"  # payload: a PersonalRecordEvent


@dataclass(frozen=True, slots=True)
class Announcement:
    id: int
    kind: Outgoing
    payload: bytes


def pending_announcements(db: sqlite3.Connection, limit: int) -> list[Announcement]:
    rows = db.execute("SELECT id, topic_kind, payload FROM announcements ORDER BY id LIMIT ?", (limit,)).fetchall()
    return [Announcement(int(i), Outgoing(k), str(p).encode()) for i, k, p in rows]


def queue_announcement(db: sqlite3.Connection, kind: Outgoing, payload: str) -> None:
    db.execute("INSERT INTO announcements(topic_kind, payload, queued_at) VALUES (?, ?, ?)",
               (kind.value, payload, time.time()))


def queue_point(db: sqlite3.Connection, line: str) -> None:
    db.execute("INSERT INTO influx_outbox(line, queued_at) VALUES (?, ?)", (line, time.time()))


def queue_delete(db: sqlite3.Connection, key: PointKey) -> None:
    """Delete the point with this key, after everything queued before and before anything queued after."""
    db.execute("INSERT INTO influx_outbox(line, queued_at, op) VALUES (?, ?, ?)",
               (key.to_json(), time.time(), PointOp.DELETE.value))
