"""The hub's identity step after each recorded batch: claims (also by name, from Home Assistant), then strategies.

The journal may hiccup (a CLI transaction, a full disk): attribution is retried a few times here, since
claims are commands nobody sends again.
"""

from __future__ import annotations

import asyncio
import logging

from replens.backoff import Backoff
from replens.contract import ClaimCommand, ClaimLastCommand
from replens.errors import TransientError
from replens.hub.homeassistant import HomeAssistantBridge
from replens.hub.identity.attributor import Attributor, Outcome
from replens.hub.journal import BatchResult
from replens.hub.stats import HubCounters

log = logging.getLogger(__name__)

TRIES = 5


class IdentityStep:
    def __init__(self, attributor: Attributor, homeassistant: HomeAssistantBridge, counters: HubCounters) -> None:
        self._attributor = attributor
        self._homeassistant = homeassistant
        self._counters = counters

    async def resolve_claims(self, commands: list[ClaimLastCommand]) -> list[ClaimCommand]:
        """Claims of a station's last set by member name (Home Assistant's select) → ordinary claims."""
        try:
            claims, rejected = await asyncio.to_thread(self._homeassistant.resolve_claims, commands)
        except TransientError as err:
            claims, rejected = [], [f"{len(commands)} claims of a station's last set: {err}"]
        for reason in rejected:
            self._counters.reject(reason, "claims_rejected")
        return claims

    async def after(self, result: BatchResult, claims: list[ClaimCommand]) -> Outcome | None:
        """Apply claims and attribute sets; None when the journal kept failing (logged)."""
        backoff = Backoff(initial_s=0.2, maximum_s=5.0)
        for attempt in range(1, TRIES + 1):
            try:
                outcome = await asyncio.to_thread(self._attributor.after_batch, result, claims)
                break
            except TransientError as err:
                self._counters.counts["identity_errors"] += 1
                log.error("hub: attribution failed (try %d of %d): %s", attempt, TRIES, err)
                await asyncio.sleep(backoff.next_delay())
        else:
            log.error("hub: gave up on %d claims and the attribution of %d sets", len(claims), len(result.sets))
            return None
        for reason in outcome.rejected:
            self._counters.reject(reason, "claims_rejected")
        self._counters.counts["attributions"] += len(outcome.changed)
        return outcome
