"""What attribution decides from: sets and visits as the journal recorded them, with aware datetimes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from replens.contract import Appearance, IdentitySource, VisitRole


@dataclass(frozen=True, slots=True)
class Visit:
    """A person seen by a camera over several frames; ``member`` is None for someone not recognised."""

    visit_id: str
    agent_id: str
    camera: str
    role: VisitRole
    member: str | None
    score: float
    frames: int
    started_at: datetime
    seen_at: datetime
    ended_at: datetime | None
    appearance: Appearance | None


@dataclass(frozen=True, slots=True)
class SetFacts:
    """A set and its current attribution; ``claimed`` sets are decided by a person, never by a strategy."""

    set_id: str
    agent_id: str
    station: str
    started_at: datetime
    ended_at: datetime | None
    appearance: Appearance | None
    member: str | None
    source: IdentitySource | None
    score: float | None
    claimed: bool
