"""Reading the journal: every query the hub, Home Assistant's views, the CLI and the report need.

Functions take a connection, so the journal's own edits read inside their transaction;
:class:`JournalReader` runs them on a connection of its own. They return records, never rows.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from replens.contract import (
    Appearance,
    Exercise,
    IdentitySource,
    LoadUnit,
    RecordKind,
    SetPhase,
    VisitRole,
    utc_from_unix,
)
from replens.contract.edits import EditVia
from replens.contract.events import SetField
from replens.errors import TransientError
from replens.hub.journal import profiles
from replens.hub.journal.body import body_weight_kg, weighed_set_sql
from replens.hub.journal.member_units import member_unit, members_in_pounds
from replens.hub.journal.profiles import ExerciseProfile
from replens.hub.journal.records import RecordedRep, RecordedSet, RepMeans, SetEditRecord, Visit

BUSY_TIMEOUT_MS = 10_000
"""How long a writer waits for another process's transaction on the same file (hub and CLI)."""

_SET = (
    "SELECT set_id, agent_id, station, exercise, reps, phase, started_at, ended_at, "
    "COALESCE(json_extract(overrides, '$.weight_kg'), json_extract(payload, '$.weight_kg')), member, "
    "identity_source, identity_score, claimed, appearance, json_extract(payload, '$.exercise'), "
    "json_extract(payload, '$.exercise_confidence'), overrides, json_extract(payload, '$.reps'), "
    f"json_extract(payload, '$.weight_kg'), {weighed_set_sql('sets')} FROM sets"
)
_VISIT = "visit_id, agent_id, camera, role, member, score, frames, started_at, seen_at, ended_at, appearance"
_IN_CHUNK = 500  # ids per IN (...) list: SQLite's limit on host parameters is far above this

T = TypeVar("T")


def sets_where(db: sqlite3.Connection, where: str = "", args: tuple[object, ...] = (), *,
               newest_first: bool = False, limit: int | None = None) -> list[RecordedSet]:
    """Sets matching ``where`` (SQL over the ``sets`` columns), by start time."""
    order = "DESC" if newest_first else "ASC"
    tail = "" if limit is None else f" LIMIT {int(limit)}"
    rows = db.execute(f"{_SET} {where} ORDER BY started_ts {order}{tail}", args).fetchall()
    return [_to_set(row) for row in rows]


def sets_by_id(db: sqlite3.Connection, set_ids: Iterable[str]) -> list[RecordedSet]:
    """The sets the journal has among ``set_ids``, in the order asked."""
    found = []
    for set_id in set_ids:
        row = db.execute(f"{_SET} WHERE set_id = ?", (set_id,)).fetchone()
        if row is not None:
            found.append(_to_set(row))
    return found


@dataclass(frozen=True, slots=True)
class Strength:
    """A member's estimates at one exercise: the best_e1rm record's value and the latest profile, if any."""

    exercise: Exercise
    best_e1rm_kg: float | None
    profile: ExerciseProfile | None


def member_strength(db: sqlite3.Connection, member: str) -> list[Strength]:
    """Newest first: exercises with a profile by their latest profiled set, then the others by name."""
    best = {Exercise(e): float(v) for e, v in db.execute(
        "SELECT exercise, max(value) FROM personal_records WHERE member = ? AND kind = ? GROUP BY exercise",
        (member, RecordKind.BEST_E1RM.value))}
    fitted = profiles.latest(db, member)
    found = [Strength(p.exercise, best.get(p.exercise), p) for p in fitted]
    have = {p.exercise for p in fitted}
    return found + [Strength(e, kg, None) for e, kg in sorted(best.items()) if e not in have]


def with_reps(db: sqlite3.Connection, sets: list[RecordedSet]) -> list[RecordedSet]:
    """The same sets with their ``rep_details``, by rep index."""
    found: dict[str, list[RecordedRep]] = {}
    ids = [s.set_id for s in sets]
    for start in range(0, len(ids), _IN_CHUNK):
        chunk = ids[start:start + _IN_CHUNK]
        marks = ",".join("?" * len(chunk))
        for set_id, payload in db.execute(f"SELECT set_id, payload FROM reps WHERE set_id IN ({marks})", chunk):
            found.setdefault(str(set_id), []).append(_to_rep(json.loads(payload)))
    return [replace(s, rep_details=tuple(sorted(found.get(s.set_id, []), key=lambda r: r.index))) for s in sets]


def set_edits(db: sqlite3.Connection, set_id: str) -> list[SetEditRecord]:
    """The set's audit trail, oldest first."""
    rows = db.execute("SELECT edit_id, set_id, field, old, new, via, by, at FROM set_edits WHERE set_id = ? "
                      "ORDER BY at, rowid", (set_id,)).fetchall()
    return [SetEditRecord(edit_id=str(e), set_id=str(s), field=SetField(f), old=None if o is None else json.loads(o),
                          new=None if n is None else json.loads(n), via=EditVia(v), by=b, at=utc_from_unix(float(t)))
            for e, s, f, o, n, v, b, t in rows]


def visits_between(db: sqlite3.Connection, t0: float, t1: float) -> list[Visit]:
    """Visits with a face seen at some time in [t0, t1] (UNIX seconds)."""
    return visits_where(db, "seen_at >= ? AND started_at <= ?", (t0, t1))


def visits_where(db: sqlite3.Connection, where: str, args: tuple[object, ...]) -> list[Visit]:
    """Visits matching ``where`` (SQL over the ``visits`` columns), by start time."""
    rows = db.execute(f"SELECT {_VISIT} FROM visits WHERE {where} ORDER BY started_at", args).fetchall()
    return [
        Visit(
            visit_id=str(v), agent_id=str(a), camera=str(c), role=VisitRole(r), member=m, score=float(s),
            frames=int(f), started_at=utc_from_unix(t), seen_at=utc_from_unix(seen),
            ended_at=None if end is None else utc_from_unix(end),
            appearance=None if app is None else Appearance.model_validate_json(app),
        )
        for v, a, c, r, m, s, f, t, seen, end, app in rows
    ]


class JournalReader:
    """Queries on a connection of its own: WAL lets it read while the hub writes. Thread-safe (one lock)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        except sqlite3.Error as err:
            raise TransientError(f"journal {path}: cannot open: {err}") from err

    def version(self) -> int:
        """Changes whenever another connection (the hub's, the CLI's) committed to the journal."""
        return self._read(lambda db: int(db.execute("PRAGMA data_version").fetchone()[0]))

    def sets(self) -> list[RecordedSet]:
        """Every set, oldest first."""
        return self._read(sets_where)

    def sets_by_id(self, set_ids: Iterable[str], *, reps: bool = False) -> list[RecordedSet]:
        ids = list(set_ids)
        return self._read(lambda db: with_reps(db, sets_by_id(db, ids)) if reps else sets_by_id(db, ids))

    def unclaimed_sets(self, t0: datetime, t1: datetime) -> list[RecordedSet]:
        """Sets started in [t0, t1] that strategies may still (re)decide."""
        return self._read(lambda db: sets_where(db, "WHERE claimed = 0 AND started_ts BETWEEN ? AND ?",
                                                (t0.timestamp(), t1.timestamp())))

    def unattributed_sets(self, since: datetime) -> list[RecordedSet]:
        """Sets started since then with no member and no claim: the ones a person may want to claim."""
        return self._read(lambda db: sets_where(db, "WHERE claimed = 0 AND member IS NULL AND started_ts >= ?",
                                                (since.timestamp(),)))

    def set_edits(self, set_id: str) -> list[SetEditRecord]:
        """Who corrected what of the set, when and how, oldest first."""
        return self._read(lambda db: set_edits(db, set_id))

    def last_ended_set(self, agent_id: str, station: str) -> RecordedSet | None:
        """The station's most recent ended set."""
        found = self._read(lambda db: sets_where(db, "WHERE agent_id = ? AND station = ? AND phase = 'end'",
                                                 (agent_id, station), newest_first=True, limit=1))
        return found[0] if found else None

    def ended_set(self, set_id: str) -> RecordedSet | None:
        found = self._read(lambda db: sets_where(db, "WHERE set_id = ? AND phase = 'end'", (set_id,)))
        return found[0] if found else None

    def member_sets(self, member: str, since: datetime | None = None, *, reps: bool = False) -> list[RecordedSet]:
        """The member's sets started since then (all without ``since``), oldest first; with rep details if asked."""
        start = float("-inf") if since is None else since.timestamp()

        def query(db: sqlite3.Connection) -> list[RecordedSet]:
            found = sets_where(db, "WHERE member = ? AND started_ts >= ?", (member, start))
            return with_reps(db, found) if reps else found

        return self._read(query)

    def member_exercise_sets(self, member: str, exercise: str) -> list[tuple[RecordedSet, RepMeans]]:
        """The member's sets of one (effective) exercise, oldest first, each with its reps' means (SQL, not JSON)."""
        def query(db: sqlite3.Connection) -> list[tuple[RecordedSet, RepMeans]]:
            sets = sets_where(db, "WHERE member = ? AND exercise = ?", (member, exercise))
            rows = db.execute(
                "SELECT r.set_id, COUNT(*), AVG(json_extract(r.payload, '$.rom_m')), "
                "AVG(json_extract(r.payload, '$.mean_velocity_m_s')), "
                "COUNT(json_extract(r.payload, '$.mean_velocity_m_s')) "
                "FROM sets s JOIN reps r ON r.set_id = s.set_id WHERE s.member = ? AND s.exercise = ? "
                "GROUP BY r.set_id", (member, exercise)).fetchall()
            means = {str(i): RepMeans(int(n), rom, velocity, int(k)) for i, n, rom, velocity, k in rows}
            return [(s, means.get(s.set_id, RepMeans(0, None, None, 0))) for s in sets]

        return self._read(query)

    def stations(self) -> list[tuple[str, str]]:
        """(agent id, station) of every station that has recorded a set."""
        rows = self._read(lambda db: db.execute("SELECT DISTINCT agent_id, station FROM sets").fetchall())
        return sorted((str(a), str(s)) for a, s in rows)

    def member_visits(self, member: str, since: datetime) -> list[Visit]:
        """The member's visits seen since then, oldest first."""
        return self._read(lambda db: visits_where(db, "member = ? AND seen_at >= ?", (member, since.timestamp())))

    def member_last_set(self, member: str) -> RecordedSet | None:
        found = self._read(lambda db: sets_where(db, "WHERE member = ?", (member,), newest_first=True, limit=1))
        return found[0] if found else None

    def member_body_weight(self, member: str) -> float | None:
        """The member's body weight in kg (``replens members set``, Home Assistant), or None when unknown."""
        return self._read(lambda db: body_weight_kg(db, member))

    def member_unit(self, member: str) -> LoadUnit:
        """The unit the member reads loads in (kg unless they chose lb)."""
        return self._read(lambda db: member_unit(db, member))

    def members_in_pounds(self) -> set[str]:
        return self._read(members_in_pounds)

    def member_strength(self, member: str) -> list[Strength]:
        """Per exercise with a known load: the best Epley e1RM and the current load-velocity profile."""
        return self._read(lambda db: member_strength(db, member))

    def member_last_seen(self, member: str) -> datetime | None:
        """When a camera last saw the member's face."""
        (seen,) = self._read(lambda db: db.execute("SELECT MAX(seen_at) FROM visits WHERE member = ?",
                                                   (member,)).fetchone())
        return None if seen is None else utc_from_unix(float(seen))

    def visits_between(self, t0: datetime, t1: datetime) -> list[Visit]:
        """Visits with a face seen at some time in [t0, t1]."""
        return self._read(lambda db: visits_between(db, t0.timestamp(), t1.timestamp()))

    def counts(self) -> dict[str, int]:
        def query(db: sqlite3.Connection) -> dict[str, int]:
            return {name: int(db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
                    for name, table in (("sets", "sets"), ("reps", "reps"), ("events", "seen"))}

        return self._read(query)

    def agents(self) -> dict[str, tuple[str | None, str | None]]:
        """Agent id → (availability, state JSON) as last seen."""
        rows = self._read(lambda db: db.execute("SELECT agent_id, availability, state FROM agents").fetchall())
        return {str(a): (av, st) for a, av, st in rows}

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _read(self, query: Callable[[sqlite3.Connection], T]) -> T:
        with self._lock:
            try:
                return query(self._db)
            except sqlite3.Error as err:
                raise TransientError(f"journal {self.path}: cannot read: {err}") from err


def _to_set(row: tuple[Any, ...]) -> RecordedSet:
    (set_id, agent_id, station, exercise, reps, phase, started, ended, weight, member, source, score, claimed,
     appearance, recognised, confidence, overrides, counted, agent_weight, body_weight) = row
    return RecordedSet(
        set_id=set_id, agent_id=agent_id, station=station, exercise=Exercise(exercise), reps=int(reps),
        phase=SetPhase(phase), started_at=datetime.fromisoformat(started),
        ended_at=None if ended is None else datetime.fromisoformat(ended),
        weight_kg=None if weight is None else float(weight), member=member,
        identity_source=None if source is None else IdentitySource(source), identity_score=score,
        claimed=bool(claimed), appearance=None if appearance is None else Appearance.model_validate_json(appearance),
        recognised_exercise=Exercise(recognised), exercise_confidence=1.0 if confidence is None else float(confidence),
        edited=frozenset(SetField(f) for f in json.loads(overrides)) if overrides else frozenset(),
        counted_reps=None if counted is None else int(counted),
        agent_weight_kg=None if agent_weight is None else float(agent_weight),
        body_weight_kg=None if body_weight is None else float(body_weight),
    )


def _to_rep(rep: dict[str, Any]) -> RecordedRep:
    return RecordedRep(
        index=int(rep["index"]), started_at=datetime.fromisoformat(rep["started_at"]),
        ended_at=datetime.fromisoformat(rep["ended_at"]), concentric_s=float(rep["concentric_s"]),
        eccentric_s=float(rep["eccentric_s"]), pause_s=float(rep.get("pause_s") or 0.0), rom=float(rep["rom"]),
        rom_m=rep.get("rom_m"), mean_velocity_m_s=rep.get("mean_velocity_m_s"),
    )

