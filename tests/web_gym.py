"""A small gym for the members' page tests: a gallery with Ann and Bob, a journal with their week, and visits.

Real parts only: the member gallery, the hub's journal written through ``Journal.record`` and claims, the
page's login store. Ann has sets today and earlier this week, an unclaimed set during her visit, and a set
of hers with rep details (calibrated, so range of motion and velocity are in real units).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from replens.config import RepLensConfig
from replens.contract import Exercise, RepEvent, SetEvent, SetPhase, VisitEvent, VisitRole
from replens.hub.journal import Inbound, Journal
from replens.hub.web.state import WebState
from replens.local_days import week_start
from replens.members import MembersStore

STAFF_PASSWORD = "correct horse battery"


@dataclass(frozen=True)
class Gym:
    config: RepLensConfig
    ann: str
    bob: str
    ann_set: str
    """Ann's bench press today, 5 reps at 60 kg, with rep details."""
    ann_old_set: str
    bob_set: str
    loose_set: str
    """Nobody's, started while Ann was in the gym: hers to claim."""
    far_set: str
    """Nobody's, started when Ann was not there: not hers to claim."""
    now: datetime
    """The page's clock in these tests (``pin_clock``): the sets above are placed relative to it."""


PAGE_WEEK_MARGIN = timedelta(minutes=10)


def gym_now(real: datetime) -> datetime:
    """``real``, or 10 minutes into the week when ``real`` is earlier: "today's" sets start up to a minute before
    ``now`` and must fall in the page's week (Monday 00:00 local), whenever the tests run."""
    return max(real, week_start(real) + PAGE_WEEK_MARGIN)


def pin_clock(state: WebState, gym: Gym) -> None:
    """The page reads the gym's ``now``, so what it shows does not depend on when in the week the test runs."""
    state.clock = lambda: gym.now


def gym_config(root: Path, port: int = 0, mqtt: dict[str, object] | None = None, **web: object) -> RepLensConfig:
    return RepLensConfig.model_validate({
        "data_dir": str(root / "data"), "mqtt": mqtt or {},
        "hub": {"web": {"listen": "127.0.0.1", "port": port, "public_url": f"http://127.0.0.1:{port or 8180}",
                        "staff": [{"name": "desk", "password": STAFF_PASSWORD}], **web}},
    })


def set_event(seq: int, set_id: str, start: datetime, exercise: Exercise, reps: int,
              weight: float | None) -> SetEvent:
    return SetEvent(agent_id="rack", seq=seq, set_id=set_id, station=set_id.split(".")[1], exercise=exercise,
                    event=SetPhase.END, reps=reps, started_at=start, ended_at=start + timedelta(seconds=4 * reps),
                    weight_kg=weight)


def rep_events(seq: int, set_id: str, start: datetime, exercise: Exercise, reps: int) -> list[RepEvent]:
    found = []
    for index in range(1, reps + 1):
        begin = start + timedelta(seconds=4 * (index - 1))
        found.append(RepEvent(agent_id="rack", seq=seq + index, set_id=set_id, station=set_id.split(".")[1],
                              exercise=exercise, index=index, started_at=begin, turned_at=begin + timedelta(seconds=2),
                              ended_at=begin + timedelta(seconds=3), concentric_s=1.0, eccentric_s=2.0, rom=120.0,
                              rom_m=0.42 + 0.01 * index, mean_velocity_m_s=round(0.6 - 0.05 * index, 3),
                              confidence=1.0))
    return found


def visit(seq: int, member: str, start: datetime, minutes: float) -> VisitEvent:
    return VisitEvent(agent_id="door_cam", seq=seq, visit_id=f"door.{seq}", camera="door", role=VisitRole.ENTRANCE,
                      event=SetPhase.NEW, member=member, score=0.9, frames=5, started_at=start,
                      seen_at=start + timedelta(minutes=minutes))


def build_gym(root: Path, now: datetime | None = None, port: int = 0, mqtt: dict[str, object] | None = None,
              **web: object) -> Gym:
    config = gym_config(root, port, mqtt, **web)
    now = now or gym_now(datetime.now(UTC))
    with MembersStore(config.members_db()) as members:
        ann = members.add("Ann Lee", [np.ones(128)], consent=True).id
        bob = members.add("Bob", [np.full(128, 2.0)], consent=True).id
    stamp = int(now.timestamp() * 1000)
    # Today's sets within the last minute before ``now``, which gym_now keeps at least 10 minutes into the week.
    ann_set, bob_set = f"rack.bench.{stamp - 60_000}", f"rack.squat.{stamp - 50_000}"
    ann_old = f"rack.bench.{stamp - 86_400_000}"
    loose, far = f"rack.floor.{stamp - 40_000}", f"rack.floor.{stamp - 20 * 86_400_000}"
    at = {s: datetime.fromtimestamp(int(s.rsplit(".", 1)[1]) / 1000, UTC) for s in (ann_set, bob_set, ann_old, loose,
                                                                                     far)}
    journal = Journal(config.journal_path())
    try:
        events: list[SetEvent | RepEvent | VisitEvent] = [
            visit(1, ann, now - timedelta(minutes=40), 35),
            set_event(10, ann_set, at[ann_set], Exercise.BENCH_PRESS, 5, 60.0),
            *rep_events(10, ann_set, at[ann_set], Exercise.BENCH_PRESS, 5),
            set_event(20, bob_set, at[bob_set], Exercise.SQUAT, 3, 100.0),
            set_event(30, ann_old, at[ann_old], Exercise.BENCH_PRESS, 8, 50.0),
            set_event(40, loose, at[loose], Exercise.DEADLIFT, 4, 120.0),
            set_event(50, far, at[far], Exercise.DEADLIFT, 2, 140.0),
        ]
        journal.record(Inbound(events=list(events)))
        for set_id, member in ((ann_set, ann), (ann_old, ann), (bob_set, bob)):
            journal.claim(set_id, member, "test")
    finally:
        journal.close()
    return Gym(config, ann, bob, ann_set, ann_old, bob_set, loose, far, now)
