"""How alike two clothing appearances are: one function, shared by the agents and the hub."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Protocol


class Looks(Protocol):
    """The wire model (a set's or visit's mean) and the agent's one-frame AppearanceSample both have these."""

    @property
    def torso(self) -> Sequence[float]: ...

    @property
    def legs(self) -> Sequence[float]: ...


def bhattacharyya(p: Sequence[float], q: Sequence[float]) -> float:
    """Overlap of two histograms, each normalised to sum 1: 1 for the same colours, 0 for disjoint ones.

    Histograms with different bin counts (agents configured differently) or no mass are not comparable: 0.
    """
    if len(p) != len(q):
        return 0.0
    mass = math.fsum(p) * math.fsum(q)
    if mass <= 0.0:
        return 0.0
    overlap = math.fsum(math.sqrt(a * b) for a, b in zip(p, q, strict=True)) / math.sqrt(mass)
    return min(1.0, overlap)  # rounding can push identical histograms a hair above 1


def appearance_similarity(a: Looks, b: Looks) -> float:
    """Mean over the body regions (torso, legs) of the Bhattacharyya coefficient, in [0, 1]."""
    return (bhattacharyya(a.torso, b.torso) + bhattacharyya(a.legs, b.legs)) / 2.0
