"""The set assembler: counter events in, the set's lifecycle on the wire out, the set kept in one place."""

from __future__ import annotations

from replens.contract import EventKind, Exercise, RepEvent, SetEvent, SetPhase, set_id_for
from replens.device_agent.counting.events import PartialRep, RepCompleted, RepMeasurement, SetEnded, SetStarted
from replens.device_agent.sets import SetAssembler, set_end

T0 = 1_795_705_137.0


def rep(index: int, start_s: float) -> RepMeasurement:
    return RepMeasurement(index=index, start_s=start_s, turn_s=start_s + 1.0, end_s=start_s + 2.5, rom=80.0,
                          concentric_s=1.0, eccentric_s=1.5, confidence=0.9)


def test_a_set_goes_new_update_end_with_its_reps_and_wall_times() -> None:
    sets = SetAssembler("rack", "bench", Exercise.BENCH_PRESS, weight_kg=60.0)
    drafts = sets.take([SetStarted(start_s=2.0, rest_before_s=None), RepCompleted(rep(1, 2.0))], T0)
    assert sets.open is not None and sets.open.set_id == set_id_for("rack", "bench", T0 + 2.0)
    drafts += sets.take([RepCompleted(rep(2, 5.0)), PartialRep(start_s=8.0, end_s=9.0, rom=30.0)], T0)
    drafts += sets.take([SetEnded(end_s=7.5)], T0 + 0.25)  # the wall clock may drift against media time
    events = [d.build(seq) for seq, d in enumerate(drafts, start=1)]
    assert [d.kind for d in drafts] == [EventKind.REPS, EventKind.SETS, EventKind.REPS, EventKind.SETS,
                                        EventKind.SETS, EventKind.SETS]
    set_events = [e for e in events if isinstance(e, SetEvent)]
    assert [(e.event, e.reps, e.partial_reps) for e in set_events] == [
        (SetPhase.NEW, 1, 0), (SetPhase.UPDATE, 2, 0), (SetPhase.UPDATE, 2, 1), (SetPhase.END, 2, 1)]
    end = set_events[-1]
    assert end.started_at.timestamp() == T0 + 2.0 and end.ended_at is not None
    assert end.ended_at.timestamp() == T0 + 0.25 + 7.5 and end.weight_kg == 60.0
    assert [r.index for r in end.rep_summaries] == [1, 2]
    second = events[2]
    assert isinstance(second, RepEvent) and second.started_at.timestamp() == T0 + 5.0
    (finished,) = sets.finished
    assert sets.open is None and finished.reps == (rep(1, 2.0), rep(2, 5.0)) and finished.partial_reps == 1
    assert (finished.started_wall_s, finished.ended_wall_s) == (T0 + 2.0, T0 + 7.75)


def test_events_outside_a_set_make_nothing() -> None:
    sets = SetAssembler("rack", "bench", Exercise.BENCH_PRESS)
    assert sets.take([RepCompleted(rep(1, 0.0)), PartialRep(0.0, 1.0, 5.0), SetEnded(end_s=2.5)], T0) == []
    assert sets.finished == []


def test_a_set_left_open_ends_as_its_latest_event_said() -> None:
    sets = SetAssembler("rack", "bench", Exercise.BENCH_PRESS)
    last = sets.take([SetStarted(start_s=0.0, rest_before_s=90.0), RepCompleted(rep(1, 0.0))], T0)[-1].build(41)
    assert isinstance(last, SetEvent)
    end = set_end(last, T0 + 30.0).build(42)
    assert isinstance(end, SetEvent) and end.seq == 42
    assert end.event is SetPhase.END and end.ended_at is not None and end.ended_at.timestamp() == T0 + 30.0
    assert end.model_dump(exclude={"seq", "event", "ended_at"}) == last.model_dump(exclude={"seq", "event", "ended_at"})
