"""Members' face descriptors and open-set matching: a member, or unknown when nobody is close and clearly closest.

Pure numpy: no dlib, no models, so it can move to the spine if the hub ever matches faces itself.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from replens.arrays import Float32Array

EMBEDDING_SIZE = 128
DLIB_THRESHOLD = 0.6  # dlib's same-person distance: 99.38 % on LFW's pairs


@dataclass(frozen=True, slots=True)
class MatchSettings:
    """When a face counts as a member.

    Attributes:
        threshold: largest Euclidean distance that can be the same person. Lower: fewer false
            accepts, more unknowns.
        margin: the best member must be at least this much closer than the runner-up member, else
            unknown: two members almost equally close is a coin toss (look-alikes, siblings).
    """

    threshold: float = DLIB_THRESHOLD
    margin: float = 0.06

    def __post_init__(self) -> None:
        if not (0 < self.threshold <= 2):
            raise ValueError(f"match threshold must be in (0, 2] (got: {self.threshold})")
        if not (0 <= self.margin <= 2):
            raise ValueError(f"match margin must be in [0, 2] (got: {self.margin})")


@dataclass(frozen=True, slots=True)
class Match:
    """One face against the gallery.

    Attributes:
        member_id: the member, or None for unknown.
        distance: to the nearest member (its nearest descriptor); inf for an empty gallery.
        runner_up_distance: to the nearest other member; inf when there is none.
        nearest_id: the nearest member even when unknown (for logs and tuning); None when empty.
    """

    member_id: str | None
    distance: float
    runner_up_distance: float
    nearest_id: str | None = None


def check_embedding(embedding: Float32Array) -> Float32Array:
    """The embedding as a (128,) float32 array; ValueError for another shape or a non-finite value."""
    vector = np.asarray(embedding, dtype=np.float32)
    if vector.shape != (EMBEDDING_SIZE,) or not np.isfinite(vector).all():
        raise ValueError(f"face embedding: expected ({EMBEDDING_SIZE},) finite floats, got {vector.shape}")
    return vector


class Gallery:
    """member_id → that member's descriptors (several photos each); a member's distance is to their nearest one."""

    def __init__(self, settings: MatchSettings | None = None) -> None:
        self.settings = settings or MatchSettings()
        self._vectors: dict[str, list[Float32Array]] = {}
        self._stack: Float32Array = np.empty((0, EMBEDDING_SIZE), dtype=np.float32)
        self._owners: list[str] = []

    @classmethod
    def of(cls, vectors: Mapping[str, Sequence[Float32Array]], settings: MatchSettings | None = None) -> Gallery:
        """A gallery of every member's descriptors at once (one rebuild, not one per descriptor)."""
        gallery = cls(settings)
        for member_id, member_vectors in vectors.items():
            gallery._vectors[member_id] = [check_embedding(v) for v in member_vectors]
        gallery._rebuild()
        return gallery

    def add(self, member_id: str, embedding: Float32Array) -> None:
        self._vectors.setdefault(member_id, []).append(check_embedding(embedding))
        self._rebuild()

    def remove(self, member_id: str) -> None:
        """Forget a member entirely; unknown ids are ignored."""
        if self._vectors.pop(member_id, None) is not None:
            self._rebuild()

    @property
    def members(self) -> tuple[str, ...]:
        return tuple(self._vectors)

    def __len__(self) -> int:
        return len(self._vectors)

    def _rebuild(self) -> None:
        self._owners = [m for m, vectors in self._vectors.items() for _ in vectors]
        rows = [v for vectors in self._vectors.values() for v in vectors]
        self._stack = np.stack(rows) if rows else np.empty((0, EMBEDDING_SIZE), dtype=np.float32)

    def distances(self, embedding: Float32Array) -> dict[str, float]:
        """Each member's distance to ``embedding``: to their nearest descriptor, Euclidean."""
        each = np.linalg.norm(self._stack - check_embedding(embedding), axis=1)  # (n,)
        best: dict[str, float] = {}
        for owner, d in zip(self._owners, each.tolist(), strict=True):
            best[owner] = min(d, best.get(owner, math.inf))
        return best

    def match(self, embedding: Float32Array) -> Match:
        """The member this face is, or unknown: too far from everyone, or too close to a second member."""
        ranked = sorted(self.distances(embedding).items(), key=lambda item: item[1])
        if not ranked:
            return Match(None, math.inf, math.inf)
        nearest, distance = ranked[0]
        runner_up = ranked[1][1] if len(ranked) > 1 else math.inf
        known = distance <= self.settings.threshold and runner_up - distance >= self.settings.margin
        return Match(nearest if known else None, distance, runner_up, nearest)
