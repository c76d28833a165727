"""``replens report``: a member's recent training as one picture, read from the hub's journal (no Grafana).

The journal keeps every set with its member and every rep with its tempo, range of motion and
velocity, so the report needs neither InfluxDB nor Grafana.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from replens.config import RepLensConfig
from replens.contract.load import LoadUnit, shown_load
from replens.errors import RepLensError

if TYPE_CHECKING:
    from replens.hub.journal import RecordedSet

_SINCE = re.compile(r"^(\d+(?:\.\d+)?)([smhdw])$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 7 * 86_400}


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


def member_sets(journal_path: Path, member_id: str, since: datetime) -> tuple[list[RecordedSet], LoadUnit]:
    """The member's sets started since then, oldest first, each with its reps; and the unit they read loads in."""
    from replens.hub.journal import JournalReader

    if not journal_path.exists():
        raise RepLensError(f"no hub journal at {journal_path}: has the hub run with this config?")
    reader = JournalReader(journal_path)
    try:
        return reader.member_sets(member_id, since, reps=True), reader.member_unit(member_id)
    finally:
        reader.close()


def run_report(config: RepLensConfig, member: str, since_text: str, out: Path) -> int:
    from replens.cli.members import member_named
    from replens.cli.report_figure import render_report

    if not config.members_db().exists():
        raise RepLensError(f"no member gallery at {config.members_db()}: enrol members first (replens members add)")
    found = member_named(config, member)
    now = datetime.now(UTC)
    since = parse_since(since_text, now)
    sets, unit = member_sets(config.journal_path(), found.id, since)
    if not sets:
        raise RepLensError(f"{found.name} ({found.id}) has no sets since {since.astimezone():%Y-%m-%d %H:%M} in the "
                           "hub's journal")
    render_report(found.name, sets, since, now, out, unit=unit)
    reps = sum(s.reps for s in sets)
    print(f"{out}: {found.name}, {len(sets)} sets, {reps} reps since {since.astimezone():%Y-%m-%d %H:%M}")
    for line in strength_lines(sets, unit):
        print(f"  {line}")
    return 0


def strength_lines(sets: list[RecordedSet], unit: LoadUnit = LoadUnit.KG) -> list[str]:
    """Per exercise: volume, best rep-based e1RM, and the velocity-based e1RM or why there is none (in ``unit``)."""
    from replens.strength import LoadVelocity, epley_kg, velocity_e1rm

    lines = []
    for exercise in sorted({s.exercise for s in sets}):
        mine = [s for s in sets if s.exercise == exercise and s.ended]
        loaded = [s for s in mine if s.lifted_kg is not None]
        if not loaded:
            lines.append(f"{exercise}: {len(mine)} sets, load not recorded")
            continue
        volume = sum(s.volume_kg or 0.0 for s in loaded)
        best = max((e for s in loaded if s.lifted_kg is not None and (e := epley_kg(s.lifted_kg, s.reps))),
                   default=None)
        points = [LoadVelocity(s.lifted_kg, max(s.velocities)) for s in loaded if s.lifted_kg and s.velocities]
        estimate = velocity_e1rm(exercise, points)
        fit = f", R² {estimate.profile.r2:.2f} over {estimate.profile.distinct_loads} loads" if estimate.profile else ""
        by_velocity = (shown_load(estimate.e1rm_kg, unit) if estimate.e1rm_kg is not None
                       else f"none ({estimate.refused}{fit})" if points else "none (no bar velocity)")
        if estimate.e1rm_kg is not None:
            by_velocity += fit
        lines.append(f"{exercise}: volume {shown_load(volume, unit, 0)} in {len(loaded)} sets; best e1RM (Epley) "
                     f"{'–' if best is None else shown_load(best, unit)}; by velocity {by_velocity}")
    return lines
