"""A polling loop must end when its task is cancelled, even when its wake-up comes in the same turn.

Regression: the hub did not stop on SIGTERM. Its Home Assistant loop waited with
``asyncio.wait_for(event.wait(), poll)``; the event was set just as the TaskGroup cancelled it, Python
3.11's wait_for returned the result instead of raising, and the loop ran on (gh-86296).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable

import pytest

from replens.hub.wakeup import woken

TURNS = 20  # event-loop turns a cancelled task gets to finish: it needs two


async def wait_for_event(event: asyncio.Event, timeout_s: float) -> bool:
    """The pattern the hub used before."""
    try:
        await asyncio.wait_for(event.wait(), timeout_s)
    except TimeoutError:
        return False
    return True


def cancel_as_woken(wait: Callable[[asyncio.Event, float], Awaitable[bool]]) -> bool:
    """Run a polling loop, set its event and cancel its task in the same turn; True when the task ended."""

    async def scenario() -> bool:
        event = asyncio.Event()

        async def poll_forever() -> None:
            while True:
                if await wait(event, 3600.0):
                    event.clear()

        task = asyncio.create_task(poll_forever())
        for _ in range(3):
            await asyncio.sleep(0)  # the loop is now waiting
        event.set()
        task.cancel()
        for _ in range(TURNS):
            await asyncio.sleep(0)
        ended = task.cancelled()
        while not task.done():  # the old pattern's loop: cancel it again, outside the race
            task.cancel()
            await asyncio.sleep(0)
        return ended

    return asyncio.run(scenario())


def test_a_cancelled_loop_ends_even_if_woken_in_the_same_turn() -> None:
    assert cancel_as_woken(woken)


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="CPython fixed wait_for in 3.12 (gh-86296)")
def test_the_old_pattern_loses_the_cancellation_on_this_python() -> None:
    """Shows the bug is real here, so that the test above can fail."""
    assert not cancel_as_woken(wait_for_event)


def test_woken_reports_the_event_or_the_timeout() -> None:
    async def scenario() -> tuple[bool, bool]:
        event = asyncio.Event()
        timed_out = await woken(event, 0.01)
        event.set()
        return timed_out, await woken(event, 3600.0)

    assert asyncio.run(scenario()) == (False, True)


def test_the_hub_waits_for_wake_ups_only_through_woken() -> None:
    from pathlib import Path

    hub = Path(__file__).resolve().parents[2] / "hub"
    users = sorted(str(p.relative_to(hub)) for p in hub.rglob("*.py") if "asyncio.wait_for(" in p.read_text())
    assert users == []
