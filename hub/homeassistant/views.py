"""Home Assistant's views of the journal: each station's last set, each member's day, as wire models.

Blocking (SQLite): the bridge calls it from worker threads. It reads through a :class:`JournalReader` of its
own (WAL lets it read while the hub writes) and never writes.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

from replens.contract import LastSet, MemberState, SetCompleted, SetField, StrengthEstimate
from replens.hub.journal import JournalReader, RecordedSet
from replens.hub.journal.reads import Strength
from replens.local_days import week_start


class JournalViews:
    def __init__(self, path: Path) -> None:
        self._reader = JournalReader(path)
        self.path = path

    def version(self) -> int:
        """Changes whenever another connection (the hub's, the CLI's) committed to the journal."""
        return self._reader.version()

    def last_set(self, agent_id: str, station: str, names: Mapping[str, str]) -> LastSet | None:
        """The station's most recent ended set, with its member as the hub decided."""
        found = self._reader.last_ended_set(agent_id, station)
        return None if found is None else last_set(found, names)

    def completed(self, set_id: str, names: Mapping[str, str]) -> SetCompleted | None:
        found = self._reader.ended_set(set_id)
        if found is None:
            return None
        return SetCompleted(**last_set(found, names).model_dump(exclude={"schema_version"}))

    def member_of(self, set_id: str) -> str | None:
        """The set's member as the hub decided so far; None when unknown (or the set not recorded yet)."""
        found = self._reader.sets_by_id([set_id])
        return found[0].member if found else None

    def member_state(self, member_id: str, name: str, present: bool, day_start: datetime) -> MemberState:
        """Today's totals (sets started since ``day_start``) and the week's (from its Monday), the last set, seen.

        The last set and when the member was last seen are of any day.
        """
        names = {member_id: name}
        sets_this_week = [last_set(s, names) for s in self._reader.member_sets(member_id, week_start(day_start))]
        sets_today = [s for s in sets_this_week if s.started_at >= day_start]
        newest = self._reader.member_last_set(member_id)
        last = None if newest is None else last_set(newest, names)
        seen_at = self._reader.member_last_seen(member_id)
        seen = [seen_at] if seen_at is not None else []
        if last is not None:
            seen.append(last.ended_at or last.started_at)
        return MemberState(
            member=member_id,
            name=name,
            reps_today=sum(s.reps for s in sets_today),
            sets_today=len(sets_today),
            volume_today_kg=round(sum(s.volume_kg or 0.0 for s in sets_today), 3),
            volume_week_kg=round(sum(s.volume_kg or 0.0 for s in sets_this_week), 3),
            last_exercise=last.exercise if last else None,
            last_set=last,
            last_seen=max(seen) if seen else None,
            present=present,
            body_weight_kg=self._reader.member_body_weight(member_id),
            strength=(strength := [estimate(s) for s in self._reader.member_strength(member_id)]),
            velocity_e1rm=next((s for s in strength if s.velocity_e1rm_kg is not None), None),
        )

    def members_in_pounds(self) -> set[str]:
        """The members whose unit is lb: their load entities show pounds (the state keeps kg)."""
        return self._reader.members_in_pounds()

    def close(self) -> None:
        self._reader.close()


def estimate(found: Strength) -> StrengthEstimate:
    profile = found.profile
    return StrengthEstimate(
        exercise=found.exercise,
        best_e1rm_kg=None if found.best_e1rm_kg is None else round(found.best_e1rm_kg, 1),
        velocity_e1rm_kg=None if profile is None or profile.e1rm_kg is None else round(profile.e1rm_kg, 1),
        velocity_r2=None if profile is None else round(profile.r2, 3),
        velocity_loads=None if profile is None else profile.loads,
        velocity_refused=None if profile is None or profile.refused is None else profile.refused.value,
    )


def last_set(recorded: RecordedSet, names: Mapping[str, str]) -> LastSet:
    member = recorded.member
    return LastSet(
        set_id=recorded.set_id,
        agent_id=recorded.agent_id,
        station=recorded.station,
        exercise=recorded.exercise,
        reps=recorded.reps,
        weight_kg=recorded.weight_kg,
        volume_kg=recorded.volume_kg,
        started_at=recorded.started_at.astimezone(UTC),
        ended_at=recorded.ended_at.astimezone(UTC) if recorded.ended_at else None,
        member=member,
        member_name=names.get(member) if member else None,
        identity_source=recorded.identity_source,
        recognised_exercise=recorded.recognised_exercise,
        exercise_confidence=recorded.exercise_confidence,
        exercise_edited=SetField.EXERCISE in recorded.edited,
    )
