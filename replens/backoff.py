"""Exponential backoff with jitter, so that many clients never retry in lockstep."""

from __future__ import annotations

import random


class Backoff:
    def __init__(self, initial_s: float = 0.5, maximum_s: float = 30.0) -> None:
        self._initial = initial_s
        self._maximum = maximum_s
        self._next = initial_s

    def next_delay(self) -> float:
        """The delay to wait now; each call doubles the next one up to the maximum."""
        delay = self._next * random.uniform(0.8, 1.2)  # noqa: S311 - jitter, not cryptography
        self._next = min(self._maximum, self._next * 2)
        return delay

    def reset(self) -> None:
        self._next = self._initial
