"""Counter events → sets and their wire drafts: the one place where a set is put together.

A station, the simulated week (:mod:`demo_week`) and the load bench all turn a counter's events
(media seconds) into the same rep and set events (wall-clock times, set ids), so they share this code.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from replens.contract import EventKind, Exercise, RepSummary, SetPhase, set_id_for, utc_from_unix
from replens.device_agent.counting.events import (
    CountEvent,
    PartialRep,
    RepCompleted,
    RepMeasurement,
    SetEnded,
    SetStarted,
)
from replens.device_agent.drafts import Draft

AppearanceSince = Callable[[float], dict[str, list[float]] | None]
"""The lifter's clothing colour seen since a wall-clock time (pose stations), for a set event."""


@dataclass
class OpenSet:
    set_id: str
    started_wall_s: float
    rest_before_s: float | None
    reps: list[RepMeasurement] = field(default_factory=list)
    partial_reps: int = 0


@dataclass(frozen=True, slots=True)
class FinishedSet:
    """What the CLI and the demo print."""

    set_id: str
    station: str
    exercise: Exercise
    started_wall_s: float
    ended_wall_s: float
    reps: tuple[RepMeasurement, ...]
    rest_before_s: float | None = None
    partial_reps: int = 0


class SetAssembler:
    """Keeps the set under way at one station; :meth:`take` turns counter events into wire drafts.

    Per rep a rep event and a set ``new`` (first rep) or ``update``; a partial rep updates the set;
    the set's end gives its ``end`` event and a :class:`FinishedSet`.
    """

    def __init__(self, agent_id: str, station: str, exercise: Exercise, *, weight_kg: float | None = None,
                 appearance: AppearanceSince | None = None) -> None:
        self.agent_id = agent_id
        self.station = station
        self.exercise = exercise
        self.weight_kg = weight_kg
        self._appearance = appearance
        self.open: OpenSet | None = None
        self.finished: list[FinishedSet] = []

    def take(self, events: Iterable[CountEvent], wall_offset_s: float) -> list[Draft]:
        """The drafts these events make; ``wall_offset_s`` is UNIX time minus the events' media time."""
        drafts: list[Draft] = []
        for event in events:
            if isinstance(event, SetStarted):
                start = wall_offset_s + event.start_s
                self.open = OpenSet(set_id_for(self.agent_id, self.station, start), start, event.rest_before_s)
            elif isinstance(event, RepCompleted) and self.open is not None:
                self.open.reps.append(event.rep)
                drafts.append(self._rep_draft(self.open, event.rep, wall_offset_s))
                phase = SetPhase.NEW if len(self.open.reps) == 1 else SetPhase.UPDATE
                drafts.append(self._set_draft(self.open, phase, None))
            elif isinstance(event, PartialRep) and self.open is not None:
                self.open.partial_reps += 1
                drafts.append(self._set_draft(self.open, SetPhase.UPDATE, None))
            elif isinstance(event, SetEnded) and self.open is not None:
                end = wall_offset_s + event.end_s
                drafts.append(self._set_draft(self.open, SetPhase.END, end))
                self.finished.append(FinishedSet(self.open.set_id, self.station, self.exercise,
                                                 self.open.started_wall_s, end, tuple(self.open.reps),
                                                 self.open.rest_before_s, self.open.partial_reps))
                self.open = None
        return drafts

    def _common(self, open_set: OpenSet) -> dict[str, object]:
        return {"agent_id": self.agent_id, "set_id": open_set.set_id, "station": self.station,
                "exercise": self.exercise}

    def _rep_draft(self, open_set: OpenSet, rep: RepMeasurement, wall_offset_s: float) -> Draft:
        return Draft(EventKind.REPS, {
            **self._common(open_set),
            "index": rep.index,
            "started_at": utc_from_unix(wall_offset_s + rep.start_s),
            "turned_at": utc_from_unix(wall_offset_s + rep.turn_s),
            "ended_at": utc_from_unix(wall_offset_s + rep.end_s),
            "concentric_s": rep.concentric_s,
            "eccentric_s": rep.eccentric_s,
            "pause_s": rep.pause_s,
            "rom": rep.rom,
            "rom_m": rep.rom_m,
            "mean_velocity_m_s": rep.mean_velocity_m_s,
            "peak_velocity_m_s": rep.peak_velocity_m_s,
            "confidence": min(1.0, max(0.0, rep.confidence)),
        })

    def _set_draft(self, open_set: OpenSet, phase: SetPhase, ended_wall_s: float | None) -> Draft:
        summaries = [
            RepSummary(index=r.index, duration_s=r.duration_s, rom=r.rom, rom_m=r.rom_m,
                       mean_velocity_m_s=r.mean_velocity_m_s, concentric_s=r.concentric_s,
                       eccentric_s=r.eccentric_s, pause_s=r.pause_s)
            for r in open_set.reps
        ]
        return Draft(EventKind.SETS, {
            **self._common(open_set),
            "event": phase,
            "reps": len(open_set.reps),
            "partial_reps": open_set.partial_reps,
            "started_at": utc_from_unix(open_set.started_wall_s),
            "ended_at": utc_from_unix(ended_wall_s) if ended_wall_s is not None else None,
            "rest_before_s": open_set.rest_before_s,
            "rep_summaries": summaries,
            "appearance": None if self._appearance is None else self._appearance(open_set.started_wall_s),
            "weight_kg": self.weight_kg,
        })
