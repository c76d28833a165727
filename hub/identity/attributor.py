"""The hub's identity work between MQTT and the journal: screen member ids, apply claims, (re)attribute sets.

Blocking (SQLite): the hub calls it from worker threads. The gallery is read for names only, fresh each
time (the CLI enrols and deletes while the hub runs), and may not exist yet.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from replens.config import IdentityConfig
from replens.contract import ClaimCommand, Presence, SetAttribution, SetEvent, VisitEvent
from replens.hub.identity.presence import presence
from replens.hub.identity.strategies import attribute
from replens.hub.journal import BatchResult, Inbound, Journal, UnknownSetError
from replens.hub.journal.records import RecordedSet
from replens.members import MemberError, member_names

log = logging.getLogger(__name__)

RERUN_MARGIN_S = 3600.0
"""A set may have started this long before a station face was seen and still overlap it (long sets)."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one batch changed: attributions to announce (already queued) and claims refused, with reasons."""

    changed: list[SetAttribution]
    rejected: list[str]


class Attributor:
    def __init__(self, journal: Journal, config: IdentityConfig, members_db: Path) -> None:
        self._journal = journal
        self._config = config
        self._members_db = members_db
        self._names: dict[str, str] = {}

    def names(self) -> dict[str, str]:
        """Member id → name from the gallery; the last names read when it cannot be read right now."""
        try:
            self._names = member_names(self._members_db)
        except MemberError as err:
            log.warning("hub: cannot read member names, using the last known: %s", err)
        return self._names

    def screen(self, inbound: Inbound) -> int:
        """Drop member ids the gallery does not know (deleted, or never enrolled here); returns how many.

        A deleted member's id must not come back through an agent's late or stale events.
        """
        known = self.names()
        dropped = 0
        for index, event in enumerate(inbound.events):
            if isinstance(event, SetEvent | VisitEvent) and event.member is not None and event.member not in known:
                log.warning("hub: agent %s named unknown member %s; recorded as unknown", event.agent_id, event.member)
                inbound.events[index] = event.model_copy(update={"member": None})
                dropped += 1
        return dropped

    def after_batch(self, result: BatchResult, claims: Sequence[ClaimCommand]) -> Outcome:
        """Claims first (they win), then strategies for the batch's sets and sets its visits may decide."""
        claimed, rejected = self._apply_claims(claims) if claims else ([], [])
        candidates = {f.set_id: f for f in self._journal.sets_by_id(dict.fromkeys(result.sets))}
        if any(v.member is not None for v in result.visits):
            low = min(v.started_at for v in result.visits) - timedelta(
                seconds=self._config.station_face_window_s + RERUN_MARGIN_S)
            high = max(v.seen_at for v in result.visits) + timedelta(seconds=self._lookback_s())
            candidates.update((f.set_id, f) for f in self._journal.unclaimed_sets(low, high))
        decided = self._decide([f for f in candidates.values() if not f.claimed])
        return Outcome(changed=claimed + decided, rejected=rejected)

    def presence(self, now: datetime | None = None) -> Presence:
        now = now or datetime.now(UTC)
        timeout = self._config.presence_timeout_s
        visits = self._journal.visits_between(now - timedelta(seconds=timeout), now)
        return presence(visits, self.names(), now, timeout)

    def _apply_claims(self, claims: Sequence[ClaimCommand]) -> tuple[list[SetAttribution], list[str]]:
        """The changes the claims made, and the claims refused (with why)."""
        known = self.names()
        changed: list[SetAttribution] = []
        rejected: list[str] = []
        for claim in claims:
            if claim.member is not None and claim.member not in known:
                rejected.append(f"claim of set {claim.set_id}: no member {claim.member!r} in the gallery")
                continue
            try:
                change = self._journal.claim(claim.set_id, claim.member, claim.by)
            except UnknownSetError as err:
                rejected.append(f"claim of set {claim.set_id}: {err}")
                continue
            if change is not None:
                # Who, only at DEBUG: nothing about a member reaches the logs at INFO (docs/members-page.md).
                log.info("hub: set %s claimed by %s", claim.set_id, claim.by or "?")
                log.debug("hub: set %s claimed for %s", claim.set_id, claim.member or "nobody")
                changed.append(change)
        return changed, rejected

    def _decide(self, sets: Sequence[RecordedSet]) -> list[SetAttribution]:
        """The strategies' decisions that changed a set."""
        if not sets:
            return []
        changed: list[SetAttribution] = []
        now = datetime.now(UTC)
        window = timedelta(seconds=self._config.station_face_window_s)
        low = min(f.started_at for f in sets) - timedelta(seconds=self._lookback_s())
        high = max(f.ended_at or max(now, f.started_at) for f in sets) + window
        visits = self._journal.visits_between(low, high)
        for facts in sets:
            decision = attribute(facts, visits, self._config, now)
            if decision is None:
                if facts.identity_source is None:
                    continue  # nothing decided before or now: no write transaction for nothing
                change = self._journal.attribute(facts.set_id, None, None, None)
            elif (decision.member, decision.source) == (facts.member, facts.identity_source):
                continue
            else:
                change = self._journal.attribute(facts.set_id, decision.member, decision.source, decision.score)
            if change is not None:
                log.info("hub: set %s of %s/%s attributed (%s, score %s)", facts.set_id, facts.agent_id,
                         facts.station, change.identity_source or "undecided", change.identity_score)
                log.debug("hub: set %s attributed to %s", facts.set_id, change.member or "nobody")
                changed.append(change)
        return changed

    def _lookback_s(self) -> float:
        """How far before a set a visit can matter: a presence timeout, or a station-face window."""
        return max(self._config.presence_timeout_s, self._config.station_face_window_s)
