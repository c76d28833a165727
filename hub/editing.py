"""People's corrections arriving over MQTT: ``SetEdit`` by set id, ``EditLastCommand`` for a station's last set.

Both become journal edits (hub/journal/corrections.py), the path ``replens sets edit`` takes too. An edit is
applied once per ``edit_id``; a refused one (unknown set, a station without an ended set) is logged and
counted (``edits_rejected``) and changes nothing. The journal may hiccup (a CLI transaction, a full disk):
each edit is retried a few times here, since nobody sends a command again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from replens.backoff import Backoff
from replens.contract import EditLastCommand, EditVia, SetEdit
from replens.contract.edits import HOMEASSISTANT_BY
from replens.errors import TransientError
from replens.hub.journal import EditOutcome, Journal, UnknownSetError
from replens.hub.stats import HubCounters

log = logging.getLogger(__name__)

TRIES = 5
REJECTED = "edits_rejected"


@dataclass(frozen=True, slots=True)
class Edited:
    """What a batch's edits did: how many changed a set (their announcements are queued)."""

    changed: int


def via(edit: SetEdit | EditLastCommand) -> EditVia:
    """Edits over MQTT come from Home Assistant when its entities sent them (``by: homeassistant``)."""
    return EditVia.HOMEASSISTANT if edit.by == HOMEASSISTANT_BY else EditVia.MQTT


class EditStep:
    def __init__(self, journal: Journal, counters: HubCounters) -> None:
        self._journal = journal
        self._counters = counters

    async def apply(self, edits: Sequence[SetEdit], last: Sequence[EditLastCommand]) -> Edited:
        """Edits of stations' last sets are resolved first, then every edit applied in the order received."""
        resolved = [*edits, *[e for e in [await self._resolve(c) for c in last] if e is not None]]
        changed = 0
        for edit in resolved:
            outcome = await self._apply(edit)
            changed += outcome is not None and outcome.changed
        return Edited(changed)

    async def _resolve(self, command: EditLastCommand) -> SetEdit | None:
        where = f"{command.agent_id}/{command.station}"
        try:
            last = await asyncio.to_thread(self._journal.last_ended_set, command.agent_id, command.station)
        except TransientError as err:
            self._counters.reject(f"edit {command.edit_id} of the last set at {where}: {err}", REJECTED)
            return None
        if last is None:
            self._counters.reject(f"edit {command.edit_id} of the last set at {where}: the station has no ended set",
                                  REJECTED)
            return None
        fields = command.model_dump(exclude={"schema_version", "agent_id", "station"})
        return SetEdit.model_validate({**fields, "set_id": last.set_id})

    async def _apply(self, edit: SetEdit) -> EditOutcome | None:
        backoff = Backoff(initial_s=0.2, maximum_s=5.0)
        for attempt in range(1, TRIES + 1):
            try:
                outcome = await asyncio.to_thread(self._journal.edit, edit, via(edit))
                break
            except UnknownSetError as err:
                self._counters.reject(f"edit {edit.edit_id}: {err}", REJECTED)
                return None
            except TransientError as err:
                self._counters.counts["journal_errors"] += 1
                log.error("hub: edit %s of set %s failed (try %d of %d): %s", edit.edit_id, edit.set_id, attempt,
                          TRIES, err)
                await asyncio.sleep(backoff.next_delay())
        else:
            self._counters.reject(f"edit {edit.edit_id} of set {edit.set_id}: the journal kept failing", REJECTED)
            return None
        self._count(edit, outcome)
        return outcome

    def _count(self, edit: SetEdit, outcome: EditOutcome) -> None:
        if outcome.duplicate:
            self._counters.counts["edits_duplicate"] += 1
            log.info("hub: edit %s of set %s was applied before; nothing changes", edit.edit_id, edit.set_id)
            return
        self._counters.counts["edits"] += 1
        said = ", ".join(f"{c.field} {c.old} → {c.new}" for c in outcome.changes)
        log.info("hub: set %s edited by %s via %s: %s", edit.set_id, edit.by or "?", via(edit), said)
