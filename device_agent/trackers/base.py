"""What every station tracker offers the agent: frames in, one position sample out."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from replens.device_agent.signal import SignalSample
from replens.device_agent.sources.frame import Frame


@runtime_checkable
class StationTracker(Protocol):
    """Turns the frames of one source into the 1-D position signal of one station.

    A protocol rather than a base class so that trackers stay plain classes that are easy to test
    and to swap (model-free stack flow today, pose models later).
    """

    def update(self, frame: Frame) -> SignalSample | None:
        """Consume the next frame; return the station's position then, or None when unknown."""
        ...

    def reset(self) -> None:
        """Forget all state, as if newly made (new session, camera moved, source reopened)."""
        ...
