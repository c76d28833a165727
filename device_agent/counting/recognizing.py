"""Counting a set whose exercise is being recognised: every candidate's counter runs in parallel.

Why parallel and not switching: a decision may change while the set runs (walking up looked like
lunges, the first reps were ambiguous). A switched-to counter would have missed the reps before the
switch, and replaying a buffer into it costs a burst of work and still loses what fell out of the
buffer. Here every distinct counting configuration among the candidates sees every frame from the
start, so whichever exercise is finally recognised, its counter has counted the whole set: no rep
lost or doubled by construction. Candidates that count identically (same pose signal, rest side
and rep timing, e.g. squat and leg raise) share one counter, so the cost is the number of distinct
configurations, measured in ``bench/recognition.py``.

The events passed on are those of the recognised exercise's counter, tagged with the exercise and
confidence. When the decision changes during a set, an :class:`ExerciseChanged` tells the consumer
to take the new counter's reps instead. The set is open while any counter's set is open (someone is
still repeating a movement) and ends when the last one ends; its :class:`SetEnded` carries the
finally recognised exercise's reps, the confidence and the runner-up, and the next set is
recognised afresh. A station with one exercise runs one counter and behaves exactly as a plain
:class:`PoseRepEngine`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

import numpy.typing as npt

from replens.contract.exercises import Exercise
from replens.device_agent.counting.counter import TimingOverrides
from replens.device_agent.counting.events import (
    CountEvent,
    PartialRep,
    RepCompleted,
    RepMeasurement,
    SetEnded,
    SetStarted,
)
from replens.device_agent.counting.pose import PoseRepEngine
from replens.device_agent.counting.profiles import ExerciseProfile, profile_for
from replens.device_agent.counting.recognition import ExerciseRecognizer, Recognition, RecognizerSettings


@dataclass(frozen=True, slots=True)
class RecognizedEvent:
    """A counter event of the recognised exercise.

    ``runner_up`` and its confidence are set on :class:`SetEnded` only, where the set's final
    decision is known.
    """

    event: CountEvent
    exercise: Exercise
    confidence: float
    runner_up: Exercise | None = None
    runner_up_confidence: float | None = None


@dataclass(frozen=True, slots=True)
class ExerciseChanged:
    """The recognised exercise of the open set changed (``previous`` None: the first decision).

    ``reps`` and ``partial_reps`` are the new exercise's so far: they replace the previous count, they
    are not added to it.
    """

    previous: Exercise | None
    exercise: Exercise
    confidence: float
    reps: tuple[RepMeasurement, ...]
    partial_reps: int = 0


RecognizingEvent = RecognizedEvent | ExerciseChanged

StationEvent = CountEvent | RecognizingEvent
"""What a station's pipeline hands the set assembler: plain counter events, or recognised ones."""


def counting_key(profile: ExerciseProfile) -> tuple[object, ...]:
    """What makes two profiles count identically (the same events from the same frames)."""
    pose = profile.pose
    signal = None if pose is None else (tuple(sorted(pose.joints)), pose.height, pose.rest_position, pose.min_range)
    return (signal, pose.split_lagging if pose else None, profile.min_rep_s, profile.max_rep_s, profile.rel_min_range)


class RecognizingPoseCounter:
    """Counts the reps of one person whose exercise is one of ``candidates``, recognising which.

    Args:
        candidates: the station's exercises; None for every profile.
        timing: the station's counter timings, for every candidate's counter.
        recognizer: recogniser settings.
    """

    def __init__(
        self,
        candidates: Iterable[Exercise | str] | None = None,
        *,
        timing: TimingOverrides | None = None,
        recognizer: RecognizerSettings | None = None,
    ) -> None:
        self._recognizer = ExerciseRecognizer(candidates, recognizer)
        self.candidates = self._recognizer.candidates
        self._timing = timing
        keys = {e: counting_key(profile_for(e)) for e in self.candidates}
        distinct = list(dict.fromkeys(keys.values()))
        self._engine_of: dict[Exercise, int] = {e: distinct.index(k) for e, k in keys.items()}
        self._start()

    @property
    def counters(self) -> int:
        """How many counters run per frame (distinct counting configurations)."""
        return len(self._engines)

    @property
    def last_value(self) -> float | None:
        """The latest signal value of the recognised exercise's counter (the first one's before a decision)."""
        engine = self._engines[self._engine_of[self._leader]] if self._leader is not None else self._engines[0]
        return engine.last_value

    @property
    def recognition(self) -> Recognition | None:
        """The current decision (None before there is enough evidence)."""
        return self._recognizer.current

    def _start(self) -> None:
        first: dict[int, Exercise] = {}
        for e, i in self._engine_of.items():
            first.setdefault(i, e)
        self._engines = [PoseRepEngine(first[i], timing=self._timing) for i in sorted(first)]
        self._open: set[int] = set()  # counters with an open set
        self._new_set()

    def _new_set(self) -> None:
        """Forget the set: every counter's reps since it began, the decision, the recogniser."""
        self._reps: list[list[RepMeasurement]] = [[] for _ in self._engines]
        self._partials = [0] * len(self._engines)
        self._quality: list[str | None] = [None] * len(self._engines)  # each counter's last ended set's
        self._started: SetStarted | None = None  # the leader's start, once passed on
        self._leader: Exercise | None = None
        self._recognizer.reset()

    def reps(self, exercise: Exercise) -> int:
        """Reps counted so far in the open set if the set is ``exercise``."""
        return len(self._reps[self._engine_of[exercise]])

    def update(self, t_s: float, landmarks: npt.ArrayLike | None, *,
               frame_size: tuple[int, int] | None = None) -> list[RecognizingEvent]:
        """Feed one frame to the recogniser and every counter; returns the recognised exercise's events.

        ``frame_size`` (width, height in pixels) goes to every counter (see :meth:`PoseRepEngine.update`).
        """
        per_engine = self._book([engine.update(t_s, landmarks, frame_size=frame_size) for engine in self._engines])
        self._recognizer.update(t_s, landmarks)
        rec = self._recognizer.decide(t_s) if self._restrict() else self._recognizer.current
        return self._route(per_engine, rec)

    def finish(self, t_s: float) -> list[RecognizingEvent]:
        """End of the source: close every counter and the set, with the final decision."""
        per_engine = self._book([engine.finish(t_s) for engine in self._engines])
        self._restrict()
        out = self._route(per_engine, self._recognizer.finish(t_s))
        self._start()
        return out

    def _book(self, per_engine: list[list[CountEvent]]) -> list[list[CountEvent]]:
        """Keep track of every counter's open set and reps; returns the events with reps numbered in this set.

        A counter may end and restart its own set inside the recognised one; its reps keep counting on.
        """
        numbered: list[list[CountEvent]] = []
        for i, events in enumerate(per_engine):
            mine: list[CountEvent] = []
            for ev in events:
                if isinstance(ev, RepCompleted):
                    rep = replace(ev.rep, index=len(self._reps[i]) + 1)
                    self._reps[i].append(rep)
                    mine.append(RepCompleted(rep))
                    continue
                if isinstance(ev, SetStarted):
                    self._open.add(i)
                elif isinstance(ev, SetEnded):
                    self._open.discard(i)
                    self._quality[i] = ev.quality
                else:
                    self._partials[i] += 1
                mine.append(ev)
            numbered.append(mine)
        return numbered

    def _restrict(self) -> bool:
        """Once some counter has reps, only exercises whose counter has any may be recognised.

        A profile whose signal shows no completed rep cannot be what the person is repeating. Returns
        True when the eligible set changed.
        """
        counted = [i for i, reps in enumerate(self._reps) if reps]
        eligible = None if not counted else frozenset(e for e, i in self._engine_of.items() if i in counted)
        changed = eligible != self._recognizer.eligible
        self._recognizer.eligible = eligible
        return changed

    def _route(self, per_engine: list[list[CountEvent]], rec: Recognition | None) -> list[RecognizingEvent]:
        """Pass on the leader's events; close the set when no counter is in one any more."""
        out: list[RecognizingEvent] = []
        out += self._follow(rec)
        # A hand-over lists the new leader's reps so far, this frame's included: do not pass those on again.
        handed_over = any(isinstance(e, ExerciseChanged) for e in out)
        leader = self._leader
        if leader is not None:
            conf = rec.confidence if rec is not None else 0.0
            for ev in per_engine[self._engine_of[leader]]:
                if isinstance(ev, SetStarted) and self._started is None:
                    self._started = ev
                    out.append(RecognizedEvent(ev, leader, conf))
                elif isinstance(ev, RepCompleted | PartialRep) and not handed_over:
                    out.append(RecognizedEvent(ev, leader, conf))
        if not self._open and any(self._reps):
            out += self._close(rec)
        return out

    def _follow(self, rec: Recognition | None) -> list[RecognizingEvent]:
        """Take the recogniser's decision; a change during the set hands over the new counter's reps."""
        if rec is None or rec.exercise == self._leader:
            return []
        previous, self._leader = self._leader, rec.exercise
        reps = self._reps[self._engine_of[rec.exercise]]
        if previous is None and not reps:
            return []  # decided before the first rep: its events follow as they come
        out: list[RecognizingEvent] = []
        if self._started is None and reps:
            self._started = SetStarted(reps[0].start_s, None)
            out.append(RecognizedEvent(self._started, rec.exercise, rec.confidence))
        i = self._engine_of[rec.exercise]
        out.append(ExerciseChanged(previous, rec.exercise, rec.confidence, tuple(reps), self._partials[i]))
        return out

    def _close(self, rec: Recognition | None) -> list[RecognizingEvent]:
        """Every counter's set is over: end the set at the leader's last rep, and start afresh."""
        leader = self._leader or (rec.exercise if rec is not None else self.candidates[0])
        reps = self._reps[self._engine_of[leader]]
        out: list[RecognizingEvent] = []
        if reps:
            end = SetEnded(reps[-1].end_s, self._quality[self._engine_of[leader]])
            if rec is None:
                out.append(RecognizedEvent(end, leader, 0.0))
            else:
                out.append(RecognizedEvent(end, leader, rec.confidence, rec.runner_up, rec.runner_up_confidence))
        self._new_set()
        return out
