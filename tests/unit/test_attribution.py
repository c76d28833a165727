from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from replens.appearance import appearance_similarity, bhattacharyya
from replens.config import IdentityConfig
from replens.contract import (
    Appearance,
    ClaimCommand,
    Exercise,
    IdentitySource,
    SetEvent,
    SetPhase,
    VisitEvent,
    VisitRole,
)
from replens.hub.identity.attributor import Attributor
from replens.hub.identity.presence import presence
from replens.hub.identity.strategies import Attribution, attribute
from replens.hub.journal import Inbound, Journal
from replens.hub.journal.records import RecordedSet, Visit
from replens.members import MembersStore

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)  # midday: the same local day in any time zone near UTC
CONFIG = IdentityConfig()  # window 30 s, presence 2 h, appearance ≥ 0.6 with a margin of 0.1


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def clothes(torso: int, legs: int, noise: float = 0.0) -> Appearance:
    """8-bin hue histograms with most of the mass in one bin per region."""

    def hist(peak: int) -> list[float]:
        bins = np.full(8, 0.02 + noise)
        bins[peak] = 0.86
        return list(bins / bins.sum())

    return Appearance(torso=hist(torso), legs=hist(legs))


RED, GREEN, BLUE, BLACK, GREY = 0, 2, 5, 7, 4
ALICE_CLOTHES = clothes(RED, BLUE)
BOB_CLOTHES = clothes(GREEN, BLACK)


def visit(member, *, role=VisitRole.ENTRANCE, camera="door", agent="door_cam", start=-30.0, seen=-29.0, score=0.9,
          frames=10, appearance=None) -> Visit:
    return Visit(visit_id=f"v{member}{start}{camera}", agent_id=agent, camera=camera, role=role, member=member,
                 score=score, frames=frames, started_at=at(start), seen_at=at(seen), ended_at=None,
                 appearance=appearance)


def face_at(member, station="bench", agent="rack", start=0.0, seen=1.0, **kwargs) -> Visit:
    return visit(member, role=VisitRole.STATION, camera=station, agent=agent, start=start, seen=seen, **kwargs)


def a_set(start=0.0, end=2.0, appearance=None) -> RecordedSet:
    return RecordedSet(set_id="rack.bench.1", agent_id="rack", station="bench", exercise=Exercise.BENCH_PRESS,
                       reps=5, phase=SetPhase.END, started_at=at(start), ended_at=None if end is None else at(end),
                       weight_kg=None, appearance=appearance, member=None, identity_source=None, identity_score=None,
                       claimed=False)


CASES = {
    "nobody seen": (a_set(), [], None),
    "face at the station": (a_set(), [face_at("alice", score=0.8)], ("alice", "station_face", 0.8)),
    "face just inside the window after the set": (
        a_set(), [face_at("alice", start=2.4, seen=2.45)], ("alice", "station_face", 0.9)),
    "face outside the window": (a_set(), [face_at("alice", start=-5, seen=-1)], None),
    "face at another station": (a_set(), [face_at("alice", station="squat")], None),
    "face seen by another agent's station of the same name": (a_set(), [face_at("alice", agent="rack2")], None),
    "unknown face at the station": (a_set(), [face_at(None)], None),
    "most frames times score wins": (
        a_set(), [face_at("alice", frames=5, score=0.9), face_at("bob", frames=20, score=0.6, start=0.5)],
        ("bob", "station_face", 0.6)),
    "station face beats the only member present": (
        a_set(), [visit("bob"), face_at("alice", score=0.7)], ("alice", "station_face", 0.7)),
    "only member present": (a_set(), [visit("alice", score=0.85)], ("alice", "only_present", 0.85)),
    "only member present, strangers too": (
        a_set(), [visit(None), visit("alice"), visit(None, start=-10, seen=-9)], ("alice", "only_present", 0.9)),
    "set still going": (a_set(end=None), [visit("alice")], ("alice", "only_present", 0.9)),
    "member timed out (2 h after last seen)": (a_set(), [visit("alice", start=-200, seen=-121)], None),
    "member came in after the set started": (a_set(), [visit("alice", start=1, seen=2)], None),
    "two present, no appearance on the set": (
        a_set(), [visit("alice", appearance=ALICE_CLOTHES), visit("bob", appearance=BOB_CLOTHES)], None),
    "two present, dressed like alice": (
        a_set(appearance=clothes(RED, BLUE, noise=0.01)),
        [visit("alice", appearance=ALICE_CLOTHES), visit("bob", appearance=BOB_CLOTHES)], ("alice", "appearance")),
    "two present, dressed like bob": (
        a_set(appearance=clothes(GREEN, BLACK, noise=0.01)),
        [visit("alice", appearance=ALICE_CLOTHES), visit("bob", appearance=BOB_CLOTHES)], ("bob", "appearance")),
    "two present, one without an appearance": (
        a_set(appearance=ALICE_CLOTHES), [visit("alice", appearance=ALICE_CLOTHES), visit("bob")], None),
    "two present dressed alike: no margin": (
        a_set(appearance=ALICE_CLOTHES),
        [visit("alice", appearance=ALICE_CLOTHES), visit("bob", appearance=clothes(RED, BLUE, noise=0.005))], None),
    "two present, nobody like the lifter": (
        a_set(appearance=clothes(GREY, GREY)),
        [visit("alice", appearance=ALICE_CLOTHES), visit("bob", appearance=BOB_CLOTHES)], None),
    "yesterday's clothes do not count": (
        a_set(appearance=ALICE_CLOTHES),
        [visit("alice", start=-24 * 60, seen=-24 * 60 + 1, appearance=ALICE_CLOTHES), visit("alice"),
         visit("bob", appearance=BOB_CLOTHES)], None),
    "clothes from an earlier stay that timed out do not count, even the same day": (
        a_set(appearance=ALICE_CLOTHES),
        [visit("alice", start=-200, seen=-199, appearance=ALICE_CLOTHES), visit("alice"),
         visit("bob", appearance=BOB_CLOTHES)], None),
    "came back in other clothes: the latest entrance counts": (
        a_set(appearance=clothes(GREY, BLACK, noise=0.01)),
        [visit("alice", start=-100, seen=-99, appearance=ALICE_CLOTHES),
         visit("alice", start=-20, seen=-19, appearance=clothes(GREY, BLACK)),
         visit("bob", appearance=BOB_CLOTHES)], ("alice", "appearance")),
}


@pytest.mark.parametrize(("set_", "visits", "expected"), list(CASES.values()), ids=list(CASES))
def test_strategies(set_, visits, expected):
    found = attribute(set_, visits, CONFIG, now=at(3))
    if expected is None:
        assert found is None
        return
    assert found is not None
    assert (found.member, found.source.value) == expected[:2]
    if len(expected) == 3:
        assert found.score == pytest.approx(expected[2])
    else:
        assert CONFIG.appearance_min_similarity <= found.score <= 1.0


def test_clothes_seen_before_midnight_name_a_set_after_it():
    """A 24-hour gym: the stay, not the calendar day, decides which clothes count (local midnight, any zone)."""
    midnight = datetime.now().astimezone().replace(hour=0, minute=0, second=0, microsecond=0)

    def entrance(member: str, minutes: float, appearance: Appearance) -> Visit:
        start = midnight + timedelta(minutes=minutes)
        return Visit(visit_id=f"v{member}", agent_id="door_cam", camera="door", role=VisitRole.ENTRANCE,
                     member=member, score=0.9, frames=10, started_at=start, seen_at=start + timedelta(seconds=14),
                     ended_at=None, appearance=appearance)

    visits = [entrance("alice", -30, ALICE_CLOTHES), entrance("bob", -25, BOB_CLOTHES)]
    lift = replace(a_set(appearance=clothes(RED, BLUE, noise=0.01)), started_at=midnight + timedelta(minutes=10),
                   ended_at=midnight + timedelta(minutes=11))
    found = attribute(lift, visits, CONFIG, now=midnight + timedelta(minutes=12))
    assert found is not None and (found.member, found.source) == ("alice", IdentitySource.APPEARANCE)


def test_bhattacharyya():
    assert bhattacharyya([1, 2, 3], [2, 4, 6]) == pytest.approx(1.0)  # normalised first
    assert bhattacharyya([1, 0], [0, 1]) == 0.0
    assert bhattacharyya([1, 0], [1, 0, 0]) == 0.0  # different binning: not comparable
    assert bhattacharyya([0, 0], [0, 1]) == 0.0
    assert appearance_similarity(ALICE_CLOTHES, ALICE_CLOTHES) == pytest.approx(1.0)
    assert appearance_similarity(ALICE_CLOTHES, BOB_CLOTHES) < 0.5


def test_presence_names_members_and_leaves_out_the_unnamed():
    visits = [visit("alice", start=-60, seen=-50), visit("alice", camera="side", start=-20, seen=-10),
              visit("bob", start=-30, seen=-29), visit("gone"), visit(None), face_at("carol")]
    now = at(0)
    current = presence(visits, {"alice": "Alice", "bob": "Bob", "carol": "Carol"}, now, CONFIG.presence_timeout_s)
    assert [(m.member, m.name) for m in current.members] == [("alice", "Alice"), ("bob", "Bob")]
    alice = current.members[0]
    assert (alice.since, alice.last_seen, alice.camera) == (at(-60), at(-10), "side")
    later = presence(visits, {"alice": "Alice"}, at(-10 + 121), CONFIG.presence_timeout_s)
    assert later.members == []


# The attributor, with a real journal and gallery ----------------------------------------------------------------


def set_event(seq, phase=SetPhase.NEW, start=None, **extra) -> SetEvent:
    return SetEvent(agent_id="rack", seq=seq, set_id="rack.bench.1", station="bench", exercise=Exercise.CHEST_PRESS,
                    event=phase, reps=1, started_at=start or datetime.now(UTC) - timedelta(minutes=1), **extra)


def visit_event(seq, member, minutes_ago=10.0) -> VisitEvent:
    start = datetime.now(UTC) - timedelta(minutes=minutes_ago)
    return VisitEvent(agent_id="door_cam", seq=seq, visit_id=f"door.{seq}", camera="door", role=VisitRole.ENTRANCE,
                      event=SetPhase.NEW, member=member, score=0.9, frames=5, started_at=start,
                      seen_at=start + timedelta(seconds=5))


@pytest.fixture
def desk(tmp_path):
    with MembersStore(tmp_path / "members.sqlite3") as members:
        alice = members.add("Alice", [np.ones(128)], consent=True).id
    journal = Journal(tmp_path / "journal.sqlite3")
    yield Attributor(journal, CONFIG, tmp_path / "members.sqlite3"), journal, alice
    journal.close()


def test_a_visit_after_the_set_attributes_it(desk):
    attributor, journal, alice = desk
    result = journal.record(Inbound(events=[set_event(1)]))
    assert attributor.after_batch(result, []).changed == []
    result = journal.record(Inbound(events=[visit_event(2, alice)]))
    (change,) = attributor.after_batch(result, []).changed
    assert (change.set_id, change.member) == ("rack.bench.1", alice)
    assert change.identity_source is IdentitySource.ONLY_PRESENT
    assert [m.name for m in attributor.presence().members] == ["Alice"]


def test_claims_win_and_bad_claims_are_rejected_with_a_reason(desk):
    attributor, journal, alice = desk
    journal.record(Inbound(events=[visit_event(1, alice)]))
    result = journal.record(Inbound(events=[set_event(2)]))
    claims = [ClaimCommand(set_id="rack.bench.1", member=None, by="ha"),
              ClaimCommand(set_id="rack.bench.9", member=alice),
              ClaimCommand(set_id="rack.bench.1", member="m0000000000")]
    outcome = attributor.after_batch(result, claims)
    assert [(c.member, c.identity_source) for c in outcome.changed] == [(None, IdentitySource.CLAIM)]
    assert "no set 'rack.bench.9'" in outcome.rejected[0] and "no member 'm0000000000'" in outcome.rejected[1]
    later = journal.record(Inbound(events=[set_event(3, SetPhase.UPDATE)]))
    assert attributor.after_batch(later, []).changed == []  # the claim stands against only_present


def test_unknown_member_ids_from_agents_are_dropped(desk):
    attributor, _, alice = desk
    stale = "m9999999999"
    inbound = Inbound(events=[visit_event(1, stale), visit_event(2, alice), set_event(3, member=stale)])
    assert attributor.screen(inbound) == 2
    assert [getattr(e, "member", None) for e in inbound.events] == [None, alice, None]


def test_attribution_is_a_value():
    assert Attribution("alice", IdentitySource.APPEARANCE, 0.7) == Attribution("alice", IdentitySource.APPEARANCE, 0.7)
