"""Which barbell lift is this set? Told from the bar path alone: where the bar rests, and how far it travels.

A plate tracked from the side gives no body, only the bar's path. Two facts of it separate lifts:

* **The rest side.** A set starts with the bar at rest: high for a squat or a bench press (taken from the
  rack), low for a deadlift, an overhead press or a row (from the floor, the shoulders, the hang). So the
  bar's first move in a set goes down from a high rest, or up from a low one.
* **The range of motion** in metres (from the plate's size), compared with each lift's typical range.

Lifts that share both (a deadlift and an overhead press) stay close in confidence: the recogniser says
so rather than guess. The typical ranges are general biomechanics, checked against the MIT-licensed vbt
tracks (Kinovea: squat 0.86–1.03 m, bench press 0.41–0.53 m, deadlift 0.47–0.58 m; motion capture:
squat ≈ 0.74 m, deadlift ≈ 0.53 m), not fitted to any unlicensed recording.

Counting: one :class:`TrajectoryRepEngine` per rest side among the candidates runs on every sample, so
whichever lift is recognised, its side's engine counted the whole set (as :mod:`recognizing` does for
pose); the events passed on are the recognised side's, tagged with the lift.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any, Literal

from replens.contract.exercises import BARBELL_LIFTS, Exercise
from replens.device_agent.counting.events import (
    CountEvent,
    PartialRep,
    RepCompleted,
    RepMeasurement,
    SetEnded,
    SetStarted,
)
from replens.device_agent.counting.profiles import profile_for
from replens.device_agent.counting.recognizing import ExerciseChanged, RecognizedEvent, RecognizingEvent
from replens.device_agent.counting.trajectory import TrajectoryRepEngine
from replens.errors import ConfigError

Side = Literal["low", "high"]

TYPICAL_ROM_M: dict[Exercise, tuple[float, float]] = {  # one entry per BARBELL_LIFTS
    Exercise.SQUAT: (0.80, 0.15),
    Exercise.BENCH_PRESS: (0.45, 0.08),
    Exercise.DEADLIFT: (0.53, 0.07),
    Exercise.OVERHEAD_PRESS: (0.55, 0.10),
    Exercise.BARBELL_ROW: (0.35, 0.08),
}
"""Mean and spread of the bar's vertical travel per rep, metres."""
SIDE_SHARPNESS = 0.1  # how sure a first move of a given direction makes us (logistic scale on 0..1)
HISTORY_S = 30.0  # covers the longest rep (engine max 15 s) from its start to its completion


@dataclass(frozen=True, slots=True)
class BarDecision:
    exercise: Exercise
    confidence: float
    runner_up: Exercise | None
    runner_up_confidence: float | None


class RecognizingTrajectoryCounter:
    """A barbell station hosting several lifts: counts with every rest side's engine, names the lift.

    Args:
        candidates: barbell lifts (each needs a typical range in :data:`TYPICAL_ROM_M`).
        engine: keyword arguments for every :class:`TrajectoryRepEngine` (scale, timings, ...).
    """

    def __init__(self, candidates: Iterable[Exercise] | None, **engine: Any) -> None:
        self.candidates = tuple(sorted(BARBELL_LIFTS) if candidates is None else (Exercise(c) for c in candidates))
        unknown = [c.value for c in self.candidates if c not in TYPICAL_ROM_M]
        if unknown or not self.candidates:
            raise ConfigError(f"a barbell station recognises only {', '.join(e.value for e in TYPICAL_ROM_M)} "
                              f"from the bar path (not: {', '.join(unknown) or 'none given'})")
        sides: list[Side] = sorted({profile_for(c).rest_position for c in self.candidates})
        self._engines: dict[Side, TrajectoryRepEngine] = {
            side: TrajectoryRepEngine(self.candidates[0], rest_position=side, **engine) for side in sides
        }
        self._new_set()

    def _new_set(self) -> None:
        self._reps: dict[Side, list[RepMeasurement]] = {side: [] for side in self._engines}
        self._open: set[Side] = set()
        self._first_move: tuple[float, float] | None = None  # (time, bar position) of the set's first move
        self._trace: deque[tuple[float, float]] = deque()
        self._leader: BarDecision | None = None
        self._started = False

    def update(self, t_s: float, x: float | None, y: float | None,
               plate_size: float | tuple[float, float] | None = None) -> list[RecognizingEvent]:
        per_side = {side: engine.update(t_s, x, y, plate_size) for side, engine in self._engines.items()}
        self._remember(t_s)
        return self._route(per_side)

    def finish(self, t_s: float) -> list[RecognizingEvent]:
        out = self._route({side: engine.finish(t_s) for side, engine in self._engines.items()})
        self._new_set()
        return out

    def decide(self) -> BarDecision | None:
        """The lift from the evidence so far (None before any side has counted a rep)."""
        scores: dict[Exercise, float] = {}
        high = self._high_rest_probability()
        for lift in self.candidates:
            side = profile_for(lift).rest_position
            reps = self._reps.get(side, [])
            roms = [r.rom_m for r in reps if r.rom_m is not None]
            if not reps:
                continue
            p_side = high if side == "high" else 1.0 - high
            score = math.log(max(p_side, 1e-6))
            if roms:
                mean, spread = TYPICAL_ROM_M[lift]
                score += -0.5 * ((sum(roms) / len(roms) - mean) / spread) ** 2
            scores[lift] = score
        if not scores:
            return None
        top = max(scores.values())
        weights = {lift: math.exp(s - top) for lift, s in scores.items()}
        total = sum(weights.values())
        ranked = sorted(weights, key=lambda lift: -weights[lift])
        runner = ranked[1] if len(ranked) > 1 else None
        return BarDecision(ranked[0], weights[ranked[0]] / total, runner,
                           None if runner is None else weights[runner] / total)

    # internals ----------------------------------------------------------------------------------------
    def _remember(self, t_s: float) -> None:
        engine = next(iter(self._engines.values()))
        position = engine.position
        if position is None:
            return
        self._trace.append((t_s, position))
        while self._trace and self._trace[0][0] < t_s - HISTORY_S:
            self._trace.popleft()

    def _high_rest_probability(self) -> float:
        """From the set's first move: down from a high rest, or up from a low one (0.5 when unknown)."""
        if self._first_move is None:
            return 0.5
        t0, start = self._first_move
        later = [p for t, p in self._trace if t >= t0]
        if not later:
            return 0.5
        lo, hi = min(*later, start), max(*later, start)
        if hi - lo <= 0.0:
            return 0.5
        where = (start - lo) / (hi - lo)  # 1: the set started at the top of its travel
        return 1.0 / (1.0 + math.exp(-(where - 0.5) / SIDE_SHARPNESS))

    def _book(self, per_side: dict[Side, list[CountEvent]]) -> dict[Side, list[CountEvent]]:
        numbered: dict[Side, list[CountEvent]] = {}
        for side, events in per_side.items():
            mine: list[CountEvent] = []
            for ev in events:
                if isinstance(ev, RepCompleted):
                    rep = replace(ev.rep, index=len(self._reps[side]) + 1)
                    self._reps[side].append(rep)
                    if self._first_move is None or rep.start_s < self._first_move[0]:
                        self._first_move = (rep.start_s, self._position_at(rep.start_s))
                    mine.append(RepCompleted(rep))
                    continue
                if isinstance(ev, SetStarted):
                    self._open.add(side)
                elif isinstance(ev, SetEnded):
                    self._open.discard(side)
                mine.append(ev)
            numbered[side] = mine
        return numbered

    def _position_at(self, t_s: float) -> float:
        before = [p for t, p in self._trace if t <= t_s]
        return before[-1] if before else (self._trace[0][1] if self._trace else 0.0)

    def _route(self, per_side: dict[Side, list[CountEvent]]) -> list[RecognizingEvent]:
        per_side = self._book(per_side)
        decision = self.decide()
        out: list[RecognizingEvent] = []
        if decision is not None and (self._leader is None or decision.exercise != self._leader.exercise):
            out += self._changed(decision)
        elif decision is not None:
            self._leader = decision
        handed_over = any(isinstance(e, ExerciseChanged) for e in out)  # it listed this update's reps already
        leader = self._leader
        if leader is not None:
            side = profile_for(leader.exercise).rest_position
            for ev in per_side.get(side, []):
                if isinstance(ev, SetStarted) and not self._started:
                    self._started = True
                    out.append(RecognizedEvent(ev, leader.exercise, leader.confidence))
                elif isinstance(ev, RepCompleted | PartialRep) and not handed_over:
                    out.append(RecognizedEvent(ev, leader.exercise, leader.confidence))
        if not self._open and any(self._reps.values()):
            out += self._close()
        return out

    def _changed(self, decision: BarDecision) -> list[RecognizingEvent]:
        previous, self._leader = self._leader, decision
        reps = self._reps[profile_for(decision.exercise).rest_position]
        out: list[RecognizingEvent] = []
        if not self._started and reps:
            self._started = True
            out.append(RecognizedEvent(SetStarted(reps[0].start_s, None), decision.exercise, decision.confidence))
        if previous is not None or reps:
            out.append(ExerciseChanged(None if previous is None else previous.exercise, decision.exercise,
                                       decision.confidence, tuple(reps)))
        return out

    def _close(self) -> list[RecognizingEvent]:
        decision = self._leader or self.decide()
        out: list[RecognizingEvent] = []
        if decision is not None:
            reps = self._reps[profile_for(decision.exercise).rest_position]
            if reps:
                out.append(RecognizedEvent(SetEnded(reps[-1].end_s), decision.exercise, decision.confidence,
                                           decision.runner_up, decision.runner_up_confidence))
        self._new_set()
        return out
