"""Who a visit is, decided over frames: per-frame matches vote, a member needs agreeing frames and no rival.

One visit at a time per camera: it opens at the first usable face and ends after ``visit_gap_s``
without one. Every usable face of a frame votes, so two people walking in together give conflicting
votes and an unknown visit, never the wrong member. Pure logic, media time in seconds.
"""

from __future__ import annotations

import itertools
import statistics
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from replens.arrays import Float32Array
from replens.contract import SetPhase
from replens.device_agent.identity.gallery import Gallery, Match


@dataclass(frozen=True, slots=True)
class VisitSettings:
    """When a run of faces names a member.

    Attributes:
        min_face_px: faces narrower than this (box width, pixels) are ignored: too few details for a
            reliable descriptor, and not worth the ~0.1 s it costs.
        min_agreeing_frames: frames that must match the same member before the visit names them.
            Higher: fewer one-frame flukes, a later decision.
        rival_ratio: the runner-up member must have fewer than this share of the leader's votes.
        min_vote_share: the leader's votes must be at least this share of all usable frames, unknown
            ones included: a person not enrolled who now and then resembles a member stays unknown.
        visit_gap_s: a visit ends after this long without a usable face.
    """

    min_face_px: float = 48.0
    min_agreeing_frames: int = 3
    rival_ratio: float = 0.5
    min_vote_share: float = 0.5
    visit_gap_s: float = 8.0

    def __post_init__(self) -> None:
        if self.min_agreeing_frames < 1:
            raise ValueError(f"min_agreeing_frames must be >= 1 (got: {self.min_agreeing_frames})")
        if not (0 < self.rival_ratio <= 1 and 0 <= self.min_vote_share <= 1):
            raise ValueError(f"rival_ratio in (0, 1], min_vote_share in [0, 1] (got: {self.rival_ratio}, "
                             f"{self.min_vote_share})")
        if self.visit_gap_s <= 0 or self.min_face_px < 0:
            raise ValueError(f"visit_gap_s must be > 0, min_face_px >= 0 (got: {self.visit_gap_s}, {self.min_face_px})")


@dataclass(frozen=True, slots=True)
class FaceSample:
    """One face of one frame: its box width (pixels) and its (128,) float32 descriptor."""

    width_px: float
    embedding: Float32Array


@dataclass(frozen=True, slots=True)
class VisitDecision:
    """The state of a visit, emitted when it opens, when its member changes, and when it ends.

    Attributes:
        phase: ``new`` at the first usable face, ``update`` when the member changes, ``end``.
        visit_id: stable over the visit's decisions (``<prefix>-<n>``).
        member_id: the member, or None for unknown (not enough agreeing frames, a rival, or nobody).
        score: in [0, 1], the median of ``1 - distance / threshold`` (clipped at 0) over the frames
            that voted for the member: 0 at the threshold, 1 for an identical descriptor. For an
            unknown visit the same for the leading candidate, 0 when no frame matched anyone: how
            close the visit came to naming someone.
        frames: usable frames so far (frames with at least one face of ``min_face_px``).
        started_at, last_seen_at: media time (s) of the first and the latest usable frame.
    """

    phase: SetPhase
    visit_id: str
    member_id: str | None
    score: float
    frames: int
    started_at: float
    last_seen_at: float


@dataclass
class _Visit:
    visit_id: str
    started_at: float
    last_seen_at: float
    frames: int = 0
    votes: Counter[str] = field(default_factory=Counter)  # member → frames that matched them
    scores: dict[str, list[float]] = field(default_factory=dict)
    member_id: str | None = None


class VisitDecider:
    """Frames of faces in, visit decisions out; call :meth:`update` for every frame, faces or not."""

    def __init__(self, gallery: Gallery, settings: VisitSettings | None = None, *, id_prefix: str = "visit") -> None:
        self.gallery = gallery
        self.settings = settings or VisitSettings()
        self._ids: Iterator[int] = itertools.count(1)
        self._prefix = id_prefix
        self._visit: _Visit | None = None

    def wants(self, width_px: float) -> bool:
        """Whether a face this wide would be used: ask before paying for its descriptor."""
        return width_px >= self.settings.min_face_px

    def update(self, t_s: float, faces: Sequence[FaceSample]) -> list[VisitDecision]:
        """One frame: the end of a lapsed visit, the opening of a new one, or a change of member (or nothing)."""
        out = self._expire(t_s)
        usable = [f for f in faces if self.wants(f.width_px)]
        if not usable:
            return out
        visit = self._visit
        phase = SetPhase.UPDATE
        if visit is None:
            visit = self._visit = _Visit(f"{self._prefix}-{next(self._ids)}", t_s, t_s)
            phase = SetPhase.NEW
        visit.frames += 1
        visit.last_seen_at = t_s
        frame_members = set()
        for face in usable:
            match = self.gallery.match(face.embedding)
            if match.member_id is not None and match.member_id not in frame_members:
                frame_members.add(match.member_id)  # one vote per member per frame
                visit.votes[match.member_id] += 1
                visit.scores.setdefault(match.member_id, []).append(self._score(match))
        member = self._decide(visit)
        if phase is SetPhase.NEW or member != visit.member_id:
            visit.member_id = member
            out.append(self._decision(visit, phase))
        return out

    def finish(self, t_s: float) -> list[VisitDecision]:
        """End the open visit now (source ended or camera stopped)."""
        return self._close() if self._visit is not None else []

    def _expire(self, t_s: float) -> list[VisitDecision]:
        if self._visit is not None and t_s - self._visit.last_seen_at > self.settings.visit_gap_s:
            return self._close()
        return []

    def _close(self) -> list[VisitDecision]:
        assert self._visit is not None
        decision = self._decision(self._visit, SetPhase.END)
        self._visit = None
        return [decision]

    def _score(self, match: Match) -> float:
        return float(np.clip(1.0 - match.distance / self.gallery.settings.threshold, 0.0, 1.0))

    def _decide(self, visit: _Visit) -> str | None:
        ranked = visit.votes.most_common(2)
        if not ranked:
            return None
        leader, votes = ranked[0]
        rival = ranked[1][1] if len(ranked) > 1 else 0
        s = self.settings
        named = votes >= s.min_agreeing_frames and rival < s.rival_ratio * votes
        return leader if named and votes >= s.min_vote_share * visit.frames else None

    def _decision(self, visit: _Visit, phase: SetPhase) -> VisitDecision:
        ranked = visit.votes.most_common(1)
        candidate = visit.member_id or (ranked[0][0] if ranked else None)
        score = statistics.median(visit.scores[candidate]) if candidate is not None else 0.0
        return VisitDecision(
            phase, visit.visit_id, visit.member_id, score, visit.frames, visit.started_at, visit.last_seen_at
        )
