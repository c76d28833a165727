"""The members' page at the hub: a member's week and exercise-history pages for a year of training (~50,000 reps).

A journal is filled through the real ``Journal.record`` with a year of sets and reps for the member being
measured (4 training days a week, 5 exercises, about 25 sets of 10 reps a day) and as much again for each of
``--others`` members, so the member's rows are a fraction of the table as in a real gym. The real page (aiohttp
app, session cookie, journal reader) is then asked for the week page and an exercise's history page, and the time
from request to the last byte of the answer is measured (median and 95th percentile of ``--runs``), first with
the indexes the page adds (``PAGE_INDEXES`` in hub/journal/schema.py), then, in the same run, after dropping them.

Usage: python bench/members_page.py [--others 3] [--runs 20]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta

import numpy as np
from aiohttp.test_utils import TestClient, TestServer

from replens.config import RepLensConfig
from replens.contract import Exercise, RepEvent, SetEvent, SetPhase
from replens.hub.journal import Inbound, Journal
from replens.hub.journal.schema import PAGE_INDEXES
from replens.hub.web.server import RUNNER_OPTIONS, build_app, open_state
from replens.members import MembersStore

EXERCISES = [Exercise.SQUAT, Exercise.BENCH_PRESS, Exercise.DEADLIFT, Exercise.OVERHEAD_PRESS, Exercise.BARBELL_ROW]
SETS_PER_DAY = 25
REPS_PER_SET = 10
BATCH = 5000
LIMIT_MS = 200.0


def year_of_events(agent: str, member_no: int, now: datetime) -> list[SetEvent | RepEvent]:
    events: list[SetEvent | RepEvent] = []
    seq = 0
    for day in range(365):
        if day % 7 in (1, 3, 5):  # 4 training days a week
            continue
        start = (now - timedelta(days=day)).replace(hour=7 + member_no % 10, minute=0, second=0, microsecond=0)
        if start > now:
            start -= timedelta(hours=12)
        for n in range(SETS_PER_DAY):
            exercise = EXERCISES[n // 5]
            at = start + timedelta(minutes=3 * n)
            set_id = f"{agent}.rack.{int(at.timestamp() * 1000)}"
            seq += 1
            events.append(SetEvent(agent_id=agent, seq=seq, set_id=set_id, station="rack", exercise=exercise,
                                   event=SetPhase.END, reps=REPS_PER_SET, started_at=at,
                                   ended_at=at + timedelta(seconds=40), weight_kg=40.0 + (365 - day) * 0.1 + n % 5))
            for index in range(1, REPS_PER_SET + 1):
                seq += 1
                begin = at + timedelta(seconds=4 * (index - 1))
                events.append(RepEvent(agent_id=agent, seq=seq, set_id=set_id, station="rack", exercise=exercise,
                                       index=index, started_at=begin, turned_at=begin + timedelta(seconds=2),
                                       ended_at=begin + timedelta(seconds=3), concentric_s=1.0, eccentric_s=2.0,
                                       rom=100.0, rom_m=0.5, mean_velocity_m_s=0.6 - 0.02 * index, confidence=1.0))
    return events


def fill(config: RepLensConfig, others: int, now: datetime) -> tuple[str, int]:
    """The measured member's id and how many reps they have."""
    with MembersStore(config.members_db()) as members:
        ids = [members.add(f"Member {n}", [np.full(128, 0.01 * (n + 1))], consent=True).id for n in range(others + 1)]
    journal = Journal(config.journal_path())
    mine = 0
    try:
        for number, member in enumerate(ids):
            agent = f"agent{number}"
            events = year_of_events(agent, number, now)
            for start in range(0, len(events), BATCH):
                journal.record(Inbound(events=list(events[start:start + BATCH])))
            journal.points_written([p.id for p in journal.pending_points(10**7)])
            set_ids = [e.set_id for e in events if isinstance(e, SetEvent)]
            journal._db.executemany("UPDATE sets SET member = ? WHERE set_id = ?", [(member, s) for s in set_ids])
            if number == 0:
                mine = sum(isinstance(e, RepEvent) for e in events)
    finally:
        journal.close()
    return ids[0], mine


async def measure(config: RepLensConfig, member: str, runs: int, *, indexes: bool) -> dict[str, list[float]]:
    journal = Journal(config.journal_path())  # opening it creates the indexes: drop them after, when asked
    if not indexes:
        for name in PAGE_INDEXES:
            journal._db.execute(f"DROP INDEX {name}")
    state = open_state(config, journal, lambda: None)
    token = state.access.invite(member, timedelta(days=1)).token
    server = TestServer(build_app(state))
    await server.start_server(**RUNNER_OPTIONS)
    client = TestClient(server)
    await client.start_server()
    timings: dict[str, list[float]] = {"week": [], "history": []}
    try:
        assert (await client.get(f"/i/{token}")).status == 200
        for _ in range(runs):
            for name, path in (("week", "/"), ("history", f"/exercise/{Exercise.SQUAT.value}")):
                started = time.perf_counter()
                response = await client.get(path)
                await response.read()
                assert response.status == 200
                timings[name].append(1000 * (time.perf_counter() - started))
    finally:
        await client.close()
        state.reader.close()
        state.access.close()
        journal.close()
    return timings


def summary(timings: list[float]) -> str:
    ordered = sorted(timings)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"median {statistics.median(ordered):7.1f} ms   p95 {p95:7.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--others", type=int, default=3, help="other members with a year each (default 3)")
    parser.add_argument("--runs", type=int, default=20, help="requests per page and phase (default 20)")
    args = parser.parse_args()
    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory(prefix="replens-bench-page-") as scratch:
        config = RepLensConfig.model_validate({"data_dir": scratch, "hub": {"web": {"port": 0}}})
        started = time.perf_counter()
        member, reps = fill(config, args.others, now)
        print(f"journal: {args.others + 1} members with a year each; the measured member has {reps} reps "
              f"({time.perf_counter() - started:.0f} s to record)")
        results = {}
        for phase, indexes in (("with the page's indexes", True), ("without them", False)):
            results[phase] = asyncio.run(measure(config, member, args.runs, indexes=indexes))
        for phase, timings in results.items():
            for page, values in timings.items():
                verdict = "ok" if statistics.median(values) < LIMIT_MS else f"OVER {LIMIT_MS:.0f} ms"
                print(f"{phase:<24} {page:<8} {summary(values)}   {verdict}")


if __name__ == "__main__":
    main()
