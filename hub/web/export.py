""""Download my data": every set and rep of one member as CSV (a row per rep) and JSON, times in ISO 8601."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import datetime

from replens.hub.journal import RecordedRep, RecordedSet

SET_COLUMNS = ("set_id", "exercise", "recognised_exercise", "station", "set_started_at", "set_ended_at", "set_reps",
               "weight_kg", "lifted_kg", "volume_kg", "identity_source")
REP_COLUMNS = ("rep", "rep_started_at", "rep_ended_at", "eccentric_s", "pause_s", "concentric_s", "rom_m",
               "mean_velocity_m_s")


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat()


def set_record(s: RecordedSet) -> dict[str, object]:
    return {"set_id": s.set_id, "exercise": s.exercise.value,
            "recognised_exercise": s.recognised_exercise.value if s.recognised_exercise else None,
            "station": s.station, "started_at": _iso(s.started_at), "ended_at": _iso(s.ended_at), "reps": s.reps,
            "weight_kg": s.weight_kg, "lifted_kg": s.lifted_kg, "volume_kg": s.volume_kg,
            "identity_source": s.identity_source.value if s.identity_source else None}


def rep_record(r: RecordedRep) -> dict[str, object]:
    return {"rep": r.index, "started_at": _iso(r.started_at), "ended_at": _iso(r.ended_at),
            "eccentric_s": r.eccentric_s, "pause_s": r.pause_s, "concentric_s": r.concentric_s, "rom_m": r.rom_m,
            "mean_velocity_m_s": r.mean_velocity_m_s}


def to_json(name: str, member_id: str, sets: Sequence[RecordedSet], exported_at: datetime) -> str:
    return json.dumps({
        "member": {"id": member_id, "name": name}, "exported_at": exported_at.isoformat(),
        "sets": [{**set_record(s), "reps_detail": [rep_record(r) for r in s.rep_details]} for s in sets],
    }, indent=1)


def to_csv(sets: Sequence[RecordedSet]) -> str:
    """One row per rep with its set's columns; a set without rep details gets one row with empty rep columns."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow((*SET_COLUMNS, *REP_COLUMNS))
    for s in sets:
        head = list(set_record(s).values())
        for r in s.rep_details or (None,):
            tail = [] if r is None else list(rep_record(r).values())
            writer.writerow(["" if v is None else v for v in head + tail + [None] * (len(REP_COLUMNS) - len(tail))])
    return out.getvalue()
