"""Read-only views of the journal for Home Assistant: each station's last set, each member's day.

Blocking (SQLite): the bridge calls it from worker threads. It has its own connection to the journal file
(WAL lets it read while the hub writes) and never writes.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from replens.contract import IdentitySource, LastSet, MemberState, SetCompleted, SetEvent, utc_from_unix
from replens.errors import TransientError
from replens.hub.journal.store import BUSY_TIMEOUT_MS

_SET_COLUMNS = "payload, member, identity_source"
_LAST_ENDED = (
    f"SELECT {_SET_COLUMNS} FROM sets WHERE agent_id = ? AND station = ? AND phase = 'end' "
    "ORDER BY started_ts DESC LIMIT 1"
)


class JournalViews:
    def __init__(self, path: Path) -> None:
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        except sqlite3.Error as err:
            raise TransientError(f"journal {path}: cannot open for reading: {err}") from err
        self.path = path

    def version(self) -> int:
        """Changes whenever another connection (the hub's, the CLI's) committed to the journal."""
        return int(self._query("PRAGMA data_version")[0][0])

    def last_set(self, agent_id: str, station: str, names: Mapping[str, str]) -> LastSet | None:
        """The station's most recent ended set, with its member as the hub decided."""
        rows = self._query(_LAST_ENDED, (agent_id, station))
        return _last_set(rows[0], names) if rows else None

    def completed(self, set_id: str, names: Mapping[str, str]) -> SetCompleted | None:
        rows = self._query(f"SELECT {_SET_COLUMNS} FROM sets WHERE set_id = ? AND phase = 'end'", (set_id,))
        if not rows:
            return None
        return SetCompleted(**_last_set(rows[0], names).model_dump(exclude={"schema_version"}))

    def member_state(self, member_id: str, name: str, present: bool, day_start: datetime) -> MemberState:
        """Today's totals (sets started since ``day_start``), the last set on any day, when last seen."""
        today = self._query(
            f"SELECT {_SET_COLUMNS} FROM sets WHERE member = ? AND started_ts >= ? ORDER BY started_ts",
            (member_id, day_start.timestamp()),
        )
        names = {member_id: name}
        sets_today = [_last_set(row, names) for row in today]
        last_rows = self._query(
            f"SELECT {_SET_COLUMNS} FROM sets WHERE member = ? ORDER BY started_ts DESC LIMIT 1", (member_id,)
        )
        last = _last_set(last_rows[0], names) if last_rows else None
        (seen_ts,) = self._query("SELECT MAX(seen_at) FROM visits WHERE member = ?", (member_id,))[0]
        seen = [utc_from_unix(float(seen_ts))] if seen_ts is not None else []
        if last is not None:
            seen.append(last.ended_at or last.started_at)
        return MemberState(
            member=member_id,
            name=name,
            reps_today=sum(s.reps for s in sets_today),
            sets_today=len(sets_today),
            volume_today_kg=round(sum(s.volume_kg or 0.0 for s in sets_today), 3),
            last_exercise=last.exercise if last else None,
            last_set=last,
            last_seen=max(seen) if seen else None,
            present=present,
        )

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _query(self, sql: str, args: tuple[object, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            try:
                return list(self._db.execute(sql, args).fetchall())
            except sqlite3.Error as err:
                raise TransientError(f"journal {self.path}: cannot read: {err}") from err


def _last_set(row: tuple[Any, ...], names: Mapping[str, str]) -> LastSet:
    payload, member, source = row
    event = SetEvent.model_validate_json(str(payload))
    member_id = str(member) if member is not None else None
    weight = event.weight_kg
    return LastSet(
        set_id=event.set_id,
        agent_id=event.agent_id,
        station=event.station,
        exercise=event.exercise,
        reps=event.reps,
        weight_kg=weight,
        volume_kg=None if weight is None else round(event.reps * weight, 3),
        started_at=event.started_at.astimezone(UTC),
        ended_at=event.ended_at.astimezone(UTC) if event.ended_at else None,
        member=member_id,
        member_name=names.get(member_id) if member_id else None,
        identity_source=IdentitySource(str(source)) if source is not None else None,
    )
