"""``replens report``: a member's recent training as one picture, read from the hub's journal (no Grafana).

The journal keeps every set with its member and every rep with its tempo, range of motion and
velocity, so the report needs neither InfluxDB nor Grafana.
"""

from __future__ import annotations

import contextlib
import json
import re
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from replens.config import RepLensConfig
from replens.errors import RepLensError
from replens.metrics import velocity_loss_pct

_SINCE = re.compile(r"^(\d+(?:\.\d+)?)([smhdw])$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 7 * 86_400}


@dataclass(frozen=True, slots=True)
class RepRow:
    index: int
    duration_s: float
    concentric_s: float
    eccentric_s: float
    pause_s: float
    rom: float
    rom_m: float | None
    mean_velocity_m_s: float | None


@dataclass(frozen=True, slots=True)
class SetRow:
    set_id: str
    station: str
    exercise: str
    started_at: datetime
    ended: bool
    reps: int
    rep_rows: tuple[RepRow, ...]

    @property
    def velocities(self) -> list[float]:
        return [r.mean_velocity_m_s for r in self.rep_rows if r.mean_velocity_m_s is not None]

    @property
    def mean_velocity_m_s(self) -> float | None:
        return sum(self.velocities) / len(self.velocities) if self.velocities else None

    @property
    def velocity_loss_pct(self) -> float | None:
        return velocity_loss_pct(self.velocities)

    @property
    def under_tension_s(self) -> float:
        return sum(r.duration_s for r in self.rep_rows)


def parse_since(text: str, now: datetime) -> datetime:
    """``7d``, ``36h``, ``2w``, ``90m`` before ``now``, or a date (``2026-11-01``, local time)."""
    match = _SINCE.match(text.strip())
    if match:
        return now - timedelta(seconds=float(match[1]) * _UNIT_S[match[2]])
    try:
        since = datetime.fromisoformat(text.strip())
    except ValueError:
        raise RepLensError(f"--since {text!r}: give a duration like 7d, 36h, 2w, or a date like 2026-11-01") from None
    return since if since.tzinfo else since.astimezone()


def member_sets(journal_path: Path, member_id: str, since: datetime) -> list[SetRow]:
    """The member's sets started since then, oldest first, each with its reps."""
    from replens.hub.journal import Journal

    if not journal_path.exists():
        raise RepLensError(f"no hub journal at {journal_path}: has the hub run with this config?")
    journal = Journal(journal_path)
    try:
        stored = [s for s in journal.sets() if s.member == member_id
                  and datetime.fromisoformat(s.started_at) >= since]
    finally:
        journal.close()
    reps = _reps(journal_path, [s.set_id for s in stored])
    return [
        SetRow(s.set_id, s.station, s.exercise, datetime.fromisoformat(s.started_at), s.phase == "end", s.reps,
               tuple(sorted(reps.get(s.set_id, []), key=lambda r: r.index)))
        for s in stored
    ]


def _reps(journal_path: Path, set_ids: list[str]) -> dict[str, list[RepRow]]:
    """Rep events of these sets from the journal's ``reps`` table (their JSON payloads)."""
    found: dict[str, list[RepRow]] = {}
    with contextlib.closing(sqlite3.connect(journal_path, timeout=10)) as db:
        for start in range(0, len(set_ids), 500):
            chunk = set_ids[start:start + 500]
            marks = ",".join("?" * len(chunk))
            for set_id, payload in db.execute(f"SELECT set_id, payload FROM reps WHERE set_id IN ({marks})", chunk):
                found.setdefault(str(set_id), []).append(_rep_row(json.loads(payload)))
    return found


def _rep_row(rep: dict[str, Any]) -> RepRow:
    started, ended = datetime.fromisoformat(rep["started_at"]), datetime.fromisoformat(rep["ended_at"])
    return RepRow(int(rep["index"]), (ended - started).total_seconds(), float(rep["concentric_s"]),
                  float(rep["eccentric_s"]), float(rep.get("pause_s") or 0.0), float(rep["rom"]),
                  rep.get("rom_m"), rep.get("mean_velocity_m_s"))


def run_report(config: RepLensConfig, member: str, since_text: str, out: Path) -> int:
    from replens.cli.members import open_members
    from replens.cli.report_figure import render_report

    if not config.members_db().exists():
        raise RepLensError(f"no member gallery at {config.members_db()}: enrol members first (replens members add)")
    store = open_members(config)
    try:
        found = store.get(member)
    finally:
        store.close()
    now = datetime.now(UTC)
    since = parse_since(since_text, now)
    sets = member_sets(config.journal_path(), found.id, since)
    if not sets:
        raise RepLensError(f"{found.name} ({found.id}) has no sets since {since.astimezone():%Y-%m-%d %H:%M} in the "
                           "hub's journal")
    render_report(found.name, sets, since, now, out)
    reps = sum(s.reps for s in sets)
    print(f"{out}: {found.name}, {len(sets)} sets, {reps} reps since {since.astimezone():%Y-%m-%d %H:%M}")
    return 0
