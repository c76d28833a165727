"""Fill a fresh hub journal with a generated week of gym data, to try ``replens report`` without cameras.

    .venv/bin/python scripts/generate_week.py --data-dir /tmp/replens-demo
    .venv/bin/replens report --config /tmp/replens-demo/replens.yaml --member Alice --out /tmp/report.png

Writes ``<data-dir>/replens.yaml``, enrols the week's members with made-up face descriptors (they will
never match a real face) and records every set and rep in the journal as the hub would, with the
members' sets claimed for them. Refuses a data directory that already holds a journal.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import yaml

from replens.config import load_config
from replens.device_agent.demo_week import generate_week
from replens.hub.journal import Inbound, Journal
from replens.members import MembersStore


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    config_path = args.data_dir / "replens.yaml"
    args.data_dir.mkdir(parents=True, exist_ok=True)
    config_path.write_text(yaml.safe_dump({"version": 1, "data_dir": str(args.data_dir.resolve() / "data")}))
    config = load_config(config_path, env={})
    journal_path = config.journal_path()
    if journal_path.exists():
        print(f"{journal_path} exists: pick an empty --data-dir", file=sys.stderr)
        return 1
    week = generate_week(datetime.now(UTC), seed=args.seed)
    rng = np.random.default_rng(args.seed)
    with MembersStore(config.members_db()) as store:
        ids = {name: store.add(name, [rng.normal(size=128)], consent=True).id for name in week.members}
    journal = Journal(journal_path)
    try:
        journal.record(Inbound(events=week.numbered_events()))
        for planned in week.sets:
            if planned.person in ids:
                journal.claim(planned.set_id, ids[planned.person], by="generate_week")
    finally:
        journal.close()
    print(f"{config_path}: {len(week.sets)} sets, {week.rep_count()} reps for {', '.join(week.members)} and a guest")
    return 0


if __name__ == "__main__":
    sys.exit(main())
