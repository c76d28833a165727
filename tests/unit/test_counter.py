"""RepCounter on synthetic signals whose reps, times and velocities are known exactly."""

from __future__ import annotations

import math
import random
import tracemalloc
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from replens.contract import Exercise
from replens.device_agent.counting.counter import CounterSettings, RepCounter
from replens.device_agent.counting.events import (
    CountEvent,
    PartialRep,
    RepCompleted,
    RepMeasurement,
    SetEnded,
    SetStarted,
)
from replens.device_agent.sets import CountedSet, counted_sets
from replens.device_agent.signal import SignalSample
from replens.errors import ConfigError

SETTINGS = CounterSettings(min_range=20.0)
HIGH = replace(SETTINGS, rest_position="high")
HIGH_BASE = 400.0  # where a "high rest" signal sits (e.g. standing hip height in pixels)

# ---------------------------------------------------------------- synthetic signal factories


@dataclass(frozen=True)
class Rep:
    """One rep: eased rise, optional pause at the turning point, eased return, then rest."""

    up_s: float = 1.0
    top_s: float = 0.0
    down_s: float = 1.0
    rest_s: float = 1.0
    amp: float = 100.0


@dataclass(frozen=True)
class Truth:
    start_s: float
    turn_s: float
    end_s: float
    rep: Rep


@dataclass
class Profile:
    """Noise-free position (rest at 0, excursions positive) as eased segments, plus the true reps."""

    segments: list[tuple[float, float, float, float]] = field(default_factory=list)
    truths: list[Truth] = field(default_factory=list)
    duration_s: float = 0.0

    def position(self, t: float) -> float:
        x = 0.0
        for t0, t1, x0, x1 in self.segments:
            if t < t0:
                break
            u = min(1.0, (t - t0) / (t1 - t0))
            x = x0 + (x1 - x0) * (0.5 - 0.5 * math.cos(math.pi * u))
        return x


def profile(reps: Sequence[Rep], lead_s: float = 2.0, tail_s: float = 3.0) -> Profile:
    p, t = Profile(), lead_s
    for r in reps:
        start = t
        p.segments.append((t, t + r.up_s, 0.0, r.amp))
        t += r.up_s + r.top_s
        p.segments.append((t, t + r.down_s, r.amp, 0.0))
        t += r.down_s
        p.truths.append(Truth(start, start + r.up_s + r.top_s / 2, t, r))
        t += r.rest_s
    p.duration_s = t - (reps[-1].rest_s if reps else 0.0) + tail_s
    return p


Stream = list[tuple[float, SignalSample | None]]


def sample(
    p: Profile,
    *,
    hz: tuple[float, float] = (30.0, 30.0),
    noise: float = 0.0,
    drift_per_min: float = 0.0,
    gaps: Sequence[tuple[float, float]] = (),
    spikes: Sequence[tuple[float, float]] = (),
    low_conf_every: int = 0,
    high: bool = False,
    seed: int = 1,
) -> Stream:
    """Sample ``p`` at a rate drawn per step from ``hz``; gaps give None, spikes replace one sample."""
    rng = random.Random(seed)
    out: Stream = []
    t, pending = 0.0, sorted(spikes)
    while t < p.duration_s:
        x = p.position(t) + rng.uniform(-noise, noise) + drift_per_min * t / 60.0
        if pending and t >= pending[0][0]:
            x = pending.pop(0)[1]
        conf = 0.1 if low_conf_every and len(out) % low_conf_every == 0 else 0.9
        if any(g0 <= t < g1 for g0, g1 in gaps):
            out.append((t, None))
        else:
            out.append((t, SignalSample(t, HIGH_BASE - x if high else x, conf)))
        t += 1.0 / rng.uniform(*hz)
    return out


def run(settings: CounterSettings, stream: Stream, finish: bool = True) -> list[tuple[float, CountEvent]]:
    """Feed the stream; returns (time of emission, event) pairs."""
    counter, out = RepCounter(settings), []
    for t, s in stream:
        out += [(t, e) for e in counter.update(s, t)]
    if finish:
        end = stream[-1][0] + 0.01
        out += [(end, e) for e in counter.finish(end)]
    return out


def reps_of(events: list[tuple[float, CountEvent]]) -> list[RepMeasurement]:
    return [e.rep for _, e in events if isinstance(e, RepCompleted)]


def sets_of(events: list[tuple[float, CountEvent]]) -> list[CountedSet]:
    return counted_sets((e for _, e in events), Exercise.LAT_PULLDOWN)


FIVE = [Rep()] * 5
SPREAD = [Rep(rest_s=12.0)] * 8  # two minutes: drift adds up to twice the hysteresis band
MIXED = [Rep(0.5, 0, 0.6), Rep(2.5, 0, 3.0), Rep(0.7, 0, 0.7), Rep(1.5, 0.5, 2.5, rest_s=0.3), Rep(0.4, 0, 0.5)]

# ---------------------------------------------------------------- counting


@pytest.mark.parametrize(
    ("reps", "kwargs", "settings", "expected"),
    [
        pytest.param(FIVE, {"noise": 1.0}, SETTINGS, 5, id="five-reps"),
        pytest.param(MIXED, {"noise": 1.0}, SETTINGS, 5, id="fast-and-slow-mixed"),
        pytest.param([Rep(top_s=2.0)] * 4, {"noise": 1.0}, SETTINGS, 4, id="pause-at-top"),
        pytest.param([Rep(rest_s=0.0)] * 6, {"noise": 1.0}, SETTINGS, 6, id="touch-and-go"),
        pytest.param(FIVE, {"noise": 1.0, "hz": (10.0, 30.0)}, SETTINGS, 5, id="irregular-10-30hz"),
        pytest.param(FIVE, {"noise": 1.0, "hz": (10.0, 10.0)}, SETTINGS, 5, id="10hz"),
        pytest.param(FIVE, {"noise": 1.0, "drift_per_min": 5.0}, SETTINGS, 5, id="drift-up"),
        pytest.param(FIVE, {"noise": 1.0, "drift_per_min": -5.0}, SETTINGS, 5, id="drift-down"),
        pytest.param(SPREAD, {"noise": 1.0, "drift_per_min": 5.0}, SETTINGS, 8, id="2min-drift-up-10-units"),
        pytest.param(SPREAD, {"noise": 1.0, "drift_per_min": -5.0}, SETTINGS, 8, id="2min-drift-down-10-units"),
        pytest.param(FIVE, {"noise": 1.0, "gaps": [(3.3, 3.6), (8.0, 8.3)]}, SETTINGS, 5, id="missing-0.3s-bridged"),
        pytest.param(FIVE, {"noise": 1.0, "spikes": [(2.5, 300.0), (6.0, -200.0)]}, SETTINGS, 5, id="outliers"),
        pytest.param(FIVE, {"noise": 1.0, "low_conf_every": 4}, SETTINGS, 5, id="low-confidence-dropped"),
        pytest.param(FIVE, {"noise": 1.0, "high": True}, HIGH, 5, id="high"),
        pytest.param([Rep(amp=25.0)] * 3, {"noise": 0.5}, SETTINGS, 3, id="just-above-min-range"),
    ],
)
def test_counts_exact(reps: list[Rep], kwargs: dict[str, Any], settings: CounterSettings, expected: int) -> None:
    events = run(settings, sample(profile(reps), **kwargs))
    reps_out = reps_of(events)
    assert len(reps_out) == expected
    assert [r.index for r in reps_out] == list(range(1, expected + 1))
    assert [type(e) for _, e in events].count(SetStarted) == 1
    assert [len(s.reps) for s in sets_of(events)] == [expected]


def test_still_noisy_bar_gives_no_reps() -> None:
    """Regression: the 2018 prototype fired a rep at every local minimum: a still bar with 1 px of
    noise gave 35 false reps in 200 frames. A still signal with ±1 unit jitter must count nothing."""
    rng = random.Random(2018)
    counter = RepCounter(SETTINGS)
    events = []
    for i in range(2000):
        events += counter.update(SignalSample(i / 30.0, 120.0 + rng.uniform(-1.0, 1.0)))
        if i == 199:
            assert events == []
    events += counter.finish(2000 / 30.0)
    assert events == []


@pytest.mark.parametrize("drift_per_min", [6.0, -6.0])
def test_drift_over_a_long_rest_keeps_times_and_range(drift_per_min: float) -> None:
    """The rest level follows tracker drift, so the first rep after a minute of rest is still timed
    from where it really left rest and measured from there."""
    p = profile([Rep(), Rep(rest_s=60.0), Rep(), Rep()])
    events = run(SETTINGS, sample(p, noise=1.0, drift_per_min=drift_per_min))
    reps = reps_of(events)
    assert [len(s.reps) for s in sets_of(events)] == [2, 2]
    assert [r.start_s for r in reps] == pytest.approx([t.start_s for t in p.truths], abs=0.2)
    assert [r.rom for r in reps] == pytest.approx([100.0] * 4, abs=2.0)


@pytest.mark.parametrize(
    ("stream", "settings", "expected"),
    [
        pytest.param(sample(profile([]), noise=1.0), SETTINGS, 0, id="noise-only"),
        pytest.param(sample(profile([Rep(amp=15.0)] * 5), noise=1.0), SETTINGS, 0, id="below-min-range"),
        pytest.param(
            sample(profile([Rep(0.12, 0, 0.13, rest_s=0.0, amp=80.0)] * 20), hz=(60.0, 60.0)),
            SETTINGS,
            0,
            id="faster-than-min-rep",
        ),
        pytest.param(sample(profile([Rep(9.0, 0, 9.0)]), noise=1.0), SETTINGS, 0, id="slower-than-max-rep"),
        pytest.param(
            sample(profile([Rep(8.0, 2.0, 8.0, rest_s=2.0)] + [Rep()] * 3), noise=1.0),
            SETTINGS,
            3,
            id="slow-setup-then-reps",
        ),
        pytest.param(sample(profile([]), noise=0.5, spikes=[(1.5, 60.0)]), SETTINGS, 0, id="spike"),
        pytest.param(sample(profile([]), noise=0.5, spikes=[(1.5, 150.0)]), SETTINGS, 0, id="big-spike"),
        pytest.param(sample(profile([]), noise=0.5, spikes=[(1.5, -150.0)]), SETTINGS, 0, id="spike-down"),
        pytest.param(sample(profile([]), noise=0.5, spikes=[(1.5, 250.0)], high=True), HIGH, 0, id="spike-high"),
        pytest.param(sample(profile([Rep(rest_s=4.0)] * 2), spikes=[(4.5, 150.0)]), SETTINGS, 2, id="spike-in-rest"),
        pytest.param(sample(profile([Rep()] * 2), spikes=[(2.5, -150.0)]), SETTINGS, 2, id="spike-mid-rep"),
    ],
)
def test_rejects(stream: Stream, settings: CounterSettings, expected: int) -> None:
    assert len(reps_of(run(settings, stream))) == expected


# ---------------------------------------------------------------- sets and gaps


@pytest.mark.parametrize("gap_rest_s", [25.0, 60.0])
def test_two_sets_split_by_long_rest(gap_rest_s: float) -> None:
    reps = [Rep()] * 2 + [Rep(rest_s=gap_rest_s)] + [Rep()] * 4
    p = profile(reps)
    events = run(SETTINGS, sample(p, noise=1.0))
    starts = [e for _, e in events if isinstance(e, SetStarted)]
    assert [len(s.reps) for s in sets_of(events)] == [3, 4]
    assert starts[0].rest_before_s is None
    true_rest = p.truths[3].start_s - p.truths[2].end_s
    assert starts[1].rest_before_s == pytest.approx(true_rest, abs=0.3)
    # The first set ends on time, during the stream, not only at finish().
    t_end_1 = next(t for t, e in events if isinstance(e, SetEnded))
    assert p.truths[2].end_s + 20.0 <= t_end_1 <= p.truths[2].end_s + 20.5


def test_set_end_detected_from_none_samples() -> None:
    p = profile([Rep()] * 2)
    stream = sample(p) + [(p.duration_s + k, None) for k in range(1, 30)]
    events = run(SETTINGS, stream, finish=False)
    ends = [(t, e) for t, e in events if isinstance(e, SetEnded)]
    assert len(ends) == 1
    assert ends[0][1].end_s == pytest.approx(p.truths[-1].end_s, abs=0.2)
    assert ends[0][0] - ends[0][1].end_s == pytest.approx(20.0, abs=1.0)


GAPPY = [Rep(), Rep(rest_s=3.0), Rep(), Rep(), Rep()]  # reps at 2-4, 5-7, 10-12, 13-15, 16-18 s


@pytest.mark.parametrize(
    ("gap", "counted"),
    [
        pytest.param((10.5, 12.5), [0, 1, 3, 4], id="2s-over-rep-3-top"),
        pytest.param((9.0, 11.0), [0, 1, 3, 4], id="2s-over-rep-3-start"),
        pytest.param((4.1, 4.9), [0, 1, 2, 3, 4], id="0.8s-in-rest-bridged"),
        pytest.param((3.3, 3.9), [0, 1, 2, 3, 4], id="0.6s-mid-rep-bridged"),
        pytest.param((7.5, 9.5), [0, 1, 2, 3, 4], id="2s-in-rest"),
        pytest.param((6.8, 8.8), [0, 1, 2, 3, 4], id="2s-after-rep-2-returned"),
    ],
)
def test_gap_resets_only_rep_in_progress(gap: tuple[float, float], counted: list[int]) -> None:
    p = profile(GAPPY)
    events = run(SETTINGS, sample(p, noise=1.0, gaps=[gap]))
    reps = reps_of(events)
    assert [r.start_s for r in reps] == pytest.approx([p.truths[i].start_s for i in counted], abs=0.2)
    assert [len(s.reps) for s in sets_of(events)] == [len(counted)]


# ---------------------------------------------------------------- timing, latency, velocity

TEMPOS = [
    pytest.param(Rep(1.0, 0.0, 1.0), (30.0, 30.0), 1.0, id="1s-1s-30hz"),
    pytest.param(Rep(0.6, 0.0, 0.8), (30.0, 30.0), 1.0, id="fast-30hz"),
    pytest.param(Rep(2.5, 0.0, 3.0), (30.0, 30.0), 1.0, id="slow-30hz"),
    pytest.param(Rep(1.0, 1.0, 1.5), (30.0, 30.0), 1.0, id="pause-30hz"),
    pytest.param(Rep(1.0, 0.0, 1.5), (10.0, 30.0), 1.0, id="irregular"),
    pytest.param(Rep(1.2, 0.0, 1.2), (10.0, 10.0), 0.5, id="10hz"),
]


@pytest.mark.parametrize("rest_position", ["low", "high"])
@pytest.mark.parametrize(("rep", "hz", "noise"), TEMPOS)
def test_rep_times_match_truth(rep: Rep, hz: tuple[float, float], noise: float, rest_position: str) -> None:
    settings = replace(SETTINGS, rest_position=rest_position)  # type: ignore[arg-type]
    p = profile([replace(rep, rest_s=1.5)] * 4)
    reps = reps_of(run(settings, sample(p, hz=hz, noise=noise, high=rest_position == "high")))
    assert len(reps) == len(p.truths)
    for got, want in zip(reps, p.truths, strict=True):
        assert got.start_s == pytest.approx(want.start_s, abs=0.2)
        assert got.turn_s == pytest.approx(want.turn_s, abs=0.2)
        assert got.end_s == pytest.approx(want.end_s, abs=0.2)
        assert got.rom == pytest.approx(rep.amp, rel=0.05)
        # the phases are the moving parts: a pause at the turning point belongs to neither
        conc, ecc = (rep.up_s, rep.down_s) if rest_position == "low" else (rep.down_s, rep.up_s)
        assert got.concentric_s == pytest.approx(conc, abs=0.25)
        assert got.eccentric_s == pytest.approx(ecc, abs=0.25)
        assert 0.5 < got.confidence <= 1.0


@pytest.mark.parametrize(("rep", "hz", "noise"), TEMPOS)
def test_last_rep_emitted_within_settle(rep: Rep, hz: tuple[float, float], noise: float) -> None:
    p = profile([replace(rep, rest_s=1.5)] * 3, tail_s=5.0)
    events = run(SETTINGS, sample(p, hz=hz, noise=noise), finish=False)
    emitted = [t for t, e in events if isinstance(e, RepCompleted)]
    assert len(emitted) == 3
    assert emitted[-1] <= p.truths[-1].end_s + SETTINGS.settle_s + 0.3


@pytest.mark.parametrize(
    ("rep", "rest_position", "mpu"),
    [
        pytest.param(Rep(1.0, 0.0, 1.5), "low", 0.005, id="stack-1s"),
        pytest.param(Rep(0.6, 0.5, 1.5), "low", 0.004, id="stack-fast-pause"),
        pytest.param(Rep(2.0, 0.0, 2.0), "low", 0.006, id="stack-slow"),
        pytest.param(Rep(1.5, 0.0, 0.8), "high", 0.003, id="squat"),
    ],
)
def test_velocity_matches_analytic(rep: Rep, rest_position: str, mpu: float) -> None:
    settings = replace(SETTINGS, rest_position=rest_position, meters_per_unit=mpu)  # type: ignore[arg-type]
    p = profile([rep] * 3)
    reps = reps_of(run(settings, sample(p, noise=0.5, high=rest_position == "high")))
    concentric_s = rep.up_s if rest_position == "low" else rep.down_s
    rom_m = rep.amp * mpu
    assert len(reps) == 3
    for got in reps:
        assert got.rom_m == pytest.approx(rom_m, rel=0.05)
        assert got.mean_velocity_m_s == pytest.approx(rom_m / concentric_s, rel=0.05)
        # eased (cosine) profile: peak speed is pi/2 times the mean; smoothing shaves up to ~10 % off
        # the peak of a fast lift, so this bound is looser than the mean's
        assert got.peak_velocity_m_s == pytest.approx(math.pi / 2 * rom_m / concentric_s, rel=0.15)


def test_no_scale_no_metric_fields() -> None:
    reps = reps_of(run(SETTINGS, sample(profile([Rep()]))))
    assert len(reps) == 1
    assert (reps[0].rom_m, reps[0].mean_velocity_m_s, reps[0].peak_velocity_m_s) == (None, None, None)


# ---------------------------------------------------------------- finish and API


@pytest.mark.parametrize(
    ("tail_s", "cut_mid_rep", "expected"),
    [
        pytest.param(0.2, False, 3, id="last-rep-just-back"),
        pytest.param(3.0, False, 3, id="settled"),
        pytest.param(0.0, True, 2, id="cut-while-away"),
    ],
)
def test_finish_closes_open_set(tail_s: float, cut_mid_rep: bool, expected: int) -> None:
    p = profile([Rep()] * 3, tail_s=tail_s)
    stream = sample(p, noise=0.5)
    if cut_mid_rep:
        stream = [(t, s) for t, s in stream if t < p.truths[-1].turn_s + 0.3]
    counter = RepCounter(SETTINGS)
    streamed: list[CountEvent] = []
    for t, s in stream:
        streamed += counter.update(s, t)
    assert counter.set_active
    events = counter.finish(stream[-1][0] + 0.01)
    assert isinstance(events[-1], SetEnded)
    assert len(counted_sets(streamed + events, Exercise.LAT_PULLDOWN)[-1].reps) == expected
    # only the rep that was back near rest but not yet settled is left for finish() to count
    assert any(isinstance(e, RepCompleted) for e in events) == (tail_s < SETTINGS.settle_s and not cut_mid_rep)
    assert not counter.set_active
    assert counter.reps_in_set == 0


def test_properties_follow_the_set() -> None:
    p = profile([Rep()] * 2)
    counter = RepCounter(SETTINGS)
    seen = []
    for t, s in sample(p):
        counter.update(s, t)
        seen.append((counter.set_active, counter.reps_in_set))
    assert seen[0] == (False, 0)
    assert (True, 1) in seen
    assert seen[-1] == (True, 2)


def test_update_none_needs_time() -> None:
    with pytest.raises(ValueError, match="t_s"):
        RepCounter(SETTINGS).update(None)


@pytest.mark.parametrize(
    "bad",
    [
        {"min_range": 0.0},
        {"min_range": -5.0},
        {"min_range": 20.0, "rest_position": "middle"},
        {"min_range": 20.0, "min_rep_s": 5.0, "max_rep_s": 2.0},
        {"min_range": 20.0, "smoothing_s": -0.1},
        {"min_range": 20.0, "meters_per_unit": 0.0},
        {"min_range": float("nan")},
    ],
)
def test_settings_validated(bad: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        CounterSettings(**bad)


def test_stale_samples_are_ignored() -> None:
    """A sample from the past (e.g. a late frame) is dropped, so replaying a stream counts nothing new."""
    stream = sample(profile([Rep()] * 2))
    counter = RepCounter(SETTINGS)
    first = [e for t, s in stream for e in counter.update(s, t)]
    replay = [e for t, s in stream for e in counter.update(s, t)]
    assert len([e for e in first if isinstance(e, RepCompleted)]) == 2
    assert replay == []


@pytest.mark.parametrize(("conf", "low", "high"), [(0.9, 0.8, 0.9), (0.5, 0.4, 0.5)])
def test_rep_confidence_follows_tracker_confidence(conf: float, low: float, high: float) -> None:
    stream = [(t, None if s is None else replace(s, confidence=conf)) for t, s in sample(profile(FIVE))]
    reps = reps_of(run(SETTINGS, stream))
    assert len(reps) == 5
    assert all(low <= r.confidence <= high for r in reps)


def test_small_rep_gets_lower_confidence() -> None:
    reps = reps_of(run(SETTINGS, sample(profile([Rep(amp=22.0), Rep(amp=100.0)]), noise=0.5)))
    assert len(reps) == 2
    assert reps[0].confidence < reps[1].confidence - 0.1


def test_memory_does_not_grow_with_stream_length() -> None:
    """O(1) per sample: once warmed up, six times the data leaves no more state behind."""
    counter = RepCounter(SETTINGS)
    p = profile([Rep()] * 5, tail_s=25.0)  # each block is one set, closed during the next block
    block = sample(p, noise=1.0)
    sizes, ended = [], []
    reps = 0  # of the set under way: counted here, since keeping the sets would grow memory
    tracemalloc.start()
    try:
        for k in range(6):
            off = k * p.duration_s
            for t, s in block:
                for event in counter.update(None if s is None else replace(s, t_s=s.t_s + off), t + off):
                    if isinstance(event, RepCompleted):
                        reps += 1
                    elif isinstance(event, SetEnded):
                        ended.append(reps)
                        reps = 0
            sizes.append(tracemalloc.get_traced_memory()[0])
    finally:
        tracemalloc.stop()
    assert ended == [5] * 6
    assert sizes[-1] - sizes[1] < 4096


def test_partial_rep_inside_a_set_is_flagged_not_counted() -> None:
    """A half-range movement between full reps (a failed or cut-short rep) is reported, never counted."""
    settings = CounterSettings(min_range=20.0, set_end_rest_s=5.0)
    counter = RepCounter(settings)
    amplitudes = [40.0, 40.0, 14.0, 40.0]  # the third is 70 % of min_range: partial
    events: list[CountEvent] = []
    t = 0.0
    for amplitude in [0.0, *amplitudes, 0.0]:
        for i in range(int(2.5 * 30)):
            phase = i / (2.5 * 30)
            value = amplitude * 0.5 * (1 - math.cos(2 * math.pi * phase))
            events += counter.update(SignalSample(t, value), t)
            t += 1 / 30
    events += counter.finish(t)
    partials = [e for e in events if isinstance(e, PartialRep)]
    ended = counted_sets(events, Exercise.LAT_PULLDOWN)
    assert len(partials) == 1 and 10.0 <= partials[0].rom <= 20.0
    assert [len(e.reps) for e in ended] == [3] and ended[0].partial_reps == 1


def test_noise_makes_no_partial_reps() -> None:
    counter = RepCounter(CounterSettings(min_range=20.0))
    rng = random.Random(7)
    events: list[CountEvent] = []
    for i in range(600):
        events += counter.update(SignalSample(i / 30, rng.gauss(0.0, 1.0)), i / 30)
    assert not any(isinstance(e, PartialRep | RepCompleted) for e in events + counter.finish(20.0))


def _sharp_dips(t: float, dip_s: float = 0.25) -> float:
    """Rest at 0 until 0.5 s, then a plateau at 100 with a sharp V dip back to 0 every second."""
    if t < 0.5:
        return 0.0
    phase = t % 1.0
    d = min(abs(phase - 0.5), 1.0 - abs(phase - 0.5))
    return 100.0 * min(1.0, d / dip_s)


@pytest.mark.parametrize("split", [False, True])
def test_fast_returns_only_the_median_signal_completes(split: bool) -> None:
    """Sharp dips back to rest that the smoothed signal lags over: reps with ``split_lagging``,
    dropped as chatter without it (the behaviour kept for jittery joint-angle signals)."""
    counter = RepCounter(CounterSettings(min_range=20.0, split_lagging=split))
    events: list[CountEvent] = []
    for i in range(round(10.6 * 30)):
        t = i / 30
        events += counter.update(SignalSample(t, _sharp_dips(t), 1.0))
    events += counter.finish(10.6)
    reps = [e.rep for e in events if isinstance(e, RepCompleted)]
    if not split:
        assert len(reps) <= 1  # at most the whole stretch, flushed at the end as one slow excursion
        return
    assert len(reps) == 10
    for k, rep in enumerate(reps):  # each rep runs from one dip to the next
        assert rep.start_s == pytest.approx(0.5 + k, abs=0.15)
        assert rep.end_s == pytest.approx(1.5 + k, abs=0.15)


@pytest.mark.parametrize("frames_back", [2, 3])
def test_a_last_rep_back_at_rest_on_the_last_frames_counts(frames_back: int) -> None:
    """A clip whose final rep drops back to rest on its last two or three frames: the median of three
    has already seen it back (two of its three samples at rest), so the end of the source counts it."""
    stream: Stream = []
    t = 0.0
    levels = [0.0] * 30 + ([0.0] * 10 + [100.0] * 20) * 2 + [0.0] * 10 + [100.0] * 20 + [0.0] * frames_back
    for x in levels:
        stream.append((t, SignalSample(t, x, 0.9)))
        t += 1.0 / 30.0
    assert len(reps_of(run(SETTINGS, stream))) == 3


def test_a_single_last_frame_at_rest_does_not_end_a_rep() -> None:
    """Issue 15, failure mode 4, taken back: counting a rep whose return to rest is seen on the last frame
    only (the median's held-back sample, edge replicated) added a rep their annotation does not have in 4
    RepCount-A videos (train143's truth is 0) and fixed none there or in the 33 real clips; in two of them
    the last frame jumped by 2 and 3.8 times the step before it. One frame cannot tell a return from a
    glitch, which is what the median of three is there for: a movement still away from rest, then one
    sample back, is no rep."""
    stream: Stream = []
    t = 0.0
    levels = [0.0] * 30 + ([0.0] * 10 + [100.0] * 20) * 2 + [0.0] * 10 + [100.0] * 20 + [0.0]
    for x in levels:
        stream.append((t, SignalSample(t, x, 0.9)))
        t += 1.0 / 30.0
    assert len(reps_of(run(SETTINGS, stream))) == 2


@pytest.mark.parametrize(
    ("start_frac", "expected"),
    [
        pytest.param(0.0, 3, id="starts-at-rest"),
        pytest.param(0.1, 3, id="starts-just-off-rest"),
        pytest.param(0.45, 2, id="starts-half-way-down"),
    ],
)
def test_a_rep_cut_by_the_start_of_the_data_is_not_counted(start_frac: float, expected: int) -> None:
    """Issue 15: a clip that opens half way down a squat took that first level as its rest, so the way
    up to standing counted as a rep although its start was never seen."""
    p = profile([Rep(up_s=1.2, down_s=1.2, rest_s=0.6)] * 3, lead_s=0.0)
    start = p.truths[0].start_s + 1.2 * math.acos(1 - 2 * start_frac) / math.pi if start_frac else 0.0
    stream = [(t - start, None if s is None else SignalSample(t - start, s.position, s.confidence))
              for t, s in sample(p, noise=0.5, high=True) if t >= start]
    assert len(reps_of(run(HIGH, stream))) == expected
