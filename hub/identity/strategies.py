"""Whose set it was, decided from visits alone: pure logic, no I/O, the same answer for the same facts.

Strategies, surest first: a face seen at the station during the set; the only member in the gym;
the present member whose clothing colours match the lifter's. A claim by a person beats them all and
is applied by the journal, not here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from replens.appearance import appearance_similarity
from replens.config import IdentityConfig
from replens.contract import Appearance, IdentitySource, VisitRole
from replens.hub.journal.records import RecordedSet, Visit


@dataclass(frozen=True, slots=True)
class Attribution:
    member: str
    source: IdentitySource
    score: float


def attribute(set_: RecordedSet, visits: Sequence[Visit], config: IdentityConfig, now: datetime) -> Attribution | None:
    """The first strategy that decides wins; None when none can tell (the set stays unattributed)."""
    for strategy in STRATEGIES:
        found = strategy(set_, visits, config, now)
        if found is not None:
            return found
    return None


def by_station_face(
    set_: RecordedSet, visits: Sequence[Visit], config: IdentityConfig, now: datetime
) -> Attribution | None:
    """A member's face at this station around the set; with several, the visit with most frames × score."""
    window = timedelta(seconds=config.station_face_window_s)
    low, high = set_.started_at - window, _set_end(set_, now) + window
    faces = [
        v for v in visits
        if v.role is VisitRole.STATION and v.member is not None and v.camera == set_.station
        and v.agent_id == set_.agent_id and v.started_at <= high and v.seen_at >= low
    ]
    if not faces:
        return None
    best = max(faces, key=lambda v: (v.frames * v.score, v.score))
    assert best.member is not None  # filtered above; for the type checker
    return Attribution(best.member, IdentitySource.STATION_FACE, best.score)


def by_only_present(
    set_: RecordedSet, visits: Sequence[Visit], config: IdentityConfig, now: datetime
) -> Attribution | None:
    """Exactly one member in the gym when the set started: theirs, as sure as their entrance visit."""
    present = present_at(visits, set_.started_at, config.presence_timeout_s)
    if len(present) != 1:
        return None
    ((member, theirs),) = present.items()
    return Attribution(member, IdentitySource.ONLY_PRESENT, max(v.score for v in theirs))


def by_appearance(
    set_: RecordedSet, visits: Sequence[Visit], config: IdentityConfig, now: datetime
) -> Attribution | None:
    """Several members in: the one dressed like the lifter, if clearly more alike than the runner-up."""
    if set_.appearance is None:
        return None
    present = present_at(visits, set_.started_at, config.presence_timeout_s)
    clothes = {m: a for m, theirs in present.items() if (a := _appearance_of_stay(theirs)) is not None}
    if len(clothes) < 2:
        return None
    ranked = sorted(((appearance_similarity(set_.appearance, a), m) for m, a in clothes.items()), reverse=True)
    (best, member), (runner_up, _) = ranked[0], ranked[1]
    if best < config.appearance_min_similarity or best - runner_up < config.appearance_margin:
        return None
    return Attribution(member, IdentitySource.APPEARANCE, best)


Strategy = Callable[[RecordedSet, Sequence[Visit], IdentityConfig, datetime], Attribution | None]
STRATEGIES: tuple[Strategy, ...] = (by_station_face, by_only_present, by_appearance)
"""Surest first; ``attribute`` takes the first decision."""


def present_at(visits: Sequence[Visit], at: datetime, timeout_s: float) -> dict[str, list[Visit]]:
    """Member → their entrance visits that cover ``at``: seen coming in, not yet timed out (no exit camera)."""
    timeout = timedelta(seconds=timeout_s)
    present: defaultdict[str, list[Visit]] = defaultdict(list)
    for v in visits:
        if v.role is VisitRole.ENTRANCE and v.member is not None and v.started_at <= at <= v.seen_at + timeout:
            present[v.member].append(v)
    return dict(present)


def _appearance_of_stay(theirs: Sequence[Visit]) -> Appearance | None:
    """The clothes the entrance saw last in the visits that make a member present at the set.

    The stay, not the calendar day: a member who came in at 23:40 lifts in the same clothes at 00:10, and
    clothes from an earlier stay (timed out) never count.
    """
    seen = [v for v in theirs if v.appearance is not None]
    return max(seen, key=lambda v: v.started_at).appearance if seen else None


def _set_end(set_: RecordedSet, now: datetime) -> datetime:
    """A set still going lasts until now (or its start, if the agent's clock runs ahead of ours)."""
    return set_.ended_at or max(now, set_.started_at)
