"""A member's body weight: the load of their bodyweight exercises, plus what the station says was added."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from replens.cli.main import main
from replens.config import load_config
from replens.contract import EditVia, Exercise, SetEdit, SetEvent, SetPhase
from replens.hub.journal import Inbound, Journal
from replens.members import MembersStore

START = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def pull_ups(number: int, member: str, added_kg: float | None, reps: int = 8) -> SetEvent:
    start = START + timedelta(minutes=5 * number)
    return SetEvent(agent_id="a1", seq=number, set_id=f"a1.bar.{number}", station="bar", exercise=Exercise.PULL_UP,
                    event=SetPhase.END, reps=reps, started_at=start, ended_at=start + timedelta(seconds=30),
                    weight_kg=added_kg, member=member)


def set_fields(journal: Journal) -> list[dict[str, str]]:
    pending = journal.pending_points(1000)
    journal.points_written([p.id for p in pending])
    return [dict(f.split("=", 1) for f in p.line.rsplit(" ", 1)[0].split(" ", 1)[1].split(",") if '"' not in f)
            for p in pending if p.line.startswith("set,")]


@pytest.fixture
def gym(tmp_path: Path) -> tuple[Path, str]:
    config = tmp_path / "replens.yaml"
    config.write_text(json.dumps({"version": 1, "data_dir": str(tmp_path / "data")}))
    loaded = load_config(config, env={})
    with MembersStore(loaded.members_db()) as store:
        ann = store.add("Ann Lee", [np.random.default_rng(0).normal(size=128)], consent=True).id
    Journal(loaded.journal_path()).close()
    return config, ann


def test_body_weight_plus_added_load_is_what_a_pull_up_lifts(gym: tuple[Path, str], capsys) -> None:
    config, ann = gym
    assert main(["members", "set", "ann lee", "--body-weight", "176.4", "--unit", "lb", "--config", str(config)]) == 0
    assert "Ann Lee: body weight 176.4 lb (80.014 kg)" in capsys.readouterr().out
    journal = Journal(load_config(config, env={}).journal_path())
    journal.record(Inbound(events=[pull_ups(1, ann, None), pull_ups(2, ann, 10.0, reps=5)]))
    first, second = set_fields(journal)
    assert (first["lifted_kg"], first["volume_kg"], "weight_kg" in first) == ("80.014", "640.112", False)
    assert (second["weight_kg"], second["lifted_kg"], second["e1rm_epley_kg"]) == ("10.0", "90.014", "105.016")
    records = journal.pending_announcements(100)
    assert [json.loads(a.payload)["load_kg"] for a in records if a.kind.value == "personal_record"] == [
        80.014, 80.014, 90.014, 90.014]  # heaviest and e1RM of the first set, then of the weighted one
    journal.close()


def test_without_a_body_weight_a_bodyweight_set_has_no_load(gym: tuple[Path, str]) -> None:
    config, ann = gym
    journal = Journal(load_config(config, env={}).journal_path())
    journal.record(Inbound(events=[pull_ups(1, ann, 10.0)]))
    (fields,) = set_fields(journal)
    assert fields["weight_kg"] == "10.0" and "volume_kg" not in fields and "lifted_kg" not in fields
    journal.close()


@pytest.mark.parametrize(("args", "message"), [
    (["--body-weight", "-70"], "--body-weight: a load cannot be negative"),
    (["--body-weight", "7"], "below 20 kg"),
    (["--body-weight", "5000"], "more than 2000 kg"),
])
def test_bad_body_weights_are_refused(gym: tuple[Path, str], capsys, args: list[str], message: str) -> None:
    config, _ = gym
    assert main(["members", "set", "Ann Lee", *args, "--config", str(config)]) == 1
    assert message in capsys.readouterr().err


def test_a_deleted_member_leaves_no_body_weight(gym: tuple[Path, str], tmp_path: Path) -> None:
    config, ann = gym
    path = load_config(config, env={}).journal_path()
    journal = Journal(path)
    journal.set_body_weight(ann, 80.0)
    journal.forget_member(ann)
    journal.close()
    journal_files = [p for p in path.parent.iterdir() if p.name.startswith(path.name)]
    assert journal_files and not any(ann.encode() in p.read_bytes() for p in journal_files)


def test_a_members_unit_is_set_alone_and_reads_their_body_weight(gym: tuple[Path, str], capsys) -> None:
    config, ann = gym
    assert main(["members", "set", "Ann Lee", "--unit", "lb", "--config", str(config)]) == 0
    assert "Ann Lee: loads shown in lb from now on (stored in kg)" in capsys.readouterr().out
    assert main(["members", "set", "Ann Lee", "--body-weight", "176.4", "--config", str(config)]) == 0
    assert "body weight 176.4 lb (80.014 kg)" in capsys.readouterr().out  # read in Ann's unit: lb
    journal = Journal(load_config(config, env={}).journal_path())
    assert (journal.member_unit(ann), journal.member_body_weight(ann)) == ("lb", 80.014)
    journal.close()
    assert main(["members", "set", "Ann Lee", "--body-weight", "81", "--unit", "kg", "--config", str(config)]) == 0
    journal = Journal(load_config(config, env={}).journal_path())
    assert (journal.member_unit(ann), journal.member_body_weight(ann)) == ("kg", 81.0)
    journal.close()


def test_set_needs_a_unit_or_a_body_weight(gym: tuple[Path, str], capsys) -> None:
    config, _ = gym
    assert main(["members", "set", "Ann Lee", "--config", str(config)]) == 1
    assert "give --unit, --body-weight or both" in capsys.readouterr().err


def test_a_unit_other_than_kg_or_lb_is_refused_and_changes_nothing(gym: tuple[Path, str], capsys) -> None:
    config, ann = gym
    with pytest.raises(SystemExit):
        main(["members", "set", "Ann Lee", "--unit", "st", "--body-weight", "12", "--config", str(config)])
    assert "argument --unit: invalid choice: 'st'" in capsys.readouterr().err
    journal = Journal(load_config(config, env={}).journal_path())
    assert (journal.member_unit(ann), journal.member_body_weight(ann)) == ("kg", None)
    journal.close()


def test_each_set_is_weighed_with_the_body_weight_of_its_day(gym: tuple[Path, str]) -> None:
    config, ann = gym
    journal = Journal(load_config(config, env={}).journal_path())
    journal.set_body_weight(ann, 80.0, at=START)
    journal.record(Inbound(events=[pull_ups(1, ann, None)]))
    journal.set_body_weight(ann, 85.0, at=START + timedelta(days=7))  # a week later
    journal.record(Inbound(events=[pull_ups(2 * 7 * 24 * 12, ann, None)]))  # two weeks later
    assert [f["lifted_kg"] for f in set_fields(journal)] == ["80.0", "85.0"]
    journal.edit(SetEdit(edit_id="e1", set_id="a1.bar.1", reps=9), EditVia.CLI)  # corrected today
    (edited,) = set_fields(journal)
    assert (edited["reps"], edited["lifted_kg"], edited["volume_kg"]) == ("9i", "80.0", "720.0")  # its own day's
    journal.close()


def test_a_first_body_weight_weighs_the_earlier_sets(gym: tuple[Path, str]) -> None:
    config, ann = gym
    journal = Journal(load_config(config, env={}).journal_path())
    journal.record(Inbound(events=[pull_ups(1, ann, None), pull_ups(2, ann, 5.0, reps=6)]))
    assert all("lifted_kg" not in f for f in set_fields(journal))
    journal.pending_announcements(100)
    assert journal.set_body_weight(ann, 75.0) == 2
    kinds = sorted(p.line.split(",kind=")[1].split(",")[0] for p in journal.pending_points(1000)
                   if p.line.startswith("record,"))
    assert kinds == ["best_e1rm", "best_e1rm", "heaviest_load", "heaviest_load"]
    assert [(f["lifted_kg"], f["volume_kg"]) for f in set_fields(journal)] == [("75.0", "600.0"), ("80.0", "480.0")]
    records = [json.loads(a.payload) for a in journal.pending_announcements(100) if a.kind.value == "personal_record"]
    assert records == []  # records found in the past are history: kept, not announced
    assert journal.set_body_weight(ann, 76.0) == 0  # not the first: earlier sets keep theirs
    assert set_fields(journal) == []
    journal.close()


def test_an_old_journal_keeps_its_body_weights(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as db:  # the table of the release before body weight history
        db.execute("CREATE TABLE body_weights (member TEXT PRIMARY KEY, kg REAL NOT NULL, at REAL NOT NULL)")
        db.execute("INSERT INTO body_weights VALUES ('m1', 81.5, 1000.0)")
    db.close()
    journal = Journal(path)
    assert journal.member_body_weight("m1") == 81.5
    journal.close()
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT name FROM sqlite_master WHERE name = 'body_weights'").fetchall() == []
    db.close()


def test_a_body_weight_entered_for_an_earlier_day_reweighs_the_sets_since(gym: tuple[Path, str]) -> None:
    config, ann = gym
    journal = Journal(load_config(config, env={}).journal_path())
    journal.set_body_weight(ann, 80.0, at=START)
    journal.record(Inbound(events=[pull_ups(1, ann, None), pull_ups(12 * 24 * 3, ann, None)]))  # 3 days later
    set_fields(journal)
    assert journal.set_body_weight(ann, 78.0, at=START + timedelta(days=1)) == 1  # weighed the day before the 2nd
    assert [f["lifted_kg"] for f in set_fields(journal)] == ["78.0"]
    journal.close()


def test_the_member_list_shows_unit_and_body_weight(gym: tuple[Path, str], capsys) -> None:
    config, _ = gym
    assert main(["members", "list", "--json", "--config", str(config)]) == 0
    (before,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert (before["unit"], before["body_weight_kg"]) == ("kg", None)
    assert main(["members", "set", "Ann Lee", "--body-weight", "176.4", "--unit", "lb", "--config", str(config)]) == 0
    capsys.readouterr()
    assert main(["members", "list", "--json", "--config", str(config)]) == 0
    (after,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert (after["unit"], after["body_weight_kg"]) == ("lb", 80.014)
    assert main(["members", "list", "--config", str(config)]) == 0
    assert "176.4 lb" in capsys.readouterr().out
