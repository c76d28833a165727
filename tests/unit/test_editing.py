"""The hub's side of corrections over MQTT: a station's last set resolved, the path recorded, refusals counted."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from replens.contract import EditLastCommand, EditVia, Exercise, SetEdit, SetEvent, SetPhase
from replens.hub.editing import EditStep
from replens.hub.journal import Inbound, Journal
from replens.hub.stats import HubCounters

START = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def ended(seq: int, minutes: int, station: str = "floor", phase: SetPhase = SetPhase.END) -> SetEvent:
    start = START + timedelta(minutes=minutes)
    return SetEvent(agent_id="a1", seq=seq, set_id=f"a1.{station}.{seq}", station=station, exercise=Exercise.SQUAT,
                    event=phase, reps=5, started_at=start,
                    ended_at=start + timedelta(seconds=20) if phase is SetPhase.END else None)


def test_an_edit_of_the_last_set_goes_to_the_stations_last_ended_set(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite3")
    journal.record(Inbound(events=[ended(1, 0), ended(2, 5), ended(3, 9, phase=SetPhase.NEW), ended(4, 7, "bench")]))
    counters = HubCounters()
    step = EditStep(journal, counters)
    command = EditLastCommand(edit_id="ha.1", agent_id="a1", station="floor", exercise=Exercise.LUNGE,
                              by="homeassistant")
    edited = asyncio.run(step.apply([], [command, command]))
    assert edited.changed == 1 and counters.counts["edits"] == 1 and counters.counts["edits_duplicate"] == 1
    assert [(s.set_id, s.exercise) for s in journal.sets()] == [
        ("a1.floor.1", Exercise.SQUAT), ("a1.floor.2", Exercise.LUNGE), ("a1.bench.4", Exercise.SQUAT),
        ("a1.floor.3", Exercise.SQUAT)]
    (trail,) = journal.set_edits("a1.floor.2")
    assert (trail.edit_id, trail.via, trail.by) == ("ha.1", EditVia.HOMEASSISTANT, "homeassistant")


def test_refused_edits_are_counted_and_change_nothing(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite3")
    journal.record(Inbound(events=[ended(1, 0), ended(2, 1, "squat_rack", SetPhase.NEW)]))
    depth = journal.points_depth()[0]
    counters = HubCounters()
    step = EditStep(journal, counters)
    asyncio.run(step.apply(
        [SetEdit(edit_id="m1", set_id="a1.floor.99", exercise=Exercise.LUNGE, by="phone")],
        [EditLastCommand(edit_id="m2", agent_id="a1", station="squat_rack", exercise=Exercise.LUNGE),
         EditLastCommand(edit_id="m3", agent_id="a9", station="floor", exercise=Exercise.LUNGE)]))
    assert counters.counts["edits_rejected"] == 3 and counters.counts["edits"] == 0
    assert "edit m1: no set 'a1.floor.99'" in (counters.last_rejection or "")  # resolved first, applied last
    assert journal.points_depth()[0] == depth and all(journal.set_edits(s.set_id) == [] for s in journal.sets())
    asyncio.run(step.apply([SetEdit(edit_id="m4", set_id="a1.floor.1", exercise=Exercise.LUNGE, by="phone")], []))
    assert journal.set_edits("a1.floor.1")[0].via is EditVia.MQTT
