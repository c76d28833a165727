"""The velocity-loss stop cue: the loss as replens.metrics defines it (fastest rep to latest), once per set."""

from __future__ import annotations

import pytest

from replens.config.agent import CounterConfig, StationConfig
from replens.contract import EventKind, Exercise, Topics, VelocityLossReached, decode_incoming, set_id_for
from replens.device_agent.counting.events import RepCompleted, RepMeasurement, SetEnded, SetStarted
from replens.device_agent.counting.recognizing import ExerciseChanged
from replens.device_agent.sets import SetAssembler
from replens.device_agent.station import Station
from replens.device_agent.velocity_loss import VelocityLossWatch, loss_reached
from replens.errors import ContractError

T0 = 1_795_705_137.0


def rep(index: int, velocity: float | None) -> RepMeasurement:
    start = 3.0 * index
    return RepMeasurement(index=index, start_s=start, turn_s=start + 1.0, end_s=start + 2.5, rom=80.0,
                          concentric_s=1.0, eccentric_s=1.5, confidence=0.9, rom_m=0.5 if velocity else None,
                          mean_velocity_m_s=velocity)


def lift(velocities: list[float | None], target_pct: float, *, end: bool = True) -> list[VelocityLossReached]:
    """The cues one set with these reps' mean velocities gives, rep by rep as a station sees them."""
    sets = SetAssembler("rack", "bench", Exercise.BENCH_PRESS)
    watch = VelocityLossWatch("rack", "bench", target_pct)
    cues = watch.observe(sets.take([SetStarted(start_s=3.0, rest_before_s=None)], T0), T0)
    for index, velocity in enumerate(velocities, start=1):
        cues += watch.observe(sets.take([RepCompleted(rep(index, velocity))], T0), T0 + 3.0 * index)
    if end:
        cues += watch.observe(sets.take([SetEnded(end_s=3.0 * len(velocities) + 3.0)], T0), T0 + 99.0)
    return cues


def test_the_cue_comes_once_at_the_first_rep_that_reaches_the_target() -> None:
    (cue,) = lift([0.50, 0.48, 0.44, 0.40, 0.35, 0.30], 20.0)
    assert (cue.reps, cue.target_pct) == (4, 20.0) and cue.loss_pct == pytest.approx(20.0)
    assert (cue.best_velocity_m_s, cue.latest_velocity_m_s) == (0.50, 0.40)
    assert (cue.agent_id, cue.station, cue.exercise) == ("rack", "bench", Exercise.BENCH_PRESS)
    assert cue.set_id == set_id_for("rack", "bench", T0 + 3.0) and cue.at.timestamp() == T0 + 12.0
    assert cue.member is None  # the agent never knows it; the hub fills it in where it does


def test_the_loss_is_from_the_fastest_rep_not_the_first() -> None:
    """A set often speeds up over its first reps: velocity-based training measures from the best one."""
    (cue,) = lift([0.40, 0.50, 0.45, 0.39], 20.0)
    assert (cue.reps, cue.best_velocity_m_s) == (4, 0.50) and cue.loss_pct == pytest.approx(22.0)


def test_a_slow_rep_then_faster_ones_cues_at_the_slow_one_and_only_there() -> None:
    (cue,) = lift([0.50, 0.35, 0.52, 0.30], 25.0)
    assert cue.reps == 2 and cue.loss_pct == pytest.approx(30.0)


def test_below_the_target_or_without_velocities_never_cues() -> None:
    assert lift([0.50, 0.45, 0.42], 20.0) == []  # 16 %
    assert lift([None, None, None, None], 5.0) == []  # a stack without meters_per_unit: no speed at all
    assert lift([0.50], 1.0) == []  # one rep: no loss yet


def test_a_rep_without_velocity_decides_nothing_the_next_measured_one_does() -> None:
    assert loss_reached([0.50, 0.30, None], 20.0) is None
    (cue,) = lift([0.50, None, 0.39], 20.0)
    assert (cue.reps, cue.best_velocity_m_s, cue.latest_velocity_m_s) == (3, 0.50, 0.39)


@pytest.mark.parametrize(("target", "reps"), [(5.0, 2), (10.0, 3), (30.0, 5), (45.0, None)])
def test_targets(target: float, reps: int | None) -> None:
    cues = lift([0.60, 0.57, 0.54, 0.48, 0.40], target)  # losses 5, 10, 20, 33.3 %
    assert [c.reps for c in cues] == ([] if reps is None else [reps])


def test_an_ended_set_is_past_cueing_and_the_next_set_cues_again() -> None:
    sets = SetAssembler("rack", "bench", Exercise.BENCH_PRESS)
    watch = VelocityLossWatch("rack", "bench", 10.0)
    first = sets.take([SetStarted(start_s=0.0, rest_before_s=None), RepCompleted(rep(1, 0.5)),
                       RepCompleted(rep(2, 0.4)), SetEnded(end_s=9.0)], T0)
    ended_only = [d for d in first if d.kind is EventKind.SETS and d.fields["event"] == "end"]
    assert watch.observe(ended_only, T0) == []  # the end alone: the set is over
    assert len(watch.observe(first, T0)) == 1
    second = sets.take([SetStarted(start_s=60.0, rest_before_s=50.0), RepCompleted(rep(1, 0.5)),
                        RepCompleted(rep(2, 0.4))], T0)
    (cue,) = watch.observe(second, T0 + 70.0)
    assert cue.set_id == set_id_for("rack", "bench", T0 + 60.0)


def test_the_same_set_never_cues_twice_updates_and_a_changed_exercise_included() -> None:
    sets = SetAssembler("rack", "bench", Exercise.AUTO)
    watch = VelocityLossWatch("rack", "bench", 10.0)
    drafts = sets.take([SetStarted(start_s=0.0, rest_before_s=None), RepCompleted(rep(1, 0.5)),
                        RepCompleted(rep(2, 0.4))], T0)
    assert len(watch.observe(drafts, T0)) == 1
    assert watch.observe(drafts, T0) == []  # the same drafts again
    assert watch.observe(sets.set_load(80.0), T0) == []  # a load update carries the same reps
    changed = ExerciseChanged(None, Exercise.SQUAT, 0.8, (rep(1, 0.5), rep(2, 0.3)))
    assert watch.observe(sets.take([changed], T0), T0) == []  # recognised anew: still the same set
    assert watch.observe(sets.take([RepCompleted(rep(3, 0.2))], T0), T0) == []


def test_the_cue_travels_on_the_agents_own_topic_and_must_name_that_agent() -> None:
    (cue,) = lift([0.50, 0.40], 20.0)
    topics = Topics("replens")
    assert decode_incoming(topics, topics.agent_velocity_loss("rack"), cue.to_json()) == cue
    with pytest.raises(ContractError, match="payload says agent 'rack', the topic says 'other'"):
        decode_incoming(topics, topics.agent_velocity_loss("other"), cue.to_json())
    assert topics.agent_velocity_loss("+") in topics.hub_subscriptions()


def test_the_station_announces_its_target_in_its_state_and_collects_its_cues() -> None:
    plain = Station("rack", "bench", StationConfig(exercise=Exercise.BENCH_PRESS))
    assert plain.velocity_loss is None and plain.state().end_set_at_velocity_loss_pct is None
    station = Station("rack", "bench", StationConfig(exercise=Exercise.BENCH_PRESS, end_set_at_velocity_loss_pct=15,
                                                     counter=CounterConfig(meters_per_unit=0.002)))
    assert station.state().end_set_at_velocity_loss_pct == 15.0
    assert station.velocity_loss is not None and station.velocity_loss.target_pct == 15.0
