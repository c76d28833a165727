"""Counter events → sets and their wire drafts: the one place where a set is put together.

A station, the simulated week (:mod:`demo_week`) and the load bench all turn a counter's events
(media seconds) into the same rep and set events (wall-clock times, set ids), so they share this code.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from replens.contract import (
    Appearance,
    EventKind,
    Exercise,
    RepSummary,
    SetEvent,
    SetPhase,
    set_id_for,
    utc_from_unix,
)
from replens.device_agent.counting.events import (
    CountEvent,
    PartialRep,
    RepCompleted,
    RepMeasurement,
    SetEnded,
    SetStarted,
)
from replens.device_agent.counting.recognizing import ExerciseChanged, RecognizedEvent, RecognizingEvent
from replens.device_agent.drafts import Draft
from replens.metrics import velocity_loss_pct

AppearanceSince = Callable[[float], Appearance | None]
"""The lifter's clothing colour seen since a wall-clock time (pose stations), for a set event."""


@dataclass(frozen=True, slots=True)
class CountedSet:
    """One set at one station: its reps in media seconds, its start and end also as UNIX time.

    The set under way is one too, with ``ended_wall_s`` None; the assembler replaces it at every
    rep, so a set once handed out never changes under its holder (the CLI, the demo, a test).
    """

    set_id: str
    station: str
    exercise: Exercise
    started_wall_s: float
    rest_before_s: float | None
    reps: tuple[RepMeasurement, ...] = ()
    partial_reps: int = 0
    ended_wall_s: float | None = None
    exercise_confidence: float = 1.0
    runner_up: Exercise | None = None
    runner_up_confidence: float | None = None
    quality: str | None = None  # pose stations, once ended: "good", "fallback" or "poor"

    @property
    def velocity_loss_pct(self) -> float | None:
        return velocity_loss_pct([r.mean_velocity_m_s for r in self.reps if r.mean_velocity_m_s is not None])


class SetAssembler:
    """Keeps the set under way at one station; :meth:`take` turns counter events into wire drafts.

    Per rep a rep event and a set ``new`` (first rep) or ``update``; a partial rep updates the set;
    the set's end gives its ``end`` event and joins :attr:`finished`. The reps of a set are kept
    here and nowhere else (the counter only counts them).

    At a station that recognises its exercise (``hold_reps``), the events come tagged with the exercise
    recognised so far, and a change of mind replaces the set's reps with the new exercise's. Its rep
    events are then held until the set ends, so that only the final exercise's reps leave the agent:
    none counted twice under two names. The set events go out live, with the current decision.
    """

    def __init__(self, agent_id: str, station: str, exercise: Exercise, *, weight_kg: float | None = None,
                 appearance: AppearanceSince | None = None, hold_reps: bool = False) -> None:
        self.agent_id = agent_id
        self.station = station
        self.exercise = exercise
        self.weight_kg = weight_kg
        self._appearance = appearance
        self._hold_reps = hold_reps
        self.open: CountedSet | None = None
        self.finished: list[CountedSet] = []

    def take(self, events: Iterable[CountEvent | RecognizingEvent], wall_offset_s: float) -> list[Draft]:
        """The drafts these events make; ``wall_offset_s`` is UNIX time minus the events' media time."""
        drafts: list[Draft] = []
        for event in events:
            if isinstance(event, ExerciseChanged):
                drafts += self._changed(event)
            elif isinstance(event, RecognizedEvent):
                drafts += self._count(event.event, wall_offset_s, event)
            else:
                drafts += self._count(event, wall_offset_s, None)
        return drafts

    def _count(self, event: CountEvent, wall_offset_s: float, tag: RecognizedEvent | None) -> list[Draft]:
        if isinstance(event, SetStarted):
            start = wall_offset_s + event.start_s
            self.open = CountedSet(set_id_for(self.agent_id, self.station, start), self.station, self.exercise,
                                   start, event.rest_before_s)
        counted = self.open
        if counted is None:
            return []
        if tag is not None:
            counted = replace(counted, exercise=tag.exercise, exercise_confidence=tag.confidence,
                              runner_up=tag.runner_up, runner_up_confidence=tag.runner_up_confidence)
        drafts: list[Draft] = []
        if isinstance(event, RepCompleted):
            counted = replace(counted, reps=(*counted.reps, event.rep))
            if not self._hold_reps:
                drafts.append(self._rep_draft(counted, event.rep, wall_offset_s))
            drafts.append(self._set_draft(counted, SetPhase.NEW if len(counted.reps) == 1 else SetPhase.UPDATE))
        elif isinstance(event, PartialRep):
            counted = replace(counted, partial_reps=counted.partial_reps + 1)
            drafts.append(self._set_draft(counted, SetPhase.UPDATE))
        elif isinstance(event, SetEnded):
            ended = replace(counted, ended_wall_s=wall_offset_s + event.end_s, quality=event.quality)
            if self._hold_reps:
                drafts += [self._rep_draft(ended, rep, wall_offset_s) for rep in ended.reps]
            drafts.append(self._set_draft(ended, SetPhase.END))
            self.finished.append(ended)
            self.open = None
            return drafts
        self.open = counted
        return drafts

    def set_load(self, weight_kg: float) -> list[Draft]:
        """The load changed: the set under way carries it from now on (an ``update`` says so), and later sets."""
        self.weight_kg = weight_kg
        counted = self.open
        if counted is None or not counted.reps:
            return []  # no set event yet: the set's first one will carry the load
        return [self._set_draft(counted, SetPhase.UPDATE)]

    def _changed(self, change: ExerciseChanged) -> list[Draft]:
        """The recogniser changed its mind: the new exercise's reps so far replace the set's."""
        counted = self.open
        if counted is None:
            return []
        had_reps = bool(counted.reps)
        self.open = counted = replace(counted, exercise=change.exercise, exercise_confidence=change.confidence,
                                      reps=change.reps, partial_reps=change.partial_reps)
        if not counted.reps:
            return []
        return [self._set_draft(counted, SetPhase.UPDATE if had_reps else SetPhase.NEW)]

    def _common(self, counted: CountedSet) -> dict[str, object]:
        return {"agent_id": self.agent_id, "set_id": counted.set_id, "station": self.station,
                "exercise": counted.exercise}

    def _rep_draft(self, counted: CountedSet, rep: RepMeasurement, wall_offset_s: float) -> Draft:
        return Draft(EventKind.REPS, {
            **self._common(counted),
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

    def _set_draft(self, counted: CountedSet, phase: SetPhase) -> Draft:
        summaries = [
            RepSummary(index=r.index, duration_s=r.duration_s, rom=r.rom, rom_m=r.rom_m,
                       mean_velocity_m_s=r.mean_velocity_m_s, concentric_s=r.concentric_s,
                       eccentric_s=r.eccentric_s, pause_s=r.pause_s)
            for r in counted.reps
        ]
        return Draft(EventKind.SETS, {
            **self._common(counted),
            "event": phase,
            "reps": len(counted.reps),
            "partial_reps": counted.partial_reps,
            "started_at": utc_from_unix(counted.started_wall_s),
            "ended_at": utc_from_unix(counted.ended_wall_s) if counted.ended_wall_s is not None else None,
            "rest_before_s": counted.rest_before_s,
            "rep_summaries": summaries,
            "appearance": None if self._appearance is None else self._appearance(counted.started_wall_s),
            "weight_kg": self.weight_kg,
            "exercise_confidence": min(1.0, max(0.0, counted.exercise_confidence)),
            "runner_up": counted.runner_up if phase is SetPhase.END else None,
            "runner_up_confidence": counted.runner_up_confidence if phase is SetPhase.END else None,
            "quality": counted.quality if phase is SetPhase.END else None,
        })


def set_end(last: SetEvent, ended_wall_s: float) -> Draft:
    """The ``end`` of a set known only by its latest event (one an earlier run left open), at ``ended_wall_s``.

    Everything else is as that event said; the outbox numbers the end like any event.
    """
    fields = last.model_dump(exclude={"seq"})
    return Draft(EventKind.SETS, {**fields, "event": SetPhase.END, "ended_at": utc_from_unix(ended_wall_s)})


def counted_sets(events: Iterable[CountEvent | RecognizingEvent], exercise: Exercise, *, agent_id: str = "count",
                 station: str = "input") -> list[CountedSet]:
    """The sets a recorded stream of counter events makes (offline counting, tests); media time as UNIX time.

    ``exercise`` names sets whose events carry no recognised exercise.
    """
    sets = SetAssembler(agent_id, station, exercise)
    sets.take(events, 0.0)
    return sets.finished
