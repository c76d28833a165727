"""Who is in the gym now: members seen at an entrance and not yet timed out, with their names."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from replens.contract import Presence, PresentMember
from replens.hub.identity.strategies import present_at
from replens.hub.journal.records import Visit


def presence(visits: Sequence[Visit], names: Mapping[str, str], now: datetime, timeout_s: float) -> Presence:
    """A member without a name in the gallery (deleted meanwhile) is left out: presence never shows bare ids."""
    members = []
    for member, theirs in sorted(present_at(visits, now, timeout_s).items()):
        name = names.get(member)
        if name is None:
            continue
        latest = max(theirs, key=lambda v: v.seen_at)
        members.append(PresentMember(member=member, name=name, since=min(v.started_at for v in theirs),
                                     last_seen=latest.seen_at, camera=latest.camera))
    return Presence(at=now, members=members)
