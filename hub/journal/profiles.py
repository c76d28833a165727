"""Load-velocity profiles: fitted when a set ends (and again when it changes) over the member's sets of its exercise.

Each ended set with a member, a load and a measured bar velocity gets a point of the InfluxDB ``profile``
measurement at its start: the fit over the member's ended sets of the exercise up to it (each set's load and its
fastest rep's mean velocity), its R², and the velocity-based 1RM or why there is none (``replens.strength``).
Fewer than 3 distinct loads: no point. ``profiles`` lists the sets that have one, so that a change which takes it
away (a correction, the member deleted) deletes it.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime
from itertools import groupby

from replens.contract import Exercise, SetEvent, SetPhase, utc_from_unix
from replens.hub.journal.body import weighed_set_sql
from replens.hub.journal.corrections import overrides_of, shown
from replens.hub.journal.outgoing import queue_delete, queue_point
from replens.hub.storage.line_protocol import format_line
from replens.hub.storage.points import PointKey, ns
from replens.strength import LoadVelocity, Refusal, VelocityEstimate, lifted_kg, velocity_e1rm

PROFILE_MEASUREMENT = "profile"
_EFFECTIVE_WEIGHT = "COALESCE(json_extract(s.overrides, '$.weight_kg'), json_extract(s.payload, '$.weight_kg'))"


@dataclass(frozen=True, slots=True)
class ExerciseProfile:
    """A member's load-velocity profile at one exercise as of their latest set of it (``profiles`` row)."""

    exercise: Exercise
    e1rm_kg: float | None
    """At the lift's minimal velocity threshold; None when ``refused``."""
    r2: float
    loads: int
    refused: Refusal | None
    at: datetime
    """The start of the set it was fitted at."""


def _key(event: SetEvent) -> PointKey:
    return PointKey(PROFILE_MEASUREMENT, {"agent": event.agent_id, "station": event.station}, ns(event.started_at))


def fit(db: sqlite3.Connection, set_id: str) -> None:
    """The set's profile point, written, rewritten or deleted as the set now stands."""
    row = db.execute("SELECT payload, overrides, member, phase, started_ts FROM sets WHERE set_id = ?",
                     (set_id,)).fetchone()
    if row is None:
        return
    payload, stored, member, phase, started_ts = row
    event = shown(SetEvent.model_validate_json(payload), overrides_of(stored))
    points: list[LoadVelocity] = []
    if member is not None and phase == SetPhase.END.value:
        points = load_velocity(db, member, event.exercise, started_ts)
    mine = db.execute("SELECT 1 FROM reps WHERE set_id = ? AND json_extract(payload, '$.mean_velocity_m_s') > 0 "
                      "LIMIT 1", (set_id,)).fetchone()
    _store(db, event, member, started_ts, velocity_e1rm(event.exercise, points), measured=mine is not None)


def refit_after(db: sqlite3.Connection, member: str, exercise: Exercise, after_ts: float) -> None:
    """Fit again the profile points of the member's ended sets of the exercise started after ``after_ts``.

    One read and one pass in start order: each set's fit is over the sets started by it, as in :func:`fit`.
    """
    rows = db.execute(
        f"SELECT s.payload, s.overrides, s.started_ts, {_EFFECTIVE_WEIGHT}, (SELECT max(json_extract(r.payload, "
        f"'$.mean_velocity_m_s')) FROM reps AS r WHERE r.set_id = s.set_id), {weighed_set_sql('s')} FROM sets AS s "
        "WHERE s.member = ? AND s.exercise = ? AND s.phase = 'end' ORDER BY s.started_ts",
        (member, exercise.value)).fetchall()
    points: list[LoadVelocity] = []
    for started_ts, grouped in groupby(rows, key=lambda row: row[2]):
        group = list(grouped)
        for _, _, _, w, v, body in group:  # a set's fit includes the sets that started with it
            kg = lifted_kg(exercise, None if w is None else float(w), body)
            if v is not None and float(v) > 0 and kg is not None:
                points.append(LoadVelocity(kg, float(v)))
        if started_ts <= after_ts:
            continue
        estimate = velocity_e1rm(exercise, points)
        for payload, stored, _, _, v, _ in group:
            event = shown(SetEvent.model_validate_json(payload), overrides_of(stored))
            _store(db, event, member, started_ts, estimate, measured=v is not None and float(v) > 0)


def _store(db: sqlite3.Connection, event: SetEvent, member: str | None, started_ts: float,
           estimate: VelocityEstimate, *, measured: bool) -> None:
    """Write the set's profile point and row, or delete them: no profile, or no bar velocity in this set."""
    set_id = event.set_id
    had = db.execute("SELECT 1 FROM profiles WHERE set_id = ?", (set_id,)).fetchone() is not None
    if estimate.profile is None or not measured:
        if had:
            db.execute("DELETE FROM profiles WHERE set_id = ?", (set_id,))
            queue_delete(db, _key(event))
        return
    profile = estimate.profile
    fields: dict[str, float | int | bool | str] = {
        "member": str(member), "exercise": event.exercise.value, "set_id": set_id, "r2": round(profile.r2, 4),
        "slope_m_s_per_kg": profile.slope_m_s_per_kg, "intercept_m_s": profile.intercept_m_s,
        "loads": profile.distinct_loads, "sets": profile.points, "refused": estimate.refused or "",
    }
    if estimate.e1rm_kg is not None:
        fields["e1rm_velocity_kg"] = round(estimate.e1rm_kg, 2)
    key = _key(event)
    db.execute("INSERT OR REPLACE INTO profiles(set_id, member, exercise, started_ts, r2, loads, e1rm_kg, refused) "
               "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
               (set_id, member, event.exercise.value, started_ts, profile.r2, profile.distinct_loads,
                estimate.e1rm_kg, estimate.refused.value if estimate.refused else None))
    queue_point(db, format_line(PROFILE_MEASUREMENT, key.tags, fields, key.time_ns))


def load_velocity(db: sqlite3.Connection, member: str, exercise: Exercise, up_to_ts: float) -> list[LoadVelocity]:
    """The member's profile points for the exercise: (load lifted, the fastest rep's mean velocity) per set.

    Every ended set started by ``up_to_ts`` with a load and a measured bar velocity.
    """
    rows = db.execute(
        f"SELECT {_EFFECTIVE_WEIGHT}, max(json_extract(r.payload, '$.mean_velocity_m_s')), {weighed_set_sql('s')} "
        "FROM sets s JOIN reps r ON r.set_id = s.set_id WHERE s.member = ? AND s.exercise = ? "
        "AND s.phase = 'end' AND s.started_ts <= ? GROUP BY s.set_id", (member, exercise.value, up_to_ts)).fetchall()
    return [LoadVelocity(kg, float(v)) for w, v, body in rows if v is not None and float(v) > 0
            and (kg := lifted_kg(exercise, None if w is None else float(w), body)) is not None]


def latest(db: sqlite3.Connection, member: str) -> list[ExerciseProfile]:
    """The member's current profile per exercise (the fit at their latest set of it), newest exercise first."""
    rows = db.execute(
        "SELECT exercise, e1rm_kg, r2, loads, refused, started_ts FROM profiles AS p WHERE member = ? "
        "AND r2 IS NOT NULL AND started_ts = (SELECT max(started_ts) FROM profiles AS q WHERE q.member = p.member "
        "AND q.exercise = p.exercise AND q.r2 IS NOT NULL) ORDER BY started_ts DESC", (member,)).fetchall()
    return [ExerciseProfile(Exercise(e), None if kg is None else float(kg), float(r2), int(loads),
                            None if refused is None else Refusal(refused), utc_from_unix(float(t)))
            for e, kg, r2, loads, refused, t in rows]


def forget(db: sqlite3.Connection, member: str) -> None:
    """A deleted member's profile points go."""
    for (set_id,) in db.execute("SELECT set_id FROM profiles WHERE member = ?", (member,)).fetchall():
        payload = db.execute("SELECT payload FROM sets WHERE set_id = ?", (set_id,)).fetchone()
        if payload is not None:
            queue_delete(db, _key(SetEvent.model_validate_json(payload[0])))
    db.execute("DELETE FROM profiles WHERE member = ?", (member,))
