"""``replens sets …``: list the hub's sets, claim one for a member, correct one, show its corrections.

A claim or an edit is written to the hub's journal in one transaction with the InfluxDB points it
rewrites (and deletes) and the MQTT update, so it holds even when the hub is down right now: the hub
sends them when it runs.
"""

from __future__ import annotations

import getpass
import json
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from replens.cli.members import member_named, open_members
from replens.config import RepLensConfig
from replens.contract import EditVia, LoadUnit, SetEdit, SetField, checked_load_kg, exercise_named
from replens.contract.parsing import first_error
from replens.errors import RepLensError

if TYPE_CHECKING:
    from replens.hub.journal import EditOutcome, Journal

MAX_REPS = 100_000


def _journal(config: RepLensConfig):  # type: ignore[no-untyped-def]
    from replens.hub.journal import Journal

    path = config.journal_path()
    if not path.exists():
        raise RepLensError(f"no hub journal at {path}: has the hub run with this config?")
    return Journal(path)


def list_sets(config: RepLensConfig, *, member: str | None, unattributed: bool, limit: int, as_json: bool) -> int:
    store = open_members(config)
    try:
        names = store.names()
        member_id = store.get(member).id if member else None
    finally:
        store.close()
    journal = _journal(config)
    try:
        sets = journal.sets()
    finally:
        journal.close()
    if member_id is not None:
        sets = [s for s in sets if s.member == member_id]
    if unattributed:
        sets = [s for s in sets if s.member is None]
    sets = sets[-limit:]
    if as_json:
        for s in sets:
            print(json.dumps({"set_id": s.set_id, "station": s.station, "exercise": s.exercise, "reps": s.reps,
                              "started_at": s.started_at.isoformat(),
                              "ended_at": s.ended_at.isoformat() if s.ended_at else None, "member_id": s.member,
                              "member": names.get(s.member) if s.member else None,
                              "identity_source": s.identity_source, "identity_score": s.identity_score,
                              "recognised_exercise": s.recognised_exercise,
                              "exercise_confidence": s.exercise_confidence, "edited": sorted(s.edited),
                              "weight_kg": s.weight_kg, "agent_weight_kg": s.agent_weight_kg,
                              "counted_reps": s.counted_reps}))
        return 0
    table = Table("set", "station", "exercise", "reps", "started", "member", "how", title=f"{len(sets)} set(s)")
    for s in sets:
        who = names.get(s.member, s.member) if s.member else "[dim]unclaimed[/dim]"
        started = s.started_at.isoformat()[:19]
        table.add_row(s.set_id, s.station, s.exercise, str(s.reps), started, who, s.identity_source or "")
    Console().print(table)
    return 0


def claim_set(config: RepLensConfig, set_id: str, member: str | None) -> int:
    """``member`` None: nobody enrolled did it; automatic attribution leaves the set alone from now on."""
    store = open_members(config)
    try:
        found = store.get(member) if member is not None else None
    finally:
        store.close()
    journal = _journal(config)
    try:
        journal.claim(set_id, found.id if found else None, by="cli")
    finally:
        journal.close()
    print(f"set {set_id}: {'claimed for ' + found.name if found else 'marked as nobody enrolled'}")
    return 0


@dataclass(frozen=True, slots=True)
class SetEditArgs:
    """What ``replens sets edit`` was told: None leaves a field as it is."""

    exercise: str | None = None
    load: float | None = None
    unit: str | None = None
    reps: int | None = None
    member: str | None = None
    by: str | None = None


def edit_set(config: RepLensConfig, set_id: str, given: SetEditArgs) -> int:
    """Correct a set's exercise, load or reps (one edit, one audit entry per field), and claim it for a member.

    Every value is checked before anything is written: a bad one changes nothing.
    """
    changes = _changes(given)
    if not changes and given.member is None:
        raise RepLensError("give what to correct: --exercise, --load, --reps and/or --member")
    member = member_named(config, given.member) if given.member is not None else None
    edit: SetEdit | None = None
    if changes:
        try:
            edit = SetEdit(edit_id=f"cli-{uuid.uuid4().hex}", set_id=set_id, by=given.by or _user(), **changes)
        except ValidationError as err:
            raise RepLensError(f"set {set_id!r}: {first_error(err)}") from None
    journal = _journal(config)
    try:
        if edit is not None:
            outcome = journal.edit(edit, EditVia.CLI)
            _say(set_id, outcome, journal)
        if member is not None:
            journal.claim(set_id, member.id, by="cli")
            print(f"set {set_id}: claimed for {member.name}")
    finally:
        journal.close()
    return 0


def _changes(given: SetEditArgs) -> dict[str, object]:
    changes: dict[str, object] = {}
    if given.exercise is not None:
        try:
            changes["exercise"] = exercise_named(given.exercise)
        except ValueError as err:
            raise RepLensError(f"--exercise: {err}") from None
    if given.load is not None:
        try:
            changes["weight_kg"] = checked_load_kg(given.load, LoadUnit(given.unit or "kg"), "--load")
        except ValueError as err:
            raise RepLensError(str(err)) from None
    if given.reps is not None:
        if not 0 <= given.reps <= MAX_REPS:
            raise RepLensError(f"--reps: {given.reps} is not a count of reps (0 to {MAX_REPS})")
        changes["reps"] = given.reps
    return changes


def _say(set_id: str, outcome: EditOutcome, journal: Journal) -> None:
    (edited,) = journal.sets_by_id([set_id])
    camera = {SetField.EXERCISE: f"the camera recognised {edited.recognised_exercise} "
                                 f"({edited.exercise_confidence:.2f})",
              SetField.WEIGHT_KG: f"the station's load was {edited.agent_weight_kg}",
              SetField.REPS: f"the camera counted {edited.counted_reps}"}
    for c in outcome.changes:
        done = f"{c.old} → {c.new}" if c.old != c.new else f"stays {c.new} (kept as a correction)"
        print(f"set {set_id}: {c.field} {done}; {camera[c.field]}")


def set_history(config: RepLensConfig, set_id: str, *, as_json: bool) -> int:
    """Who corrected what of the set, when and through which path."""
    journal = _journal(config)
    try:
        found = journal.sets_by_id([set_id])
        trail = journal.set_edits(set_id)
    finally:
        journal.close()
    if not found:
        raise RepLensError(f"no set {set_id!r} in the journal (set ids look like <agent>.<station>.<start ms>)")
    if as_json:
        for e in trail:
            print(json.dumps({"edit_id": e.edit_id, "field": e.field, "old": e.old, "new": e.new, "via": e.via,
                              "by": e.by, "at": e.at.isoformat()}))
        return 0
    table = Table("when", "field", "was", "now", "via", "by", title=f"set {set_id}: {len(trail)} correction(s)")
    for e in trail:
        table.add_row(e.at.astimezone().isoformat()[:19], e.field, str(e.old), str(e.new), e.via, e.by or "")
    Console().print(table)
    return 0


def _user() -> str | None:
    try:
        return getpass.getuser()[:64]
    except (KeyError, OSError):  # no login name (a container without /etc/passwd entry)
        return None
