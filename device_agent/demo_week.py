"""A realistic synthetic week of gym data: members, stations, sets and reps with tempo and bar velocity.

Used by the dashboard tests (fed through the real agent outbox and hub), the report tests and
``scripts/generate_week.py``. Its events come out of the same set assembler as a station's, each set carrying
its load (``weight_kg``) as a station's current load would.
Pure and seeded: the same ``now`` and seed give the same week. Loads and velocities follow one generic
load-velocity profile (``V0_M_S`` with no load, ``MVT_M_S`` at the one-rep max), reps slow down within
a set (velocity loss) and members get a little stronger from session to session.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from replens.contract import Event, Exercise, set_id_for
from replens.device_agent.counting.events import CountEvent, RepCompleted, RepMeasurement, SetEnded, SetStarted
from replens.device_agent.drafts import Draft
from replens.device_agent.sets import SetAssembler

V0_M_S = 1.6
"""Generic mean concentric velocity with no load."""
MVT_M_S = 0.3
"""Minimum velocity threshold: the mean concentric velocity of a one-rep max."""

GYM: dict[str, dict[str, tuple[Exercise, ...]]] = {
    "rack_1": {"rack": (Exercise.SQUAT, Exercise.OVERHEAD_PRESS, Exercise.DEADLIFT)},
    "bench_1": {"bench": (Exercise.BENCH_PRESS,)},
    "cable_1": {"pulldown": (Exercise.LAT_PULLDOWN,), "row": (Exercise.SEATED_ROW,)},
}
"""Agent id → station → exercises done there. Barbell stations measure velocity, cable stacks do not."""

ROM_M = {Exercise.SQUAT: 0.62, Exercise.OVERHEAD_PRESS: 0.5, Exercise.DEADLIFT: 0.55, Exercise.BENCH_PRESS: 0.42}
STACK_ROM_PX = {Exercise.LAT_PULLDOWN: 190.0, Exercise.SEATED_ROW: 150.0}


@dataclass(frozen=True, slots=True)
class Programme:
    """What one person does: exercises with starting one-rep maxes (kg), session days and start hour."""

    name: str
    one_rep_max_kg: dict[Exercise, float]
    days_ago: tuple[int, ...]
    hour: int
    member: bool = True  # False: a guest, never attributed


PROGRAMMES = (
    Programme("Alice", {Exercise.SQUAT: 95, Exercise.BENCH_PRESS: 55, Exercise.LAT_PULLDOWN: 60}, (6, 4, 2, 0), 7),
    Programme("Bruno", {Exercise.DEADLIFT: 170, Exercise.OVERHEAD_PRESS: 60, Exercise.SEATED_ROW: 80,
                        Exercise.BENCH_PRESS: 100}, (5, 3, 1), 18),
    Programme("Chen", {Exercise.SQUAT: 120, Exercise.BENCH_PRESS: 85, Exercise.LAT_PULLDOWN: 75,
                       Exercise.SEATED_ROW: 70}, (6, 3, 0), 12),
    Programme("guest", {Exercise.BENCH_PRESS: 70, Exercise.LAT_PULLDOWN: 55}, (2,), 16, member=False),
)


@dataclass(frozen=True, slots=True)
class PlannedRep:
    index: int
    started_at: datetime
    eccentric_s: float
    pause_s: float
    concentric_s: float
    rom: float  # tracker units: metres for barbell stations, pixels of stack travel for cable stacks
    rom_m: float | None
    mean_velocity_m_s: float | None
    peak_velocity_m_s: float | None
    confidence: float

    @property
    def duration_s(self) -> float:
        return self.eccentric_s + self.pause_s + self.concentric_s

    @property
    def ended_at(self) -> datetime:
        return self.started_at + timedelta(seconds=self.duration_s)

    def measured(self, exercise: Exercise, since: datetime) -> RepMeasurement:
        """The rep as a counter reports it, in seconds since ``since``."""
        start_s = (self.started_at - since).total_seconds()
        return RepMeasurement(
            index=self.index, start_s=start_s, turn_s=start_s + _first_phase_s(exercise, self) + self.pause_s,
            end_s=start_s + self.duration_s, rom=self.rom, concentric_s=self.concentric_s,
            eccentric_s=self.eccentric_s, confidence=self.confidence, rom_m=self.rom_m,
            mean_velocity_m_s=self.mean_velocity_m_s, peak_velocity_m_s=self.peak_velocity_m_s,
        )


@dataclass(frozen=True, slots=True)
class PlannedSet:
    agent_id: str
    station: str
    exercise: Exercise
    person: str  # the programme's name; members' sets are claimed for them, guests' are not
    weight_kg: float
    reps: tuple[PlannedRep, ...]
    ended: bool
    rest_before_s: float | None

    @property
    def started_at(self) -> datetime:
        return self.reps[0].started_at

    @property
    def ended_at(self) -> datetime:
        return self.reps[-1].ended_at

    @property
    def set_id(self) -> str:
        return set_id_for(self.agent_id, self.station, self.started_at.timestamp())

    def events(self) -> list[Draft]:
        """The agent's events in order, made as a station makes them: its counter's events through the set assembler.

        Media time is seconds since the set's first rep. Per rep a rep event and a set new/update, then the end.
        """
        reps = [rep.measured(self.exercise, since=self.started_at) for rep in self.reps]
        counted: list[CountEvent] = [SetStarted(start_s=0.0, rest_before_s=self.rest_before_s)]
        counted += [RepCompleted(rep) for rep in reps]
        if self.ended:
            counted.append(SetEnded(end_s=reps[-1].end_s))
        assembler = SetAssembler(self.agent_id, self.station, self.exercise, weight_kg=self.weight_kg)
        return assembler.take(counted, self.started_at.timestamp())


@dataclass(frozen=True, slots=True)
class Week:
    now: datetime
    sets: tuple[PlannedSet, ...]
    members: tuple[str, ...] = field(default=tuple(p.name for p in PROGRAMMES if p.member))

    def by_agent(self) -> dict[str, list[PlannedSet]]:
        found: dict[str, list[PlannedSet]] = {}
        for planned in sorted(self.sets, key=lambda s: s.started_at):
            found.setdefault(planned.agent_id, []).append(planned)
        return found

    def rep_count(self) -> int:
        return sum(len(s.reps) for s in self.sets)

    def numbered_events(self) -> list[Event]:
        """Every planned set's events in plan order, numbered from 1 as one outbox would (for a journal)."""
        drafts = [draft for planned in self.sets for draft in planned.events()]
        return [draft.build(seq) for seq, draft in enumerate(drafts, start=1)]


def generate_week(now: datetime, seed: int = 7, programmes: tuple[Programme, ...] = PROGRAMMES) -> Week:
    """Every programme's sessions over the seven days before ``now``; the last set of today is still going."""
    rng = random.Random(seed)  # noqa: S311 - made-up gym data, not secrets
    sets: list[PlannedSet] = []
    for order, programme in enumerate(programmes):
        for session, days_ago in enumerate(sorted(programme.days_ago, reverse=True)):
            if days_ago == 0:  # today: the first programme's session is going on right now, the others ended
                start = now - timedelta(minutes=40 + 50 * order)
            else:
                day = (now - timedelta(days=days_ago)).replace(hour=programme.hour, minute=0, second=0, microsecond=0)
                start = day + timedelta(minutes=rng.uniform(0, 30))
            sets += _session(rng, programme, session, start, now)
    _mark_active(sets, now)
    return Week(now=now, sets=tuple(sorted(sets, key=lambda s: s.started_at)))


def _session(
    rng: random.Random, programme: Programme, session: int, start: datetime, now: datetime
) -> list[PlannedSet]:
    t = start
    out: list[PlannedSet] = []
    for exercise, one_rep_max in programme.one_rep_max_kg.items():
        agent_id, station = _where(exercise)
        one_rep_max_now = one_rep_max * (1 + 0.012 * session)  # a little stronger every session
        rest: float | None = None
        for set_no in range(3):
            weight = round(one_rep_max * (0.72 + 0.03 * set_no + 0.01 * session) / 2.5) * 2.5
            planned = _set(rng, agent_id, station, exercise, programme.name, weight, one_rep_max_now, t, rest)
            if planned.started_at > now - timedelta(seconds=20):
                return out
            out.append(planned)
            rest = rng.uniform(90, 180)
            t = planned.ended_at + timedelta(seconds=rest)
        t += timedelta(seconds=rng.uniform(120, 300))  # walking to the next station
    return out


def _set(  # noqa: PLR0917 - one call site, every argument named there
    rng: random.Random, agent_id: str, station: str, exercise: Exercise, person: str, weight_kg: float,
    one_rep_max_kg: float, start: datetime, rest_before_s: float | None,
) -> PlannedSet:
    relative = min(weight_kg / one_rep_max_kg, 0.97)
    first_velocity = V0_M_S - (V0_M_S - MVT_M_S) * relative
    reps_to_failure = round(30 * (1 / relative - 1))  # Epley's relation, turned around
    count = max(3, min(12, reps_to_failure - rng.randint(1, 3)))
    barbell = exercise in ROM_M
    reps: list[PlannedRep] = []
    t = start
    for index in range(1, count + 1):
        velocity = first_velocity * (1 - 0.035 * (index - 1)) * rng.uniform(0.96, 1.04)
        rom_m = ROM_M[exercise] * rng.uniform(0.95, 1.03) if barbell else None
        rom = rom_m if rom_m is not None else STACK_ROM_PX[exercise] * rng.uniform(0.9, 1.05)
        concentric = rom_m / velocity if rom_m is not None else rng.uniform(0.9, 1.3) * (1 + 0.04 * index)
        rep = PlannedRep(
            index=index, started_at=t, eccentric_s=round(rng.uniform(1.2, 2.0), 3),
            pause_s=round(rng.uniform(0.0, 0.4), 3), concentric_s=round(concentric, 3), rom=round(rom, 3),
            rom_m=None if rom_m is None else round(rom_m, 3),
            mean_velocity_m_s=round(velocity, 3) if barbell else None,
            peak_velocity_m_s=round(velocity * rng.uniform(1.35, 1.6), 3) if barbell else None,
            confidence=round(rng.uniform(0.8, 0.99), 3),
        )
        reps.append(rep)
        t = rep.ended_at + timedelta(seconds=rng.uniform(0.2, 0.6))
    return PlannedSet(agent_id, station, exercise, person, weight_kg, tuple(reps), True, rest_before_s)


def _mark_active(sets: list[PlannedSet], now: datetime) -> None:
    """The latest set is still going: cut it to the reps done by now and leave it without an end."""
    if not sets:
        return
    last = max(range(len(sets)), key=lambda i: sets[i].started_at)
    done = tuple(r for r in sets[last].reps if r.ended_at < now - timedelta(seconds=2)) or sets[last].reps[:1]
    planned = sets[last]
    sets[last] = PlannedSet(planned.agent_id, planned.station, planned.exercise, planned.person, planned.weight_kg,
                            done, False, planned.rest_before_s)


def _where(exercise: Exercise) -> tuple[str, str]:
    for agent_id, stations in GYM.items():
        for station, exercises in stations.items():
            if exercise in exercises:
                return agent_id, station
    raise ValueError(f"no station in the demo gym for {exercise}")


def _first_phase_s(exercise: Exercise, rep: PlannedRep) -> float:
    """Squats and bench presses go down first; pulls, deadlifts and overhead presses go up first."""
    return rep.eccentric_s if exercise in (Exercise.SQUAT, Exercise.BENCH_PRESS) else rep.concentric_s
