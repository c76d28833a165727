"""Login attempts per client address: after too many wrong links or passwords in a window, refuse for a while."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

MAX_CLIENTS = 10_000
"""Addresses tracked at most; the oldest are forgotten first, so a flood cannot grow the hub's memory."""


class LoginLimiter:
    def __init__(self, failures: int, window_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._failures = failures
        self._window_s = window_s
        self._clock = clock
        self._seen: dict[str, deque[float]] = {}

    def retry_after_s(self, client: str) -> float:
        """0 when the client may try now; else seconds until its oldest counted failure leaves the window."""
        times = self._recent(client)
        if len(times) < self._failures:
            return 0.0
        return max(times[0] + self._window_s - self._clock(), 0.001)

    def failed(self, client: str) -> None:
        times = self._recent(client)
        times.append(self._clock())
        self._seen.pop(client, None)
        self._seen[client] = times  # newest last, so the oldest go first below
        while len(self._seen) > MAX_CLIENTS:
            self._seen.pop(next(iter(self._seen)))

    def _recent(self, client: str) -> deque[float]:
        times = self._seen.get(client, deque(maxlen=self._failures))
        while times and times[0] <= self._clock() - self._window_s:
            times.popleft()
        return times
