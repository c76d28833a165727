"""``replens sets …``: list the hub's sets and claim one for a member.

A claim is written to the hub's journal in one transaction with the rewritten InfluxDB point and the
MQTT update, so it holds even when the hub is down right now: the hub sends both when it runs.
"""

from __future__ import annotations

import json

from rich.console import Console
from rich.table import Table

from replens.cli.members import open_members
from replens.config import RepLensConfig
from replens.errors import RepLensError


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
                              "identity_source": s.identity_source, "identity_score": s.identity_score}))
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
