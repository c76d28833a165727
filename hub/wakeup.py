"""Waiting for a wake-up with a timeout, without ever swallowing a cancellation.

Python 3.11's ``asyncio.wait_for`` returns the inner result when it is cancelled just as the inner
awaitable finishes (CPython gh-86296). A loop of ``wait_for(event.wait(), poll)`` whose event was set
in the same turn as its task was cancelled then runs on, and the hub's TaskGroup waits for it forever:
the hub ignored SIGTERM (seen in the SIGKILL fault test under load). ``asyncio.timeout`` lets a
cancellation that is not its own through.
"""

from __future__ import annotations

import asyncio


async def woken(event: asyncio.Event, timeout_s: float) -> bool:
    """True when ``event`` is set within ``timeout_s``, False on the timeout; a cancellation propagates."""
    try:
        async with asyncio.timeout(timeout_s):
            await event.wait()
    except TimeoutError:
        return False
    return True
