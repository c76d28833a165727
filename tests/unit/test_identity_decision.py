"""VisitDecider on synthetic descriptors: frames vote, a member needs agreement and no rival, gaps end visits."""

from __future__ import annotations

import numpy as np
import pytest

from replens.contract import SetPhase
from replens.device_agent.identity.decision import FaceSample, VisitDecider, VisitDecision, VisitSettings
from replens.device_agent.identity.gallery import Gallery

RNG = np.random.default_rng(0)


def unit(seed: int) -> np.ndarray:
    vector = np.random.default_rng(seed).normal(size=128)
    return (vector / np.linalg.norm(vector)).astype(np.float32)


MEMBERS = {"alice": unit(1), "bob": unit(2)}
STRANGER = unit(3)


def seen(base: np.ndarray, distance: float = 0.3, width: float = 100.0) -> FaceSample:
    """One face of a frame, ``distance`` from ``base``."""
    step = RNG.normal(size=128)
    return FaceSample(width, (base + distance * step / np.linalg.norm(step)).astype(np.float32))


@pytest.fixture
def decider() -> VisitDecider:
    gallery = Gallery()
    for member, vector in MEMBERS.items():
        gallery.add(member, vector)
    return VisitDecider(gallery, VisitSettings(min_face_px=48, min_agreeing_frames=3, visit_gap_s=2.0))


def run(decider: VisitDecider, frames: list[list[FaceSample]], fps: float = 10.0, t0: float = 0.0) -> list:
    out: list[VisitDecision] = []
    for i, faces in enumerate(frames):
        out += decider.update(t0 + i / fps, faces)
    return out


def test_a_member_walks_in(decider: VisitDecider) -> None:
    out = run(decider, [[seen(MEMBERS["alice"], 0.3)]] * 5)
    assert [(d.phase, d.member_id, d.frames) for d in out] == [(SetPhase.NEW, None, 1), (SetPhase.UPDATE, "alice", 3)]
    assert out[1].score == pytest.approx(0.5, abs=0.01)  # 1 - 0.3 / 0.6
    assert out[0].visit_id == out[1].visit_id
    ended = decider.update(0.4 + 2.01, [])
    assert len(ended) == 1
    end = ended[0]
    assert (end.phase, end.member_id, end.frames, end.started_at) == (SetPhase.END, "alice", 5, 0.0)
    assert end.last_seen_at == pytest.approx(0.4)


def test_a_stranger_stays_unknown(decider: VisitDecider) -> None:
    out = run(decider, [[seen(STRANGER, 0.1)]] * 10)
    out += decider.finish(1.0)
    assert [(d.phase, d.member_id) for d in out] == [(SetPhase.NEW, None), (SetPhase.END, None)]
    assert out[-1].score == 0.0 and out[-1].frames == 10


def test_small_faces_are_ignored(decider: VisitDecider) -> None:
    assert not decider.wants(47.0) and decider.wants(48.0)
    assert run(decider, [[seen(MEMBERS["alice"], 0.1, width=40.0)]] * 10) == []
    assert decider.finish(1.0) == []


def test_two_people_together_are_never_the_wrong_member(decider: VisitDecider) -> None:
    out = run(decider, [[seen(MEMBERS["alice"]), seen(MEMBERS["bob"])]] * 10)
    out += decider.finish(1.0)
    assert {d.member_id for d in out} == {None}


def test_a_rival_with_comparable_votes_blocks_the_decision(decider: VisitDecider) -> None:
    alice, bob = [seen(MEMBERS["alice"])], [seen(MEMBERS["bob"])]
    out = run(decider, [alice, bob, alice, bob, alice])  # 3 against 2
    assert all(d.member_id is None for d in out)
    out = run(decider, [alice] * 3, t0=0.5)  # 6 against 2: bob is no longer comparable
    assert [(d.phase, d.member_id) for d in out] == [(SetPhase.UPDATE, "alice")]


def test_mostly_unknown_frames_keep_the_visit_unknown(decider: VisitDecider) -> None:
    """A stranger who resembles a member in a few frames: 3 matches out of 8 frames is not enough."""
    out = run(decider, [[seen(STRANGER)]] * 5 + [[seen(MEMBERS["alice"])]] * 3)
    assert all(d.member_id is None for d in out)
    out = run(decider, [[seen(MEMBERS["alice"])]] * 2, t0=0.8)  # 5 of 10: now half
    assert [d.member_id for d in out] == ["alice"]


def test_a_gap_starts_a_new_visit_and_a_pause_does_not(decider: VisitDecider) -> None:
    alice = [seen(MEMBERS["alice"])]
    first = run(decider, [alice] * 3)
    assert run(decider, [alice], t0=0.2 + 1.9) == []  # 1.9 s pause: same visit, nothing new to say
    out = run(decider, [alice], t0=2.1 + 2.5)  # 2.5 s gap: the first visit ends, a second opens
    assert [(d.phase, d.visit_id) for d in out] == [
        (SetPhase.END, first[0].visit_id), (SetPhase.NEW, "visit-2")]
    assert first[0].visit_id == "visit-1"


def test_score_is_the_median_match_quality(decider: VisitDecider) -> None:
    distances = [0.06, 0.3, 0.3, 0.54, 0.54]
    out = run(decider, [[seen(MEMBERS["alice"], d)] for d in distances])
    out += decider.finish(1.0)
    assert out[-1].member_id == "alice"
    assert out[-1].score == pytest.approx(0.5, abs=0.01)  # median of 0.9, 0.5, 0.5, 0.1, 0.1
    assert all(0.0 <= d.score <= 1.0 for d in out)


def test_the_gallery_can_change_between_frames(decider: VisitDecider) -> None:
    carol = unit(4)
    out = run(decider, [[seen(carol)]] * 3)
    assert all(d.member_id is None for d in out)
    decider.gallery.add("carol", carol)  # enrolled while standing there
    out = run(decider, [[seen(carol)]] * 6, t0=0.3)
    assert [d.member_id for d in out] == ["carol"]


@pytest.mark.parametrize(
    "kwargs",
    [{"min_agreeing_frames": 0}, {"rival_ratio": 0}, {"min_vote_share": 1.5}, {"visit_gap_s": 0}, {"min_face_px": -1}],
)
def test_settings_are_checked(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        VisitSettings(**kwargs)
