"""Collects stored sequence numbers per agent and turns them into compact inclusive ranges."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable


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
