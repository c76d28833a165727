"""The one thing trackers hand to counters: a timestamped 1-D position sample per station."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SignalSample:
    """Position of the tracked thing along its direction of motion at one instant.

    Attributes:
        t_s: media time in seconds (monotonic within one source; gaps allowed).
        position: position along the motion axis, larger = further from the rest position's
            opposite ("up" for a weight stack). Unit is the tracker's (pixels unless calibrated).
        confidence: 0..1, how much the tracker trusts this sample.
    """

    t_s: float
    position: float
    confidence: float = 1.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.t_s) and math.isfinite(self.position)):
            raise ValueError(f"non-finite sample t={self.t_s} position={self.position}")
        if not 0.0 <= self.confidence <= 1.0:
            raise ValueError(f"confidence {self.confidence} outside 0..1")
