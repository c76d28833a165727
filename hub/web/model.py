"""What the members' page shows, computed from the journal's records: a week, an exercise's history, records.

Pure functions over :class:`RecordedSet` lists (the same records Home Assistant's views and the report read),
so they are tested without a server. Loads in kg, range of motion in cm and velocity in m/s: a value the camera
measured only in pixels (an uncalibrated station) is left out, never shown in pixels.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from replens.contract import Exercise
from replens.hub.journal import RecordedSet, RepMeans, Visit
from replens.local_days import week_start
from replens.strength import epley_kg


def e1rm_kg(weight_kg: float | None, reps: int) -> float | None:
    """Epley, as the hub stores it (:func:`replens.strength.epley_kg`), to 0.1 kg; None where that gives none."""
    value = None if weight_kg is None else epley_kg(weight_kg, reps)
    return None if value is None else round(value, 1)


def rom_cm(s: RecordedSet) -> float | None:
    """Mean range of motion of the set's reps in cm, when the station is calibrated (else None, never pixels)."""
    metres = [r.rom_m for r in s.rep_details if r.rom_m is not None]
    return round(100 * sum(metres) / len(metres), 1) if metres else None


@dataclass(frozen=True, slots=True)
class Totals:
    sets: int
    reps: int
    volume_kg: float
    """Reps × load summed over the sets with a known load."""

    @classmethod
    def of(cls, sets: Iterable[RecordedSet]) -> Totals:
        listed = list(sets)
        return cls(len(listed), sum(s.reps for s in listed), round(sum(s.volume_kg or 0.0 for s in listed), 1))


@dataclass(frozen=True, slots=True)
class Day:
    day: date
    sets: tuple[RecordedSet, ...]

    @property
    def totals(self) -> Totals:
        return Totals.of(self.sets)


@dataclass(frozen=True, slots=True)
class Week:
    """The member's week (Monday first, local time) up to now; ``days`` newest first, days without sets left out."""

    start: date
    today: date
    days: tuple[Day, ...]

    @property
    def totals(self) -> Totals:
        return Totals.of(s for d in self.days for s in d.sets)

    @property
    def today_sets(self) -> tuple[RecordedSet, ...]:
        return next((d.sets for d in self.days if d.day == self.today), ())


def week_of(sets: Sequence[RecordedSet], now: datetime) -> Week:
    by_day: defaultdict[date, list[RecordedSet]] = defaultdict(list)
    for s in sets:
        by_day[s.started_at.astimezone().date()].append(s)
    days = tuple(Day(d, tuple(sorted(by_day[d], key=lambda s: s.started_at))) for d in sorted(by_day, reverse=True))
    return Week(week_start(now).date(), now.astimezone().date(), days)


@dataclass(frozen=True, slots=True)
class HistoryPoint:
    """One training day of one exercise: its best e1RM, volume, mean velocity and ROM (None where unmeasured)."""

    day: date
    sets: int
    reps: int
    volume_kg: float
    best_e1rm_kg: float | None
    mean_velocity_m_s: float | None
    mean_rom_cm: float | None


def history(sets: Sequence[tuple[RecordedSet, RepMeans]]) -> list[HistoryPoint]:
    """Per training day, oldest first, from one exercise's sets with their reps' means.

    The day's velocity is the mean over its reps with a velocity; its range of motion the mean of its sets'.
    """
    by_day: defaultdict[date, list[tuple[RecordedSet, RepMeans]]] = defaultdict(list)
    for s, means in sets:
        by_day[s.started_at.astimezone().date()].append((s, means))
    points = []
    for day in sorted(by_day):
        theirs = by_day[day]
        e1rms = [v for s, _ in theirs if (v := e1rm_kg(s.lifted_kg, s.reps)) is not None]
        weighted = [(m.mean_velocity_m_s, m.velocity_reps) for _, m in theirs if m.mean_velocity_m_s is not None]
        counted = sum(k for _, k in weighted)
        roms = [100 * m.mean_rom_m for _, m in theirs if m.mean_rom_m is not None]
        totals = Totals.of(s for s, _ in theirs)
        points.append(HistoryPoint(
            day=day, sets=totals.sets, reps=totals.reps, volume_kg=totals.volume_kg,
            best_e1rm_kg=max(e1rms) if e1rms else None,
            mean_velocity_m_s=round(sum(v * k for v, k in weighted) / counted, 3) if counted else None,
            mean_rom_cm=round(sum(roms) / len(roms), 1) if roms else None,
        ))
    return points


@dataclass(frozen=True, slots=True)
class Record:
    """A member's bests at one exercise, each with the set that made it."""

    exercise: Exercise
    most_reps: int
    most_reps_set: str
    heaviest_kg: float | None
    heaviest_set: str | None
    best_e1rm_kg: float | None
    best_e1rm_set: str | None


def records(sets: Sequence[RecordedSet]) -> list[Record]:
    by_exercise: defaultdict[Exercise, list[RecordedSet]] = defaultdict(list)
    for s in sets:
        by_exercise[s.exercise].append(s)
    found = []
    for exercise in sorted(by_exercise):
        theirs = by_exercise[exercise]
        most = max(theirs, key=lambda s: (s.reps, s.started_at))
        loaded = [s for s in theirs if s.lifted_kg is not None]
        heaviest = max(loaded, key=lambda s: (s.lifted_kg or 0.0, s.reps)) if loaded else None
        best = max(loaded, key=lambda s: e1rm_kg(s.lifted_kg, s.reps) or 0.0) if loaded else None
        found.append(Record(
            exercise=exercise, most_reps=most.reps, most_reps_set=most.set_id,
            heaviest_kg=heaviest.lifted_kg if heaviest else None, heaviest_set=heaviest.set_id if heaviest else None,
            best_e1rm_kg=e1rm_kg(best.lifted_kg, best.reps) if best else None,
            best_e1rm_set=best.set_id if best else None,
        ))
    return found


def presence_windows(visits: Sequence[Visit], member: str, timeout_s: float) -> list[tuple[datetime, datetime]]:
    """When the member was in the gym: from each visit's first sight to its last plus the presence timeout."""
    timeout = timedelta(seconds=timeout_s)
    return [(v.started_at, (v.ended_at or v.seen_at) + timeout) for v in visits if v.member == member]


def sets_in_windows(sets: Sequence[RecordedSet], windows: Sequence[tuple[datetime, datetime]]) -> list[RecordedSet]:
    """The sets that started inside one of the windows, newest first."""
    inside = [s for s in sets if any(t0 <= s.started_at <= t1 for t0, t1 in windows)]
    return sorted(inside, key=lambda s: s.started_at, reverse=True)
