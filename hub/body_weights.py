"""Members' body weights arriving over MQTT (``BodyWeightCommand``, Home Assistant's number), into the journal.

The same change ``replens members set NAME --body-weight`` makes. A member the gallery does not know is refused:
logged, counted (``edits_rejected``, like a refused correction) and nothing changes; the contract has already
refused a weight out of range. Body weight is personal, so no log line names the member: the member's own
retained state (``<prefix>/member/<id>/state``) shows the new weight.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence

from replens.backoff import Backoff
from replens.contract import BodyWeightCommand
from replens.contract.edits import HOMEASSISTANT_BY
from replens.errors import TransientError
from replens.hub.journal import Journal
from replens.hub.stats import HubCounters

log = logging.getLogger(__name__)

TRIES = 5
REJECTED = "edits_rejected"


class BodyWeightStep:
    def __init__(self, journal: Journal, members: Callable[[], dict[str, str]], counters: HubCounters) -> None:
        """``members``: member id → name, the gallery as it is now (the attributor's ``names``)."""
        self._journal = journal
        self._members = members
        self._counters = counters

    async def apply(self, commands: Sequence[BodyWeightCommand]) -> int:
        """Record each command in the order received; returns how many changed the journal."""
        known = await asyncio.to_thread(self._members)
        changed = 0
        for command in commands:
            if command.member not in known:
                self._counters.reject("body weight: no enrolled member has that id", REJECTED)
                continue
            changed += await self._record(command)
        return changed

    async def _record(self, command: BodyWeightCommand) -> bool:
        backoff = Backoff(initial_s=0.2, maximum_s=5.0)
        for attempt in range(1, TRIES + 1):
            try:
                await asyncio.to_thread(self._journal.set_body_weight, command.member, command.kg)
            except TransientError as err:
                self._counters.counts["journal_errors"] += 1
                log.error("hub: a body weight could not be recorded (try %d of %d): %s", attempt, TRIES, err)
                await asyncio.sleep(backoff.next_delay())
                continue
            self._counters.counts["body_weights"] += 1
            via = "homeassistant" if command.by == HOMEASSISTANT_BY else "mqtt"
            log.info("hub: a member's body weight was set via %s", via)
            return True
        self._counters.reject("body weight: the journal kept failing", REJECTED)
        return False
