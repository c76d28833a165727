"""Wire events → InfluxDB points. The data schema lives here and in docs/influxdb.md.

A set's timestamp is its start and a rep's is its start: a replayed or updated event rewrites the same
point instead of adding one. ``member``, ``identity_source`` and ``identity_score`` are fields, not tags,
and are written on every rewrite (empty or 0 when unknown), so that a later attribution, a claim or a
member's deletion overwrites them in place (a changed tag would make a second series, and a field left
out of a rewrite would keep its old value). ``exercise`` is a tag (dashboards group by it): when it
changes, the point under the old tag is deleted by its :class:`PointKey` and the new one written.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from replens.contract import IdentitySource, RepEvent, SetEvent, SetPhase, Stats
from replens.hub.storage.line_protocol import format_line
from replens.metrics import velocity_loss_pct
from replens.strength import BODYWEIGHT_EXERCISES, brzycki_kg, epley_kg, lifted_kg

SET_MEASUREMENT = "set"
RECORD_MEASUREMENT = "record"
REP_MEASUREMENT = "rep"
STATS_MEASUREMENT = "agent_stats"


def ns(at: datetime) -> int:
    """Exact integer nanoseconds (float seconds would lose the last digits)."""
    delta = at - datetime(1970, 1, 1, tzinfo=at.tzinfo)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000


@dataclass(frozen=True, slots=True)
class PointKey:
    """What InfluxDB keys a point by: measurement, tag set and time (ns). Enough to delete exactly that point."""

    measurement: str
    tags: dict[str, str]
    time_ns: int

    def to_json(self) -> str:
        return json.dumps({"measurement": self.measurement, "tags": self.tags, "time_ns": self.time_ns},
                          sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> PointKey:
        raw = json.loads(text)
        return cls(str(raw["measurement"]), {str(k): str(v) for k, v in raw["tags"].items()}, int(raw["time_ns"]))


def _tags(event: SetEvent | RepEvent) -> dict[str, str]:
    return {"agent": event.agent_id, "station": event.station, "exercise": event.exercise.value}


def set_key(event: SetEvent) -> PointKey:
    """The key of the point ``set_line`` writes for this event (with its ``exercise`` as the tag)."""
    return PointKey(SET_MEASUREMENT, _tags(event), ns(event.started_at))


def rep_key(event: RepEvent) -> PointKey:
    return PointKey(REP_MEASUREMENT, _tags(event), ns(event.started_at))


def set_line(
    event: SetEvent, member: str | None, source: IdentitySource | None = None, score: float | None = None,
    body_weight_kg: float | None = None,
) -> str:
    """``body_weight_kg``: the member's, for the load of a bodyweight exercise (body plus added weight)."""
    velocities = [r.mean_velocity_m_s for r in event.rep_summaries if r.mean_velocity_m_s is not None]
    fields: dict[str, float | int | bool | str] = {
        "set_id": event.set_id,
        "reps": event.reps,
        "partial_reps": event.partial_reps,
        "member": member or "",
        "identity_source": source.value if source else "",
        "identity_score": 0.0 if score is None else score,
        "ended": event.event is SetPhase.END,
    }
    if event.ended_at is not None:
        fields["duration_s"] = (event.ended_at - event.started_at).total_seconds()
    if event.rest_before_s is not None:
        fields["rest_before_s"] = event.rest_before_s
    if event.weight_kg is not None:
        fields["weight_kg"] = event.weight_kg
    lifted = lifted_kg(event.exercise, event.weight_kg, body_weight_kg)
    if lifted is not None:
        if event.exercise in BODYWEIGHT_EXERCISES:
            fields["lifted_kg"] = lifted  # body weight plus weight_kg (what was added)
        fields["volume_kg"] = lifted * event.reps
        estimates = {"e1rm_epley_kg": epley_kg(lifted, event.reps), "e1rm_brzycki_kg": brzycki_kg(lifted, event.reps)}
        fields.update({k: round(v, 3) for k, v in estimates.items() if v is not None})
    if velocities:
        fields["mean_velocity_m_s"] = sum(velocities) / len(velocities)
        loss = velocity_loss_pct(velocities)
        fields["velocity_loss_pct"] = 0.0 if loss is None else loss  # one rep (or no speed): no loss yet
    for phase in ("concentric_s", "eccentric_s", "pause_s"):
        values = [v for r in event.rep_summaries if (v := getattr(r, phase)) is not None]
        if values:
            fields[f"mean_{phase}"] = sum(values) / len(values)  # the set's tempo
    return format_line(SET_MEASUREMENT, _tags(event), fields, ns(event.started_at))


def rep_line(event: RepEvent) -> str:
    fields: dict[str, float | int | bool | str] = {
        "set_id": event.set_id,
        "index": event.index,
        "duration_s": (event.ended_at - event.started_at).total_seconds(),
        "concentric_s": event.concentric_s,
        "eccentric_s": event.eccentric_s,
        "pause_s": event.pause_s,
        "rom": event.rom,
        "confidence": event.confidence,
    }
    optional = {
        "rom_m": event.rom_m,
        "mean_velocity_m_s": event.mean_velocity_m_s,
        "peak_velocity_m_s": event.peak_velocity_m_s,
    }
    fields.update({k: v for k, v in optional.items() if v is not None})
    return format_line(REP_MEASUREMENT, _tags(event), fields, ns(event.started_at))


def stats_line(stats: Stats) -> str:
    fields: dict[str, float | int | bool | str] = {"uptime_s": stats.uptime_s, "outbox_depth": stats.outbox_depth}
    optional = {
        "fps": stats.fps,
        "latency_ms": stats.latency_ms,
        "latency_p99_ms": stats.latency_p99_ms,
        "outbox_oldest_s": stats.outbox_oldest_s,
    }
    fields.update({k: v for k, v in optional.items() if v is not None})
    fields.update({f"count_{k}": v for k, v in stats.counters.items()})
    return format_line(STATS_MEASUREMENT, {"source": stats.source, "id": stats.id}, fields, ns(stats.at))


@dataclass(frozen=True, slots=True)
class RecordPoint:
    """One personal record of one set: written at the set's start, tagged like the set plus the record's kind."""

    agent_id: str
    station: str
    exercise: str
    kind: str
    time_ns: int

    def key(self) -> PointKey:
        return PointKey(RECORD_MEASUREMENT, {"agent": self.agent_id, "station": self.station,
                                             "exercise": self.exercise, "kind": self.kind}, self.time_ns)

    def line(self, fields: dict[str, float | int | bool | str]) -> str:
        key = self.key()
        return format_line(RECORD_MEASUREMENT, key.tags, fields, key.time_ns)
