"""Publishes what the journal queued for MQTT (set attributions, by the hub or the CLI) and the retained presence.

Announcements leave the journal only after the broker acknowledged them (QoS 1), so a hub restart or a
broker outage loses none. The journal is polled too, because the CLI queues into it from another process.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import aiomqtt

from replens.contract import PersonalRecordEvent, Presence, Topics
from replens.errors import TransientError
from replens.hub.identity.attributor import Attributor
from replens.hub.journal import Journal, Outgoing
from replens.hub.storage.presence_points import presence_line
from replens.hub.wakeup import woken

log = logging.getLogger(__name__)

ClientOf = Callable[[], aiomqtt.Client | None]


class Announcer:
    def __init__(
        self, journal: Journal, attributor: Attributor, topics: Topics, *, poll_s: float = 1.0,
        presence_interval_s: float = 60.0,
    ) -> None:
        self._journal = journal
        self._attributor = attributor
        self._topics = topics
        self._poll_s = poll_s
        self._presence_interval_s = presence_interval_s
        self.wake = asyncio.Event()
        """Set when something was queued: publish now rather than at the next poll."""
        self.presence_due = asyncio.Event()
        """Set when visits or members changed (or the hub reconnected): publish presence now."""
        self.published = 0
        self._present_count: int | None = None

    async def run_announcements(self, client_of: ClientOf) -> None:
        while True:
            self.wake.clear()  # before looking: what is queued while we drain sets it again, and is not missed
            client = client_of()
            try:
                sent = 0 if client is None else await self._drain(client)
            except (aiomqtt.MqttError, TransientError) as err:
                log.warning("hub: announcements wait in the journal: %s", err)
                sent = 0
            if sent == 0:
                await woken(self.wake, self._poll_s)

    async def run_presence(self, client_of: ClientOf) -> None:
        """Retained; also on a timer, because members leave by timeout, not by an event.

        Each change of the head count also becomes a ``presence`` point for the Live gym dashboard.
        """
        while True:
            self.presence_due.clear()
            try:
                current = await asyncio.to_thread(self._attributor.presence)
                await asyncio.to_thread(self._journal.queue_points, self._presence_changes(current))
            except TransientError as err:
                log.warning("hub: could not work out presence: %s", err)
                current = None
            client = client_of()
            if client is not None and current is not None:
                try:
                    await client.publish(self._topics.presence, current.to_json(), qos=1, retain=True)
                except aiomqtt.MqttError as err:
                    log.warning("hub: could not publish presence: %s", err)
            await woken(self.presence_due, self._presence_interval_s)

    def _presence_changes(self, current: Presence) -> list[str]:
        count = len(current.members)
        if count == self._present_count:
            return []
        self._present_count = count
        return [presence_line(count, current.at)]

    async def _drain(self, client: aiomqtt.Client) -> int:
        batch = await asyncio.to_thread(self._journal.pending_announcements, 100)
        done: list[int] = []
        try:
            for item in batch:
                if item.kind is Outgoing.HUB_SETS:
                    await client.publish(self._topics.hub_sets, item.payload, qos=1)
                    self.published += 1
                elif item.kind is Outgoing.PERSONAL_RECORD:
                    member = PersonalRecordEvent.model_validate_json(item.payload).member
                    await client.publish(self._topics.member_personal_record(member), item.payload, qos=1)
                    self.published += 1
                else:
                    self.presence_due.set()
                done.append(item.id)
        finally:
            if done:
                await asyncio.to_thread(self._journal.announced, done)
        return len(done)
