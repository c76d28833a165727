"""SQLite outbox. Events stay until the hub confirms it stored them (not merely until the broker's PUBACK).

A broker acknowledges a message before it has handed it to the hub; if the broker is killed in between,
the message is gone. So an event leaves the outbox only when the hub's ack names its sequence number,
and unconfirmed events are sent again after a reconnect. The hub de-duplicates by (agent_id, seq).
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from replens.contract import EventKind, SetEvent
from replens.device_agent.outbox.migrations import stores_topics, topics_to_kinds
from replens.errors import TransientError

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS open_sets (set_id TEXT PRIMARY KEY, snapshot TEXT NOT NULL, updated_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    payload BLOB NOT NULL,
    created_at REAL NOT NULL,
    sent_at REAL
);
"""


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """A stored event: the publisher derives its topic from the kind (the agent's own topic, or a batch)."""

    seq: int
    kind: EventKind
    payload: bytes
    created_at: float


@dataclass(frozen=True, slots=True)
class UnendedSet:
    """A set an earlier run started and never ended: its latest event as stored, and when it was stored."""

    last: SetEvent
    updated_at: float


class Outbox:
    """Thread-safe; the counting loop appends, the publisher thread drains.

    Sequence numbers start at the creation time in milliseconds, so an agent whose outbox file was
    deleted still continues above every number it used before (the hub would drop reused numbers as
    duplicates), as long as it made fewer than 1,000 events a second on average.
    """

    def __init__(self, path: Path, clock: Callable[[], float] = time.time) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._clock = clock
        self._lock = threading.Lock()
        self._resends = 0  # how many resend_all() so far: see mark_sent
        self.path = path
        try:
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
            self._db.execute(
                "INSERT OR IGNORE INTO meta(key, value) VALUES ('next_seq', ?)", (int(clock() * 1000),)
            )
            migrate = stores_topics(self._db)
        except sqlite3.Error as err:
            raise TransientError(f"outbox {path}: cannot open: {err}") from err
        if migrate:
            log.info("outbox %s: %d waiting events now stored by kind instead of topic", path,
                     topics_to_kinds(self._db, path))

    def append(
        self,
        kind: EventKind,
        make_payload: Callable[[int], bytes],
        *,
        open_set: str | None = None,
        closed_set: str | None = None,
    ) -> int:
        """Give the event its sequence number and store it durably; returns the number.

        ``open_set`` and ``closed_set`` (set ids) keep a ledger of sets under way in the same
        transaction, so an agent killed mid-set can end them on its next start: for ``open_set`` the
        event itself, a set event, is kept as the set's latest state.
        """
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                (seq,) = self._db.execute("SELECT value FROM meta WHERE key = 'next_seq'").fetchone()
                now = self._clock()
                payload = make_payload(seq)
                self._db.execute(
                    "INSERT INTO outbox(seq, kind, payload, created_at) VALUES (?, ?, ?, ?)",
                    (seq, kind.value, payload, now),
                )
                self._db.execute("UPDATE meta SET value = ? WHERE key = 'next_seq'", (seq + 1,))
                if open_set is not None:
                    self._db.execute("INSERT OR REPLACE INTO open_sets(set_id, snapshot, updated_at) VALUES (?, ?, ?)",
                                     (open_set, payload.decode(), now))
                if closed_set is not None:
                    self._db.execute("DELETE FROM open_sets WHERE set_id = ?", (closed_set,))
                self._db.execute("COMMIT")
            except sqlite3.Error as err:
                self._rollback()
                raise TransientError(f"outbox {self.path}: cannot store a {kind.value} event: {err}") from err
            return int(seq)

    def open_sets(self) -> list[UnendedSet]:
        """Sets an earlier run started and never ended, oldest update first.

        Ledgers written before the event itself was kept hold a snapshot of it with seq 1: the same shape.
        """
        with self._lock:
            rows = self._db.execute("SELECT set_id, snapshot, updated_at FROM open_sets ORDER BY updated_at").fetchall()
        found = []
        for set_id, snapshot, updated_at in rows:
            try:
                found.append(UnendedSet(SetEvent.model_validate_json(snapshot), float(updated_at)))
            except ValidationError as err:  # its events are in the outbox all the same; only its end is lost
                log.error("outbox %s: set %s left open, but its stored state is unreadable: %s", self.path, set_id, err)
        return found

    def flag(self, key: str) -> int | None:
        """A small durable setting kept beside the sequence counter (e.g. a station's paused state)."""
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (f"flag:{key}",)).fetchone()
        return None if row is None else int(row[0])

    def set_flag(self, key: str, value: int) -> None:
        with self._lock:
            try:
                self._db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (f"flag:{key}", value))
            except sqlite3.Error as err:
                raise TransientError(f"outbox {self.path}: cannot store {key}: {err}") from err

    def unsent(self, limit: int) -> list[OutboxItem]:
        """Oldest events not yet handed to the broker since the last :meth:`resend_all`."""
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, kind, payload, created_at FROM outbox WHERE sent_at IS NULL ORDER BY seq LIMIT ?",
                (limit,),
            ).fetchall()
        return [OutboxItem(int(s), EventKind(k), bytes(p), float(c)) for s, k, p, c in rows]

    @property
    def resend_epoch(self) -> int:
        """Read before :meth:`unsent`, pass to :meth:`mark_sent`."""
        with self._lock:
            return self._resends

    def mark_sent(self, seqs: Iterable[int], epoch: int) -> None:
        """Events handed to the broker; unless a :meth:`resend_all` came since ``epoch`` was read.

        The publisher thread takes events, publishes them and marks them; a reconnect on paho's thread
        may mark everything for resending in between, and must win: what was published on the old
        connection may never have left.
        """
        now = self._clock()
        with self._lock, self._writing("mark events sent"):
            if epoch != self._resends:
                return
            self._db.executemany("UPDATE outbox SET sent_at = ? WHERE seq = ?", [(now, s) for s in seqs])

    def resend_all(self) -> int:
        """Mark every unconfirmed event for sending again (after a reconnect or a hub restart)."""
        with self._lock, self._writing("mark events for resending"):
            self._resends += 1
            return self._db.execute("UPDATE outbox SET sent_at = NULL WHERE sent_at IS NOT NULL").rowcount

    def resend_older_than(self, age_s: float) -> int:
        with self._lock, self._writing("mark events for resending"):
            return self._db.execute(
                "UPDATE outbox SET sent_at = NULL WHERE sent_at < ?", (self._clock() - age_s,)
            ).rowcount

    def confirm(self, ranges: Iterable[tuple[int, int]]) -> int:
        """The hub stored these sequence numbers (inclusive ranges): forget them. Returns rows removed.

        On a full disk this raises TransientError and the events stay: the hub confirms them again
        when they are resent.
        """
        removed = 0
        with self._lock, self._writing("forget confirmed events"):
            for first, last in ranges:
                removed += self._db.execute("DELETE FROM outbox WHERE seq BETWEEN ? AND ?", (first, last)).rowcount
        return removed

    def depth(self) -> int:
        with self._lock:
            (count,) = self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()
        return int(count)

    def oldest_age_s(self) -> float | None:
        with self._lock:
            (oldest,) = self._db.execute("SELECT MIN(created_at) FROM outbox").fetchone()
        return None if oldest is None else max(0.0, self._clock() - float(oldest))

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextlib.contextmanager
    def _writing(self, what: str) -> Iterator[None]:
        """SQLite trouble (disk full, I/O error) as TransientError, so the publisher's threads survive it."""
        try:
            yield
        except sqlite3.Error as err:
            raise TransientError(f"outbox {self.path}: cannot {what}: {err}") from err

    def _rollback(self) -> None:
        try:
            self._db.execute("ROLLBACK")
        except sqlite3.Error:
            log.debug("outbox %s: rollback after failed write also failed", self.path)
