"""Confirms to each agent what the hub stored: sequence numbers as compact inclusive ranges, every interval."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable

import aiomqtt

from replens.contract import Ack, Topics

log = logging.getLogger(__name__)

_RANGES_PER_ACK = 5000


def to_ranges(seqs: Iterable[int]) -> list[tuple[int, int]]:
    ranges: list[tuple[int, int]] = []
    for seq in sorted(set(seqs)):
        if ranges and seq == ranges[-1][1] + 1:
            ranges[-1] = (ranges[-1][0], seq)
        else:
            ranges.append((seq, seq))
    return ranges


class AckBook:
    def __init__(self) -> None:
        self._pending: defaultdict[str, set[int]] = defaultdict(set)

    def add(self, keys: Iterable[tuple[str, int]]) -> None:
        for agent_id, seq in keys:
            self._pending[agent_id].add(seq)

    def add_ranges(self, agent_id: str, ranges: Iterable[tuple[int, int]]) -> None:
        """Put back what could not be sent."""
        for first, last in ranges:
            self._pending[agent_id].update(range(first, last + 1))

    def take(self) -> dict[str, list[tuple[int, int]]]:
        """Everything to confirm now, per agent; the book starts empty again."""
        pending, self._pending = self._pending, defaultdict(set)
        return {agent: to_ranges(seqs) for agent, seqs in pending.items() if seqs}


async def send_acks(book: AckBook, interval_s: float, topics: Topics,
                    client_of: Callable[[], aiomqtt.Client | None]) -> None:
    """Forever: what the book holds, per agent. While disconnected the book keeps it (agents resend anyway)."""
    while True:
        await asyncio.sleep(interval_s)
        client = client_of()
        if client is None:
            continue  # agents resend after our reconnect; duplicates are confirmed then
        for agent_id, ranges in book.take().items():
            for start in range(0, len(ranges), _RANGES_PER_ACK):
                chunk = ranges[start : start + _RANGES_PER_ACK]
                try:
                    await client.publish(topics.agent_ack(agent_id), Ack(ranges=chunk).to_json(), qos=1)
                except aiomqtt.MqttError as err:  # the link went since we looked: confirm on the next round
                    book.add_ranges(agent_id, chunk)
                    log.warning("hub: could not confirm to agent %s: %s", agent_id, err)
