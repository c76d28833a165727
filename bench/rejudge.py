"""Correcting an old set: how long the hub's write transaction takes when every later set is judged again.

A correction (or a claim, or a set delivered late) changes what the member's later sets of the exercise are
measured against, so their records and load-velocity profiles are judged again (hub/journal/personal_records.py).
A journal is filled through the real ``Journal.record`` with ``--sets`` squat sets of one member (5 reps each,
with bar velocities, loads cycling over 50 values), then the first set's load is corrected through the real
``Journal.edit``, which re-judges all the others in one read and one pass. The baseline, in the same run on a copy
of the same journal, is the straightforward way: ``judge`` once per later set (each reading every earlier set).
Both must leave the same records and profiles behind; the script checks that before printing.

Usage: python bench/rejudge.py [--sets 500]
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from replens.contract import EditVia, Event, Exercise, RepEvent, SetEdit, SetEvent, SetPhase
from replens.hub.journal import Inbound, Journal, personal_records

START = datetime(2025, 1, 1, 9, tzinfo=UTC)
MEMBER = "m0bench0000"


def squat_sets(count: int) -> list[Event]:
    events: list[Event] = []
    for n in range(count):
        start = START + timedelta(hours=12 * n)
        common = {"agent_id": "a1", "set_id": f"a1.rack.{n}", "station": "rack", "exercise": Exercise.SQUAT}
        for i in range(1, 6):
            at = start + timedelta(seconds=3 * i)
            events.append(RepEvent(seq=n * 100 + i, index=i, started_at=at, turned_at=at + timedelta(seconds=1),
                                   ended_at=at + timedelta(seconds=2), concentric_s=1, eccentric_s=1, rom=0.4,
                                   mean_velocity_m_s=0.9 - 0.004 * (n % 50) - 0.02 * i, confidence=1, **common))
        events.append(SetEvent(seq=n * 100 + 99, event=SetPhase.END, reps=5, started_at=start,
                               ended_at=start + timedelta(seconds=30), weight_kg=60.0 + (n % 50), member=MEMBER,
                               **common))
    return events


def outcome(path: Path) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    """The records and profiles the journal holds, to compare the two ways."""
    with sqlite3.connect(path) as db:
        found = (db.execute("SELECT set_id, kind, value, previous FROM personal_records ORDER BY 1, 2").fetchall(),
                 db.execute("SELECT set_id, round(r2, 9), loads, round(e1rm_kg, 6), refused FROM profiles "
                            "ORDER BY 1").fetchall())
    db.close()
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sets", type=int, default=500)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="replens-rejudge-"))
    try:
        journal = Journal(work / "one_pass.sqlite3")
        events = squat_sets(args.sets)
        began = time.perf_counter()
        for start in range(0, len(events), 600):
            journal.record(Inbound(events=events[start:start + 600]))
        print(f"{args.sets} squat sets of one member recorded in {time.perf_counter() - began:.1f} s")
        journal.close()
        shutil.copy(work / "one_pass.sqlite3", work / "per_set.sqlite3")

        journal = Journal(work / "one_pass.sqlite3")
        began = time.perf_counter()
        journal.edit(SetEdit(edit_id="e1", set_id="a1.rack.0", weight_kg=200.0), EditVia.CLI)
        one_pass = time.perf_counter() - began
        journal.close()

        with sqlite3.connect(work / "per_set.sqlite3", isolation_level=None) as db:
            db.execute("BEGIN IMMEDIATE")
            began = time.perf_counter()
            db.execute("UPDATE sets SET overrides = '{\"weight_kg\": 200.0}' WHERE set_id = 'a1.rack.0'")
            personal_records.judge(db, "a1.rack.0")
            for (set_id,) in db.execute("SELECT set_id FROM sets WHERE set_id != 'a1.rack.0' ORDER BY started_ts")\
                    .fetchall():
                personal_records.judge(db, set_id, announce=False)
            per_set = time.perf_counter() - began
            db.execute("COMMIT")
        db.close()
        assert outcome(work / "one_pass.sqlite3") == outcome(work / "per_set.sqlite3"), "the two ways disagree"
        print(f"correcting the first set, re-judging the {args.sets - 1} after it (same records and profiles):")
        print(f"  Journal.edit (one read, one pass):  {one_pass:.3f} s")
        print(f"  baseline, judge per later set:      {per_set:.3f} s  ({per_set / one_pass:.1f}x)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
